import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { getDb } from "../../app/services/infra/db.server";
import { verifyLedger } from "../../app/services/ledger-verify.server";
import { syncPacks } from "../../app/services/packs.server";
import {
  drainWebhookQueue,
  LEASE_SECONDS,
  MAX_HOLD_SECONDS,
} from "../../app/services/webhooks/queue.server";
import {
  balanceOf,
  createPrice,
  createUser,
  eventOf,
  paidSession,
  sendRaw,
  signedRequest,
  useMoneyPath,
} from "../support/money-path";
import { cleanEnv, startProcess, waitFor, type RunningProcess } from "../support/processes";
import { testDbKind, useTestDatabase } from "../support/test-database";

/**
 * Crash recovery of the webhook event queue (queue.server.ts): a claim is a short lease that a
 * heartbeat renews while the claiming process lives, so an event held by a process that dies is
 * taken by another worker seconds later, not after a fixed 5-minute lease.
 */

const database = useTestDatabase();
const mp = useMoneyPath();

let priceId: string;
beforeAll(async () => {
  priceId = (await createPrice(mp.ctx.stripe, { credits: 100, unitAmount: 1000 })).id;
  await syncPacks();
});
afterEach(() => {
  mp.ctx.emu.control.setFaults({ apiLatencyMs: 0 });
});

/** A paid session whose checkout.session.completed event is stored and due, not yet acted on. */
async function queuedPurchase() {
  const user = await createUser();
  const session = await paidSession(mp.ctx, { priceId, clientReferenceId: user.id });
  const event = await eventOf(mp.ctx.stripe, session.id, "checkout.session.completed");
  const res = await sendRaw(signedRequest(JSON.stringify(event), { secret: mp.ctx.secret }));
  expect(res.body.outcome).toBe("accepted");
  return { user, session, event };
}

const stored = (id: string) => getDb().stripeEvent.findUniqueOrThrow({ where: { id } });

async function expectCreditedOnce(userId: string, sessionId: string, eventId: string) {
  expect(await balanceOf(userId)).toBe(100);
  expect(await getDb().ledgerEntry.count({ where: { userId } })).toBe(1);
  expect(await getDb().purchase.count({ where: { checkoutSessionId: sessionId } })).toBe(1);
  expect(await stored(eventId)).toMatchObject({ status: "processed", availableAt: null });
  expect((await verifyLedger()).violations).toEqual([]);
}

describe("event queue leases", () => {
  it("a claim is a short lease: an abandoned claim is due again within seconds", async () => {
    const { user, session, event } = await queuedPurchase();
    // Claim it as a worker's claim does, then vanish without acting or renewing (a crash).
    await getDb().$executeRaw`UPDATE stripe_events
        SET available_at = now() + make_interval(secs => ${LEASE_SECONDS}), attempts = attempts + 1
      WHERE id = ${event.id}`;
    const held = await stored(event.id);
    expect(held.availableAt!.getTime() - Date.now()).toBeLessThanOrEqual(LEASE_SECONDS * 1000);
    // While the lease runs, nobody else takes it.
    expect((await drainWebhookQueue()).claimed).toBe(0);
    expect(await balanceOf(user.id)).toBe(0);
    // Well under the old 5-minute lease, the next worker credits it.
    await waitFor(
      "the abandoned event to be credited",
      async () => (await drainWebhookQueue()).outcomes.processed === 1,
      LEASE_SECONDS * 1000 + 20_000,
    );
    await expectCreditedOnce(user.id, session.id, event.id);
    expect((await stored(event.id)).attempts).toBe(2);
    expect(MAX_HOLD_SECONDS).toBeGreaterThan(LEASE_SECONDS);
  });

  it("a live worker's heartbeat keeps its claim while the event takes longer than the lease", async () => {
    const { user, session, event } = await queuedPurchase();
    // Stripe answers slowly: the first worker is inside the event for longer than one lease.
    mp.ctx.emu.control.setFaults({ apiLatencyMs: (LEASE_SECONDS + 4) * 1000 });
    const slow = drainWebhookQueue({ concurrency: 1 });
    const claimed = await waitFor("the claim", async () => {
      const row = await stored(event.id);
      return row.attempts === 1 ? row : undefined;
    });
    const firstLeaseEnd = claimed.availableAt!.getTime();
    // Wait past the first lease's end: without the heartbeat the event would now be due again.
    await waitFor(
      "the first lease to have ended",
      async () => Date.now() > firstLeaseEnd + 1_000,
      30_000,
    );
    const renewed = await stored(event.id);
    expect(renewed.status).toBe("received");
    expect(renewed.availableAt!.getTime()).toBeGreaterThan(firstLeaseEnd);
    // A second worker finds nothing due: the event is still held.
    expect((await drainWebhookQueue()).claimed).toBe(0);
    expect((await slow).outcomes).toEqual({ processed: 1 });
    await expectCreditedOnce(user.id, session.id, event.id);
    expect((await stored(event.id)).attempts).toBe(1);
  }, 90_000);
});

// A second process needs a database it can reach: native Postgres (PGlite is in this process).
describe.skipIf(testDbKind() !== "postgres")("a worker process killed mid-event", () => {
  const running: RunningProcess[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((p) => p.stop("SIGKILL")));
  });

  function startWorker(): RunningProcess {
    const p = startProcess(
      "node",
      ["--import", "tsx", "tests/support/webhook-queue-worker.ts"],
      cleanEnv({
        DATABASE_URL: database.db.url!,
        STRIPE_SECRET_KEY: "sk_test_creditdesk_tests",
        STRIPE_API_BASE: mp.ctx.emu.url,
        STRIPE_WEBHOOK_SECRET: mp.ctx.secret,
        SCHEDULER: "off",
      }),
    );
    running.push(p);
    return p;
  }

  it("SIGKILL while acting on events: a new worker credits each once, within seconds", async () => {
    // Several purchases: the worker claims them as one batch and holds them all while it hangs
    // inside the first one's Stripe call.
    const purchases = [];
    for (let i = 0; i < 4; i++) purchases.push(await queuedPurchase());
    const ids = purchases.map((p) => p.event.id);
    const events = () => getDb().stripeEvent.findMany({ where: { id: { in: ids } } });
    mp.ctx.emu.control.setFaults({ apiLatencyMs: 60_000 });
    const first = startWorker();
    const claimed = await waitFor(
      "the first worker to claim the events",
      async () => {
        const rows = await events();
        return rows.every((r) => r.attempts === 1) ? rows : undefined;
      },
      60_000,
    );
    const claimedUntil = Math.max(...claimed.map((r) => r.availableAt!.getTime()));
    // Mid-event and alive: its heartbeat has renewed the leases at least once.
    await waitFor(
      "the first worker's heartbeat",
      async () =>
        (await events()).every((r) => r.availableAt!.getTime() > claimedUntil) &&
        first.output().includes("webhook queue worker ready"),
      30_000,
    );
    expect(first.child.kill("SIGKILL")).toBe(true);
    await first.exited;
    expect(first.child.signalCode).toBe("SIGKILL");
    for (const row of await events())
      expect(row).toMatchObject({ status: "received", attempts: 1 });
    for (const { user } of purchases) expect(await balanceOf(user.id)).toBe(0);

    // The restart: Stripe answers normally again and a new worker process starts.
    mp.ctx.emu.control.setFaults({ apiLatencyMs: 0 });
    const second = startWorker();
    // Generous, but far below the 5-minute lease a killed claim used to wait for.
    await waitFor(
      "the new worker to credit every event",
      async () => (await events()).every((r) => r.status === "processed"),
      45_000,
    );
    for (const { user, session, event } of purchases)
      await expectCreditedOnce(user.id, session.id, event.id);
    for (const row of await events()) expect(row.attempts).toBe(2);
    expect(second.output()).not.toMatch(/error/i);
  }, 180_000);
});

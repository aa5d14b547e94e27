import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it } from "vitest";
import { postLedgerBatch, postLedgerEntry } from "../../app/services/ledger.server";
import { createEndpoint, setUserThresholds } from "../../app/services/outbound/endpoints.server";
import { closeSenderConnections } from "../../app/services/outbound/sender.server";
import { drainOutbound } from "../../app/services/outbound/worker.server";
import { startReceiver } from "../support/outbound-receiver";
import { cleanEnv, startProcess, waitFor, type RunningProcess } from "../support/processes";
import { testDbKind, useTestDatabase } from "../support/test-database";

// Concurrency and a second process need native Postgres (PGlite is one connection, in-process).
const t = useTestDatabase();
const actor = { type: "cli", label: "test" } as const;
const key = () => `k_${Math.random().toString(36).slice(2)}`;

async function createUser() {
  const id = `u_${Math.random().toString(36).slice(2)}`;
  await t.db.prisma.user.create({
    data: { id, email: `${id}@example.com`, emailNormalized: `${id}@example.com` },
  });
  return id;
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((fn) => fn()));
  closeSenderConnections();
  await t.db.prisma.$executeRawUnsafe(
    "TRUNCATE outbound_attempts, outbound_deliveries, outbound_events, outbound_endpoint_secrets, outbound_endpoints, user_thresholds",
  );
});

async function receiver(...args: Parameters<typeof startReceiver>) {
  const r = await startReceiver(...args);
  cleanups.push(() => r.close());
  return r;
}

describe.skipIf(testDbKind() !== "postgres")("outbound events on native Postgres", () => {
  it("balance.low fires once per crossing under 50 concurrent debits, and once per batch that crosses", async () => {
    const r = await receiver();
    await createEndpoint({ url: r.url, eventTypes: ["balance.low", "credits.debited"] }, actor);
    const userId = await createUser();
    await setUserThresholds(userId, 50, actor);
    await postLedgerEntry({ userId, delta: 100, kind: "grant", idempotencyKey: key() });

    // 50 debits of 2 at once: 100 → 0, crossing 50 exactly once whatever the interleaving.
    const debit = () =>
      postLedgerEntry({ userId, delta: -2, kind: "usage", idempotencyKey: key() });
    await Promise.all(Array.from({ length: 50 }, debit));
    // Back above (re-armed), then 50 more at once: a second crossing, a second event.
    await postLedgerEntry({ userId, delta: 100, kind: "grant", idempotencyKey: key() });
    await Promise.all(Array.from({ length: 50 }, debit));
    // A batch of one user's debits (one statement, many rows) crossing once more.
    await postLedgerEntry({ userId, delta: 100, kind: "grant", idempotencyKey: key() });
    const outcomes = await postLedgerBatch(
      userId,
      Array.from({ length: 50 }, () => ({
        input: { userId, delta: -2, kind: "usage" as const, idempotencyKey: key() },
      })),
    );
    expect(outcomes.every((o) => o.ok)).toBe(true);
    await drainOutbound();

    const low = r.events().filter((e) => e.type === "balance.low");
    expect(low.map((e) => [e.data.balanceBefore, e.data.balanceAfter])).toEqual([
      [50, 48],
      [50, 48],
      [50, 48],
    ]);
    expect(r.events().filter((e) => e.type === "credits.debited")).toHaveLength(150);
    const user = await t.db.prisma.user.findUniqueOrThrow({ where: { id: userId } });
    expect(user.balance).toBe(0);
  }, 120_000);

  function child(args: string[]): RunningProcess {
    const p = startProcess(
      "node",
      ["--import", "tsx", "tests/support/outbound-child.ts", ...args],
      cleanEnv({
        DATABASE_URL: t.db.url!,
        SCHEDULER: "off",
        STRIPE_SECRET_KEY: "sk_test_creditdesk_tests",
      }),
    );
    cleanups.push(() => p.stop("SIGKILL"));
    return p;
  }

  it("kill -9 right after the commit: the event is delivered after the restart", async () => {
    const r = await receiver();
    const ep = await createEndpoint({ url: r.url, eventTypes: ["credits.granted"] }, actor);
    const userId = await createUser();
    const p = child(["commit-then-die", userId, key()]);
    await p.exited;
    expect(p.child.signalCode).toBe("SIGKILL");
    expect(p.output()).toContain("committed");
    expect(r.received).toHaveLength(0);
    // "Restart": a worker in this process finds the committed outbox row and sends it.
    await drainOutbound();
    expect(r.received).toHaveLength(1);
    expect(new Webhook(ep.secret).verify(r.received[0].body, r.received[0].headers)).toMatchObject({
      type: "credits.granted",
      data: { userId, delta: 42, balanceAfter: 42 },
    });
  }, 60_000);

  it("kill -9 of a worker mid-send: once its lease runs out the delivery is sent again with the same id", async () => {
    let hang = true;
    const r = await receiver(() => (hang ? { never: true } : { status: 200 }));
    await createEndpoint({ url: r.url, eventTypes: ["credits.granted"] }, actor);
    const userId = await createUser();
    await postLedgerEntry({ userId, delta: 7, kind: "grant", idempotencyKey: key() });
    const p = child(["worker"]);
    await waitFor("the child worker's request", async () => r.received.length === 1, 30_000);
    p.child.kill("SIGKILL");
    await p.exited;
    const [held] = await t.db.prisma.outboundDelivery.findMany();
    expect(held).toMatchObject({ status: "pending", attempts: 1 });
    expect(held.nextAttemptAt!.getTime()).toBeGreaterThan(Date.now()); // still leased
    await drainOutbound();
    expect(r.received).toHaveLength(1); // nobody takes it while leased
    hang = false;
    await t.db.prisma.$executeRaw`UPDATE outbound_deliveries SET next_attempt_at = now()`; // the lease runs out
    await drainOutbound();
    expect(r.received).toHaveLength(2);
    expect(r.received[1].headers["webhook-id"]).toBe(r.received[0].headers["webhook-id"]);
    const [done] = await t.db.prisma.outboundDelivery.findMany();
    expect(done).toMatchObject({ status: "delivered", attempts: 2 });
  }, 60_000);
});

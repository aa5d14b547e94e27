import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { getDb } from "../../app/services/infra/db.server";
import { verifyLedger } from "../../app/services/ledger-verify.server";
import { runWebhookDoctor } from "../../app/services/reconciliation/doctor.server";
import { getRun, listRunItems, listRuns } from "../../app/services/reconciliation/queries.server";
import {
  balanceOf,
  createPrice,
  createSession,
  createUser,
  eventOf,
  paidSession,
  sendRaw,
  signedRequest,
  uid,
} from "../support/money-path";
import {
  allRunItems,
  ledgerKeysFor,
  packAndUsers,
  purchasesFor,
  reconcile,
  useReconcileKit,
} from "../support/reconcile-kit";
import { useTestDatabase } from "../support/test-database";

useTestDatabase();
const kit = useReconcileKit();

beforeEach(async () => {
  await kit.fresh();
});

async function expectLedgerClean() {
  const result = await verifyLedger();
  expect(result.violations).toEqual([]);
  expect(result.ok).toBe(true);
}

const itemsOf = allRunItems;

describe("reconciliation run", () => {
  it("credits every paid session exactly once when webhooks are dropped, duplicated and reordered; a second run credits nothing", async () => {
    const { mp } = kit.ctx;
    const { price, users } = await packAndUsers(mp, 50, { credits: 40 });
    mp.emu.control.setFaults({ dropRate: 0.3, duplicateRate: 0.2, reorder: true });
    const sessions = [];
    for (const user of users)
      sessions.push(await paidSession(mp, { priceId: price.id, clientReferenceId: user.id }));
    await mp.emu.control.waitForDeliveries({ timeoutMs: 60_000 });
    const ids = sessions.map((s) => s.id);
    const byWebhook = (await purchasesFor(ids)).length;
    // The faults really cost purchases (0.7^50 chance of none dropped) and duplicates arrived.
    expect(byWebhook).toBeLessThan(50);
    expect(mp.emu.control.deliveries().length).toBeGreaterThan(0);

    const first = await reconcile();
    expect(first.status).toBe("completed");
    expect(first.error).toBeNull();
    expect(first.scanned).toBe(50);
    expect(first.creditedNow).toBe(50 - byWebhook);
    expect(first.alreadyCredited).toBe(byWebhook);
    expect(first.needsAttention).toBe(0);
    expect(first.errors).toBe(0);
    expect(first.undeliveredEvents).toBeGreaterThan(0);
    expect(first.stripeRequests).toBeGreaterThan(0);
    expect(first.highWaterMark).toEqual(first.window.until);

    const purchases = await purchasesFor(ids);
    expect(purchases).toHaveLength(50);
    expect(new Set(purchases.map((p) => p.checkoutSessionId)).size).toBe(50);
    const entries = await ledgerKeysFor(ids);
    expect(entries).toHaveLength(50);
    for (const user of users) expect(await balanceOf(user.id)).toBe(40);
    expect(purchases.filter((p) => p.creditedVia === "reconciliation")).toHaveLength(
      50 - byWebhook,
    );

    const items = await itemsOf(first.runId);
    expect(items.filter((i) => i.outcome === "credited_now")).toHaveLength(50 - byWebhook);
    expect(items.filter((i) => i.outcome === "already_credited")).toHaveLength(byWebhook);

    // Crediting anything means the webhooks are broken: one open webhook_gap item.
    const gap = await getDb().attentionItem.findMany({
      where: { kind: "webhook_gap", status: "open" },
    });
    expect(gap).toHaveLength(1);
    expect(gap[0].runId).toBe(first.runId);
    const row = await getDb().reconciliationRun.findUniqueOrThrow({ where: { id: first.runId } });
    expect(row.alertStatus).toBe("attention_only");
    // The stored counts are the items' counts (the lookup records and counts the credited ones).
    expect(row.scanned).toBe(50);
    expect(row.alreadyCredited).toBe(byWebhook);
    expect(row.creditedNow).toBe(50 - byWebhook);

    // Stripe keeps retrying nothing here; the events Stripe failed to deliver are duplicates now.
    const second = await reconcile();
    expect(second.status).toBe("completed");
    expect(second.window.since.getTime()).toBe(first.window.until.getTime() - 60 * 60_000);
    expect(second.creditedNow).toBe(0);
    expect(second.alreadyCredited).toBe(50);
    const secondItems = await itemsOf(second.runId);
    expect(secondItems).toHaveLength(50);
    const purchaseBySession = new Map(purchases.map((p) => [p.checkoutSessionId, p]));
    for (const item of secondItems) {
      const purchase = purchaseBySession.get(item.checkoutSessionId);
      expect(item.outcome).toBe("already_credited");
      expect(item.purchaseId).toBe(purchase?.id);
      expect(item.userId).toBe(purchase?.userId);
      expect(item.amountTotal).toBe(purchase?.amountTotal);
      expect(item.currency).toBe(purchase?.currency);
    }
    const secondRow = await getDb().reconciliationRun.findUniqueOrThrow({
      where: { id: second.runId },
    });
    expect(secondRow.scanned).toBe(50);
    expect(secondRow.alreadyCredited).toBe(50);
    // Nothing credited and webhooks did arrive: no new alert.
    expect(second.alertStatus).toBeNull();
    expect(await ledgerKeysFor(ids)).toHaveLength(50);
    for (const user of users) expect(await balanceOf(user.id)).toBe(40);
    await expectLedgerClean();
  });

  it("acts on webhooks still waiting in the event queue first: the session is credited by its webhook and no gap alert goes out", async () => {
    const { mp } = kit.ctx;
    const { price, users } = await packAndUsers(mp, 1, { credits: 30 });
    // Stripe's delivery is lost, and then the event arrives anyway but the queue has not got to
    // it yet when the run starts (a burst, or a worker in another process).
    mp.emu.control.setFaults({ dropRate: 1 });
    const s = await paidSession(mp, { priceId: price.id, clientReferenceId: users[0].id });
    await mp.emu.control.waitForDeliveries();
    const event = await eventOf(mp.stripe, s.id, "checkout.session.completed");
    const received = await sendRaw(signedRequest(JSON.stringify(event), { secret: mp.secret }));
    expect(received.body.outcome).toBe("accepted");
    const queued = await getDb().stripeEvent.findUniqueOrThrow({ where: { id: event.id } });
    expect(queued.status).toBe("received");
    expect(await purchasesFor([s.id])).toHaveLength(0);

    const run = await reconcile();
    expect(run.status).toBe("completed");
    expect(run.creditedNow).toBe(0);
    expect(run.alreadyCredited).toBe(1);
    const [purchase] = await purchasesFor([s.id]);
    expect(purchase.creditedVia).toBe("webhook");
    expect(await balanceOf(users[0].id)).toBe(30);
    const processed = await getDb().stripeEvent.findUniqueOrThrow({ where: { id: event.id } });
    expect(processed.status).toBe("processed");
    expect(run.alertStatus).toBeNull();
    expect(
      await getDb().attentionItem.count({ where: { kind: "webhook_gap", status: "open" } }),
    ).toBe(0);
  });

  it("dry run records what it would do and changes no balance, purchase or attention item", async () => {
    const { mp } = kit.ctx;
    const { price, users } = await packAndUsers(mp, 3, { credits: 25 });
    mp.emu.control.setFaults({ dropRate: 1 });
    const sessions = [];
    for (const user of users)
      sessions.push(await paidSession(mp, { priceId: price.id, clientReferenceId: user.id }));
    const stranger = await paidSession(mp, {
      priceId: price.id,
      email: `${uid("nobody")}@example.com`,
    });
    await mp.emu.control.waitForDeliveries();
    const attentionBefore = await getDb().attentionItem.count();
    const ledgerBefore = await getDb().ledgerEntry.count();
    const eventsBefore = await getDb().stripeEvent.count();

    const dry = await reconcile({ dryRun: true });
    expect(dry.status).toBe("completed");
    expect(dry.dryRun).toBe(true);
    expect(dry.creditedNow).toBe(3);
    expect(dry.needsAttention).toBe(1);
    expect(dry.undeliveredEvents).toBeGreaterThan(0);
    expect(dry.highWaterMark).toBeNull();
    expect(await purchasesFor([...sessions.map((s) => s.id), stranger.id])).toHaveLength(0);
    for (const user of users) expect(await balanceOf(user.id)).toBe(0);
    expect(await getDb().ledgerEntry.count()).toBe(ledgerBefore);
    expect(await getDb().attentionItem.count()).toBe(attentionBefore);
    // Undelivered events are counted, not processed.
    expect(await getDb().stripeEvent.count()).toBe(eventsBefore);
    const items = await itemsOf(dry.runId);
    const wouldCredit = items.filter((i) => i.outcome === "credited_now");
    expect(wouldCredit).toHaveLength(3);
    expect(wouldCredit.every((i) => i.detail?.startsWith("Dry run: would credit 25 credits"))).toBe(
      true,
    );
    expect(items.find((i) => i.checkoutSessionId === stranger.id)?.outcome).toBe("unmatched_user");

    // A dry run is not a completed window: the real run after it still looks at everything.
    const real = await reconcile();
    expect(real.window.until.getTime() - real.window.since.getTime()).toBe(3 * 24 * 3600 * 1000);
    expect(real.creditedNow).toBe(3);
    for (const user of users) expect(await balanceOf(user.id)).toBe(25);
    await expectLedgerClean();
  });

  it("leaves an async payment pending at the first run and credits it once it succeeded", async () => {
    const { mp } = kit.ctx;
    const { price, users } = await packAndUsers(mp, 1, { credits: 70 });
    mp.emu.control.setFaults({ dropRate: 1 });
    const session = await paidSession(mp, {
      priceId: price.id,
      clientReferenceId: users[0].id,
      card: "async",
    });
    await mp.emu.control.waitForDeliveries();

    const first = await reconcile();
    expect(first.status).toBe("completed");
    expect(first.creditedNow).toBe(0);
    const pending = (await itemsOf(first.runId)).find((i) => i.checkoutSessionId === session.id);
    expect(pending?.outcome).toBe("not_paid");
    expect(await balanceOf(users[0].id)).toBe(0);

    await mp.emu.control.succeedAsyncPayment(session.id);
    await mp.emu.control.waitForDeliveries();
    const second = await reconcile();
    expect(second.creditedNow).toBe(1);
    const credited = (await itemsOf(second.runId)).find((i) => i.checkoutSessionId === session.id);
    expect(credited?.outcome).toBe("credited_now");
    expect(await balanceOf(users[0].id)).toBe(70);
    await expectLedgerClean();
  });

  it("applies a refund whose webhook was lost through the refund path", async () => {
    const { mp } = kit.ctx;
    const { price, users } = await packAndUsers(mp, 1, { credits: 100, unitAmount: 2000 });
    const session = await paidSession(mp, { priceId: price.id, clientReferenceId: users[0].id });
    await mp.emu.control.waitForDeliveries();
    expect(await balanceOf(users[0].id)).toBe(100);

    mp.emu.control.setFaults({ dropRate: 1 });
    const refund = await mp.emu.control.refund(session.id, { amount: 500 });
    await mp.emu.control.waitForDeliveries();
    expect(await balanceOf(users[0].id)).toBe(100);

    const run = await reconcile();
    expect(run.status).toBe("completed");
    expect(run.refundsApplied).toBe(1);
    expect(run.creditedNow).toBe(0);
    const item = (await itemsOf(run.runId)).find((i) => i.outcome === "refund_missing");
    expect(item).toMatchObject({
      checkoutSessionId: session.id,
      amountTotal: 500,
      userId: users[0].id,
    });
    expect(item?.detail).toContain(refund.id);
    // 500 of 2000 refunded: a quarter of the credits clawed back, once.
    expect(await balanceOf(users[0].id)).toBe(75);
    expect(await getDb().refund.findUnique({ where: { id: refund.id } })).toMatchObject({
      amount: 500,
      creditsClawed: 25,
    });
    const purchase = (await purchasesFor([session.id]))[0];
    expect(purchase).toMatchObject({ amountRefunded: 500, status: "partially_refunded" });
    // A refund the webhooks missed is a webhook gap too.
    expect(
      await getDb().attentionItem.count({ where: { kind: "webhook_gap", status: "open" } }),
    ).toBe(1);

    const again = await reconcile();
    expect(again.refundsApplied).toBe(0);
    expect(await balanceOf(users[0].id)).toBe(75);
    await expectLedgerClean();
  });

  it("turns an unmatched user and an unknown price into attention items without crediting, once per session", async () => {
    const { mp } = kit.ctx;
    const { price } = await packAndUsers(mp, 0);
    const noCredits = await createPrice(mp.stripe, { credits: null });
    const known = await createUser();
    mp.emu.control.setFaults({ dropRate: 1 });
    const unmatched = await paidSession(mp, {
      priceId: price.id,
      email: `${uid("ghost")}@example.com`,
    });
    const unknown = await paidSession(mp, { priceId: noCredits.id, clientReferenceId: known.id });
    await mp.emu.control.waitForDeliveries();

    const run = await reconcile();
    expect(run.status).toBe("completed");
    expect(run.creditedNow).toBe(0);
    expect(run.needsAttention).toBe(2);
    const items = await itemsOf(run.runId);
    expect(items.find((i) => i.checkoutSessionId === unmatched.id)?.outcome).toBe("unmatched_user");
    expect(items.find((i) => i.checkoutSessionId === unknown.id)?.outcome).toBe("unknown_price");
    expect(await purchasesFor([unmatched.id, unknown.id])).toHaveLength(0);
    expect(await balanceOf(known.id)).toBe(0);
    const open = await getDb().attentionItem.findMany({
      where: { status: "open", checkoutSessionId: { in: [unmatched.id, unknown.id] } },
      orderBy: { kind: "asc" },
    });
    expect(open.map((a) => a.kind)).toEqual(["unknown_price", "unmatched_user"]);

    // The next run sees the same sessions (overlap) and counts them on the same open items.
    const again = await reconcile();
    expect(again.needsAttention).toBe(2);
    const still = await getDb().attentionItem.findMany({
      where: { status: "open", checkoutSessionId: { in: [unmatched.id, unknown.id] } },
    });
    expect(still).toHaveLength(2);
    expect(still.every((a) => a.occurrences >= 2)).toBe(true);
  });

  it("flags a credited purchase whose amount differs from Stripe's as amount_mismatch", async () => {
    const { mp } = kit.ctx;
    const { price, users } = await packAndUsers(mp, 1, { credits: 10, unitAmount: 1200 });
    const session = await paidSession(mp, { priceId: price.id, clientReferenceId: users[0].id });
    await mp.emu.control.waitForDeliveries();
    await getDb().purchase.update({
      where: { checkoutSessionId: session.id },
      data: { amountTotal: 999 },
    });

    const run = await reconcile();
    expect(run.needsAttention).toBe(1);
    const item = (await itemsOf(run.runId)).find((i) => i.checkoutSessionId === session.id);
    expect(item?.outcome).toBe("amount_mismatch");
    expect(item?.detail).toBe("Credited for $9.99, but Stripe's session total is $12.00.");
    const attention = await getDb().attentionItem.findFirst({
      where: { kind: "amount_mismatch", checkoutSessionId: session.id, status: "open" },
    });
    expect(attention?.runId).toBe(run.runId);
    expect(await balanceOf(users[0].id)).toBe(10);
  });

  it("records a subscription session without credits as no_credits, not as a problem", async () => {
    const { mp } = kit.ctx;
    const user = await createUser();
    const monthly = await createPrice(mp.stripe, { credits: null, recurring: true });
    mp.emu.control.setFaults({ dropRate: 1 });
    const session = await paidSession(mp, {
      priceId: monthly.id,
      clientReferenceId: user.id,
      mode: "subscription",
    });
    await mp.emu.control.waitForDeliveries();
    const run = await reconcile();
    expect(run.needsAttention).toBe(0);
    expect(
      (await itemsOf(run.runId)).find((i) => i.checkoutSessionId === session.id)?.outcome,
    ).toBe("no_credits");
  });

  it("exposes runs, details and items for the dashboard", async () => {
    const { mp } = kit.ctx;
    const { price, users } = await packAndUsers(mp, 2);
    mp.emu.control.setFaults({ dropRate: 1 });
    for (const user of users)
      await paidSession(mp, { priceId: price.id, clientReferenceId: user.id });
    await createSession(mp.stripe, { priceId: price.id });
    const a = await reconcile({ dryRun: true });
    const b = await reconcile();
    const page1 = await listRuns({ limit: 1 });
    expect(page1.runs.map((r) => r.id)).toEqual([b.runId]);
    expect(page1.nextCursor).not.toBeNull();
    const page2 = await listRuns({ limit: 1, before: page1.nextCursor });
    expect(page2.runs.map((r) => r.id)).toEqual([a.runId]);
    expect(page2.nextCursor).toBeNull();
    const detail = await getRun(b.runId);
    expect(detail?.outcomes.credited_now).toBe(2);
    expect(detail?.status).toBe("completed");
    expect(detail?.doctor?.expectedUrl).toBe(`${kit.ctx.receiver.url}/webhooks/stripe`);
    const firstItem = await listRunItems(b.runId, { limit: 1 });
    expect(firstItem.items).toHaveLength(1);
    const rest = await listRunItems(b.runId, { after: firstItem.nextCursor });
    expect(rest.items).toHaveLength(1);
    expect(rest.nextCursor).toBeNull();
    expect((await listRunItems(b.runId, { outcome: "error" })).items).toHaveLength(0);
  });

  it("keeps the already-credited sessions as one batch row per lookup and lists them after the other items", async () => {
    const { mp } = kit.ctx;
    const { price, users } = await packAndUsers(mp, 5, { credits: 7 });
    // Three credited by their webhook, two whose webhook is lost.
    const sessions = [];
    for (const [i, user] of users.entries()) {
      mp.emu.control.setFaults({ dropRate: i < 3 ? 0 : 1 });
      sessions.push(await paidSession(mp, { priceId: price.id, clientReferenceId: user.id }));
    }
    await mp.emu.control.waitForDeliveries();
    const run = await reconcile();
    expect(run.creditedNow).toBe(2);
    expect(run.alreadyCredited).toBe(3);

    // Stored compactly: no item row per already-credited session.
    expect(
      await getDb().reconciliationItem.count({
        where: { runId: run.runId, outcome: "already_credited" },
      }),
    ).toBe(0);
    const batches = await getDb().reconciliationCreditedBatch.findMany({
      where: { runId: run.runId },
    });
    expect(batches.flatMap((b) => b.checkoutSessionIds).sort()).toEqual(
      sessions
        .slice(0, 3)
        .map((s) => s.id)
        .sort(),
    );
    expect((await getRun(run.runId))?.outcomes.already_credited).toBe(3);

    // Pages of two: the credited_now rows, then the credited sessions, each exactly once.
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const page = await listRunItems(run.runId, { limit: 2, after });
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((i) => `${i.outcome}:${i.checkoutSessionId}`));
      after = page.nextCursor;
    } while (after);
    expect(seen.slice(0, 2).every((x) => x.startsWith("credited_now:"))).toBe(true);
    expect(seen.slice(2).every((x) => x.startsWith("already_credited:"))).toBe(true);
    expect(new Set(seen).size).toBe(5);

    // Filtered: only the credited sessions, with their purchase's user and amount.
    const credited = await listRunItems(run.runId, { outcome: "already_credited" });
    expect(credited.items).toHaveLength(3);
    const purchases = await purchasesFor(sessions.map((s) => s.id));
    for (const item of credited.items) {
      const purchase = purchases.find((p) => p.checkoutSessionId === item.checkoutSessionId);
      expect(item.purchaseId).toBe(purchase?.id);
      expect(item.userId).toBe(purchase?.userId);
      expect(item.amountTotal).toBe(purchase?.amountTotal);
      expect(item.id).toMatch(/^c\d+\.\d+$/);
    }
    expect((await listRunItems(run.runId, { outcome: "credited_now" })).items).toHaveLength(2);

    // A cursor that is neither a row id nor a credited position is refused, naming the field.
    await expect(listRunItems(run.runId, { after: "c1" })).rejects.toMatchObject({
      field: "cursor",
    });
  });
});

describe("webhook doctor", () => {
  it("is clean for an enabled endpoint at APP_URL with every event and valid deliveries", async () => {
    const { mp } = kit.ctx;
    const { price, users } = await packAndUsers(mp, 1);
    await paidSession(mp, { priceId: price.id, clientReferenceId: users[0].id });
    await mp.emu.control.waitForDeliveries();
    const report = await runWebhookDoctor();
    expect(report.findings).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.endpoints).toEqual([
      expect.objectContaining({ id: kit.ctx.endpointId, status: "enabled", matchesAppUrl: true }),
    ]);
    expect(report.deliveries.valid24h).toBeGreaterThan(0);
  });

  it("explains a disabled endpoint, missing event types, a wrong URL and no endpoint at all", async () => {
    const { mp } = kit.ctx;
    await mp.stripe.webhookEndpoints.update(kit.ctx.endpointId, { disabled: true });
    let report = await runWebhookDoctor();
    expect(report.findings.map((f) => f.code)).toContain("endpoint_disabled");
    expect(report.ok).toBe(false);

    await mp.stripe.webhookEndpoints.update(kit.ctx.endpointId, {
      disabled: false,
      enabled_events: ["checkout.session.expired", "charge.refunded"],
    });
    report = await runWebhookDoctor();
    const missing = report.findings.find((f) => f.code === "missing_events");
    expect(missing?.severity).toBe("error");
    expect(missing?.detail).toContain("checkout.session.completed");
    expect(missing?.fix).toContain(kit.ctx.endpointId);

    await mp.stripe.webhookEndpoints.update(kit.ctx.endpointId, {
      url: "https://elsewhere.example/hooks",
    });
    report = await runWebhookDoctor();
    const wrong = report.findings.find((f) => f.code === "url_mismatch");
    expect(wrong?.fix).toContain(`${kit.ctx.receiver.url}/webhooks/stripe`);
    expect(wrong?.fix).toContain(
      `stripe listen --forward-to ${kit.ctx.receiver.url}/webhooks/stripe`,
    );

    await mp.stripe.webhookEndpoints.del(kit.ctx.endpointId);
    report = await runWebhookDoctor();
    expect(report.findings.map((f) => f.code)).toContain("no_endpoint");
    for (const f of report.findings) {
      expect(f.fix.length).toBeGreaterThan(10);
      expect(["error", "warning", "info"]).toContain(f.severity);
    }
  });

  it("spots a signing secret mismatch and silent webhooks while Stripe completes sessions", async () => {
    const { mp } = kit.ctx;
    const { price, users } = await packAndUsers(mp, 2);
    // Only what arrives from here on counts (catalog events were delivered validly).
    await mp.emu.control.waitForDeliveries();
    await getDb().webhookDelivery.deleteMany();
    mp.emu.control.setFaults({ wrongSecretRate: 1 });
    const session = await paidSession(mp, { priceId: price.id, clientReferenceId: users[0].id });
    await mp.emu.control.waitForDeliveries();
    // Deliveries signed with another secret were refused (400) and recorded as such.
    expect(
      await getDb().webhookDelivery.count({ where: { outcome: "invalid_signature" } }),
    ).toBeGreaterThan(0);
    expect(await getDb().webhookDelivery.count({ where: { signatureStatus: "valid" } })).toBe(0);
    const report = await runWebhookDoctor();
    const codes = report.findings.map((f) => f.code);
    expect(codes).toContain("signing_secret_mismatch");
    expect(codes).toContain("webhooks_silent");
    expect(report.webhooksSilent).toBe(true);
    expect(report.findings.find((f) => f.code === "signing_secret_mismatch")?.severity).toBe(
      "error",
    );

    // The run records the findings and raises the webhook gap even though nothing needed crediting
    // by session (the purchase is credited by the run here, which also counts).
    mp.emu.control.setFaults({ wrongSecretRate: 0, dropRate: 1 });
    const run = await reconcile();
    expect(run.doctor?.webhooksSilent).toBe(true);
    expect(run.creditedNow).toBe(1);
    const stored = await getRun(run.runId);
    expect(stored?.doctor?.findings.map((f) => f.code)).toContain("webhooks_silent");
    expect(
      await getDb().attentionItem.count({ where: { kind: "webhook_gap", status: "open" } }),
    ).toBe(1);
    expect(await purchasesFor([session.id])).toHaveLength(1);
  });
});

describe("alerts", () => {
  let alertServer: Server | undefined;
  afterAll(() => alertServer?.close());

  it("POSTs a Slack-compatible summary, and a failed POST is retried by the next run", async () => {
    const { mp } = kit.ctx;
    const received: Record<string, unknown>[] = [];
    let failNext = true;
    alertServer = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        if (failNext) {
          failNext = false;
          res.writeHead(503);
          res.end("down");
          return;
        }
        received.push(
          JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>,
        );
        res.writeHead(200);
        res.end("ok");
      });
    });
    await new Promise<void>((r) => alertServer!.listen(0, "127.0.0.1", r));
    const alertUrl = `http://127.0.0.1:${(alertServer.address() as AddressInfo).port}/services/T000/B000/secret-token`;
    kit.setEnv({ ALERT_WEBHOOK_URL: alertUrl });
    try {
      const { price, users } = await packAndUsers(mp, 2);
      // One purchase arrives by webhook (the webhooks are not silent), the other's are lost.
      await paidSession(mp, { priceId: price.id, clientReferenceId: users[0].id });
      const lost = await createSession(mp.stripe, {
        priceId: price.id,
        clientReferenceId: users[1].id,
      });
      mp.emu.control.dropEventsFor(lost.id);
      await mp.emu.control.paySession(lost.id);
      await mp.emu.control.waitForDeliveries();
      expect(await balanceOf(users[0].id)).toBe(100);

      const first = await reconcile();
      expect(first.creditedNow).toBe(1);
      expect(first.alertStatus).toBe("pending");
      expect(received).toHaveLength(0);
      const undelivered = await getDb().attentionItem.findFirst({
        where: { kind: "alert_delivery", status: "open" },
      });
      expect(undelivered?.detail).toContain("503");
      expect(undelivered?.detail).not.toContain("secret-token");

      const second = await reconcile();
      expect(second.creditedNow).toBe(0);
      expect(received).toHaveLength(1);
      const payload = received[0];
      expect(payload.runId).toBe(first.runId);
      expect(typeof payload.text).toBe("string");
      expect(payload.text).toContain("credited 1 paid purchase");
      expect(payload.creditedNow).toBe(1);
      const body = JSON.stringify(payload);
      for (const secret of ["sk_test", "whsec_", kit.ctx.mp.secret, "secret-token"])
        expect(body).not.toContain(secret);
      const row = await getDb().reconciliationRun.findUniqueOrThrow({ where: { id: first.runId } });
      expect(row.alertStatus).toBe("sent");
      expect(
        await getDb().attentionItem.count({ where: { kind: "alert_delivery", status: "open" } }),
      ).toBe(0);
    } finally {
      kit.setEnv({});
    }
  });
});

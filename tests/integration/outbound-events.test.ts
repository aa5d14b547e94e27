import { Webhook } from "standardwebhooks";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { postLedgerEntry, postLedgerEntryInTx } from "../../app/services/ledger.server";
import { getDb } from "../../app/services/infra/db.server";
import {
  createEndpoint,
  replayDelivery,
  replayFailed,
  rotateEndpointSecret,
  sendTestEvent,
  setEndpointEnabled,
  setUserThresholds,
} from "../../app/services/outbound/endpoints.server";
import {
  drainOutbound,
  expiringPass,
  retryDelayMs,
} from "../../app/services/outbound/worker.server";
import { closeSenderConnections } from "../../app/services/outbound/sender.server";
import { raiseAttention } from "../../app/services/attention.server";
import { outboundPayloadSchemas } from "../../app/services/outbound/payloads.server";
import type { OutboundEventType } from "../../app/shared/outbound";
import { startReceiver } from "../support/outbound-receiver";
import { useTestDatabase } from "../support/test-database";

const t = useTestDatabase();
const staff = { type: "cli", label: "test" } as const;

let receivers: Awaited<ReturnType<typeof startReceiver>>[] = [];
async function receiver(...args: Parameters<typeof startReceiver>) {
  const r = await startReceiver(...args);
  receivers.push(r);
  return r;
}

beforeEach(async () => {
  // Each test starts with no endpoints and an empty outbox.
  await t.db.prisma.$executeRawUnsafe(
    "TRUNCATE outbound_attempts, outbound_deliveries, outbound_events, outbound_endpoint_secrets, outbound_endpoints, user_thresholds",
  );
});
afterEach(async () => {
  // Every body delivered in these tests matches its documented schema (the OpenAPI webhooks).
  for (const r of receivers)
    for (const body of r.received.map((x) => JSON.parse(x.body) as { type: OutboundEventType }))
      outboundPayloadSchemas[body.type].parse(body);
  await Promise.all(receivers.map((r) => r.close()));
  receivers = [];
  closeSenderConnections();
});

async function createUser() {
  const id = `u_${Math.random().toString(36).slice(2)}`;
  await t.db.prisma.user.create({
    data: { id, email: `${id}@example.com`, emailNormalized: `${id}@example.com` },
  });
  return id;
}
const key = () => `k_${Math.random().toString(36).slice(2)}`;

async function deliveries() {
  return t.db.prisma.outboundDelivery.findMany({ orderBy: { id: "asc" } });
}

/** Make every pending delivery due now (instead of waiting out the backoff). */
async function dueNow() {
  await t.db.prisma
    .$executeRaw`UPDATE outbound_deliveries SET next_attempt_at = now() WHERE status = 'pending'`;
}

describe("outbound events: format and signatures", () => {
  it("sends credits.granted signed in the Standard Webhooks format, verified by the standardwebhooks package", async () => {
    const r = await receiver();
    const ep = await createEndpoint({ url: r.url, eventTypes: ["credits.granted"] }, staff);
    expect(ep.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const userId = await createUser();
    const posted = await postLedgerEntry({
      userId,
      delta: 500,
      kind: "grant",
      idempotencyKey: key(),
      reason: "welcome",
    });
    await drainOutbound();

    expect(r.received).toHaveLength(1);
    const [got] = r.received;
    expect(got.headers["webhook-id"]).toMatch(/^msg_\d+$/);
    expect(got.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    const verified = new Webhook(ep.secret).verify(got.body, got.headers) as {
      type: string;
      timestamp: string;
      data: Record<string, unknown>;
    };
    expect(verified.type).toBe("credits.granted");
    expect(new Date(verified.timestamp).getTime()).not.toBeNaN();
    expect(verified.data).toMatchObject({
      userId,
      delta: 500,
      amount: 500,
      balanceAfter: 500,
      ledgerEntryId: posted.entry.id.toString(),
      seq: 1,
      kind: "grant",
      reason: "welcome",
      purchaseId: null,
    });
    // A tampered body fails the third-party verifier.
    expect(() =>
      new Webhook(ep.secret).verify(got.body.replace("500", "501"), got.headers),
    ).toThrow();
    const [d] = await deliveries();
    expect(d).toMatchObject({ status: "delivered", attempts: 1, lastStatus: 200 });
    const attempts = await t.db.prisma.outboundAttempt.findMany({ where: { deliveryId: d.id } });
    expect(attempts).toMatchObject([
      { attempt: 1, responseStatus: 200, ok: true, responseBody: "ok" },
    ]);
  });

  it("signs with the old and the new secret for 24 hours after a rotation; either verifies", async () => {
    const r = await receiver();
    const ep = await createEndpoint({ url: r.url, eventTypes: ["credits.granted"] }, staff);
    const rotated = await rotateEndpointSecret(ep.id, staff);
    expect(rotated.secret).not.toBe(ep.secret);
    expect(rotated.previousExpireAt.getTime() - Date.now()).toBeGreaterThan(23.9 * 3600_000);
    const userId = await createUser();
    await postLedgerEntry({ userId, delta: 5, kind: "grant", idempotencyKey: key() });
    await drainOutbound();
    const [got] = r.received;
    expect(got.headers["webhook-signature"].split(" ")).toHaveLength(2);
    expect(new Webhook(ep.secret).verify(got.body, got.headers)).toMatchObject({
      type: "credits.granted",
    });
    expect(new Webhook(rotated.secret).verify(got.body, got.headers)).toMatchObject({
      type: "credits.granted",
    });

    // Once the old secret has expired only the new one signs.
    await t.db.prisma
      .$executeRaw`UPDATE outbound_endpoint_secrets SET expires_at = now() - interval '1 second' WHERE expires_at IS NOT NULL`;
    await new Promise((res) => setTimeout(res, 2100)); // the worker's signing cache lives 2 s
    await postLedgerEntry({ userId, delta: 5, kind: "grant", idempotencyKey: key() });
    await drainOutbound();
    const second = r.received[1];
    expect(second.headers["webhook-signature"].split(" ")).toHaveLength(1);
    expect(() => new Webhook(ep.secret).verify(second.body, second.headers)).toThrow();
    expect(new Webhook(rotated.secret).verify(second.body, second.headers)).toMatchObject({
      type: "credits.granted",
    });
  });

  it("never shows a secret again: audit records and endpoint rows hold only the hint", async () => {
    const r = await receiver();
    const ep = await createEndpoint({ url: r.url }, staff);
    const audit = await t.db.prisma.auditLog.findMany({ where: { targetId: ep.id } });
    const text = JSON.stringify(audit, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v));
    expect(text).not.toContain(ep.secret.slice(6));
    expect(text).toContain(`whsec_…${ep.secret.slice(-4)}`);
    const row = await t.db.prisma.outboundEndpoint.findUniqueOrThrow({ where: { id: ep.id } });
    expect(JSON.stringify(row)).not.toContain(ep.secret.slice(6));
  });
});

describe("outbound events: the outbox", () => {
  it("writes nothing when the transaction that wrote the ledger entry rolls back", async () => {
    const r = await receiver();
    await createEndpoint({ url: r.url, eventTypes: ["credits.granted", "balance.low"] }, staff);
    const userId = await createUser();
    await expect(
      getDb().$transaction(async (tx) => {
        await postLedgerEntryInTx(tx, { userId, delta: 50, kind: "grant", idempotencyKey: key() });
        throw new Error("rolled back on purpose");
      }),
    ).rejects.toThrow("rolled back on purpose");
    await drainOutbound();
    expect(await t.db.prisma.outboundEvent.count()).toBe(0);
    expect(r.received).toHaveLength(0);
    expect(await t.db.prisma.ledgerEntry.count({ where: { userId } })).toBe(0);
  });

  it("writes credits.debited only while an endpoint subscribes to it, and sends it only to those", async () => {
    const userId = await createUser();
    await postLedgerEntry({ userId, delta: 100, kind: "grant", idempotencyKey: key() });
    const all = await receiver();
    await createEndpoint({ url: all.url }, staff); // default types: everything but debits
    await postLedgerEntry({ userId, delta: -1, kind: "usage", idempotencyKey: key() });
    expect(await t.db.prisma.outboundEvent.count({ where: { type: "credits.debited" } })).toBe(0);

    const debits = await receiver();
    await createEndpoint({ url: debits.url, eventTypes: ["credits.debited"] }, staff);
    const posted = await postLedgerEntry({
      userId,
      delta: -2,
      kind: "usage",
      idempotencyKey: key(),
      reason: "api call",
    });
    await drainOutbound();
    expect(debits.events()).toMatchObject([
      {
        type: "credits.debited",
        data: {
          userId,
          delta: -2,
          amount: 2,
          balanceAfter: 97,
          ledgerEntryId: posted.entry.id.toString(),
          seq: 3,
        },
      },
    ]);
    expect(all.events().map((e) => e.type)).not.toContain("credits.debited");
  });

  it("reports clawbacks, tier changes and attention items, each from its own transaction", async () => {
    const r = await receiver();
    await createEndpoint({ url: r.url }, staff);
    const userId = await createUser();
    await postLedgerEntry({ userId, delta: 300, kind: "grant", idempotencyKey: key() });
    await postLedgerEntry({ userId, delta: -100, kind: "refund_clawback", idempotencyKey: key() });
    await t.db.prisma.tier.upsert({
      where: { code: "pro" },
      create: { code: "pro", name: "Pro", rank: 10 },
      update: {},
    });
    await t.db.prisma.$transaction(async (tx) => {
      await tx.user.update({ where: { id: userId }, data: { tierCode: "pro" } });
      await tx.tierChange.create({
        data: { userId, fromTier: "free", toTier: "pro", source: "manual" },
      });
    });
    const item = await raiseAttention({
      kind: "webhook_gap",
      dedupeKey: key(),
      title: "gap",
      userId,
    });
    await drainOutbound();
    const events = r.events();
    expect(events.map((e) => e.type)).toEqual([
      "credits.granted",
      "credits.clawed_back",
      "tier.changed",
      "attention.raised",
    ]);
    expect(events[1].data).toMatchObject({
      userId,
      delta: -100,
      balanceAfter: 200,
      kind: "refund_clawback",
    });
    expect(events[2].data).toMatchObject({
      userId,
      from: "free",
      to: "pro",
      source: "manual",
      balanceAfter: 200,
    });
    expect(events[3].data).toMatchObject({ attentionItemId: item.id, kind: "webhook_gap", userId });
  });
});

describe("outbound events: refunds and disputes", () => {
  it("sends purchase.refunded, purchase.disputed and purchase.dispute_closed at commit, with the balance the transaction left", async () => {
    const r = await receiver();
    await createEndpoint(
      {
        url: r.url,
        eventTypes: ["purchase.refunded", "purchase.disputed", "purchase.dispute_closed"],
      },
      staff,
    );
    const userId = await createUser();
    const purchase = await t.db.prisma.purchase.create({
      data: {
        checkoutSessionId: `cs_${key()}`,
        userId,
        quantity: 1,
        credits: 100,
        amountTotal: 1000,
        currency: "usd",
        creditedVia: "webhook",
        userResolvedBy: "client_reference_id",
        lines: [],
        stripeCreatedAt: new Date(),
        paidAt: new Date(),
      },
    });
    await postLedgerEntry({
      userId,
      delta: 100,
      kind: "purchase",
      idempotencyKey: key(),
      purchaseId: purchase.id,
    });
    await getDb().$transaction(async (tx) => {
      // The refund row first, its clawback after: the event (at commit) sees both.
      await tx.refund.create({
        data: {
          id: "re_1",
          purchaseId: purchase.id,
          amount: 500,
          currency: "usd",
          creditsClawed: 50,
          stripeCreated: new Date(),
        },
      });
      await postLedgerEntryInTx(tx, {
        userId,
        delta: -50,
        kind: "refund_clawback",
        idempotencyKey: "refund:re_1",
        purchaseId: purchase.id,
      });
    });
    await getDb().$transaction(async (tx) => {
      await tx.dispute.create({
        data: {
          id: "dp_1",
          purchaseId: purchase.id,
          amount: 500,
          currency: "usd",
          status: "needs_response",
          creditsHeld: 50,
          openedAt: new Date(),
        },
      });
      await postLedgerEntryInTx(tx, {
        userId,
        delta: -50,
        kind: "dispute_hold",
        idempotencyKey: "dispute_hold:dp_1",
        purchaseId: purchase.id,
      });
    });
    await getDb().$transaction(async (tx) => {
      await tx.dispute.update({
        where: { id: "dp_1" },
        data: { status: "won", closedAt: new Date() },
      });
      await postLedgerEntryInTx(tx, {
        userId,
        delta: 50,
        kind: "dispute_release",
        idempotencyKey: "dispute_release:dp_1",
        purchaseId: purchase.id,
      });
    });
    await drainOutbound();
    expect(r.events().map((e) => [e.type, e.data.balanceAfter, e.data.seq])).toEqual([
      ["purchase.refunded", 50, 2],
      ["purchase.disputed", 0, 3],
      ["purchase.dispute_closed", 50, 4],
    ]);
    expect(r.events()[0].data).toMatchObject({
      refundId: "re_1",
      amount: 500,
      creditsClawedBack: 50,
      purchaseId: purchase.id,
    });
    expect(r.events()[2].data).toMatchObject({ disputeId: "dp_1", status: "won" });
  });
});

describe("outbound events: credit grants", () => {
  it("names the grant a credit created and the grants a debit took from", async () => {
    const r = await receiver();
    await createEndpoint({ url: r.url, eventTypes: ["credits.granted", "credits.debited"] }, staff);
    const userId = await createUser();
    const granted = await postLedgerEntry({
      userId,
      delta: 10,
      kind: "grant",
      idempotencyKey: key(),
    });
    const grant = await t.db.prisma.creditGrant.findUniqueOrThrow({
      where: { ledgerEntryId: granted.entry.id },
    });
    await postLedgerEntry({ userId, delta: -4, kind: "usage", idempotencyKey: key() });
    await drainOutbound();
    expect(r.events().map((e) => [e.type, e.data.grantId, e.data.allocations])).toEqual([
      ["credits.granted", grant.id.toString(), [{ grantId: grant.id.toString(), delta: 10 }]],
      ["credits.debited", null, [{ grantId: grant.id.toString(), delta: -4 }]],
    ]);
  });

  it("sends credits.expiring once per grant within the configured days, and credits.expired when it lapses", async () => {
    const r = await receiver();
    await createEndpoint(
      { url: r.url, eventTypes: ["credits.expiring", "credits.expired"] },
      staff,
    );
    const userId = await createUser();
    const soon = new Date(Date.now() + 3 * 24 * 3600_000);
    const posted = await postLedgerEntry({
      userId,
      delta: 30,
      kind: "grant",
      idempotencyKey: key(),
      grant: { source: "promotion", expiresAt: soon },
    });
    await postLedgerEntry({
      userId,
      delta: 30,
      kind: "grant",
      idempotencyKey: key(),
      grant: { source: "promotion", expiresAt: new Date(Date.now() + 30 * 24 * 3600_000) },
    });
    const grant = await t.db.prisma.creditGrant.findUniqueOrThrow({
      where: { ledgerEntryId: posted.entry.id },
    });
    expect(await expiringPass(7)).toBe(1);
    expect(await expiringPass(7)).toBe(0); // once per grant
    await drainOutbound();
    expect(r.events()).toMatchObject([
      {
        type: "credits.expiring",
        data: {
          userId,
          grantId: grant.id.toString(),
          remaining: 30,
          daysBefore: 7,
          balanceAfter: 60,
          ledgerEntryId: posted.entry.id.toString(),
          seq: 1,
        },
      },
    ]);
    expect(new Date(r.events()[0].data.expiresAt as string).getTime()).toBe(soon.getTime());

    // The expiry entry (the grants pass posts kind "expiry") is credits.expired.
    await postLedgerEntry({
      userId,
      delta: -30,
      kind: "expiry",
      idempotencyKey: key(),
      grant: { grantId: grant.id },
    });
    await drainOutbound();
    expect(r.events()[1]).toMatchObject({
      type: "credits.expired",
      data: {
        userId,
        delta: -30,
        balanceAfter: 30,
        kind: "expiry",
        allocations: [{ grantId: grant.id.toString(), delta: -30 }],
      },
    });
  });
});

describe("outbound events: balance.low", () => {
  it("fires once per downward crossing of the user's threshold and re-arms above it", async () => {
    const r = await receiver();
    await createEndpoint({ url: r.url, eventTypes: ["balance.low"] }, staff);
    const userId = await createUser();
    await setUserThresholds(userId, 50, staff);
    await postLedgerEntry({ userId, delta: 100, kind: "grant", idempotencyKey: key() });
    for (const delta of [-30, -30, -30])
      // 70, 40 (crossing), 10
      await postLedgerEntry({ userId, delta, kind: "usage", idempotencyKey: key() });
    await postLedgerEntry({ userId, delta: 20, kind: "grant", idempotencyKey: key() }); // 30: still low
    await postLedgerEntry({ userId, delta: -5, kind: "usage", idempotencyKey: key() }); // 25: no event
    await postLedgerEntry({ userId, delta: 75, kind: "grant", idempotencyKey: key() }); // 100: re-armed
    await postLedgerEntry({ userId, delta: -60, kind: "usage", idempotencyKey: key() }); // 40: crossing
    await drainOutbound();
    expect(r.events().map((e) => e.data)).toMatchObject([
      { userId, balanceBefore: 70, balanceAfter: 40, threshold: 50 },
      { userId, balanceBefore: 100, balanceAfter: 40, threshold: 50 },
    ]);
  });

  it("uses the default threshold (outbound_settings) for users without their own", async () => {
    const r = await receiver();
    await createEndpoint({ url: r.url, eventTypes: ["balance.low"] }, staff);
    const userId = await createUser();
    await postLedgerEntry({ userId, delta: 150, kind: "grant", idempotencyKey: key() });
    await postLedgerEntry({ userId, delta: -60, kind: "usage", idempotencyKey: key() });
    await drainOutbound();
    expect(r.events().map((e) => e.data)).toMatchObject([{ balanceAfter: 90, threshold: 100 }]);
  });
});

describe("outbound events: failures, retries and disabling", () => {
  it("retries a receiver that fails 3 times with backoff, then delivers; the log keeps every attempt", async () => {
    const r = await receiver((n) => ({ status: n <= 3 ? 500 : 204, body: n <= 3 ? "boom" : "" }));
    const ep = await createEndpoint({ url: r.url, eventTypes: ["credits.granted"] }, staff);
    const userId = await createUser();
    await postLedgerEntry({ userId, delta: 5, kind: "grant", idempotencyKey: key() });
    for (let i = 0; i < 4; i++) {
      await drainOutbound();
      await dueNow();
    }
    expect(r.received).toHaveLength(4);
    expect(new Set(r.received.map((x) => x.headers["webhook-id"])).size).toBe(1);
    const [d] = await deliveries();
    expect(d).toMatchObject({ status: "delivered", attempts: 4, lastStatus: 204 });
    const log = await t.db.prisma.outboundAttempt.findMany({
      where: { deliveryId: d.id },
      orderBy: { attempt: "asc" },
    });
    expect(log.map((a) => [a.attempt, a.responseStatus, a.ok, a.responseBody])).toEqual([
      [1, 500, false, "boom"],
      [2, 500, false, "boom"],
      [3, 500, false, "boom"],
      [4, 204, true, ""],
    ]);
    const endpoint = await t.db.prisma.outboundEndpoint.findUniqueOrThrow({ where: { id: ep.id } });
    expect(endpoint).toMatchObject({
      enabled: true,
      consecutiveFailures: 0,
      failingSince: null,
      lastError: "HTTP 500",
    });
  });

  it("backs off exponentially with jitter, capped at 6 hours", () => {
    expect(retryDelayMs(1, () => 0.5)).toBe(5_000);
    expect(retryDelayMs(2, () => 0.5)).toBe(15_000);
    expect(retryDelayMs(3, () => 0)).toBe(33_750);
    expect(retryDelayMs(3, () => 1)).toBe(56_250);
    expect(retryDelayMs(30, () => 0.5)).toBe(6 * 3600_000);
  });

  it("treats a 3xx as a failure and does not follow it", async () => {
    const target = await receiver();
    const r = await receiver(() => ({ status: 302, headers: { location: target.url } }));
    await createEndpoint({ url: r.url, eventTypes: ["credits.granted"] }, staff);
    const userId = await createUser();
    await postLedgerEntry({ userId, delta: 5, kind: "grant", idempotencyKey: key() });
    await drainOutbound();
    expect(target.received).toHaveLength(0);
    const [d] = await deliveries();
    expect(d).toMatchObject({
      status: "pending",
      attempts: 1,
      lastStatus: 302,
      lastError: "HTTP 302 (redirects are not followed)",
    });
    expect(d.nextAttemptAt!.getTime()).toBeGreaterThan(Date.now());
  });

  it("disables an endpoint at once when it answers 410, with an attention item", async () => {
    const r = await receiver(() => ({ status: 410 }));
    const ep = await createEndpoint({ url: r.url, eventTypes: ["credits.granted"] }, staff);
    const userId = await createUser();
    await postLedgerEntry({ userId, delta: 5, kind: "grant", idempotencyKey: key() });
    await drainOutbound();
    const endpoint = await t.db.prisma.outboundEndpoint.findUniqueOrThrow({ where: { id: ep.id } });
    expect(endpoint).toMatchObject({ enabled: false, disabledReason: "answered 410 Gone" });
    const [d] = await deliveries();
    expect(d.status).toBe("failed");
    const item = await t.db.prisma.attentionItem.findFirstOrThrow({
      where: { kind: "outbound_endpoint_disabled" },
    });
    expect(item).toMatchObject({ status: "open", title: `Event endpoint disabled: ${r.url}` });
    // Disabled: a later event is not fanned out to it.
    await postLedgerEntry({ userId, delta: 5, kind: "grant", idempotencyKey: key() });
    await drainOutbound();
    expect(r.received).toHaveLength(1);
  });

  it("disables after 1,000 consecutive failures and after 3 days of failures; gives a delivery up after 3 days", async () => {
    const r = await receiver(() => ({ status: 503 }));
    const a = await createEndpoint({ url: r.url, eventTypes: ["credits.granted"] }, staff);
    const b = await createEndpoint({ url: `${r.url}?b`, eventTypes: ["credits.granted"] }, staff);
    await t.db.prisma.outboundEndpoint.update({
      where: { id: a.id },
      data: { consecutiveFailures: 999, failingSince: new Date() },
    });
    await t.db.prisma.outboundEndpoint.update({
      where: { id: b.id },
      data: {
        consecutiveFailures: 5,
        failingSince: new Date(Date.now() - 3 * 24 * 3600_000 - 60_000),
      },
    });
    const userId = await createUser();
    await postLedgerEntry({ userId, delta: 5, kind: "grant", idempotencyKey: key() });
    await drainOutbound();
    const [ea, eb] = await Promise.all([
      t.db.prisma.outboundEndpoint.findUniqueOrThrow({ where: { id: a.id } }),
      t.db.prisma.outboundEndpoint.findUniqueOrThrow({ where: { id: b.id } }),
    ]);
    expect(ea).toMatchObject({
      enabled: false,
      consecutiveFailures: 1000,
      disabledReason: "failed 1000 times in a row",
    });
    expect(eb.enabled).toBe(false);
    expect(eb.disabledReason).toMatch(/^failing since .* \(3 days\)$/);
    expect(
      await t.db.prisma.attentionItem.count({
        where: { kind: "outbound_endpoint_disabled", status: "open" },
      }),
    ).toBeGreaterThanOrEqual(2);

    // A delivery first tried more than 3 days ago fails for good on its next failure.
    await setEndpointEnabled(a.id, true, staff);
    await t.db.prisma
      .$executeRaw`UPDATE outbound_deliveries SET first_attempt_at = now() - interval '3 days 1 minute', next_attempt_at = now() WHERE endpoint_id = ${a.id}`;
    await drainOutbound();
    const [da] = await t.db.prisma.outboundDelivery.findMany({ where: { endpointId: a.id } });
    expect(da).toMatchObject({ status: "failed", attempts: 2, nextAttemptAt: null });
  });

  it("times out a receiver that never answers (10 s) and retries it later", async () => {
    const r = await receiver(() => ({ never: true }));
    await createEndpoint({ url: r.url, eventTypes: ["credits.granted"] }, staff);
    const userId = await createUser();
    await postLedgerEntry({ userId, delta: 5, kind: "grant", idempotencyKey: key() });
    await drainOutbound();
    const [d] = await deliveries();
    expect(d).toMatchObject({
      status: "pending",
      attempts: 1,
      lastStatus: null,
      lastError: "timed out after 10 s",
    });
    const [attempt] = await t.db.prisma.outboundAttempt.findMany({ where: { deliveryId: d.id } });
    expect(attempt.durationMs).toBeGreaterThanOrEqual(10_000);
  }, 30_000);

  it("does not let a slow endpoint (5 s per answer) hold up the others", async () => {
    const slow = await receiver(() => ({ delayMs: 5_000 }));
    const fast = await receiver();
    const slowEp = await createEndpoint({ url: slow.url, eventTypes: ["credits.granted"] }, staff);
    await createEndpoint({ url: fast.url, eventTypes: ["credits.granted"] }, staff);
    const userId = await createUser();
    for (let i = 0; i < 20; i++)
      await postLedgerEntry({ userId, delta: 1, kind: "grant", idempotencyKey: key() });
    const draining = drainOutbound();
    // The fast endpoint gets all 20 while the slow one has not answered one yet.
    while (fast.received.length < 20) await new Promise((res) => setTimeout(res, 20));
    const slowAnswered = await t.db.prisma.outboundAttempt.count({
      where: { endpointId: slowEp.id },
    });
    expect(slowAnswered).toBe(0);
    expect(slow.received.length).toBeLessThanOrEqual(16);
    await draining;
    expect(slow.received).toHaveLength(20);
  }, 60_000);
});

describe("outbound events: replay and test events", () => {
  it("replays one delivery and every failed delivery in a time range", async () => {
    let failing = true;
    const r = await receiver(() => ({ status: failing ? 410 : 200 }));
    const ep = await createEndpoint({ url: r.url, eventTypes: ["credits.granted"] }, staff);
    const userId = await createUser();
    await postLedgerEntry({ userId, delta: 5, kind: "grant", idempotencyKey: key() });
    await drainOutbound(); // 410: failed, endpoint disabled
    await t.db.prisma.$executeRaw`UPDATE outbound_deliveries SET status = 'failed'`;
    failing = false;
    await setEndpointEnabled(ep.id, true, staff);
    for (let i = 0; i < 3; i++)
      await postLedgerEntry({ userId, delta: 5, kind: "grant", idempotencyKey: key() });
    await drainOutbound();
    expect(r.received).toHaveLength(4);

    const [first, ...rest] = await deliveries();
    await replayDelivery(first.id.toString(), staff);
    await drainOutbound();
    expect(r.received).toHaveLength(5);
    expect(r.received[4].headers["webhook-id"]).toBe(r.received[0].headers["webhook-id"]);
    await expect(replayDelivery("999999", staff)).rejects.toMatchObject({
      status: 404,
      field: "deliveryId",
    });

    // Mark two as failed and replay the failed ones of the last hour: exactly those two go again.
    await t.db.prisma.outboundDelivery.updateMany({
      where: { id: { in: rest.slice(0, 2).map((d) => d.id) } },
      data: { status: "failed" },
    });
    const { replayed } = await replayFailed({ since: new Date(Date.now() - 3600_000) }, staff);
    expect(replayed).toBe(2);
    await drainOutbound();
    expect(r.received).toHaveLength(7);
    expect(await t.db.prisma.outboundDelivery.count({ where: { status: "delivered" } })).toBe(4);
    await expect(
      replayFailed({ since: new Date(), until: new Date(Date.now() - 1000) }, staff),
    ).rejects.toMatchObject({ field: "until" });
    const audit = await t.db.prisma.auditLog.findMany({
      where: { action: { startsWith: "outbound_delivery." } },
    });
    expect(audit.map((a) => a.action).sort()).toEqual([
      "outbound_delivery.replay",
      "outbound_delivery.replay_failed",
    ]);
  });

  it("sends a test event to one endpoint only", async () => {
    const a = await receiver();
    const b = await receiver();
    const ea = await createEndpoint({ url: a.url }, staff);
    await createEndpoint({ url: b.url }, staff);
    await sendTestEvent(ea.id, staff);
    await drainOutbound();
    expect(a.events()).toMatchObject([{ type: "credits.granted", data: { test: true } }]);
    expect(b.received).toHaveLength(0);
  });
});

import type Stripe from "stripe";
import { beforeAll, describe, expect, it } from "vitest";
import { getDb } from "../../app/services/infra/db.server";
import { postLedgerEntry } from "../../app/services/ledger.server";
import { verifyLedger } from "../../app/services/ledger-verify.server";
import { syncPacks } from "../../app/services/packs.server";
import {
  applyChargeRefunds,
  clawTotal,
  findMissingRefunds,
} from "../../app/services/refunds.server";
import { processStripeEvent } from "../../app/services/webhooks/handlers.server";
import {
  balanceOf,
  createPrice,
  createUser,
  deliver,
  eventsFor,
  paidSession,
  uid,
  useMoneyPath,
} from "../support/money-path";
import { useTestDatabase } from "../support/test-database";

useTestDatabase();
const mp = useMoneyPath();

let priceId: string;
let proPriceId: string;
beforeAll(async () => {
  // 100 credits for 9.99: thirds of the amount do not divide the credits evenly.
  priceId = (await createPrice(mp.ctx.stripe, { credits: 100, unitAmount: 999 })).id;
  proPriceId = (await createPrice(mp.ctx.stripe, { credits: 100, unitAmount: 999, tier: "pro" }))
    .id;
  await syncPacks();
});

async function expectLedgerClean() {
  expect((await verifyLedger()).violations).toEqual([]);
}

/** A user with a credited purchase, through the real webhook. */
async function creditedPurchase(price = priceId) {
  const user = await createUser();
  const session = await paidSession(mp.ctx, { priceId: price, clientReferenceId: user.id });
  const [completed] = await eventsFor(mp.ctx.stripe, session.id, "checkout.session.completed");
  expect((await deliver(mp.ctx, completed)).outcome).toBe("processed");
  const purchase = await getDb().purchase.findUniqueOrThrow({
    where: { checkoutSessionId: session.id },
  });
  const pi = await mp.ctx.stripe.paymentIntents.retrieve(purchase.paymentIntentId!);
  return { user, session, purchase, chargeId: pi.latest_charge as string };
}

/** Deliver the newest event of a type about an object (each refund makes a new charge.refunded). */
async function deliverLatest(objectId: string, type: string) {
  const events = await eventsFor(mp.ctx.stripe, objectId, type);
  const event = events[events.length - 1];
  if (!event) throw new Error(`no ${type} for ${objectId}`);
  const res = await deliver(mp.ctx, event);
  expect(res.status).toBe(200);
  return { event, outcome: res.outcome };
}

describe("cumulative rounding", () => {
  it("sums partial clawbacks exactly to the purchase's credits", () => {
    expect(clawTotal(100, 999, 333)).toBe(33);
    expect(clawTotal(100, 999, 666)).toBe(66);
    expect(clawTotal(100, 999, 999)).toBe(100);
    expect(clawTotal(7, 1000, 1)).toBe(0);
    expect(clawTotal(7, 1000, 1500)).toBe(7);
  });
});

describe("refunds", () => {
  it("claws back partial refunds in proportion, then the rest on the final refund", async () => {
    const { user, session, purchase, chargeId } = await creditedPurchase();
    await mp.ctx.emu.control.refund(session.id, { amount: 333 });
    expect((await deliverLatest(chargeId, "charge.refunded")).outcome).toBe("processed");
    expect(await balanceOf(user.id)).toBe(67);
    expect(await getDb().purchase.findUniqueOrThrow({ where: { id: purchase.id } })).toMatchObject({
      status: "partially_refunded",
      amountRefunded: 333,
      creditsClawedBack: 33,
      chargeId,
    });

    await mp.ctx.emu.control.refund(session.id, { amount: 333 });
    const second = await deliverLatest(chargeId, "charge.refunded");
    expect(await balanceOf(user.id)).toBe(34);
    // Redelivery and replay of an applied event change nothing.
    expect((await deliver(mp.ctx, second.event)).body.outcome).toBe("duplicate");
    expect((await processStripeEvent(second.event.id, "replay")).status).toBe("processed");
    expect(await balanceOf(user.id)).toBe(34);

    await mp.ctx.emu.control.refund(session.id, { amount: 333 });
    await deliverLatest(chargeId, "charge.refunded");
    expect(await balanceOf(user.id)).toBe(0);
    const done = await getDb().purchase.findUniqueOrThrow({ where: { id: purchase.id } });
    expect(done).toMatchObject({
      status: "refunded",
      amountRefunded: 999,
      creditsClawedBack: 100,
      creditsUnrecovered: 0,
    });
    const clawbacks = await getDb().ledgerEntry.findMany({
      where: { purchaseId: purchase.id, kind: "refund_clawback" },
      orderBy: { seq: "asc" },
    });
    expect(clawbacks.map((e) => e.delta)).toEqual([-33, -33, -34]);
    expect(clawbacks.every((e) => e.idempotencyKey.startsWith("refund:re_"))).toBe(true);
    expect(await getDb().refund.count({ where: { purchaseId: purchase.id } })).toBe(3);
    expect(await findMissingRefunds(done)).toEqual([]);
    await expectLedgerClean();
  });

  it("applies a refund that arrives before the checkout event (fulfils first, then claws back)", async () => {
    const user = await createUser();
    const session = await paidSession(mp.ctx, { priceId, clientReferenceId: user.id });
    const refund = await mp.ctx.emu.control.refund(session.id);
    const chargeId = refund.charge as string;
    expect((await deliverLatest(chargeId, "charge.refunded")).outcome).toBe("processed");
    const purchase = await getDb().purchase.findUniqueOrThrow({
      where: { checkoutSessionId: session.id },
    });
    expect(purchase).toMatchObject({ status: "refunded", creditsClawedBack: 100 });
    expect(await balanceOf(user.id)).toBe(0);
    const [completed] = await eventsFor(mp.ctx.stripe, session.id, "checkout.session.completed");
    expect((await deliver(mp.ctx, completed)).outcome).toBe("processed");
    expect(await balanceOf(user.id)).toBe(0);
    expect(await getDb().ledgerEntry.count({ where: { userId: user.id } })).toBe(2);
    await expectLedgerClean();
  });

  it("finds refunds the webhooks missed and applies them idempotently", async () => {
    const { user, session, purchase, chargeId } = await creditedPurchase();
    await mp.ctx.emu.control.refund(session.id, { amount: 500 });
    const missing = await findMissingRefunds(purchase, chargeId);
    expect(missing.map((r) => r.amount)).toEqual([500]);
    const first = await applyChargeRefunds(chargeId, { via: "reconciliation" });
    expect(first.outcome === "applied" && first.applied.map((a) => a.creditsClawed)).toEqual([50]);
    const again = await applyChargeRefunds(chargeId, { via: "reconciliation" });
    expect(again.outcome === "applied" && again.applied).toEqual([]);
    expect(await balanceOf(user.id)).toBe(50);
  });

  it("allow_negative: claws everything and records what had already been spent", async () => {
    const { user, session, purchase, chargeId } = await creditedPurchase();
    await postLedgerEntry({
      userId: user.id,
      delta: -80,
      kind: "usage",
      idempotencyKey: `use:${uid()}`,
    });
    await mp.ctx.emu.control.refund(session.id);
    await deliverLatest(chargeId, "charge.refunded");
    expect(await balanceOf(user.id)).toBe(-80);
    expect(await getDb().purchase.findUniqueOrThrow({ where: { id: purchase.id } })).toMatchObject({
      creditsClawedBack: 100,
      creditsUnrecovered: 80,
      status: "refunded",
    });
    const item = await getDb().attentionItem.findFirstOrThrow({
      where: { purchaseId: purchase.id, kind: "unrecovered_credits" },
    });
    expect(item.detail).toMatch(/allow_negative/);
    await expectLedgerClean();
  });

  it("clamp_to_zero: claws at most the balance and records the rest as unrecovered", async () => {
    mp.setEnv({ CLAWBACK_POLICY: "clamp_to_zero" });
    try {
      const { user, session, purchase, chargeId } = await creditedPurchase();
      await postLedgerEntry({
        userId: user.id,
        delta: -80,
        kind: "usage",
        idempotencyKey: `use:${uid()}`,
      });
      await mp.ctx.emu.control.refund(session.id, { amount: 500 });
      await deliverLatest(chargeId, "charge.refunded");
      expect(await balanceOf(user.id)).toBe(0);
      await mp.ctx.emu.control.refund(session.id, { amount: 499 });
      await deliverLatest(chargeId, "charge.refunded");
      expect(await balanceOf(user.id)).toBe(0);
      const p = await getDb().purchase.findUniqueOrThrow({ where: { id: purchase.id } });
      expect(p).toMatchObject({
        creditsClawedBack: 20,
        creditsUnrecovered: 80,
        status: "refunded",
      });
      const rows = await getDb().refund.findMany({
        where: { purchaseId: purchase.id },
        orderBy: { stripeCreated: "asc" },
      });
      expect(rows.map((r) => [r.creditsClawed, r.unrecovered]).sort()).toEqual([
        [0, 50],
        [20, 30],
      ]);
      const item = await getDb().attentionItem.findFirstOrThrow({
        where: { purchaseId: purchase.id, kind: "unrecovered_credits", status: "open" },
      });
      expect(item.occurrences).toBe(2);
      await expectLedgerClean();
    } finally {
      mp.setEnv({});
    }
  });

  it("a full refund removes the tier the purchase granted; a partial one keeps it", async () => {
    const { user, session, chargeId } = await creditedPurchase(proPriceId);
    expect((await getDb().user.findUniqueOrThrow({ where: { id: user.id } })).tierCode).toBe("pro");
    await mp.ctx.emu.control.refund(session.id, { amount: 100 });
    await deliverLatest(chargeId, "charge.refunded");
    expect((await getDb().user.findUniqueOrThrow({ where: { id: user.id } })).tierCode).toBe("pro");
    await mp.ctx.emu.control.refund(session.id);
    await deliverLatest(chargeId, "charge.refunded");
    expect((await getDb().user.findUniqueOrThrow({ where: { id: user.id } })).tierCode).toBe(
      "free",
    );
    const change = await getDb().tierChange.findFirstOrThrow({
      where: { userId: user.id, source: "refund" },
    });
    expect(change).toMatchObject({ fromTier: "pro", toTier: "free" });
  });
});

describe("disputes", () => {
  it("holds credits when opened and releases them when won", async () => {
    const { user, session, purchase, chargeId } = await creditedPurchase();
    const dispute = await mp.ctx.emu.control.openDispute(session.id);
    expect((await deliverLatest(dispute.id, "charge.dispute.created")).outcome).toBe("processed");
    expect(await balanceOf(user.id)).toBe(0);
    expect(await getDb().purchase.findUniqueOrThrow({ where: { id: purchase.id } })).toMatchObject({
      status: "disputed",
      creditsHeld: 100,
      chargeId,
    });
    expect(await getDb().dispute.findUniqueOrThrow({ where: { id: dispute.id } })).toMatchObject({
      creditsHeld: 100,
      purchaseId: purchase.id,
    });

    await mp.ctx.emu.control.closeDispute(dispute.id, "won");
    expect((await deliverLatest(dispute.id, "charge.dispute.closed")).outcome).toBe("processed");
    expect(await balanceOf(user.id)).toBe(100);
    expect(await getDb().purchase.findUniqueOrThrow({ where: { id: purchase.id } })).toMatchObject({
      status: "paid",
      creditsHeld: 0,
    });
    const entries = await getDb().ledgerEntry.findMany({
      where: { purchaseId: purchase.id },
      orderBy: { seq: "asc" },
    });
    expect(entries.map((e) => [e.kind, e.delta])).toEqual([
      ["purchase", 100],
      ["dispute_hold", -100],
      ["dispute_release", 100],
    ]);
    expect(entries[2].reversesId).toBe(entries[1].id);
    await expectLedgerClean();
  });

  it("keeps the hold when lost, marks the purchase, raises attention and recomputes the tier", async () => {
    const { user, session, purchase } = await creditedPurchase(proPriceId);
    const dispute = await mp.ctx.emu.control.openDispute(session.id);
    await deliverLatest(dispute.id, "charge.dispute.created");
    await mp.ctx.emu.control.closeDispute(dispute.id, "lost");
    await deliverLatest(dispute.id, "charge.dispute.closed");
    expect(await balanceOf(user.id)).toBe(0);
    expect((await getDb().purchase.findUniqueOrThrow({ where: { id: purchase.id } })).status).toBe(
      "dispute_lost",
    );
    expect(
      await getDb().attentionItem.findFirstOrThrow({
        where: { purchaseId: purchase.id, kind: "dispute_lost" },
      }),
    ).toMatchObject({ status: "open" });
    expect((await getDb().user.findUniqueOrThrow({ where: { id: user.id } })).tierCode).toBe(
      "free",
    );
    await expectLedgerClean();
  });

  it("applies a closed event that overtakes the created event, and the late created event changes nothing", async () => {
    const { user, session, purchase } = await creditedPurchase();
    const dispute = await mp.ctx.emu.control.openDispute(session.id);
    await mp.ctx.emu.control.closeDispute(dispute.id, "won");
    expect((await deliverLatest(dispute.id, "charge.dispute.closed")).outcome).toBe("processed");
    expect(await balanceOf(user.id)).toBe(100);
    expect((await deliverLatest(dispute.id, "charge.dispute.created")).outcome).toBe("processed");
    expect(await balanceOf(user.id)).toBe(100);
    expect((await getDb().purchase.findUniqueOrThrow({ where: { id: purchase.id } })).status).toBe(
      "paid",
    );
    expect(await getDb().ledgerEntry.count({ where: { purchaseId: purchase.id } })).toBe(3);
    await expectLedgerClean();
  });

  it("holds only what a partial refund left", async () => {
    const { user, session } = await creditedPurchase();
    await mp.ctx.emu.control.refund(session.id, { amount: 333 });
    const refund = (await mp.ctx.stripe.refunds.list({ limit: 1 })).data[0] as Stripe.Refund;
    await deliverLatest(refund.charge as string, "charge.refunded");
    const dispute = await mp.ctx.emu.control.openDispute(session.id);
    await deliverLatest(dispute.id, "charge.dispute.created");
    expect(await balanceOf(user.id)).toBe(0);
    expect(
      (await getDb().dispute.findUniqueOrThrow({ where: { id: dispute.id } })).creditsHeld,
    ).toBe(67);
  });
});

import { beforeAll, describe, expect, it } from "vitest";
import { getDb } from "../../app/services/infra/db.server";
import { postLedgerEntry } from "../../app/services/ledger.server";
import { verifyLedger } from "../../app/services/ledger-verify.server";
import { syncPacks } from "../../app/services/packs.server";
import { presentPacks } from "../../app/presenters/packs.server";
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

const DAY = 86_400_000;
let priceId: string;
let expiringPriceId: string;
let badExpiryPriceId: string;

async function priceWith(metadata: Record<string, string>) {
  const product = await mp.ctx.stripe.products.create({ name: `Pack ${uid("p")}` });
  return mp.ctx.stripe.prices.create({
    product: product.id,
    unit_amount: 999,
    currency: "usd",
    metadata: { credits: "100", ...metadata },
  });
}

beforeAll(async () => {
  priceId = (await createPrice(mp.ctx.stripe, { credits: 100, unitAmount: 999 })).id;
  expiringPriceId = (await priceWith({ credits_expire_days: "30" })).id;
  badExpiryPriceId = (await priceWith({ credits_expire_days: "1.5" })).id;
  await syncPacks();
});

async function creditedPurchase(userId: string, price = priceId) {
  const session = await paidSession(mp.ctx, { priceId: price, clientReferenceId: userId });
  const [completed] = await eventsFor(mp.ctx.stripe, session.id, "checkout.session.completed");
  expect((await deliver(mp.ctx, completed)).outcome).toBe("processed");
  const purchase = await getDb().purchase.findUniqueOrThrow({
    where: { checkoutSessionId: session.id },
  });
  const grant = await getDb().creditGrant.findFirstOrThrow({ where: { purchaseId: purchase.id } });
  return { session, purchase, grant };
}

async function deliverLatest(objectId: string, type: string) {
  const events = await eventsFor(mp.ctx.stripe, objectId, type);
  const res = await deliver(mp.ctx, events[events.length - 1]);
  expect(res.outcome).toBe("processed");
}

async function grantOf(id: bigint) {
  return getDb().creditGrant.findUniqueOrThrow({ where: { id } });
}

async function expectClean() {
  expect((await verifyLedger()).violations).toEqual([]);
}

describe("purchase grants through the webhook", () => {
  it("values the grant at what was paid and expires it as the pack's metadata says", async () => {
    const user = await createUser();
    const before = Date.now();
    const { grant, purchase } = await creditedPurchase(user.id, expiringPriceId);
    expect(grant).toMatchObject({
      source: "purchase",
      granted: 100,
      remaining: 100,
      amountPaid: 999,
      currency: "usd",
      status: "active",
    });
    const expires = grant.expiresAt!.getTime();
    expect(expires).toBeGreaterThanOrEqual(before + 30 * DAY);
    expect(expires).toBeLessThanOrEqual(Date.now() + 30 * DAY);
    const entry = await getDb().ledgerEntry.findFirstOrThrow({
      where: { purchaseId: purchase.id, kind: "purchase" },
    });
    expect(grant.ledgerEntryId).toBe(entry.id);
    await expectClean();
  });

  it("a bad credits_expire_days flags the pack on the packs page and its credits never expire", async () => {
    const user = await createUser();
    const { grant } = await creditedPurchase(user.id, badExpiryPriceId);
    expect(grant.expiresAt).toBeNull();
    const page = await presentPacks();
    const pack = page.packs.find((p) => p.stripePriceId === badExpiryPriceId)!;
    expect(pack.creditsExpireDays).toBeNull();
    expect(pack.expiryProblem).toContain('metadata.credits_expire_days "1.5"');
    const good = page.packs.find((p) => p.stripePriceId === expiringPriceId)!;
    expect([good.creditsExpireDays, good.expiryProblem]).toEqual([30, null]);
  });
});

describe("refund clawback and dispute holds on the purchase's own grant", () => {
  it("claws a refund back from the refunded purchase's grant, leaving the other grants untouched", async () => {
    const user = await createUser();
    // An older manual grant burns first, so plain burn order would take the clawback from it.
    await postLedgerEntry({
      userId: user.id,
      delta: 500,
      kind: "manual_credit",
      idempotencyKey: uid("k"),
    });
    const first = await creditedPurchase(user.id);
    const { session, grant } = await creditedPurchase(user.id);
    const manual = await getDb().creditGrant.findFirstOrThrow({
      where: { userId: user.id, source: "manual" },
    });
    await mp.ctx.emu.control.refund(session.id, { amount: 999 });
    const pi = await mp.ctx.stripe.paymentIntents.retrieve(
      (await getDb().purchase.findUniqueOrThrow({ where: { checkoutSessionId: session.id } }))
        .paymentIntentId!,
    );
    await deliverLatest(pi.latest_charge as string, "charge.refunded");
    expect(await balanceOf(user.id)).toBe(600);
    expect((await grantOf(grant.id)).remaining).toBe(0);
    expect((await grantOf(manual.id)).remaining).toBe(500);
    expect((await grantOf(first.grant.id)).remaining).toBe(100);
    const claw = await getDb().ledgerEntry.findFirstOrThrow({
      where: { userId: user.id, kind: "refund_clawback" },
    });
    const allocs = await getDb().creditAllocation.findMany({ where: { entryId: claw.id } });
    expect(allocs.map((a) => [a.grantId, a.delta])).toEqual([[grant.id, -100]]);
    await expectClean();
  });

  it("holds the disputed grant, gives it back when won, voids it when lost", async () => {
    const user = await createUser();
    await postLedgerEntry({
      userId: user.id,
      delta: 50,
      kind: "manual_credit",
      idempotencyKey: uid("k"),
    });
    const won = await creditedPurchase(user.id);
    const lost = await creditedPurchase(user.id);

    const d1 = await mp.ctx.emu.control.openDispute(won.session.id);
    await deliverLatest(d1.id, "charge.dispute.created");
    expect(await grantOf(won.grant.id)).toMatchObject({ status: "held", remaining: 0 });
    expect(await balanceOf(user.id)).toBe(150);
    await mp.ctx.emu.control.closeDispute(d1.id, "won");
    await deliverLatest(d1.id, "charge.dispute.closed");
    expect(await grantOf(won.grant.id)).toMatchObject({ status: "active", remaining: 100 });
    expect(await balanceOf(user.id)).toBe(250);

    const d2 = await mp.ctx.emu.control.openDispute(lost.session.id);
    await deliverLatest(d2.id, "charge.dispute.created");
    expect(await grantOf(lost.grant.id)).toMatchObject({ status: "held", remaining: 0 });
    await mp.ctx.emu.control.closeDispute(d2.id, "lost");
    await deliverLatest(d2.id, "charge.dispute.closed");
    expect(await grantOf(lost.grant.id)).toMatchObject({ status: "voided", remaining: 0 });
    expect(await balanceOf(user.id)).toBe(150);
    // The other grants were never touched.
    const manual = await getDb().creditGrant.findFirstOrThrow({
      where: { userId: user.id, source: "manual" },
    });
    expect(manual.remaining).toBe(50);
    await expectClean();
  });
});

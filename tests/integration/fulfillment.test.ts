import { describe, expect, it } from "vitest";
import { getDb } from "../../app/services/infra/db.server";
import { isCredited, purchaseOf, summary } from "../../app/services/fulfillment-result.server";
import { fulfillCheckoutSession } from "../../app/services/fulfillment.server";
import { verifyLedger } from "../../app/services/ledger-verify.server";
import { listActivePacks, syncPacks } from "../../app/services/packs.server";
import {
  balanceOf,
  createPrice,
  createSession,
  createUser,
  paidSession,
  uid,
  useMoneyPath,
} from "../support/money-path";
import { useTestDatabase } from "../support/test-database";

useTestDatabase();
const mp = useMoneyPath();

async function expectLedgerClean() {
  const result = await verifyLedger();
  expect(result.violations).toEqual([]);
}

describe("fulfillCheckoutSession", () => {
  it("credits a paid session once, with purchase, ledger entry, rollup and audit row", async () => {
    const user = await createUser();
    const price = await createPrice(mp.ctx.stripe, { credits: 100, unitAmount: 1500 });
    await syncPacks();
    const session = await paidSession(mp.ctx, {
      priceId: price.id,
      quantity: 2,
      clientReferenceId: user.id,
    });

    const first = await fulfillCheckoutSession(session.id, "success_page");
    expect(first.outcome).toBe("credited");
    if (first.outcome !== "credited") throw new Error("expected a real credit");
    expect(first.resolvedBy).toBe("client_reference_id");
    expect(first.entry.delta).toBe(200);
    expect(first.entry.idempotencyKey).toBe(`checkout:${session.id}`);
    expect(first.purchase).toMatchObject({
      userId: user.id,
      credits: 200,
      quantity: 2,
      amountTotal: 3000,
      currency: "usd",
      creditedVia: "success_page",
      userResolvedBy: "client_reference_id",
      status: "paid",
    });
    expect(await balanceOf(user.id)).toBe(200);

    const again = await fulfillCheckoutSession(session.id, "webhook");
    expect(again.outcome).toBe("already_credited");
    expect(await balanceOf(user.id)).toBe(200);
    expect(await getDb().ledgerEntry.count({ where: { userId: user.id } })).toBe(1);

    const audit = await getDb().auditLog.findFirst({
      where: { action: "purchase.credited", targetId: first.purchase.id },
    });
    expect(audit?.actorType).toBe("system");
    const rollup = await getDb().dailyRollup.findMany({ where: { currency: "usd" } });
    expect(rollup.reduce((s, r) => s + r.revenue, 0)).toBeGreaterThanOrEqual(3000);
    // The customer id Stripe created is remembered so later sessions resolve by it.
    const after = await getDb().user.findUniqueOrThrow({ where: { id: user.id } });
    expect(after.stripeCustomerId).toBe(first.session.customerId);
    await expectLedgerClean();
  });

  it("resolves users in the documented order: metadata, customer, then case-insensitive email", async () => {
    const price = await createPrice(mp.ctx.stripe, { credits: 10 });
    const byMeta = await createUser();
    const s1 = await paidSession(mp.ctx, {
      priceId: price.id,
      metadataUserId: byMeta.id,
      email: "someone@else.example",
    });
    const r1 = await fulfillCheckoutSession(s1.id, "webhook");
    expect(r1.outcome === "credited" && r1.resolvedBy).toBe("metadata");

    const customer = await mp.ctx.stripe.customers.create({ email: "cust@example.com" });
    const byCustomer = await createUser({ stripeCustomerId: customer.id });
    const s2 = await paidSession(mp.ctx, { priceId: price.id, customer: customer.id });
    const r2 = await fulfillCheckoutSession(s2.id, "webhook");
    expect(r2.outcome === "credited" && r2.resolvedBy).toBe("customer");
    expect(r2.outcome === "credited" && r2.userId).toBe(byCustomer.id);

    const byEmail = await createUser({ email: `Mixed.${uid()}@Example.COM` });
    const s3 = await paidSession(mp.ctx, { priceId: price.id, email: byEmail.email.toUpperCase() });
    const r3 = await fulfillCheckoutSession(s3.id, "reconciliation");
    expect(r3.outcome === "credited" && r3.resolvedBy).toBe("email");
    expect(r3.outcome === "credited" && r3.userId).toBe(byEmail.id);

    // client_reference_id wins over everything else.
    const other = await createUser();
    const s4 = await paidSession(mp.ctx, {
      priceId: price.id,
      clientReferenceId: other.id,
      metadataUserId: byMeta.id,
    });
    const r4 = await fulfillCheckoutSession(s4.id, "webhook");
    expect(r4.outcome === "credited" && r4.userId).toBe(other.id);
    await expectLedgerClean();
  });

  it("raises an unmatched-user attention item (balance unchanged) and credits once staff assign the session", async () => {
    const price = await createPrice(mp.ctx.stripe, { credits: 25 });
    const shared = `dup.${uid()}@example.com`;
    await createUser({ email: shared });
    await createUser({ email: shared.toUpperCase() });
    const session = await paidSession(mp.ctx, { priceId: price.id, email: shared });

    const r = await fulfillCheckoutSession(session.id, "webhook");
    expect(r.outcome).toBe("unmatched_user");
    if (r.outcome !== "unmatched_user") throw new Error("unreachable");
    expect(r.detail).toMatch(/matches several users/);
    const item = await getDb().attentionItem.findUniqueOrThrow({
      where: { id: r.attentionItemId! },
    });
    expect(item).toMatchObject({
      kind: "unmatched_user",
      status: "open",
      checkoutSessionId: session.id,
      occurrences: 1,
    });
    expect(await getDb().purchase.count({ where: { checkoutSessionId: session.id } })).toBe(0);

    // A retry counts on the same open item instead of raising another.
    const again = await fulfillCheckoutSession(session.id, "webhook");
    expect(again.outcome === "unmatched_user" && again.attentionItemId).toBe(item.id);
    expect(
      (await getDb().attentionItem.findUniqueOrThrow({ where: { id: item.id } })).occurrences,
    ).toBe(2);

    const target = await createUser();
    const staff = await getDb().staffUser.create({
      data: { email: `${uid()}@staff.example`, role: "support", passwordHash: "x" },
    });
    const assigned = await fulfillCheckoutSession(session.id, "manual", {
      assignUserId: target.id,
      staffId: staff.id,
    });
    expect(assigned.outcome).toBe("credited");
    expect(assigned.outcome === "credited" && assigned.resolvedBy).toBe("manual");
    expect(await balanceOf(target.id)).toBe(25);
    const closed = await getDb().attentionItem.findUniqueOrThrow({ where: { id: item.id } });
    expect(closed.status).toBe("resolved");
    expect(closed.openKey).toBeNull();
    await expectLedgerClean();
  });

  it("syncs packs once for a price not mirrored yet, and reports a price without credits as unknown", async () => {
    const user = await createUser();
    const fresh = await createPrice(mp.ctx.stripe, { credits: 40 });
    expect((await listActivePacks()).some((p) => p.stripePriceId === fresh.id)).toBe(false);
    const s1 = await paidSession(mp.ctx, { priceId: fresh.id, clientReferenceId: user.id });
    const r1 = await fulfillCheckoutSession(s1.id, "webhook");
    expect(r1.outcome).toBe("credited");
    expect((await listActivePacks()).some((p) => p.stripePriceId === fresh.id)).toBe(true);

    const plain = await createPrice(mp.ctx.stripe, { credits: null });
    const s2 = await paidSession(mp.ctx, { priceId: plain.id, clientReferenceId: user.id });
    const r2 = await fulfillCheckoutSession(s2.id, "webhook");
    expect(r2.outcome).toBe("unknown_price");
    if (r2.outcome !== "unknown_price") throw new Error("unreachable");
    expect(r2.priceIds).toEqual([plain.id]);
    const item = await getDb().attentionItem.findUniqueOrThrow({
      where: { id: r2.attentionItemId! },
    });
    expect(item.kind).toBe("unknown_price");
    expect(await balanceOf(user.id)).toBe(40);
    await expectLedgerClean();
  });

  it("reports a mirror that disagrees with Stripe as amount_mismatch instead of guessing", async () => {
    const user = await createUser();
    const price = await createPrice(mp.ctx.stripe, { credits: 50, unitAmount: 700 });
    await syncPacks();
    // Someone edited the mirror by hand; the next sync would fix it, but a unit_amount cannot change in Stripe.
    await getDb().creditPack.update({
      where: { stripePriceId: price.id },
      data: { unitAmount: 1, currency: "eur" },
    });
    await mp.ctx.stripe.prices.update(price.id, { metadata: { credits: "abc" } });
    const session = await paidSession(mp.ctx, { priceId: price.id, clientReferenceId: user.id });
    const r = await fulfillCheckoutSession(session.id, "webhook");
    expect(r.outcome).toBe("amount_mismatch");
    expect(await balanceOf(user.id)).toBe(0);
  });

  it("waits for async payments: not_paid first, credited after the payment succeeds", async () => {
    const user = await createUser();
    const price = await createPrice(mp.ctx.stripe, { credits: 30 });
    const session = await paidSession(mp.ctx, {
      priceId: price.id,
      clientReferenceId: user.id,
      card: "async",
    });
    const pending = await fulfillCheckoutSession(session.id, "webhook");
    expect(pending).toMatchObject({ outcome: "not_paid", paymentStatus: "unpaid" });
    await mp.ctx.emu.control.succeedAsyncPayment(session.id);
    const paid = await fulfillCheckoutSession(session.id, "webhook");
    expect(paid.outcome).toBe("credited");
    expect(await balanceOf(user.id)).toBe(30);
  });

  it("dry run computes the outcome and writes nothing", async () => {
    const user = await createUser();
    const price = await createPrice(mp.ctx.stripe, { credits: 70 });
    const session = await paidSession(mp.ctx, { priceId: price.id, clientReferenceId: user.id });
    const attentionBefore = await getDb().attentionItem.count();
    const packsBefore = await getDb().creditPack.count();
    const r = await fulfillCheckoutSession(session.id, "reconciliation", { dryRun: true });
    // Its own outcome: a dry run's result can never be read as a credit.
    expect(r).toMatchObject({ outcome: "would_credit", credits: 70, userId: user.id });
    expect(isCredited(r)).toBe(false);
    expect(purchaseOf(r)).toBeNull();
    expect(summary(r)).toBe("would credit 70 credits (user resolved by client_reference_id)");
    expect(await balanceOf(user.id)).toBe(0);
    expect(await getDb().purchase.count({ where: { checkoutSessionId: session.id } })).toBe(0);
    expect(await getDb().creditPack.count()).toBe(packsBefore);

    const stranger = await paidSession(mp.ctx, {
      priceId: price.id,
      email: `${uid()}@nobody.example`,
    });
    const u = await fulfillCheckoutSession(stranger.id, "reconciliation", { dryRun: true });
    expect(u).toMatchObject({ outcome: "unmatched_user", attentionItemId: null });
    expect(await getDb().attentionItem.count()).toBe(attentionBefore);
  });

  it("grants the pack's tier through a TierChange and never lowers a higher tier", async () => {
    const user = await createUser();
    const pro = await createPrice(mp.ctx.stripe, { credits: 10, tier: "pro" });
    const s = await paidSession(mp.ctx, { priceId: pro.id, clientReferenceId: user.id });
    const r = await fulfillCheckoutSession(s.id, "webhook");
    expect(r.outcome).toBe("credited");
    expect((await getDb().user.findUniqueOrThrow({ where: { id: user.id } })).tierCode).toBe("pro");
    const change = await getDb().tierChange.findFirstOrThrow({ where: { userId: user.id } });
    expect(change).toMatchObject({ fromTier: "free", toTier: "pro", source: "purchase" });

    await getDb().user.update({ where: { id: user.id }, data: { tierCode: "business" } });
    const s2 = await paidSession(mp.ctx, { priceId: pro.id, clientReferenceId: user.id });
    await fulfillCheckoutSession(s2.id, "webhook");
    expect((await getDb().user.findUniqueOrThrow({ where: { id: user.id } })).tierCode).toBe(
      "business",
    );
  });

  it("rejects ids that are not Checkout Session ids and unknown sessions with specific errors", async () => {
    await expect(fulfillCheckoutSession("pi_123", "success_page")).rejects.toMatchObject({
      status: 400,
      field: "sessionId",
    });
    await expect(
      fulfillCheckoutSession("cs_test_doesnotexist", "success_page"),
    ).rejects.toMatchObject({ status: 404, field: "sessionId" });
    const session = await createSession(mp.ctx.stripe, {
      priceId: (await createPrice(mp.ctx.stripe)).id,
      email: "x@example.com",
    });
    await expect(
      fulfillCheckoutSession(session.id, "manual", { assignUserId: "nobody_here" }),
    ).rejects.toMatchObject({ status: 404, field: "assignUserId" });
  });
});

import type Stripe from "stripe";
import type { CheckoutSession } from "../../emulator/index";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  createPackPrice,
  createPaymentSession,
  startHarness,
  stripeError,
  type Harness,
} from "./support/harness";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.emulator.stop());
beforeEach(() => h.emulator.control.reset());

/** A paid 30.00 USD purchase; returns its PaymentIntent and Charge ids. */
async function paidPurchase(): Promise<{ session: CheckoutSession; pi: string; charge: string }> {
  const price = await createPackPrice(h.stripe, 3_000);
  const session = await createPaymentSession(h.stripe, price);
  const paid = await h.emulator.control.paySession(session.id);
  const pi = await h.stripe.paymentIntents.retrieve(paid.payment_intent as string);
  return { session: paid, pi: pi.id, charge: pi.latest_charge as string };
}

describe("refunds", () => {
  it("refunds partially, then the rest, updating the charge and emitting events", async () => {
    const { pi, charge } = await paidPurchase();
    const partial = await h.stripe.refunds.create({
      payment_intent: pi,
      amount: 1_000,
      reason: "requested_by_customer",
    });
    expect(partial).toMatchObject({
      object: "refund",
      amount: 1_000,
      charge,
      payment_intent: pi,
      status: "succeeded",
      reason: "requested_by_customer",
      currency: "usd",
    });
    let current = await h.stripe.charges.retrieve(charge);
    expect(current).toMatchObject({ amount_refunded: 1_000, refunded: false });
    expect(current.refunds!.data.map((r) => r.id)).toEqual([partial.id]);

    const rest = await h.stripe.refunds.create({ charge });
    expect(rest.amount).toBe(2_000);
    current = await h.stripe.charges.retrieve(charge);
    expect(current).toMatchObject({ amount_refunded: 3_000, refunded: true });

    const events = await h.stripe.events.list({ types: ["charge.refunded", "refund.created"] });
    expect(events.data.map((e) => e.type)).toEqual([
      "refund.created",
      "charge.refunded",
      "refund.created",
      "charge.refunded",
    ]);
    const lastChargeEvent = events.data[1].data.object as Stripe.Charge;
    expect(lastChargeEvent).toMatchObject({ amount_refunded: 3_000, refunded: true });
    expect(lastChargeEvent.refunds!.data.map((r) => r.amount).sort()).toEqual([1_000, 2_000]);
    expect(events.data[1].data.previous_attributes).toEqual({
      amount_refunded: 1_000,
      refunded: false,
    });
    expect(events.data[1].request?.id).toMatch(/^req_/);
  });

  it("rejects refunds above the unrefunded amount and on fully refunded charges", async () => {
    const { charge } = await paidPurchase();
    const tooMuch = await stripeError(h.stripe.refunds.create({ charge, amount: 3_001 }));
    expect(tooMuch).toMatchObject({ statusCode: 400, code: "amount_too_large", param: "amount" });
    await h.stripe.refunds.create({ charge });
    const again = await stripeError(h.stripe.refunds.create({ charge, amount: 1 }));
    expect(again.code).toBe("charge_already_refunded");
    const none = await stripeError(h.stripe.refunds.create({ charge: "ch_missing" }));
    expect(none).toMatchObject({ statusCode: 400, code: "resource_missing", param: "charge" });
  });

  it("lists refunds by charge and payment_intent, retrieves and updates them", async () => {
    const a = await paidPurchase();
    const b = await paidPurchase();
    const r1 = await h.stripe.refunds.create({ charge: a.charge, amount: 100 });
    const r2 = await h.stripe.refunds.create({ charge: a.charge, amount: 200 });
    const r3 = await h.stripe.refunds.create({ charge: b.charge, amount: 300 });
    expect((await h.stripe.refunds.list({ charge: a.charge })).data.map((r) => r.id)).toEqual([
      r2.id,
      r1.id,
    ]);
    expect((await h.stripe.refunds.list({ payment_intent: b.pi })).data.map((r) => r.id)).toEqual([
      r3.id,
    ]);
    expect((await h.stripe.refunds.list()).data).toHaveLength(3);
    const updated = await h.stripe.refunds.update(r1.id, { metadata: { ticket: "T-1" } });
    expect((await h.stripe.refunds.retrieve(r1.id)).metadata).toEqual({ ticket: "T-1" });
    expect(updated.metadata).toEqual({ ticket: "T-1" });
  });

  it("refunds from the control surface by session id", async () => {
    const { session, charge } = await paidPurchase();
    const refund = await h.emulator.control.refund(session.id, { amount: 500 });
    expect(refund.charge).toBe(charge);
    expect((await h.stripe.charges.retrieve(charge)).amount_refunded).toBe(500);
  });
});

describe("disputes", () => {
  it("opens a dispute and closes it as won or lost", async () => {
    const { pi, charge } = await paidPurchase();
    const dispute = await h.emulator.control.openDispute(charge, { reason: "fraudulent" });
    expect(dispute).toMatchObject({
      object: "dispute",
      charge,
      payment_intent: pi,
      amount: 3_000,
      currency: "usd",
      status: "needs_response",
      reason: "fraudulent",
    });
    expect((await h.stripe.charges.retrieve(charge)).disputed).toBe(true);
    const blocked = await stripeError(h.stripe.refunds.create({ charge }));
    expect(blocked.code).toBe("charge_disputed");

    const won = await h.emulator.control.closeDispute(dispute.id, "won");
    expect(won.status).toBe("won");
    const events = await h.stripe.events.list({
      types: ["charge.dispute.created", "charge.dispute.closed"],
    });
    expect(events.data.map((e) => e.type)).toEqual([
      "charge.dispute.closed",
      "charge.dispute.created",
    ]);
    expect((events.data[0].data.object as Stripe.Dispute).status).toBe("won");
    await expect(h.emulator.control.closeDispute(dispute.id, "lost")).rejects.toThrow(
      /already closed/,
    );

    const other = await paidPurchase();
    const lost = await h.emulator.control.closeDispute(
      (await h.emulator.control.openDispute(other.pi)).id,
      "lost",
    );
    expect(lost.status).toBe("lost");
  });

  it("lists, retrieves, updates and closes disputes through the API", async () => {
    const { pi, charge } = await paidPurchase();
    const opened = await h.emulator.control.openDispute(charge);
    expect((await h.stripe.disputes.list({ payment_intent: pi })).data.map((d) => d.id)).toEqual([
      opened.id,
    ]);
    expect((await h.stripe.disputes.list({ charge })).data).toHaveLength(1);
    expect((await h.stripe.disputes.retrieve(opened.id)).reason).toBe("fraudulent");
    const updated = await h.stripe.disputes.update(opened.id, { metadata: { case: "42" } });
    expect(updated.metadata).toEqual({ case: "42" });
    const closed = await h.stripe.disputes.close(opened.id);
    expect(closed.status).toBe("lost");
  });

  it("reproduces the Stripe CLI dispute trigger with a test payment method", async () => {
    const pi = await h.stripe.paymentIntents.create({
      amount: 100,
      currency: "usd",
      payment_method: "pm_card_createDispute",
      confirm: true,
    });
    expect(pi.status).toBe("succeeded");
    const disputes = await h.stripe.disputes.list({ payment_intent: pi.id });
    expect(disputes.data[0]).toMatchObject({ status: "needs_response", amount: 100 });
    const types = (await h.stripe.events.list()).data.map((e) => e.type).reverse();
    expect(types).toEqual([
      "payment_intent.created",
      "payment_intent.succeeded",
      "charge.succeeded",
      "charge.dispute.created",
    ]);
  });

  it("declines with a 402 card_error for the decline test card", async () => {
    const err = await stripeError(
      h.stripe.paymentIntents.create({
        amount: 100,
        currency: "usd",
        payment_method: "pm_card_chargeDeclined",
        confirm: true,
      }),
    );
    expect(err).toMatchObject({
      statusCode: 402,
      code: "card_declined",
      decline_code: "generic_decline",
    });
    expect(err.type).toBe("StripeCardError");
  });
});

/**
 * What the support desk's "Check Stripe" panel and global search ask Stripe (issue 20), through
 * the official SDK: a customer's Checkout Sessions by `customer` and by `customer_details[email]`,
 * paged; the payment behind a `pi_`/`ch_`; every object support may be handed by id; and
 * Stripe's 404 for an id Stripe does not know.
 */
import Stripe from "stripe";
import type { CheckoutSession } from "../../emulator/index";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  createPackPrice,
  createPaymentSession,
  startHarness,
  stripeError,
  type Harness,
} from "./support/harness";

const START = 1_790_000_000;
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ clock: START });
});
afterAll(() => h.emulator.stop());
beforeEach(() => h.emulator.control.reset());

const ids = (list: { data: { id: string }[] }) => list.data.map((o) => o.id);

/** Three paid sessions of one customer a minute apart, plus an open one and a stranger's. */
async function customerHistory() {
  const price = await createPackPrice(h.stripe, 1_499, "1500");
  const customer = await h.stripe.customers.create({
    email: "ada.lovelace@example.com",
    name: "Ada Lovelace",
  });
  const paid: CheckoutSession[] = [];
  for (let i = 0; i < 3; i++) {
    const session = await createPaymentSession(h.stripe, price, { customer: customer.id });
    paid.push(await h.emulator.control.paySession(session.id));
    await h.emulator.control.advanceClock(60);
  }
  const open = await createPaymentSession(h.stripe, price, { customer: customer.id });
  const stranger = await createPaymentSession(h.stripe, price, {
    customer_email: "someone.else@example.com",
  });
  await h.emulator.control.paySession(stranger.id);
  return { price, customer, paid, open, stranger };
}

describe("a customer's Checkout Sessions", () => {
  it("lists them by customer, newest first, paged with starting_after / ending_before", async () => {
    const { customer, paid, open } = await customerHistory();
    const expected = [open.id, paid[2].id, paid[1].id, paid[0].id];

    const first = await h.stripe.checkout.sessions.list({ customer: customer.id, limit: 2 });
    expect(ids(first)).toEqual(expected.slice(0, 2));
    expect(first.has_more).toBe(true);
    const second = await h.stripe.checkout.sessions.list({
      customer: customer.id,
      limit: 2,
      starting_after: first.data[1].id,
    });
    expect(ids(second)).toEqual(expected.slice(2));
    expect(second.has_more).toBe(false);
    const back = await h.stripe.checkout.sessions.list({
      customer: customer.id,
      limit: 2,
      ending_before: second.data[0].id,
    });
    expect(ids(back)).toEqual(expected.slice(0, 2));
    expect(back.has_more).toBe(false);

    const all = await h.stripe.checkout.sessions
      .list({ customer: customer.id, limit: 1 })
      .autoPagingToArray({ limit: 100 });
    expect(all.map((s) => s.id)).toEqual(expected);
  });

  it("carries the customer and the customer's email on every session paid for that customer", async () => {
    const { customer, paid } = await customerHistory();
    for (const session of paid) {
      const again = await h.stripe.checkout.sessions.retrieve(session.id);
      expect(again).toMatchObject({
        customer: customer.id,
        status: "complete",
        payment_status: "paid",
        customer_details: { email: "ada.lovelace@example.com", name: "Ada Lovelace" },
      });
    }
  });

  it("finds them by customer_details[email], including sessions paid without a customer", async () => {
    const { price, paid } = await customerHistory();
    const guest = await createPaymentSession(h.stripe, price);
    await h.emulator.control.paySession(guest.id, { email: "ada.lovelace@example.com" });

    const found = await h.stripe.checkout.sessions.list({
      customer_details: { email: "ada.lovelace@example.com" },
    });
    expect(ids(found)).toEqual([guest.id, paid[2].id, paid[1].id, paid[0].id]);
    expect(found.data[0].customer).toBeNull();
  });

  it("fills customer_details from the customer when a session expires, as Stripe documents", async () => {
    const { customer, open } = await customerHistory();
    await h.emulator.control.advanceClock(24 * 3600);
    const expired = await h.stripe.checkout.sessions.retrieve(open.id);
    expect(expired).toMatchObject({
      status: "expired",
      customer: customer.id,
      customer_details: { email: "ada.lovelace@example.com" },
    });
    const byEmail = await h.stripe.checkout.sessions.list({
      customer_details: { email: "ada.lovelace@example.com" },
      status: "expired",
    });
    expect(ids(byEmail)).toEqual([open.id]);
  });

  it("compares customer_details[email] exactly, as Stripe documents nothing else", async () => {
    // Stripe's reference says only "Customer's email address" for this filter, and documents the
    // customers list's `email` filter as case-sensitive. The emulator therefore does not fold
    // case: a caller that needs a case-insensitive lookup must not rely on Stripe doing it.
    await customerHistory();
    const upper = await h.stripe.checkout.sessions.list({
      customer_details: { email: "Ada.Lovelace@Example.com" },
    });
    expect(upper.data).toEqual([]);
  });

  it("pages an email lookup across many sessions exactly once each", async () => {
    const price = await createPackPrice(h.stripe, 500);
    const customer = await h.stripe.customers.create({ email: "many@example.com" });
    const seeded = await h.emulator.control.seedCompletedSessions(25, {
      priceId: price.id,
      createdFrom: START - 25 * 3600,
      createdTo: START - 3600,
      customer: customer.id,
    });
    const byEmail = await h.stripe.checkout.sessions
      .list({ customer_details: { email: "many@example.com" }, limit: 10 })
      .autoPagingToArray({ limit: 1000 });
    expect(byEmail.map((s) => s.id)).toEqual([...seeded].reverse());
    const byCustomer = await h.stripe.checkout.sessions
      .list({ customer: customer.id, limit: 7 })
      .autoPagingToArray({ limit: 1000 });
    expect(byCustomer.map((s) => s.id)).toEqual([...seeded].reverse());
  });

  it("filters by payment_intent, created ranges and status together", async () => {
    const { customer, paid, open } = await customerHistory();
    const second = paid[1];
    expect(
      ids(
        await h.stripe.checkout.sessions.list({ payment_intent: second.payment_intent as string }),
      ),
    ).toEqual([second.id]);

    // The sessions were created at START, START+60, START+120; the open one at START+180.
    const list = (params: Stripe.Checkout.SessionListParams) =>
      h.stripe.checkout.sessions.list({ customer: customer.id, ...params }).then(ids);
    expect(await list({ created: { gte: START + 60 } })).toEqual([open.id, paid[2].id, paid[1].id]);
    expect(await list({ created: { gt: START + 60 } })).toEqual([open.id, paid[2].id]);
    expect(await list({ created: { lte: START + 60 } })).toEqual([paid[1].id, paid[0].id]);
    expect(await list({ created: { lt: START + 60 } })).toEqual([paid[0].id]);
    expect(
      await list({ created: { gte: START + 60, lt: START + 180 }, status: "complete" }),
    ).toEqual([paid[2].id, paid[1].id]);
    expect(await list({ status: "open" })).toEqual([open.id]);
    expect(await list({ created: START + 120 })).toEqual([paid[2].id]);
  });
});

describe("the payment behind a session", () => {
  it("lists a customer's PaymentIntents and charges, and a PaymentIntent's charges", async () => {
    const { customer, paid, stranger } = await customerHistory();
    const pis = paid.map((s) => s.payment_intent as string).reverse();

    const intents = await h.stripe.paymentIntents.list({ customer: customer.id });
    expect(ids(intents)).toEqual(pis);
    expect(intents.data.every((pi) => pi.status === "succeeded")).toBe(true);

    const charges = await h.stripe.charges.list({ customer: customer.id, limit: 2 });
    expect(charges.data.map((c) => c.payment_intent)).toEqual(pis.slice(0, 2));
    expect(charges.has_more).toBe(true);

    const ofIntent = await h.stripe.charges.list({ payment_intent: pis[0] });
    expect(ofIntent.data).toHaveLength(1);
    expect(ofIntent.data[0]).toMatchObject({ customer: customer.id, amount: 1_499, paid: true });

    const strangerPi = (await h.stripe.checkout.sessions.retrieve(stranger.id))
      .payment_intent as string;
    expect(ids(await h.stripe.charges.list({ customer: customer.id, limit: 100 }))).not.toContain(
      (await h.stripe.paymentIntents.retrieve(strangerPi)).latest_charge,
    );
  });

  it("gives every paid charge a receipt number, unique and shaped like Stripe's", async () => {
    const { customer } = await customerHistory();
    const charges = await h.stripe.charges.list({ customer: customer.id });
    const numbers = charges.data.map((c) => c.receipt_number);
    for (const n of numbers) expect(n).toMatch(/^\d{4}-\d{4}$/);
    expect(new Set(numbers).size).toBe(3);
    expect(charges.data[0].receipt_email).toBe("ada.lovelace@example.com");
  });

  it("resolves the session from a charge id: charge → payment_intent → session", async () => {
    const { paid } = await customerHistory();
    const pi = await h.stripe.paymentIntents.retrieve(paid[0].payment_intent as string);
    const charge = await h.stripe.charges.retrieve(pi.latest_charge as string);
    const sessions = await h.stripe.checkout.sessions.list({
      payment_intent: charge.payment_intent as string,
    });
    expect(ids(sessions)).toEqual([paid[0].id]);
  });

  it("seeds sessions paid some time after they were opened, for lookups by date", async () => {
    const price = await createPackPrice(h.stripe, 800);
    const customer = await h.stripe.customers.create({ email: "late@example.com" });
    const [id] = await h.emulator.control.seedCompletedSessions(1, {
      priceId: price.id,
      createdFrom: START - 7_200,
      createdTo: START - 7_200,
      customer: customer.id,
      paidAfterSeconds: 3_600,
    });
    const session = await h.stripe.checkout.sessions.retrieve(id, {
      expand: ["payment_intent.latest_charge"],
    });
    const pi = session.payment_intent as Stripe.PaymentIntent;
    const charge = pi.latest_charge as Stripe.Charge;
    expect(session).toMatchObject({
      created: START - 7_200,
      customer: customer.id,
      customer_details: { email: "late@example.com" },
    });
    expect(pi).toMatchObject({ created: START - 3_600, customer: customer.id });
    expect(charge).toMatchObject({ created: START - 3_600, customer: customer.id });
    expect(charge.receipt_number).toMatch(/^\d{4}-\d{4}$/);
  });
});

describe("any id support is given", () => {
  it("retrieves each kind of object by id", async () => {
    const { customer, paid } = await customerHistory();
    const pi = await h.stripe.paymentIntents.retrieve(paid[0].payment_intent as string);
    const charge = await h.stripe.charges.retrieve(pi.latest_charge as string);
    const refund = await h.stripe.refunds.create({ charge: charge.id, amount: 499 });
    expect(await h.stripe.refunds.retrieve(refund.id)).toMatchObject({
      object: "refund",
      charge: charge.id,
      amount: 499,
    });

    const disputed = await h.stripe.paymentIntents.retrieve(paid[1].payment_intent as string);
    const dispute = await h.emulator.control.openDispute(disputed.id);
    expect(await h.stripe.disputes.retrieve(dispute.id)).toMatchObject({
      object: "dispute",
      payment_intent: disputed.id,
      status: "needs_response",
    });

    const recurring = await h.stripe.prices.create({
      currency: "usd",
      unit_amount: 900,
      recurring: { interval: "month" },
      product_data: { name: "Monthly" },
    });
    const subscription = await h.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: recurring.id }],
    });
    expect(await h.stripe.subscriptions.retrieve(subscription.id)).toMatchObject({
      object: "subscription",
      customer: customer.id,
    });
    const invoiceId = subscription.latest_invoice as string;
    expect(await h.stripe.invoices.retrieve(invoiceId)).toMatchObject({
      object: "invoice",
      customer: customer.id,
      status: "paid",
    });

    const [event] = (await h.stripe.events.list({ type: "charge.refunded", limit: 1 })).data;
    const again = await h.stripe.events.retrieve(event.id);
    expect(again).toMatchObject({ id: event.id, type: "charge.refunded" });
    expect((again.data.object as Stripe.Charge).id).toBe(charge.id);
  });

  it("answers an unknown id of every kind with Stripe's 404 resource_missing", async () => {
    const calls: [string, Promise<unknown>][] = [
      ["cs_test_a1unknown", h.stripe.checkout.sessions.retrieve("cs_test_a1unknown")],
      ["pi_unknown", h.stripe.paymentIntents.retrieve("pi_unknown")],
      ["ch_unknown", h.stripe.charges.retrieve("ch_unknown")],
      ["re_unknown", h.stripe.refunds.retrieve("re_unknown")],
      ["dp_unknown", h.stripe.disputes.retrieve("dp_unknown")],
      ["in_unknown", h.stripe.invoices.retrieve("in_unknown")],
      ["sub_unknown", h.stripe.subscriptions.retrieve("sub_unknown")],
      ["evt_unknown", h.stripe.events.retrieve("evt_unknown")],
      ["cus_unknown", h.stripe.customers.retrieve("cus_unknown")],
    ];
    for (const [id, call] of calls) {
      const err = await stripeError(call);
      expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect(err).toMatchObject({
        statusCode: 404,
        code: "resource_missing",
        param: "id",
        message: expect.stringContaining(`'${id}'`),
      });
    }
  });

  it("answers an id of the other mode as unknown (test keys never see live objects)", async () => {
    const price = await createPackPrice(h.live, 1_000);
    const session = await createPaymentSession(h.live, price);
    const paid = await h.emulator.control.paySession(session.id);
    const err = await stripeError(h.stripe.paymentIntents.retrieve(paid.payment_intent as string));
    expect(err).toMatchObject({ statusCode: 404, code: "resource_missing" });
  });
});

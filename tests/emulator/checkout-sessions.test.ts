import type Stripe from "stripe";
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

/** Event types oldest first, as they were emitted. */
async function eventTypes(): Promise<string[]> {
  const events = await h.stripe.events.list({ limit: 100 });
  return events.data.map((e) => e.type).reverse();
}

async function recurringPrice(amount = 900, tier = "pro"): Promise<Stripe.Price> {
  return h.stripe.prices.create({
    currency: "usd",
    unit_amount: amount,
    recurring: { interval: "month" },
    product_data: { name: `Tier ${tier}` },
    metadata: { tier },
  });
}

describe("creating sessions", () => {
  it("creates a payment-mode session with Stripe's fields", async () => {
    const price = await createPackPrice(h.stripe, 1_500);
    const session = await createPaymentSession(h.stripe, price, {
      line_items: [{ price: price.id, quantity: 2 }],
      client_reference_id: "user_123",
      customer_email: "buyer@example.com",
      metadata: { user_id: "user_123", pack: "starter" },
    });
    expect(session.id).toMatch(/^cs_test_a1[A-Za-z0-9]{56}$/);
    expect(session).toMatchObject({
      object: "checkout.session",
      mode: "payment",
      status: "open",
      payment_status: "unpaid",
      amount_subtotal: 3_000,
      amount_total: 3_000,
      currency: "usd",
      client_reference_id: "user_123",
      customer: null,
      customer_email: "buyer@example.com",
      customer_creation: "if_required",
      metadata: { user_id: "user_123", pack: "starter" },
      payment_intent: null,
      subscription: null,
      livemode: false,
      created: START,
      expires_at: START + 24 * 3600,
      success_url: "https://app.example/success?session_id={CHECKOUT_SESSION_ID}",
      cancel_url: "https://app.example/cancel",
      url: `${h.emulator.url}/_emulator/checkout/${session.id}`,
    });
    expect(session.line_items).toBeUndefined();
  });

  it("creates a live-mode session with a live key", async () => {
    const price = await createPackPrice(h.live);
    const session = await createPaymentSession(h.live, price);
    expect(session.id).toMatch(/^cs_live_/);
    expect(session.livemode).toBe(true);
  });

  it("accepts inline price_data with product_data", async () => {
    const session = await h.stripe.checkout.sessions.create({
      mode: "payment",
      line_items: [
        {
          quantity: 3,
          price_data: { currency: "usd", unit_amount: 700, product_data: { name: "Custom" } },
        },
      ],
    });
    expect(session.amount_total).toBe(2_100);
    const items = await h.stripe.checkout.sessions.listLineItems(session.id);
    expect(items.data[0]).toMatchObject({
      description: "Custom",
      quantity: 3,
      amount_total: 2_100,
    });
  });

  it("validates line items, mode and customer parameters", async () => {
    const oneTime = await createPackPrice(h.stripe);
    const monthly = await recurringPrice();
    const noItems = await stripeError(h.stripe.checkout.sessions.create({ mode: "payment" }));
    expect(noItems).toMatchObject({
      statusCode: 400,
      code: "parameter_missing",
      param: "line_items",
    });
    const noQuantity = await stripeError(
      h.stripe.checkout.sessions.create({ mode: "payment", line_items: [{ price: oneTime.id }] }),
    );
    expect(noQuantity).toMatchObject({
      code: "parameter_missing",
      param: "line_items[0][quantity]",
    });
    const recurringInPayment = await stripeError(
      h.stripe.checkout.sessions.create({
        mode: "payment",
        line_items: [{ price: monthly.id, quantity: 1 }],
      }),
    );
    expect(recurringInPayment.message).toMatch(/recurring price/);
    const oneTimeInSubscription = await stripeError(
      h.stripe.checkout.sessions.create({
        mode: "subscription",
        line_items: [{ price: oneTime.id, quantity: 1 }],
      }),
    );
    expect(oneTimeInSubscription.message).toMatch(/at least one recurring price/);
    const missingPrice = await stripeError(
      h.stripe.checkout.sessions.create({
        mode: "payment",
        line_items: [{ price: "price_nope", quantity: 1 }],
      }),
    );
    expect(missingPrice).toMatchObject({
      statusCode: 400,
      code: "resource_missing",
      param: "line_items[0][price]",
    });
    const customer = await h.stripe.customers.create({ email: "c@example.com" });
    const both = await stripeError(
      h.stripe.checkout.sessions.create({
        mode: "payment",
        customer: customer.id,
        customer_email: "c@example.com",
        line_items: [{ price: oneTime.id, quantity: 1 }],
      }),
    );
    expect(both.message).toMatch(/only specify one of these parameters: customer, customer_email/);
    await h.stripe.prices.update(oneTime.id, { active: false });
    const inactive = await stripeError(
      h.stripe.checkout.sessions.create({
        mode: "payment",
        line_items: [{ price: oneTime.id, quantity: 1 }],
      }),
    );
    expect(inactive.message).toMatch(/inactive/);
  });
});

describe("retrieving and listing", () => {
  it("returns line_items only when expanded, with the full price and its metadata", async () => {
    const price = await createPackPrice(h.stripe, 1_000, "250");
    const session = await createPaymentSession(h.stripe, price, {
      line_items: [{ price: price.id, quantity: 2 }],
    });
    const plain = await h.stripe.checkout.sessions.retrieve(session.id);
    expect(plain.line_items).toBeUndefined();
    const expanded = await h.stripe.checkout.sessions.retrieve(session.id, {
      expand: ["line_items", "line_items.data.price.product"],
    });
    const item = expanded.line_items!.data[0];
    expect(item).toMatchObject({
      object: "item",
      quantity: 2,
      amount_subtotal: 2_000,
      amount_total: 2_000,
      currency: "usd",
      description: "Pack 250",
    });
    expect(item.price).toMatchObject({
      id: price.id,
      metadata: { credits: "250" },
      unit_amount: 1_000,
    });
    expect((item.price!.product as Stripe.Product).name).toBe("Pack 250");
    expect(expanded.line_items!.url).toBe(`/v1/checkout/sessions/${session.id}/line_items`);
    const listed = await h.stripe.checkout.sessions.list({ expand: ["data.line_items"] });
    expect(listed.data[0].line_items!.data[0].price!.metadata).toEqual({ credits: "250" });
  });

  it("pages the line_items sub-list", async () => {
    const prices = [
      await createPackPrice(h.stripe, 100),
      await createPackPrice(h.stripe, 200),
      await createPackPrice(h.stripe, 300),
    ];
    const session = await h.stripe.checkout.sessions.create({
      mode: "payment",
      line_items: prices.map((p) => ({ price: p.id, quantity: 1 })),
    });
    const first = await h.stripe.checkout.sessions.listLineItems(session.id, { limit: 2 });
    expect(first.has_more).toBe(true);
    const all: string[] = [];
    for await (const item of h.stripe.checkout.sessions.listLineItems(session.id, { limit: 2 }))
      all.push(item.price!.id);
    expect(all).toEqual(prices.map((p) => p.id));
  });

  it("lists sessions filtered by status, customer, payment_intent, email and created", async () => {
    const price = await createPackPrice(h.stripe);
    const customer = await h.stripe.customers.create({ email: "known@example.com" });
    const open = await createPaymentSession(h.stripe, price);
    await h.emulator.control.advanceClock(60);
    const withCustomer = await createPaymentSession(h.stripe, price, { customer: customer.id });
    const paid = await createPaymentSession(h.stripe, price);
    const completed = await h.emulator.control.paySession(paid.id, { email: "payer@example.com" });

    const ids = async (params: Stripe.Checkout.SessionListParams) =>
      (await h.stripe.checkout.sessions.list(params)).data.map((s) => s.id);
    expect(await ids({})).toEqual([paid.id, withCustomer.id, open.id]);
    expect(await ids({ status: "complete" })).toEqual([paid.id]);
    expect(await ids({ status: "open" })).toEqual([withCustomer.id, open.id]);
    expect(await ids({ customer: customer.id })).toEqual([withCustomer.id]);
    expect(await ids({ payment_intent: completed.payment_intent as string })).toEqual([paid.id]);
    expect(await ids({ customer_details: { email: "payer@example.com" } })).toEqual([paid.id]);
    expect(await ids({ created: { lt: START + 60 } })).toEqual([open.id]);
    expect(await ids({ created: { gte: START + 60 }, status: "open" })).toEqual([withCustomer.id]);
  });

  it("updates metadata", async () => {
    const session = await createPaymentSession(h.stripe, await createPackPrice(h.stripe), {
      metadata: { a: "1" },
    });
    const updated = await h.stripe.checkout.sessions.update(session.id, { metadata: { b: "2" } });
    expect(updated.metadata).toEqual({ a: "1", b: "2" });
  });
});

describe("expiry", () => {
  it("expires a session through the API with checkout.session.expired", async () => {
    const session = await createPaymentSession(h.stripe, await createPackPrice(h.stripe));
    const expired = await h.stripe.checkout.sessions.expire(session.id);
    expect(expired).toMatchObject({ status: "expired", url: null, payment_status: "unpaid" });
    expect(await eventTypes()).toContain("checkout.session.expired");
    const again = await stripeError(h.stripe.checkout.sessions.expire(session.id));
    expect(again.message).toMatch(/status of "expired"/);
  });

  it("expires open sessions 24 hours after creation as the clock advances", async () => {
    const session = await createPaymentSession(h.stripe, await createPackPrice(h.stripe));
    await h.emulator.control.advanceClock(24 * 3600 - 1);
    expect((await h.stripe.checkout.sessions.retrieve(session.id)).status).toBe("open");
    await h.emulator.control.advanceClock(1);
    expect((await h.stripe.checkout.sessions.retrieve(session.id)).status).toBe("expired");
    const events = await h.stripe.events.list({ type: "checkout.session.expired" });
    expect((events.data[0].data.object as Stripe.Checkout.Session).id).toBe(session.id);
  });
});

describe("paying", () => {
  it("pays a payment-mode session by card: PaymentIntent, Charge and events in Stripe's order", async () => {
    const price = await createPackPrice(h.stripe, 2_500);
    const session = await createPaymentSession(h.stripe, price, { client_reference_id: "user_9" });
    const paid = await h.emulator.control.paySession(session.id, { email: "nine@example.com" });
    expect(paid).toMatchObject({
      status: "complete",
      payment_status: "paid",
      url: null,
      customer: null,
      customer_details: { email: "nine@example.com" },
    });
    const pi = await h.stripe.paymentIntents.retrieve(paid.payment_intent as string, {
      expand: ["latest_charge"],
    });
    expect(pi).toMatchObject({
      status: "succeeded",
      amount: 2_500,
      amount_received: 2_500,
      currency: "usd",
    });
    const charge = pi.latest_charge as Stripe.Charge;
    expect(charge).toMatchObject({
      object: "charge",
      paid: true,
      status: "succeeded",
      amount: 2_500,
      amount_refunded: 0,
      refunded: false,
      payment_intent: pi.id,
      billing_details: { email: "nine@example.com" },
    });
    expect(await eventTypes()).toEqual([
      "product.created",
      "price.created",
      "payment_intent.created",
      "payment_intent.succeeded",
      "charge.succeeded",
      "checkout.session.completed",
    ]);
    const completed = await h.stripe.events.list({ type: "checkout.session.completed" });
    const object = completed.data[0].data.object as Stripe.Checkout.Session;
    expect(object).toMatchObject({
      id: session.id,
      payment_status: "paid",
      client_reference_id: "user_9",
    });
    expect(completed.data[0].request).toEqual({ id: null, idempotency_key: null });
  });

  it("creates a customer on payment when customer_creation is always", async () => {
    const session = await createPaymentSession(h.stripe, await createPackPrice(h.stripe), {
      customer_creation: "always",
      customer_email: "new@example.com",
    });
    const paid = await h.emulator.control.paySession(session.id);
    const customer = (await h.stripe.customers.retrieve(
      paid.customer as string,
    )) as Stripe.Customer;
    expect(customer.email).toBe("new@example.com");
    expect(paid.customer_details?.email).toBe("new@example.com");
    expect((await eventTypes()).slice(-5)).toEqual([
      "customer.created",
      "payment_intent.created",
      "payment_intent.succeeded",
      "charge.succeeded",
      "checkout.session.completed",
    ]);
  });

  it("charges the given customer", async () => {
    const customer = await h.stripe.customers.create({ email: "known@example.com" });
    const session = await createPaymentSession(h.stripe, await createPackPrice(h.stripe), {
      customer: customer.id,
    });
    const paid = await h.emulator.control.paySession(session.id);
    expect(paid.customer).toBe(customer.id);
    expect(paid.customer_details?.email).toBe("known@example.com");
    const charges = await h.stripe.charges.list({ customer: customer.id });
    expect(charges.data).toHaveLength(1);
  });

  it("runs an async payment that later succeeds", async () => {
    const session = await createPaymentSession(h.stripe, await createPackPrice(h.stripe), {
      customer_email: "a@example.com",
    });
    const pending = await h.emulator.control.paySession(session.id, { card: "async" });
    expect(pending).toMatchObject({ status: "complete", payment_status: "unpaid" });
    expect((await h.stripe.paymentIntents.retrieve(pending.payment_intent as string)).status).toBe(
      "processing",
    );
    expect((await h.stripe.charges.list()).data).toHaveLength(0);
    const settled = await h.emulator.control.succeedAsyncPayment(session.id);
    expect(settled.payment_status).toBe("paid");
    expect((await h.stripe.charges.list()).data).toHaveLength(1);
    expect((await eventTypes()).slice(-6)).toEqual([
      "payment_intent.created",
      "payment_intent.processing",
      "checkout.session.completed",
      "payment_intent.succeeded",
      "charge.succeeded",
      "checkout.session.async_payment_succeeded",
    ]);
    const completedEvent = await h.stripe.events.list({ type: "checkout.session.completed" });
    expect((completedEvent.data[0].data.object as Stripe.Checkout.Session).payment_status).toBe(
      "unpaid",
    );
  });

  it("runs an async payment that fails", async () => {
    const session = await createPaymentSession(h.stripe, await createPackPrice(h.stripe));
    await h.emulator.control.paySession(session.id, { card: "async" });
    const failed = await h.emulator.control.failAsyncPayment(session.id);
    expect(failed).toMatchObject({ status: "complete", payment_status: "unpaid" });
    expect((await h.stripe.paymentIntents.retrieve(failed.payment_intent as string)).status).toBe(
      "requires_payment_method",
    );
    expect((await eventTypes()).slice(-2)).toEqual([
      "payment_intent.payment_failed",
      "checkout.session.async_payment_failed",
    ]);
    await expect(h.emulator.control.succeedAsyncPayment(session.id)).rejects.toThrow(
      /no async payment in progress/,
    );
  });

  it("refuses to pay a session twice or after expiry", async () => {
    const price = await createPackPrice(h.stripe);
    const paid = await createPaymentSession(h.stripe, price);
    await h.emulator.control.paySession(paid.id);
    await expect(h.emulator.control.paySession(paid.id)).rejects.toThrow(
      /only open sessions can be paid/,
    );
    const expired = await createPaymentSession(h.stripe, price);
    await h.stripe.checkout.sessions.expire(expired.id);
    await expect(h.emulator.control.paySession(expired.id)).rejects.toThrow(/expired/);
  });

  it("pays a subscription-mode session: customer, active subscription, paid invoice", async () => {
    const price = await recurringPrice(1_200, "pro");
    const session = await h.stripe.checkout.sessions.create({
      mode: "subscription",
      line_items: [{ price: price.id, quantity: 1 }],
      customer_email: "sub@example.com",
      client_reference_id: "user_sub",
      subscription_data: { metadata: { user_id: "user_sub" } },
    });
    expect(session.customer_creation).toBeNull();
    const paid = await h.emulator.control.paySession(session.id);
    expect(paid).toMatchObject({
      status: "complete",
      payment_status: "paid",
      payment_intent: null,
    });
    expect(paid.customer).toMatch(/^cus_/);
    const subscription = await h.stripe.subscriptions.retrieve(paid.subscription as string);
    expect(subscription).toMatchObject({
      status: "active",
      customer: paid.customer,
      metadata: { user_id: "user_sub" },
      latest_invoice: paid.invoice,
    });
    expect(subscription.items.data[0].price).toMatchObject({
      id: price.id,
      metadata: { tier: "pro" },
    });
    const invoice = await h.stripe.invoices.retrieve(paid.invoice as string);
    expect(invoice).toMatchObject({ status: "paid", amount_paid: 1_200, customer: paid.customer });
    expect((await eventTypes()).slice(-6)).toEqual([
      "customer.created",
      "customer.subscription.created",
      "payment_intent.succeeded",
      "charge.succeeded",
      "invoice.paid",
      "checkout.session.completed",
    ]);
  });

  it("rejects async payment in subscription mode", async () => {
    const price = await recurringPrice();
    const session = await h.stripe.checkout.sessions.create({
      mode: "subscription",
      line_items: [{ price: price.id, quantity: 1 }],
    });
    await expect(h.emulator.control.paySession(session.id, { card: "async" })).rejects.toThrow(
      /payment mode only/,
    );
  });
});

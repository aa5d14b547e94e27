/**
 * Subscriptions renew as the emulator's clock passes each period end (issue 18's allowances):
 * one `subscription_cycle` invoice per period with `invoice.paid`, or `invoice.payment_failed`
 * when the control surface makes the renewal's payment fail; cancellation stops the invoices.
 * Checked through the SDK and through the signed webhooks a receiver gets.
 */
import type Stripe from "stripe";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startHarness, stripeError, type Harness } from "./support/harness";
import { WebhookReceiver } from "./support/webhook-receiver";

const utc = (iso: string) => Date.parse(iso) / 1000;
const JAN_31 = utc("2027-01-31T12:00:00Z");

let h: Harness;
let receiver: WebhookReceiver;
let secret: string;
beforeAll(async () => {
  h = await startHarness({ clock: JAN_31 });
  receiver = await WebhookReceiver.start();
});
afterAll(async () => {
  await h.emulator.stop();
  await receiver.stop();
});
beforeEach(async () => {
  await h.emulator.control.reset();
  receiver.clear();
  const endpoint = await h.stripe.webhookEndpoints.create({
    url: receiver.url,
    enabled_events: ["*"],
  });
  secret = endpoint.secret!;
});

async function allowancePrice(): Promise<Stripe.Price> {
  return h.stripe.prices.create({
    currency: "usd",
    unit_amount: 2_900,
    recurring: { interval: "month" },
    product_data: { name: "Monthly 5,000 credits" },
    metadata: { credits: "5000", credits_rollover: "false" },
  });
}

/** Subscribes through Checkout, as a customer does. */
async function subscribe(price: Stripe.Price): Promise<Stripe.Subscription> {
  const session = await h.stripe.checkout.sessions.create({
    mode: "subscription",
    line_items: [{ price: price.id, quantity: 1 }],
    customer_email: "sub@example.com",
    client_reference_id: "user_42",
  });
  const paid = await h.emulator.control.paySession(session.id);
  return h.stripe.subscriptions.retrieve(paid.subscription as string);
}

/** The verified webhook events of the given types, in the order they arrived. */
async function delivered(...types: string[]): Promise<Stripe.Event[]> {
  await h.emulator.control.waitForDeliveries({ timeoutMs: 10_000 });
  return receiver.received
    .map((hook) => receiver.verify(hook, secret))
    .filter((e) => types.includes(e.type));
}

const periodOf = (invoice: Stripe.Invoice) => invoice.lines.data[0].period;
const priceOf = (invoice: Stripe.Invoice) =>
  invoice.lines.data[0].pricing?.price_details?.price as string;
const subscriptionOf = (invoice: Stripe.Invoice) =>
  invoice.parent?.subscription_details?.subscription as string;

describe("renewals as the clock advances", () => {
  it("issues one invoice per period: three periods, the second unpaid", async () => {
    const price = await allowancePrice();
    const sub = await subscribe(price);
    const customer = sub.customer as string;
    const feb28 = utc("2027-02-28T12:00:00Z"); // Jan 31 + 1 month, clamped to February's end
    const mar31 = utc("2027-03-31T12:00:00Z"); // the anchor day comes back in March
    const apr30 = utc("2027-04-30T12:00:00Z");
    expect(sub.items.data[0]).toMatchObject({
      current_period_start: JAN_31,
      current_period_end: feb28,
    });

    // Period 2's payment fails; period 3's succeeds again.
    await h.emulator.control.advanceClock(feb28 - JAN_31 - 1);
    expect((await h.stripe.invoices.list({ subscription: sub.id })).data).toHaveLength(1);
    await h.emulator.control.setRenewalOutcome(sub.id, "failed");
    await h.emulator.control.advanceClock(1);
    expect((await h.stripe.subscriptions.retrieve(sub.id)).status).toBe("past_due");
    await h.emulator.control.setRenewalOutcome(sub.id, "paid");
    await h.emulator.control.advanceClock(mar31 - feb28);

    const invoices = (await h.stripe.invoices.list({ subscription: sub.id })).data.reverse();
    expect(invoices.map((i) => [i.billing_reason, i.status, i.created])).toEqual([
      ["subscription_create", "paid", JAN_31],
      ["subscription_cycle", "open", feb28],
      ["subscription_cycle", "paid", mar31],
    ]);
    expect(invoices.map(periodOf)).toEqual([
      { start: JAN_31, end: feb28 },
      { start: feb28, end: mar31 },
      { start: mar31, end: apr30 },
    ]);
    for (const invoice of invoices) {
      expect(invoice.customer).toBe(customer);
      expect(subscriptionOf(invoice)).toBe(sub.id);
      expect(priceOf(invoice)).toBe(price.id);
    }
    expect(invoices[1]).toMatchObject({ amount_due: 2_900, amount_paid: 0, attempted: true });
    expect(invoices[2]).toMatchObject({ amount_paid: 2_900, amount_remaining: 0 });
    expect(invoices[2].status_transitions.paid_at).toBe(mar31);

    const after = await h.stripe.subscriptions.retrieve(sub.id);
    expect(after).toMatchObject({ status: "active", latest_invoice: invoices[2].id });
    expect(after.items.data[0]).toMatchObject({
      current_period_start: mar31,
      current_period_end: apr30,
    });

    // The webhooks: invoice.paid for periods 1 and 3, invoice.payment_failed for period 2 only.
    const hooks = await delivered("invoice.paid", "invoice.payment_failed");
    expect(hooks.map((e) => [e.type, (e.data.object as Stripe.Invoice).id, e.created])).toEqual([
      ["invoice.paid", invoices[0].id, JAN_31],
      ["invoice.payment_failed", invoices[1].id, feb28],
      ["invoice.paid", invoices[2].id, mar31],
    ]);
    const paidHook = hooks[2].data.object as Stripe.Invoice;
    expect(paidHook).toMatchObject({
      billing_reason: "subscription_cycle",
      customer,
      status: "paid",
    });
    expect(subscriptionOf(paidHook)).toBe(sub.id);
    expect(periodOf(paidHook)).toEqual({ start: mar31, end: apr30 });
    expect(priceOf(paidHook)).toBe(price.id);
  });

  it("serves the invoice line's price with its metadata on request", async () => {
    const price = await allowancePrice();
    const sub = await subscribe(price);
    await h.emulator.control.advanceClock(31 * 86_400);
    const [renewal] = (await h.stripe.invoices.list({ subscription: sub.id, limit: 1 })).data;
    expect(renewal.billing_reason).toBe("subscription_cycle");

    const lines = await h.stripe.invoices.listLineItems(renewal.id, {
      expand: ["data.pricing.price_details.price"],
    });
    const linePrice = lines.data[0].pricing!.price_details!.price as Stripe.Price;
    expect(linePrice).toMatchObject({
      id: price.id,
      metadata: { credits: "5000", credits_rollover: "false" },
      recurring: { interval: "month" },
    });
    expect(lines.data[0].period.start).toBe(sub.items.data[0].current_period_end);
    expect((await h.stripe.prices.retrieve(priceOf(renewal))).metadata.credits).toBe("5000");
  });

  it("renews once per period when the clock jumps several periods at once", async () => {
    const sub = await subscribe(await allowancePrice());
    await h.emulator.control.advanceClock(utc("2027-05-15T00:00:00Z") - JAN_31);
    const invoices = (await h.stripe.invoices.list({ subscription: sub.id })).data.reverse();
    expect(invoices.map((i) => i.created)).toEqual([
      JAN_31,
      utc("2027-02-28T12:00:00Z"),
      utc("2027-03-31T12:00:00Z"),
      utc("2027-04-30T12:00:00Z"),
    ]);
    const paid = await delivered("invoice.paid");
    expect(paid.map((e) => e.created)).toEqual(invoices.map((i) => i.created));
    expect(await h.emulator.control.now()).toBe(utc("2027-05-15T00:00:00Z"));
  });

  it("emits the renewal's events in Stripe's order", async () => {
    const sub = await subscribe(await allowancePrice());
    await h.emulator.control.waitForDeliveries({ timeoutMs: 10_000 });
    receiver.clear();
    await h.emulator.control.advanceClock(28 * 86_400);
    await h.emulator.control.waitForDeliveries({ timeoutMs: 10_000 });
    expect(receiver.received.map((r) => r.eventType)).toEqual([
      "customer.subscription.updated",
      "payment_intent.succeeded",
      "charge.succeeded",
      "invoice.paid",
    ]);
    const updated = receiver.verify(receiver.received[0], secret);
    const previous = updated.data.previous_attributes as Partial<Stripe.Subscription>;
    expect(previous.items!.data[0].current_period_end).toBe(utc("2027-02-28T12:00:00Z"));
    expect(previous.latest_invoice).toBe(sub.latest_invoice);
  });
});

describe("cancellation stops future invoices", () => {
  it("cancel now: no invoice after the cancellation", async () => {
    const sub = await subscribe(await allowancePrice());
    await h.emulator.control.advanceClock(28 * 86_400); // period 2 invoiced
    await h.stripe.subscriptions.cancel(sub.id);
    await h.emulator.control.advanceClock(90 * 86_400);
    const invoices = await h.stripe.invoices.list({ subscription: sub.id });
    expect(invoices.data.map((i) => i.billing_reason)).toEqual([
      "subscription_cycle",
      "subscription_create",
    ]);
    expect(await delivered("invoice.paid")).toHaveLength(2);
  });

  it("cancel at period end: the current period stays, then the subscription ends", async () => {
    const sub = await subscribe(await allowancePrice());
    await h.stripe.subscriptions.update(sub.id, { cancel_at_period_end: true });
    await h.emulator.control.advanceClock(60 * 86_400);
    const ended = await h.stripe.subscriptions.retrieve(sub.id);
    expect(ended).toMatchObject({
      status: "canceled",
      ended_at: utc("2027-02-28T12:00:00Z"),
    });
    expect((await h.stripe.invoices.list({ subscription: sub.id })).data).toHaveLength(1);
    const deleted = await delivered("customer.subscription.deleted");
    expect(deleted.map((e) => e.created)).toEqual([utc("2027-02-28T12:00:00Z")]);
  });

  it("keeps failing while marked, leaving each period's invoice open", async () => {
    const sub = await subscribe(await allowancePrice());
    await h.emulator.control.setRenewalOutcome(sub.id, "failed");
    await h.emulator.control.advanceClock(60 * 86_400);
    const invoices = (await h.stripe.invoices.list({ subscription: sub.id, status: "open" })).data;
    expect(invoices).toHaveLength(2);
    expect(await delivered("invoice.paid")).toHaveLength(1);
    expect(await delivered("invoice.payment_failed")).toHaveLength(2);
    const pi = await h.stripe.paymentIntents.list({ customer: sub.customer as string });
    expect(pi.data[0]).toMatchObject({
      status: "requires_payment_method",
      last_payment_error: { code: "card_declined" },
    });
  });

  it("marks renewals failing over HTTP too (POST /_emulator/subscriptions/:id/renewal-outcome)", async () => {
    const sub = await subscribe(await allowancePrice());
    const post = (outcome: string) =>
      fetch(`${h.emulator.url}/_emulator/subscriptions/${sub.id}/renewal-outcome`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ outcome }),
      });
    const bad = await post("maybe");
    expect(bad.status).toBe(400);
    expect((await post("failed")).status).toBe(200);
    await h.emulator.control.advanceClock(28 * 86_400);
    const [latest] = (await h.stripe.invoices.list({ subscription: sub.id, limit: 1 })).data;
    expect(latest).toMatchObject({ billing_reason: "subscription_cycle", status: "open" });
  });

  it("refuses a renewal outcome for an unknown subscription", async () => {
    await expect(h.emulator.control.setRenewalOutcome("sub_nope", "failed")).rejects.toThrow(
      /sub_nope/,
    );
    expect((await stripeError(h.stripe.invoices.listLineItems("in_nope"))).statusCode).toBe(404);
    const sub = await subscribe(await allowancePrice());
    const cursor = await stripeError(
      h.stripe.invoices.listLineItems(sub.latest_invoice as string, { starting_after: "il_nope" }),
    );
    expect(cursor).toMatchObject({
      statusCode: 400,
      code: "resource_missing",
      param: "starting_after",
    });
  });
});

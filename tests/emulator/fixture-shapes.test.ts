import { readFileSync } from "node:fs";
import type Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STRIPE_SCHEMA } from "../../emulator/schema/shape";
import {
  createPackPrice,
  createPaymentSession,
  startHarness,
  type Harness,
} from "./support/harness";

/** Stripe's own sample objects (openapi fixtures3.json), copied into the repo for CI. */
const fixtures = JSON.parse(
  readFileSync(new URL("./fixtures/stripe-fixtures.json", import.meta.url), "utf8"),
) as { resources: Record<string, Record<string, unknown>> };

let h: Harness;
const served: Record<string, Record<string, unknown>> = {};

beforeAll(async () => {
  h = await startHarness();
  const { stripe, emulator } = h;
  const endpoint = await stripe.webhookEndpoints.create({
    url: "http://127.0.0.1:9/hooks",
    enabled_events: ["*"],
  });
  const price = await createPackPrice(stripe, 1_000);
  const session = await createPaymentSession(stripe, price, {
    customer_creation: "always",
    customer_email: "f@example.com",
  });
  const paid = await emulator.control.paySession(session.id);
  const refund = await stripe.refunds.create({
    payment_intent: paid.payment_intent as string,
    amount: 100,
  });
  const other = await emulator.control.paySession((await createPaymentSession(stripe, price)).id);
  const dispute = await emulator.control.openDispute(other.payment_intent as string);
  const monthly = await stripe.prices.create({
    currency: "usd",
    unit_amount: 900,
    recurring: { interval: "month" },
    product: price.product as string,
  });
  const subscriptionSession = await stripe.checkout.sessions.create({
    mode: "subscription",
    line_items: [{ price: monthly.id, quantity: 1 }],
  });
  const subscribed = await emulator.control.paySession(subscriptionSession.id);
  const subscription = await stripe.subscriptions.retrieve(subscribed.subscription as string);
  const invoice = await stripe.invoices.retrieve(subscribed.invoice as string);
  const items = await stripe.checkout.sessions.listLineItems(session.id);
  const [event] = (await stripe.events.list({ limit: 1 })).data;

  Object.assign(served, {
    product: await stripe.products.retrieve(price.product as string),
    price: await stripe.prices.retrieve(price.id),
    customer: await stripe.customers.retrieve(paid.customer as string),
    "checkout.session": await stripe.checkout.sessions.retrieve(session.id),
    payment_intent: await stripe.paymentIntents.retrieve(paid.payment_intent as string),
    charge: await stripe.charges.retrieve(refund.charge as string),
    refund: await stripe.refunds.retrieve(refund.id),
    dispute: await stripe.disputes.retrieve(dispute.id),
    subscription,
    invoice,
    item: items.data[0],
    line_item: invoice.lines.data[0],
    event: await stripe.events.retrieve(event.id),
    webhook_endpoint: await stripe.webhookEndpoints.retrieve(endpoint.id),
  });
});
afterAll(() => h.emulator.stop());

/** The SDK adds `lastResponse` (not a Stripe field); compare what came over the wire. */
function wireKeys(obj: Record<string, unknown>): string[] {
  return Object.keys(obj).filter((k) => k !== "lastResponse");
}

describe("served objects have the keys of Stripe's reference fixtures", () => {
  it("covers every resource type in the fixture file", () => {
    expect(Object.keys(served).sort()).toEqual(Object.keys(fixtures.resources).sort());
  });

  for (const type of Object.keys(fixtures.resources)) {
    it(`${type}`, () => {
      // The fixtures predate the pinned version in places (an invoice's top-level `subscription`):
      // only keys the SDK still declares for the type are expected.
      const declared = STRIPE_SCHEMA.types[STRIPE_SCHEMA.objects[type].type as string].fields;
      const expected = Object.keys(fixtures.resources[type])
        .filter((k) => k in declared)
        .sort();
      const actual = wireKeys(served[type]);
      expect(expected.filter((k) => !actual.includes(k))).toEqual([]);
      expect(served[type].object).toBe(fixtures.resources[type].object);
    });
  }

  it("has the fixture keys on nested objects the app reads", () => {
    const session = served["checkout.session"] as unknown as Stripe.Checkout.Session;
    const fixtureSession = fixtures.resources["checkout.session"] as { customer_details: object };
    expect(Object.keys(session.customer_details!)).toEqual(
      expect.arrayContaining(Object.keys(fixtureSession.customer_details)),
    );

    const subscription = served.subscription as unknown as Stripe.Subscription;
    const fixtureItem = (
      fixtures.resources.subscription as { items: { data: Array<Record<string, unknown>> } }
    ).items.data[0];
    expect(Object.keys(subscription.items.data[0])).toEqual(
      expect.arrayContaining(Object.keys(fixtureItem)),
    );
    expect(Object.keys(subscription.items.data[0].price)).toEqual(
      expect.arrayContaining(Object.keys(fixtures.resources.price)),
    );

    const item = served.item as unknown as Stripe.LineItem;
    expect(Object.keys(item.price!)).toEqual(
      expect.arrayContaining(Object.keys(fixtures.resources.price)),
    );

    const charge = served.charge as unknown as Stripe.Charge;
    const fixtureCharge = fixtures.resources.charge as { refunds: object; billing_details: object };
    expect(Object.keys(charge.refunds!)).toEqual(
      expect.arrayContaining(Object.keys(fixtureCharge.refunds)),
    );
    expect(Object.keys(charge.refunds!.data[0])).toEqual(
      expect.arrayContaining(Object.keys(fixtures.resources.refund)),
    );
    expect(Object.keys(charge.billing_details)).toEqual(
      expect.arrayContaining(Object.keys(fixtureCharge.billing_details)),
    );

    const event = served.event as unknown as Stripe.Event;
    expect(Object.keys(event.request!)).toEqual(expect.arrayContaining(["id", "idempotency_key"]));
  });
});

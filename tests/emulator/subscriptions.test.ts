import type Stripe from "stripe";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startHarness, stripeError, type Harness } from "./support/harness";

const START = 1_790_000_000;
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ clock: START });
});
afterAll(() => h.emulator.stop());
beforeEach(() => h.emulator.control.reset());

async function tierPrice(tier: string, amount: number): Promise<Stripe.Price> {
  return h.stripe.prices.create({
    currency: "usd",
    unit_amount: amount,
    recurring: { interval: "month" },
    product_data: { name: tier },
    metadata: { tier },
  });
}

async function subscribedCustomer(price: Stripe.Price) {
  const session = await h.stripe.checkout.sessions.create({
    mode: "subscription",
    line_items: [{ price: price.id, quantity: 1 }],
    customer_email: "tiered@example.com",
  });
  const paid = await h.emulator.control.paySession(session.id);
  return h.stripe.subscriptions.retrieve(paid.subscription as string);
}

describe("subscriptions", () => {
  it("starts with one period of the price's interval", async () => {
    const subscription = await subscribedCustomer(await tierPrice("pro", 1_000));
    const item = subscription.items.data[0];
    expect(item.current_period_start).toBe(START);
    // 1,790,000,000 is 2026-09-21; one month later is 2026-10-21.
    expect(item.current_period_end).toBe(START + 30 * 86_400);
    expect(item.plan).toMatchObject({ object: "plan", interval: "month", amount: 1_000 });
  });

  it("changes price with items and emits customer.subscription.updated with previous_attributes", async () => {
    const pro = await tierPrice("pro", 1_000);
    const team = await tierPrice("team", 5_000);
    const subscription = await subscribedCustomer(pro);
    const updated = await h.stripe.subscriptions.update(subscription.id, {
      items: [{ id: subscription.items.data[0].id, price: team.id }],
      metadata: { changed_by: "support" },
    });
    expect(updated.items.data.map((i) => i.price.id)).toEqual([team.id]);
    expect(updated.items.data[0].price.metadata).toEqual({ tier: "team" });
    const events = await h.stripe.events.list({ type: "customer.subscription.updated" });
    expect(events.data).toHaveLength(1);
    const previous = events.data[0].data.previous_attributes as Partial<Stripe.Subscription>;
    expect(previous.items!.data[0].price.id).toBe(pro.id);
    expect(previous.metadata).toEqual({});
    expect((events.data[0].data.object as Stripe.Subscription).items.data[0].price.id).toBe(
      team.id,
    );
  });

  it("shows the price's current metadata on subscription items", async () => {
    const pro = await tierPrice("pro", 1_000);
    const subscription = await subscribedCustomer(pro);
    await h.stripe.prices.update(pro.id, { metadata: { tier: "pro-plus" } });
    const fresh = await h.stripe.subscriptions.retrieve(subscription.id);
    expect(fresh.items.data[0].price.metadata.tier).toBe("pro-plus");
  });

  it("cancels through the API and the control surface with customer.subscription.deleted", async () => {
    const price = await tierPrice("pro", 1_000);
    const first = await subscribedCustomer(price);
    const canceled = await h.stripe.subscriptions.cancel(first.id);
    expect(canceled).toMatchObject({ status: "canceled", canceled_at: START, ended_at: START });
    const second = await subscribedCustomer(price);
    const viaControl = await h.emulator.control.cancelSubscription(second.id);
    expect(viaControl.status).toBe("canceled");
    const deleted = await h.stripe.events.list({ type: "customer.subscription.deleted" });
    expect(deleted.data.map((e) => (e.data.object as Stripe.Subscription).id)).toEqual([
      second.id,
      first.id,
    ]);
    expect((await stripeError(h.stripe.subscriptions.cancel(first.id))).statusCode).toBe(404);
  });

  it("lists without canceled subscriptions unless asked, and filters by customer and price", async () => {
    const pro = await tierPrice("pro", 1_000);
    const team = await tierPrice("team", 5_000);
    const a = await subscribedCustomer(pro);
    const b = await subscribedCustomer(team);
    await h.stripe.subscriptions.cancel(a.id);
    const ids = async (params: Stripe.SubscriptionListParams) =>
      (await h.stripe.subscriptions.list(params)).data.map((s) => s.id);
    expect(await ids({})).toEqual([b.id]);
    expect(await ids({ status: "all" })).toEqual([b.id, a.id]);
    expect(await ids({ status: "canceled" })).toEqual([a.id]);
    expect(await ids({ customer: b.customer as string })).toEqual([b.id]);
    expect(await ids({ price: team.id })).toEqual([b.id]);
  });

  it("creates subscriptions directly through the API, as the Stripe CLI trigger does", async () => {
    const price = await tierPrice("pro", 1_500);
    const customer = await h.stripe.customers.create({ description: "(created by Stripe CLI)" });
    const subscription = await h.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
    });
    expect(subscription).toMatchObject({ status: "active", customer: customer.id });
    expect(subscription.latest_invoice).toMatch(/^in_/);
    const invoices = await h.stripe.invoices.list({ subscription: subscription.id });
    expect(invoices.data.map((i) => i.status)).toEqual(["paid"]);
    const types = (await h.stripe.events.list()).data.map((e) => e.type).reverse();
    expect(types.slice(-4)).toEqual([
      "customer.subscription.created",
      "payment_intent.succeeded",
      "charge.succeeded",
      "invoice.paid",
    ]);
    const oneTime = await h.stripe.prices.create({
      currency: "usd",
      unit_amount: 100,
      product_data: { name: "x" },
    });
    const err = await stripeError(
      h.stripe.subscriptions.create({ customer: customer.id, items: [{ price: oneTime.id }] }),
    );
    expect(err.message).toMatch(/type=recurring/);
  });
});

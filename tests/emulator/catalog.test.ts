import type Stripe from "stripe";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startHarness, stripeError, type Harness } from "./support/harness";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.emulator.stop());
beforeEach(() => h.emulator.control.reset());

describe("products", () => {
  it("creates, retrieves, updates, lists and deletes", async () => {
    const product = await h.stripe.products.create({
      name: "Starter",
      description: "100 credits",
      metadata: { sku: "s" },
    });
    expect(product).toMatchObject({
      object: "product",
      name: "Starter",
      active: true,
      metadata: { sku: "s" },
      livemode: false,
    });
    expect(product.id).toMatch(/^prod_/);
    expect((await h.stripe.products.retrieve(product.id)).name).toBe("Starter");

    const updated = await h.stripe.products.update(product.id, {
      name: "Starter+",
      metadata: { sku: "", tier: "pro" },
    });
    expect(updated.name).toBe("Starter+");
    expect(updated.metadata).toEqual({ tier: "pro" });

    const archived = await h.stripe.products.create({ name: "Old", active: false });
    expect((await h.stripe.products.list({ active: true })).data.map((p) => p.id)).toEqual([
      product.id,
    ]);
    expect((await h.stripe.products.list({ ids: [archived.id] })).data.map((p) => p.id)).toEqual([
      archived.id,
    ]);

    const deleted = await h.stripe.products.del(archived.id);
    expect(deleted).toMatchObject({ id: archived.id, deleted: true });
    expect((await stripeError(h.stripe.products.retrieve(archived.id))).statusCode).toBe(404);
  });

  it("creates a default price from default_price_data", async () => {
    const product = await h.stripe.products.create({
      name: "Bundle",
      default_price_data: { currency: "eur", unit_amount: 2_500 },
    });
    const price = await h.stripe.prices.retrieve(product.default_price as string);
    expect(price).toMatchObject({
      product: product.id,
      currency: "eur",
      unit_amount: 2_500,
      type: "one_time",
    });
  });

  it("refuses to delete a product that has prices", async () => {
    const price = await h.stripe.prices.create({
      currency: "usd",
      unit_amount: 100,
      product_data: { name: "x" },
    });
    const err = await stripeError(h.stripe.products.del(price.product as string));
    expect(err.statusCode).toBe(400);
  });
});

describe("prices", () => {
  it("creates one-time and recurring prices with metadata", async () => {
    const product = await h.stripe.products.create({ name: "Credits" });
    const oneTime = await h.stripe.prices.create({
      product: product.id,
      currency: "USD",
      unit_amount: 1_999,
      metadata: { credits: "500", tier: "pro" },
      lookup_key: "credits_500",
    });
    expect(oneTime).toMatchObject({
      object: "price",
      product: product.id,
      currency: "usd",
      unit_amount: 1_999,
      type: "one_time",
      recurring: null,
      metadata: { credits: "500", tier: "pro" },
      lookup_key: "credits_500",
      active: true,
    });
    // The SDK turns decimal strings into its Decimal type.
    expect(String(oneTime.unit_amount_decimal)).toBe("1999");
    const monthly = await h.stripe.prices.create({
      product: product.id,
      currency: "usd",
      unit_amount: 900,
      recurring: { interval: "month" },
    });
    expect(monthly.type).toBe("recurring");
    expect(monthly.recurring).toMatchObject({
      interval: "month",
      interval_count: 1,
      usage_type: "licensed",
    });
  });

  it("creates the product inline from product_data", async () => {
    const price = await h.stripe.prices.create({
      currency: "usd",
      unit_amount: 500,
      product_data: { name: "Inline pack" },
    });
    const product = await h.stripe.products.retrieve(price.product as string);
    expect(product.name).toBe("Inline pack");
  });

  it("validates product, currency and amount", async () => {
    expect(
      (await stripeError(h.stripe.prices.create({ currency: "usd", unit_amount: 1 }))).param,
    ).toBe("product");
    const missingProduct = await stripeError(
      h.stripe.prices.create({ currency: "usd", unit_amount: 1, product: "prod_nope" }),
    );
    // An unknown id passed as a parameter is a bad request (400), not a missing URL (404).
    expect(missingProduct).toMatchObject({
      statusCode: 400,
      code: "resource_missing",
      param: "product",
    });
    const badCurrency = await stripeError(
      h.stripe.prices.create({ currency: "dollars", unit_amount: 1, product_data: { name: "x" } }),
    );
    expect(badCurrency.param).toBe("currency");
    const noAmount = await stripeError(
      h.stripe.prices.create({ currency: "usd", product_data: { name: "x" } }),
    );
    expect(noAmount.code).toBe("parameter_missing");
  });

  it("updates metadata and active, and lists with filters and expand[]=data.product", async () => {
    const a = await h.stripe.prices.create({
      currency: "usd",
      unit_amount: 100,
      product_data: { name: "A" },
      metadata: { credits: "10" },
    });
    const b = await h.stripe.prices.create({
      currency: "eur",
      unit_amount: 200,
      product: a.product as string,
    });
    const c = await h.stripe.prices.create({
      currency: "usd",
      unit_amount: 300,
      product_data: { name: "C" },
      recurring: { interval: "year" },
    });
    const updated = await h.stripe.prices.update(b.id, {
      active: false,
      metadata: { credits: "20" },
    });
    expect(updated).toMatchObject({ active: false, metadata: { credits: "20" } });

    expect((await h.stripe.prices.list({ active: true })).data.map((p) => p.id)).toEqual([
      c.id,
      a.id,
    ]);
    expect(
      (await h.stripe.prices.list({ product: a.product as string })).data.map((p) => p.id),
    ).toEqual([b.id, a.id]);
    expect((await h.stripe.prices.list({ type: "recurring" })).data.map((p) => p.id)).toEqual([
      c.id,
    ]);
    expect((await h.stripe.prices.list({ currency: "eur" })).data.map((p) => p.id)).toEqual([b.id]);

    const expanded = await h.stripe.prices.list({ expand: ["data.product"] });
    const products = expanded.data.map((p) => p.product as Stripe.Product);
    expect(products.map((p) => p.object)).toEqual(["product", "product", "product"]);
    expect(products[2].name).toBe("A");
  });

  it("refuses to expand what cannot be expanded", async () => {
    const price = await h.stripe.prices.create({
      currency: "usd",
      unit_amount: 100,
      product_data: { name: "A" },
    });
    const err = await stripeError(h.stripe.prices.retrieve(price.id, { expand: ["currency"] }));
    expect(err.statusCode).toBe(400);
    expect(err.message).toBe("This property cannot be expanded (currency).");
  });
});

describe("customers", () => {
  it("creates, retrieves, updates, filters by email and deletes", async () => {
    const ann = await h.stripe.customers.create({
      email: "ann@example.com",
      name: "Ann",
      metadata: { user_id: "u_1" },
    });
    await h.stripe.customers.create({ email: "bob@example.com" });
    const ann2 = await h.stripe.customers.create({ email: "ann@example.com" });
    expect(ann).toMatchObject({
      object: "customer",
      email: "ann@example.com",
      name: "Ann",
      metadata: { user_id: "u_1" },
    });
    expect(ann.id).toMatch(/^cus_/);
    expect((await h.stripe.customers.retrieve(ann.id)) as Stripe.Customer).toMatchObject({
      email: "ann@example.com",
    });

    const updated = await h.stripe.customers.update(ann.id, { name: "Ann B", phone: "" });
    expect(updated).toMatchObject({ name: "Ann B", phone: null });

    const byEmail = await h.stripe.customers.list({ email: "ann@example.com" });
    expect(byEmail.data.map((c) => c.id)).toEqual([ann2.id, ann.id]);

    expect(await h.stripe.customers.del(ann2.id)).toMatchObject({ id: ann2.id, deleted: true });
    expect(
      (await h.stripe.customers.list({ email: "ann@example.com" })).data.map((c) => c.id),
    ).toEqual([ann.id]);
  });

  it("emits customer.created and customer.updated with previous_attributes", async () => {
    const customer = await h.stripe.customers.create({ email: "e@example.com" });
    await h.stripe.customers.update(customer.id, { email: "f@example.com" });
    const events = await h.stripe.events.list({ types: ["customer.created", "customer.updated"] });
    expect(events.data.map((e) => e.type)).toEqual(["customer.updated", "customer.created"]);
    expect(events.data[0].data.previous_attributes).toEqual({ email: "e@example.com" });
    expect((events.data[0].data.object as Stripe.Customer).email).toBe("f@example.com");
  });
});

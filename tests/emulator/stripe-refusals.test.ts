import Stripe from "stripe";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { API_VERSION } from "../../emulator/index";
import {
  createPackPrice,
  createPaymentSession,
  sdkFor,
  startHarness,
  stripeError,
  TEST_KEY,
  type Harness,
} from "./support/harness";

/** What the emulator refuses, and the shapes it answers with, where Stripe does the same. */
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.emulator.stop());
beforeEach(() => h.emulator.control.reset());
afterEach(() => vi.restoreAllMocks());

/** The SDK with a `Stripe-Version` of our choosing (it sends whatever it is configured with). */
function withVersion(version: string): Stripe {
  return sdkFor(h.emulator.url, TEST_KEY, {
    apiVersion: version as Stripe.StripeConfig["apiVersion"],
  });
}

async function paidPayment(amount = 3_000) {
  const price = await createPackPrice(h.stripe, amount);
  const session = await createPaymentSession(h.stripe, price);
  const paid = await h.emulator.control.paySession(session.id);
  const pi = await h.stripe.paymentIntents.retrieve(paid.payment_intent as string);
  return { session: paid, pi, charge: pi.latest_charge as string };
}

describe("1. Stripe-Version", () => {
  it.each([
    ["not-a-version"],
    ["2024-13-01"],
    ["2024-02-30"],
    ["2010-12-31"],
    ["2099-01-01.zinnia"],
    [`${API_VERSION.slice(0, 10)}.acacia`],
  ])("answers 400 invalid_request_error to %s, creating nothing", async (version) => {
    const err = await stripeError(withVersion(version).customers.create({ email: "v@x.test" }));
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(err).toMatchObject({ statusCode: 400, rawType: "invalid_request_error" });
    expect(err.message).toContain(`Invalid Stripe API version: ${version}`);
    expect((await h.stripe.customers.list()).data).toEqual([]);
  });

  it("serves a valid older version with the pinned version's shapes and warns once per version", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const old = withVersion("2020-08-27");
    const price = await createPackPrice(old, 500);
    const session = await createPaymentSession(old, price);
    // 2020-08-27 had no `ui_mode`; the emulator still sends the pinned shape.
    expect(session.ui_mode).toBe("hosted_page");
    const again = await old.checkout.sessions.retrieve(session.id);
    expect(again.lastResponse.statusCode).toBe(200);
    expect(again).toHaveProperty("allowed_payment_method_types", null);
    const warnings = () => warn.mock.calls.map((c) => String(c[0]));
    expect(warnings().filter((w) => w.includes("2020-08-27"))).toHaveLength(1);
    expect(warnings()[0]).toContain(`only ${API_VERSION} shapes are served`);

    await withVersion("2024-06-20").customers.list();
    await withVersion("2024-06-20").customers.list();
    expect(warnings().filter((w) => w.includes("2024-06-20"))).toHaveLength(1);
    // The pinned version itself is never worth a warning.
    await h.stripe.customers.list();
    expect(warn).toHaveBeenCalledTimes(2);
  });
});

describe("2. deleted customers", () => {
  it("retrieves a deleted customer as { id, object, deleted: true } with 200", async () => {
    const customer = await h.stripe.customers.create({ email: "gone@x.test" });
    await h.stripe.customers.del(customer.id);
    const gone = await h.stripe.customers.retrieve(customer.id);
    expect(gone.lastResponse.statusCode).toBe(200);
    const { lastResponse: _, ...body } = gone;
    expect(body).toEqual({ id: customer.id, object: "customer", deleted: true });
    // Still gone for everything else: lists leave it out, updates and deletes are 404.
    expect((await h.stripe.customers.list()).data).toEqual([]);
    const update = await stripeError(h.stripe.customers.update(customer.id, { name: "x" }));
    expect(update).toMatchObject({ statusCode: 404, code: "resource_missing", param: "id" });
    // A customer that never existed is still a 404.
    const never = await stripeError(h.stripe.customers.retrieve("cus_never"));
    expect(never).toMatchObject({ statusCode: 404, code: "resource_missing" });
  });

  it("expands a deleted customer to its deleted stub", async () => {
    const customer = await h.stripe.customers.create({ email: "gone@x.test" });
    const price = await createPackPrice(h.stripe);
    const session = await createPaymentSession(h.stripe, price, { customer: customer.id });
    await h.stripe.customers.del(customer.id);
    const expanded = await h.stripe.checkout.sessions.retrieve(session.id, {
      expand: ["customer"],
    });
    expect(expanded.customer).toEqual({ id: customer.id, object: "customer", deleted: true });
  });
});

describe("3. dispute.balance_transactions", () => {
  it("holds the withdrawal, then the reinstatement when the dispute is won", async () => {
    const { pi, charge } = await paidPayment(3_000);
    const opened = await h.emulator.control.openDispute(pi.id);
    const dispute = await h.stripe.disputes.retrieve(opened.id);
    expect(dispute.balance_transactions).toHaveLength(1);
    const [withdrawal] = dispute.balance_transactions;
    expect(withdrawal).toMatchObject({
      object: "balance_transaction",
      amount: -3_000,
      currency: "usd",
      fee: 1_500,
      net: -4_500,
      reporting_category: "dispute",
      source: dispute.id,
      type: "adjustment",
    });
    expect(withdrawal.id).toMatch(/^txn_/);
    expect(withdrawal.description).toBe(`Chargeback withdrawal for ${charge}`);

    await h.emulator.control.closeDispute(dispute.id, "won");
    const won = await h.stripe.disputes.retrieve(dispute.id);
    expect(won.status).toBe("won");
    expect(won.balance_transactions.map((t) => [t.amount, t.reporting_category])).toEqual([
      [-3_000, "dispute"],
      [3_000, "dispute_reversal"],
    ]);
    expect(won.balance_transactions[1]).toMatchObject({ fee: 0, net: 3_000, source: dispute.id });
    // The webhook's copy carries the same objects.
    const closed = await h.stripe.events.list({ type: "charge.dispute.closed" });
    const sent = closed.data[0].data.object as Stripe.Dispute;
    expect(sent.balance_transactions.map((t) => t.id)).toEqual(
      won.balance_transactions.map((t) => t.id),
    );
  });

  it("keeps only the withdrawal for a lost dispute", async () => {
    const { pi } = await paidPayment(2_000);
    const opened = await h.emulator.control.openDispute(pi.id);
    await h.stripe.disputes.close(opened.id);
    const lost = await h.stripe.disputes.retrieve(opened.id);
    expect(lost.status).toBe("lost");
    expect(lost.balance_transactions.map((t) => t.amount)).toEqual([-2_000]);
  });

  it("moves no money for an inquiry", async () => {
    const customer = await h.stripe.customers.create({ email: "inq@x.test" });
    await h.stripe.paymentIntents.create({
      amount: 1_000,
      currency: "usd",
      customer: customer.id,
      payment_method: "pm_card_createDisputeInquiry",
      confirm: true,
    });
    const [inquiry] = (await h.stripe.disputes.list()).data;
    expect(inquiry.status).toBe("warning_needs_response");
    expect(inquiry.balance_transactions).toEqual([]);
  });
});

describe("4. unknown ids passed as parameters", () => {
  it("answers 400 resource_missing with param for a missing price in line_items, creating nothing", async () => {
    const price = await createPackPrice(h.stripe);
    const err = await stripeError(
      h.stripe.checkout.sessions.create({
        mode: "payment",
        line_items: [
          { price: price.id, quantity: 1 },
          { price: "price_missing", quantity: 1 },
        ],
        success_url: "https://app.example/ok",
      }),
    );
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(err).toMatchObject({
      statusCode: 400,
      code: "resource_missing",
      param: "line_items[1][price]",
      message: "No such price: 'price_missing'",
    });
    expect((await h.stripe.checkout.sessions.list()).data).toEqual([]);
  });

  it("answers 400 for a missing product on price create, 404 only for the object in the URL", async () => {
    const err = await stripeError(
      h.stripe.prices.create({ currency: "usd", unit_amount: 100, product: "prod_missing" }),
    );
    expect(err).toMatchObject({ statusCode: 400, code: "resource_missing", param: "product" });
    expect((await h.stripe.prices.list()).data).toEqual([]);

    const inUrl = await stripeError(h.stripe.prices.retrieve("price_missing"));
    expect(inUrl).toMatchObject({ statusCode: 404, code: "resource_missing", param: "id" });
    const customer = await stripeError(
      h.stripe.paymentIntents.create({ amount: 100, currency: "usd", customer: "cus_missing" }),
    );
    expect(customer).toMatchObject({ statusCode: 400, param: "customer" });
  });
});

describe("5. checkout.session.ui_mode", () => {
  it("defaults to hosted_page with a URL", async () => {
    const session = await createPaymentSession(h.stripe, await createPackPrice(h.stripe));
    expect(session.ui_mode).toBe("hosted_page");
    expect(session.url).toMatch(/\/_emulator\/checkout\/cs_test_/);
    expect(session.client_secret).toBeNull();
  });

  it("accepts embedded_page, elements and form: no URL, a client secret", async () => {
    const price = await createPackPrice(h.stripe);
    for (const ui_mode of ["embedded_page", "elements", "form"] as const) {
      const session = await h.stripe.checkout.sessions.create({
        mode: "payment",
        ui_mode,
        line_items: [{ price: price.id, quantity: 1 }],
        return_url: "https://app.example/return?session_id={CHECKOUT_SESSION_ID}",
      });
      expect(session.ui_mode).toBe(ui_mode);
      expect(session.url).toBeNull();
      expect(session.client_secret).toMatch(new RegExp(`^${session.id}_secret_`));
      expect(session.return_url).toBe(
        "https://app.example/return?session_id={CHECKOUT_SESSION_ID}",
      );
    }
  });

  it("refuses values of older versions and success_url on an embedded page", async () => {
    const price = await createPackPrice(h.stripe);
    const hosted = await stripeError(
      h.stripe.checkout.sessions.create({
        mode: "payment",
        ui_mode: "hosted" as Stripe.Checkout.SessionCreateParams.UiMode,
        line_items: [{ price: price.id, quantity: 1 }],
      }),
    );
    expect(hosted).toMatchObject({ statusCode: 400, param: "ui_mode" });
    expect(hosted.message).toContain("hosted_page");
    const embedded = await stripeError(
      h.stripe.checkout.sessions.create({
        mode: "payment",
        ui_mode: "embedded_page",
        line_items: [{ price: price.id, quantity: 1 }],
        success_url: "https://app.example/ok",
      }),
    );
    expect(embedded).toMatchObject({ statusCode: 400, param: "success_url" });
    expect((await h.stripe.checkout.sessions.list()).data).toEqual([]);
  });
});

describe("6. fields the pinned version always carries", () => {
  it("are present as null, not absent", async () => {
    const { session, pi, charge } = await paidPayment();
    const served = await h.stripe.checkout.sessions.retrieve(session.id);
    expect(served).toHaveProperty("allowed_payment_method_types", null);
    expect(pi).toHaveProperty("allowed_payment_method_types", null);
    expect(pi).toHaveProperty("payment_record", null);
    const product = await h.stripe.products.create({ name: "P" });
    expect(product).toHaveProperty("tax_details", null);
    const card = (await h.stripe.charges.retrieve(charge)).payment_method_details!.card!;
    expect(card).toHaveProperty("electronic_commerce_indicator", null);
    expect(card).toHaveProperty("transaction_link_id", null);
    const dispute = await h.emulator.control.openDispute(pi.id);
    const retrieved = await h.stripe.disputes.retrieve(dispute.id);
    expect(retrieved).toHaveProperty("intended_submission_method", null);
    expect(retrieved.evidence_details.submission_method).toBe("not_submitted");
    expect(retrieved.payment_method_details!.card!.network).toBe("visa");
  });
});

describe("8. refund.destination_details.card.reference", () => {
  it("is absent until the network assigns it, never null", async () => {
    const { charge } = await paidPayment();
    const refund = await h.stripe.refunds.create({ charge, amount: 500 });
    const card = refund.destination_details!.card!;
    expect(card).not.toHaveProperty("reference");
    expect(card).toMatchObject({ reference_status: "pending", type: "refund" });
    const viaCharge = await h.stripe.charges.retrieve(charge);
    expect(viaCharge.refunds!.data[0].destination_details!.card).not.toHaveProperty("reference");
  });
});

describe("9. invoices", () => {
  it("name their subscription under parent.subscription_details, with no top-level subscription", async () => {
    const monthly = await h.stripe.prices.create({
      currency: "usd",
      unit_amount: 900,
      recurring: { interval: "month" },
      product_data: { name: "Pro" },
    });
    const session = await h.stripe.checkout.sessions.create({
      mode: "subscription",
      line_items: [{ price: monthly.id, quantity: 1 }],
      success_url: "https://app.example/ok",
    });
    const paid = await h.emulator.control.paySession(session.id);
    const invoice = await h.stripe.invoices.retrieve(paid.invoice as string);
    expect(invoice).not.toHaveProperty("subscription");
    expect(invoice.parent?.subscription_details?.subscription).toBe(paid.subscription);
    const [paidEvent] = (await h.stripe.events.list({ type: "invoice.paid" })).data;
    expect(paidEvent.data.object).not.toHaveProperty("subscription");
    const listed = await h.stripe.invoices.list({ subscription: paid.subscription as string });
    expect(listed.data.map((i) => i.id)).toEqual([invoice.id]);
  });
});

describe("10. Idempotency-Key length and enabled_events names", () => {
  it("refuses a 300-character Idempotency-Key with 400 and creates nothing; 255 is fine", async () => {
    const err = await stripeError(
      h.stripe.customers.create({ email: "k@x.test" }, { idempotencyKey: "k".repeat(300) }),
    );
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(err.statusCode).toBe(400);
    expect(err.message).toMatch(/Idempotency-Key.*300 characters.*255/);
    expect((await h.stripe.customers.list()).data).toEqual([]);
    const ok = await h.stripe.customers.create(
      { email: "k@x.test" },
      { idempotencyKey: "k".repeat(255) },
    );
    expect(ok.object).toBe("customer");
  });

  it("refuses an unknown event name in enabled_events on create and update", async () => {
    const err = await stripeError(
      h.stripe.webhookEndpoints.create({
        url: "https://app.example/hooks",
        enabled_events: [
          "checkout.session.completed",
          "checkout.session.exploded" as Stripe.WebhookEndpointCreateParams.EnabledEvent,
        ],
      }),
    );
    expect(err).toMatchObject({ statusCode: 400, param: "enabled_events[1]" });
    expect(err.message).toContain("checkout.session.exploded");
    expect((await h.stripe.webhookEndpoints.list()).data).toEqual([]);

    const endpoint = await h.stripe.webhookEndpoints.create({
      url: "https://app.example/hooks",
      enabled_events: ["checkout.session.completed", "charge.refunded"],
    });
    const update = await stripeError(
      h.stripe.webhookEndpoints.update(endpoint.id, {
        enabled_events: ["charge.*" as Stripe.WebhookEndpointUpdateParams.EnabledEvent],
      }),
    );
    expect(update).toMatchObject({ statusCode: 400, param: "enabled_events[0]" });
    const unchanged = await h.stripe.webhookEndpoints.retrieve(endpoint.id);
    expect(unchanged.enabled_events).toEqual(["checkout.session.completed", "charge.refunded"]);
  });
});

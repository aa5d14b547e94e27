import Stripe from "stripe";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { decodeForm } from "../../emulator/api/form-params";
import { API_VERSION } from "../../emulator/index";
import {
  createPackPrice,
  sdkFor,
  startHarness,
  stripeError,
  TEST_KEY,
  type Harness,
} from "./support/harness";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.emulator.stop());
beforeEach(() => h.emulator.control.reset());

interface ErrorBody {
  error: { type: string; message: string; code?: string; param?: string };
}

async function raw(path: string, init: RequestInit & { key?: string | null } = {}) {
  const headers = new Headers(init.headers);
  if (init.key !== null) headers.set("Authorization", `Bearer ${init.key ?? TEST_KEY}`);
  if (init.body) headers.set("Content-Type", "application/x-www-form-urlencoded");
  const res = await fetch(`${h.emulator.url}${path}`, { ...init, headers });
  return { status: res.status, headers: res.headers, body: (await res.json()) as ErrorBody };
}

describe("authentication", () => {
  it("answers 401 with Stripe's error shape when the key is missing", async () => {
    const res = await raw("/v1/customers", { key: null });
    expect(res.status).toBe(401);
    expect(res.body.error.type).toBe("invalid_request_error");
    expect(res.body.error.message).toMatch(/You did not provide an API key/);
  });

  it("rejects malformed and publishable keys through the SDK", async () => {
    const malformed = await stripeError(sdkFor(h.emulator.url, "not-a-key").customers.list());
    expect(malformed.statusCode).toBe(401);
    expect(malformed).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect(malformed.message).toMatch(/^Invalid API Key provided/);
    const publishable = await stripeError(sdkFor(h.emulator.url, "pk_test_abc").customers.list());
    expect(publishable.statusCode).toBe(401);
    expect(publishable.message).toMatch(/publishable API key/);
  });

  it("accepts secret and restricted keys; the key's mode sets livemode and separates the data", async () => {
    const testCustomer = await h.stripe.customers.create({ email: "t@example.com" });
    const liveCustomer = await h.live.customers.create({ email: "l@example.com" });
    const restricted = await sdkFor(h.emulator.url, "rk_test_restricted").customers.retrieve(
      testCustomer.id,
    );
    expect(testCustomer.livemode).toBe(false);
    expect(liveCustomer.livemode).toBe(true);
    expect(restricted.id).toBe(testCustomer.id);
    const crossMode = await stripeError(h.stripe.customers.retrieve(liveCustomer.id));
    expect(crossMode.statusCode).toBe(404);
    expect((await h.live.customers.list()).data.map((c) => c.id)).toEqual([liveCustomer.id]);
  });
});

describe("responses", () => {
  it("carries Request-Id and Stripe-Version headers", async () => {
    const res = await raw("/v1/customers", { headers: { "Stripe-Version": "2024-06-20" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("request-id")).toMatch(/^req_[A-Za-z0-9]{14}$/);
    expect(res.headers.get("stripe-version")).toBe("2024-06-20");
    const defaulted = await raw("/v1/customers");
    expect(defaulted.headers.get("stripe-version")).toBe(API_VERSION);
  });

  it("exposes the request id to the SDK", async () => {
    const customer = await h.stripe.customers.create({ email: "r@example.com" });
    expect(customer.lastResponse.requestId).toMatch(/^req_/);
    expect(customer.lastResponse.statusCode).toBe(200);
  });

  it("answers unknown URLs with 404 invalid_request_error", async () => {
    const res = await raw("/v1/nonexistent_things");
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ type: "invalid_request_error" });
    expect(res.body.error.message).toMatch(
      /Unrecognized request URL \(GET: \/v1\/nonexistent_things\)/,
    );
  });

  it("answers unknown ids with 404 resource_missing", async () => {
    const err = await stripeError(h.stripe.checkout.sessions.retrieve("cs_test_missing"));
    expect(err.statusCode).toBe(404);
    expect(err.code).toBe("resource_missing");
    expect(err.param).toBe("id");
    expect(err.message).toBe("No such checkout.session: 'cs_test_missing'");
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
  });
});

describe("parameter validation", () => {
  it("rejects unknown parameters with parameter_unknown", async () => {
    const res = await raw("/v1/customers", {
      method: "POST",
      body: "email=a%40b.co&favourite_color=red",
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({
      code: "parameter_unknown",
      param: "favourite_color",
      type: "invalid_request_error",
    });
  });

  it("rejects missing required parameters with parameter_missing", async () => {
    const err = await stripeError(h.stripe.products.create({} as Stripe.ProductCreateParams));
    expect(err.statusCode).toBe(400);
    expect(err.code).toBe("parameter_missing");
    expect(err.param).toBe("name");
  });

  it("rejects non-integers with parameter_invalid_integer", async () => {
    const res = await raw("/v1/prices", {
      method: "POST",
      body: "currency=usd&unit_amount=ten&product_data[name]=x",
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({
      code: "parameter_invalid_integer",
      param: "unit_amount",
    });
  });

  it("rejects empty strings for required parameters with parameter_invalid_empty", async () => {
    const res = await raw("/v1/products", { method: "POST", body: "name=" });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: "parameter_invalid_empty", param: "name" });
  });

  it("enforces limit between 1 and 100 and a single cursor", async () => {
    expect((await raw("/v1/customers?limit=0")).body.error.param).toBe("limit");
    expect((await raw("/v1/customers?limit=101")).status).toBe(400);
    const both = await raw("/v1/customers?starting_after=cus_a&ending_before=cus_b");
    expect(both.status).toBe(400);
    expect(both.body.error.message).toMatch(/only specify one of these parameters/);
  });

  it("reports an unknown cursor as resource_missing", async () => {
    const err = await stripeError(h.stripe.customers.list({ starting_after: "cus_gone" }));
    // A parameter, not the URL, names the missing object: 400.
    expect(err).toMatchObject({
      statusCode: 400,
      code: "resource_missing",
      param: "starting_after",
    });
  });

  it("rejects enum values outside the allowed set", async () => {
    const err = await stripeError(
      h.stripe.checkout.sessions.list({
        status: "paid" as Stripe.Checkout.SessionListParams.Status,
      }),
    );
    expect(err.statusCode).toBe(400);
    expect(err.message).toBe("Invalid status: must be one of open, complete, or expired");
  });
});

describe("idempotency", () => {
  it("replays the same response for the same key and parameters", async () => {
    const first = await h.stripe.customers.create(
      { email: "same@example.com" },
      { idempotencyKey: "key-1" },
    );
    const again = await h.stripe.customers.create(
      { email: "same@example.com" },
      { idempotencyKey: "key-1" },
    );
    expect(again.id).toBe(first.id);
    expect(again.lastResponse.headers["idempotent-replayed"]).toBe("true");
    expect((await h.stripe.customers.list({ email: "same@example.com" })).data).toHaveLength(1);
  });

  it("answers 400 idempotency_error when the key is reused with other parameters", async () => {
    await h.stripe.customers.create({ email: "one@example.com" }, { idempotencyKey: "key-2" });
    const err = await stripeError(
      h.stripe.customers.create({ email: "two@example.com" }, { idempotencyKey: "key-2" }),
    );
    expect(err.statusCode).toBe(400);
    expect(err.type).toBe("StripeIdempotencyError");
    expect(err.rawType).toBe("idempotency_error");
    expect(err.message).toMatch(/same parameters they were first used with/);
  });

  it("answers idempotency_error when the key is reused on another endpoint", async () => {
    await h.stripe.customers.create({ email: "three@example.com" }, { idempotencyKey: "key-3" });
    const err = await stripeError(
      h.stripe.products.create({ name: "x" }, { idempotencyKey: "key-3" }),
    );
    expect(err.rawType).toBe("idempotency_error");
    expect(err.message).toMatch(/same endpoint/);
  });

  it("lets the SDK's automatic retries after a 500 create exactly one object", async () => {
    const price = await createPackPrice(h.stripe);
    const retrying = sdkFor(h.emulator.url, TEST_KEY, { maxNetworkRetries: 8 });
    h.emulator.control.setFaults({ api500Rate: 0.3 });
    const created: string[] = [];
    const failures = () =>
      h.emulator.control
        .requestLog()
        .filter((r) => r.path === "/v1/checkout/sessions" && r.status === 500).length;
    while (created.length < 3 || (failures() === 0 && created.length < 30)) {
      const session = await retrying.checkout.sessions.create({
        mode: "payment",
        line_items: [{ price: price.id, quantity: 1 }],
      });
      created.push(session.id);
    }
    h.emulator.control.setFaults({ api500Rate: 0 });
    expect(failures()).toBeGreaterThan(0);
    const all = await h.stripe.checkout.sessions.list({ limit: 100 });
    expect(all.data.map((s) => s.id).sort()).toEqual([...created].sort());
  });
});

describe("form decoding", () => {
  it("decodes Stripe's bracket notation into nested values", () => {
    expect(
      decodeForm(
        "line_items[0][price]=price_1&line_items[0][quantity]=2&line_items[1][price]=price_2&expand[]=a&expand[]=b&metadata[0]=zero&created[gte]=5",
      ),
    ).toEqual({
      line_items: [{ price: "price_1", quantity: "2" }, { price: "price_2" }],
      expand: ["a", "b"],
      metadata: { "0": "zero" },
      created: { gte: "5" },
    });
  });

  it("decodes the SDK's indexed arrays and percent-encoding", () => {
    expect(
      decodeForm("types[0]=charge.refunded&types[1]=checkout.session.completed&email=a%2Bb%40c.co"),
    ).toEqual({
      types: ["charge.refunded", "checkout.session.completed"],
      email: "a+b@c.co",
    });
  });
});

import { randomUUID } from "node:crypto";
import type Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type EmulatorHandle } from "../../emulator/index";
import { parseEnv, setEnv } from "../../app/services/infra/env.server";
import { syncPacks } from "../../app/services/packs.server";
import { createStripeClient, setStripe } from "../../app/services/infra/stripe-client.server";
import { useTestDatabase } from "../support/test-database";
import {
  createApiFetch,
  makeApiKey,
  makeUser,
  readJson,
  type ApiFetch,
} from "../support/api-harness";

const t = useTestDatabase();
let api: ApiFetch;
let key: { id: string; key: string };
let emu: EmulatorHandle;
let stripe: Stripe;
let price: Stripe.Price;
let recurringPrice: Stripe.Price;
let retiredPrice: Stripe.Price;

const SECRET = "sk_test_creditdesk_api_tests";
const appEnv = () => ({
  ...process.env,
  NODE_ENV: "test",
  STRIPE_SECRET_KEY: SECRET,
  STRIPE_API_BASE: emu.url,
  DEMO_SEED: "false",
  SCHEDULER: "off",
});

function useStripeAt(apiBase: string) {
  setStripe(createStripeClient({ secretKey: SECRET, apiBase, maxNetworkRetries: 0 }));
}

async function makePrice(opts: { credits: number; unitAmount: number; recurring?: boolean }) {
  const product = await stripe.products.create({ name: `Pack ${randomUUID().slice(0, 6)}` });
  return stripe.prices.create({
    product: product.id,
    unit_amount: opts.unitAmount,
    currency: "usd",
    metadata: { credits: String(opts.credits) },
    ...(opts.recurring ? { recurring: { interval: "month" as const } } : {}),
  });
}

beforeAll(async () => {
  emu = await startEmulator({ host: "127.0.0.1" });
  stripe = createStripeClient({ secretKey: SECRET, apiBase: emu.url, maxNetworkRetries: 0 });
  setStripe(stripe);
  setEnv(parseEnv(appEnv()));
  api = await createApiFetch();
  key = await makeApiKey("checkout");
  price = await makePrice({ credits: 100, unitAmount: 900 });
  recurringPrice = await makePrice({ credits: 500, unitAmount: 2900, recurring: true });
  retiredPrice = await makePrice({ credits: 50, unitAmount: 500 });
  await stripe.prices.update(retiredPrice.id, { active: false });
  await syncPacks();
});

afterAll(async () => {
  setStripe(undefined);
  setEnv(undefined);
  await emu?.stop();
});

const urls = {
  successUrl: "https://app.example.com/billing/success?session_id={CHECKOUT_SESSION_ID}",
  cancelUrl: "https://app.example.com/billing",
};

const createSession = (body: Record<string, unknown>, headers?: Record<string, string>) =>
  api.fetch("POST", "/api/v1/checkout-sessions", { key: key.key, json: body, headers });

const fulfill = (sessionId: string) =>
  api.fetch("POST", `/api/v1/checkout-sessions/${sessionId}/fulfill`, { key: key.key });

describe("GET /api/v1/packs with synced Stripe prices", () => {
  it("lists the active mirrored packs and not the retired one", async () => {
    const body = await readJson(await api.fetch("GET", "/api/v1/packs", { key: key.key }));
    const priceIds = body.data.map((p: { priceId: string }) => p.priceId);
    expect(priceIds).toContain(price.id);
    expect(priceIds).not.toContain(retiredPrice.id);
    expect(body.data.find((p: { priceId: string }) => p.priceId === price.id)).toMatchObject({
      credits: 100,
      unitAmount: 900,
    });
  });
});

describe("POST /api/v1/checkout-sessions", () => {
  it("creates a session carrying the user and pack, creating and then reusing the Stripe customer", async () => {
    const user = await makeUser({ email: "Buyer@Example.com" });
    const res = await createSession({ userId: user.id, priceId: price.id, quantity: 2, ...urls });
    expect(res.status).toBe(201);
    const created = await readJson(res);
    expect(created.id).toMatch(/^cs_/);
    expect(typeof created.url).toBe("string");

    const saved = await t.db.prisma.user.findUniqueOrThrow({ where: { id: user.id } });
    expect(saved.stripeCustomerId).toMatch(/^cus_/);
    const customer = (await stripe.customers.retrieve(saved.stripeCustomerId!)) as Stripe.Customer;
    expect(customer.email).toBe("Buyer@Example.com");
    expect(customer.metadata.user_id).toBe(user.id);

    const pack = await t.db.prisma.creditPack.findUniqueOrThrow({
      where: { stripePriceId: price.id },
    });
    const session = await stripe.checkout.sessions.retrieve(created.id, { expand: ["line_items"] });
    expect(session.mode).toBe("payment");
    expect(session.client_reference_id).toBe(user.id);
    expect(session.metadata).toMatchObject({ user_id: user.id, pack_id: pack.id });
    expect(session.customer).toBe(saved.stripeCustomerId);
    expect(session.success_url).toBe(urls.successUrl);
    expect(session.cancel_url).toBe(urls.cancelUrl);
    expect(session.line_items?.data[0]).toMatchObject({ quantity: 2 });
    expect(session.line_items?.data[0].price?.id).toBe(price.id);

    const again = await readJson(
      await createSession({ userId: user.id, priceId: price.id, ...urls }),
    );
    expect(again.id).not.toBe(created.id);
    const second = await stripe.checkout.sessions.retrieve(again.id);
    expect(second.customer).toBe(saved.stripeCustomerId);
    const customers = await stripe.customers.list({ email: "Buyer@Example.com", limit: 10 });
    expect(customers.data.filter((c) => c.metadata.user_id === user.id)).toHaveLength(1);

    const audits = await t.db.prisma.auditLog.findMany({
      where: { action: "checkout_session.create", targetId: user.id },
    });
    expect(audits).toHaveLength(2);
    expect(audits[0]).toMatchObject({ actorType: "api_key", actorId: key.id });
  });

  it("reuses a customer the user already has", async () => {
    const customer = await stripe.customers.create({ email: "known@example.com" });
    const user = await makeUser({ email: "known@example.com", stripeCustomerId: customer.id });
    const created = await readJson(
      await createSession({ userId: user.id, priceId: price.id, ...urls }),
    );
    expect((await stripe.checkout.sessions.retrieve(created.id)).customer).toBe(customer.id);
  });

  it("an Idempotency-Key returns the same session; reused with other parameters it is 409", async () => {
    const user = await makeUser();
    const headers = { "Idempotency-Key": `order-${randomUUID()}` };
    const a = await readJson(
      await createSession({ userId: user.id, priceId: price.id, ...urls }, headers),
    );
    const b = await readJson(
      await createSession({ userId: user.id, priceId: price.id, ...urls }, headers),
    );
    expect(b.id).toBe(a.id);
    const conflict = await createSession(
      { userId: user.id, priceId: price.id, quantity: 3, ...urls },
      headers,
    );
    expect(conflict.status).toBe(409);
    expect((await readJson(conflict)).error.code).toBe("idempotency_conflict");
    const bad = await createSession(
      { userId: user.id, priceId: price.id, ...urls },
      { "Idempotency-Key": "has space" },
    );
    expect(bad.status).toBe(400);
    expect((await readJson(bad)).error.field).toBe("Idempotency-Key");
  });

  it("404 for an unknown user or a price that is no pack; 422 for a retired or recurring pack", async () => {
    const user = await makeUser();
    const noUser = await createSession({
      userId: `ghost-${randomUUID()}`,
      priceId: price.id,
      ...urls,
    });
    expect(noUser.status).toBe(404);
    expect((await readJson(noUser)).error.field).toBe("userId");

    const noPack = await createSession({
      userId: user.id,
      priceId: "price_does_not_exist",
      ...urls,
    });
    expect(noPack.status).toBe(404);
    expect((await readJson(noPack)).error.field).toBe("priceId");

    const retired = await createSession({ userId: user.id, priceId: retiredPrice.id, ...urls });
    expect(retired.status).toBe(422);
    expect((await readJson(retired)).error).toMatchObject({
      code: "pack_inactive",
      field: "priceId",
    });

    const recurring = await createSession({ userId: user.id, priceId: recurringPrice.id, ...urls });
    expect(recurring.status).toBe(422);
    expect((await readJson(recurring)).error).toMatchObject({
      code: "pack_not_one_time",
      field: "priceId",
    });
    // Nothing was created at Stripe for refused requests.
    expect(
      (await t.db.prisma.user.findUniqueOrThrow({ where: { id: user.id } })).stripeCustomerId,
    ).toBeNull();
  });

  it("names each invalid field with 422", async () => {
    const user = await makeUser();
    const valid = { userId: user.id, priceId: price.id, ...urls };
    const cases: [Record<string, unknown>, string][] = [
      [{ ...valid, userId: undefined }, "userId"],
      [{ ...valid, userId: "bad id!" }, "userId"],
      [{ ...valid, priceId: undefined }, "priceId"],
      [{ ...valid, priceId: "price with spaces" }, "priceId"],
      [{ ...valid, quantity: 0 }, "quantity"],
      [{ ...valid, quantity: 1.5 }, "quantity"],
      [{ ...valid, quantity: "2" }, "quantity"],
      [{ ...valid, quantity: 101 }, "quantity"],
      [{ ...valid, successUrl: "javascript:alert(1)" }, "successUrl"],
      [{ ...valid, successUrl: "/relative" }, "successUrl"],
      [{ ...valid, cancelUrl: undefined }, "cancelUrl"],
      [{ ...valid, mode: "subscription" }, "mode"],
    ];
    for (const [body, field] of cases) {
      const res = await createSession(body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      const error = (await readJson(res)).error;
      expect(error.field, JSON.stringify(body)).toBe(field);
      expect(error.message).toContain(field);
    }
  });

  it("502 when Stripe cannot be reached and 503 when Stripe is not configured — never 500", async () => {
    const user = await makeUser();
    try {
      useStripeAt("http://127.0.0.1:9");
      const down = await createSession({ userId: user.id, priceId: price.id, ...urls });
      expect(down.status).toBe(502);
      expect((await readJson(down)).error.code).toBe("stripe_unavailable");

      setStripe(undefined);
      setEnv(parseEnv({ ...appEnv(), STRIPE_SECRET_KEY: "", STRIPE_API_BASE: "" }));
      const unconfigured = await createSession({ userId: user.id, priceId: price.id, ...urls });
      expect(unconfigured.status).toBe(503);
      const text = await unconfigured.text();
      expect(JSON.parse(text).error.code).toBe("stripe_not_configured");
      expect(text).not.toContain(SECRET);
    } finally {
      setEnv(parseEnv(appEnv()));
      setStripe(stripe);
    }
  });
});

describe("POST /api/v1/checkout-sessions/{id}/fulfill", () => {
  it("credits a paid session once; the second call reports already_credited", async () => {
    const user = await makeUser();
    const { id } = await readJson(
      await createSession({ userId: user.id, priceId: price.id, quantity: 3, ...urls }),
    );

    const early = await fulfill(id);
    expect(early.status).toBe(202);
    expect(await readJson(early)).toMatchObject({
      outcome: "not_paid",
      credited: false,
      paymentStatus: "unpaid",
    });

    await emu.control.paySession(id, { card: "success" });
    const first = await fulfill(id);
    expect(first.status).toBe(200);
    const credited = await readJson(first);
    expect(credited).toMatchObject({
      sessionId: id,
      outcome: "credited",
      credited: true,
      userId: user.id,
      credits: 300,
      balance: 300,
    });
    expect(credited.entry).toMatchObject({ kind: "purchase", delta: 300, balanceAfter: 300 });

    const second = await fulfill(id);
    expect(second.status).toBe(200);
    expect(await readJson(second)).toMatchObject({
      outcome: "already_credited",
      credited: true,
      credits: 300,
      balance: 300,
      purchaseId: credited.purchaseId,
      entry: null,
    });

    const purchase = await t.db.prisma.purchase.findUniqueOrThrow({
      where: { checkoutSessionId: id },
    });
    expect(purchase.creditedVia).toBe("success_page");
    expect(purchase.userResolvedBy).toBe("client_reference_id");
    expect(
      await t.db.prisma.ledgerEntry.count({ where: { userId: user.id, kind: "purchase" } }),
    ).toBe(1);
    expect((await t.db.prisma.user.findUniqueOrThrow({ where: { id: user.id } })).balance).toBe(
      300,
    );
    expect(
      await t.db.prisma.auditLog.count({
        where: { action: "checkout_session.fulfill", targetId: id },
      }),
    ).toBe(3);
  });

  it("concurrent success-page calls credit once", async () => {
    const user = await makeUser();
    const { id } = await readJson(
      await createSession({ userId: user.id, priceId: price.id, ...urls }),
    );
    await emu.control.paySession(id, { card: "success" });
    const results = await Promise.all(Array.from({ length: 5 }, () => fulfill(id)));
    const outcomes = await Promise.all(results.map(async (r) => (await readJson(r)).outcome));
    expect(outcomes.filter((o) => o === "credited")).toHaveLength(1);
    expect(outcomes.filter((o) => o === "already_credited")).toHaveLength(4);
    expect((await t.db.prisma.user.findUniqueOrThrow({ where: { id: user.id } })).balance).toBe(
      100,
    );
  });

  it("404 for a session Stripe does not know; 400 for an id that is not a session id", async () => {
    const missing = await fulfill("cs_test_doesnotexist123");
    expect(missing.status).toBe(404);
    expect((await readJson(missing)).error).toMatchObject({ code: "not_found", field: "id" });
    const bad = await fulfill("not-a-session");
    expect(bad.status).toBe(400);
    expect((await readJson(bad)).error.field).toBe("id");
  });
});

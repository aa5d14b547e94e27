import { spawn } from "node:child_process";
import type Stripe from "stripe";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  createPackPrice,
  createPaymentSession,
  sdkFor,
  startHarness,
  type Harness,
} from "./support/harness";
import { WebhookReceiver } from "./support/webhook-receiver";

const START = 1_790_000_000;
let h: Harness;
let receiver: WebhookReceiver;

beforeAll(async () => {
  h = await startHarness({ clock: START });
  receiver = await WebhookReceiver.start();
});
afterAll(async () => {
  await h.emulator.stop();
  await receiver.stop();
});
beforeEach(async () => {
  await h.emulator.control.reset();
  receiver.clear();
});

async function control<T = Record<string, unknown>>(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: T }> {
  const res = await fetch(`${h.emulator.url}/_emulator${path}`, {
    method,
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as T };
}

describe("control endpoints over HTTP", () => {
  it("pays, settles async payments, refunds, disputes and cancels", async () => {
    const price = await createPackPrice(h.stripe, 5_000);
    const card = await createPaymentSession(h.stripe, price);
    const paid = await control<Stripe.Checkout.Session>("POST", `/sessions/${card.id}/pay`, {
      email: "http@example.com",
    });
    expect(paid.status).toBe(200);
    expect(paid.json).toMatchObject({
      status: "complete",
      payment_status: "paid",
      customer_details: { email: "http@example.com" },
    });

    const bank = await createPaymentSession(h.stripe, price);
    expect(
      (await control("POST", `/sessions/${bank.id}/pay`, { card: "async" })).json.payment_status,
    ).toBe("unpaid");
    expect(
      (await control("POST", `/sessions/${bank.id}/async-payment/succeed`)).json.payment_status,
    ).toBe("paid");
    const failing = await createPaymentSession(h.stripe, price);
    await control("POST", `/sessions/${failing.id}/pay`, { card: "async" });
    expect((await control("POST", `/sessions/${failing.id}/async-payment/fail`)).status).toBe(200);

    const refund = await control<Stripe.Refund>("POST", "/refunds", {
      id: paid.json.payment_intent,
      amount: 1_000,
    });
    expect(refund.json).toMatchObject({ object: "refund", amount: 1_000 });
    const dispute = await control<Stripe.Dispute>("POST", "/disputes", {
      id: bank.id,
      reason: "product_not_received",
    });
    expect(dispute.json).toMatchObject({
      status: "needs_response",
      reason: "product_not_received",
    });
    expect(
      (await control("POST", `/disputes/${dispute.json.id}/close`, { outcome: "lost" })).json
        .status,
    ).toBe("lost");

    const monthly = await h.stripe.prices.create({
      currency: "usd",
      unit_amount: 900,
      recurring: { interval: "month" },
      product_data: { name: "m" },
    });
    const sub = await h.stripe.checkout.sessions.create({
      mode: "subscription",
      line_items: [{ price: monthly.id, quantity: 1 }],
    });
    const subscribed = await control<Stripe.Checkout.Session>(
      "POST",
      `/sessions/${sub.id}/pay`,
      {},
    );
    expect(
      (await control("POST", `/subscriptions/${subscribed.json.subscription}/cancel`)).json.status,
    ).toBe("canceled");

    const expiring = await createPaymentSession(h.stripe, price);
    expect((await control("POST", `/sessions/${expiring.id}/expire`)).json.status).toBe("expired");
  });

  it("answers errors with Stripe's shape and status", async () => {
    const missing = await control<{ error: { code: string } }>(
      "POST",
      "/sessions/cs_test_nope/pay",
      {},
    );
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toBe("resource_missing");
    const invalid = await control<{ error: { type: string } }>("POST", "/clock/advance", {
      seconds: "soon",
    });
    expect(invalid.status).toBe(400);
    expect(invalid.json.error.type).toBe("invalid_request_error");
    expect((await control("GET", "/nothing-here")).status).toBe(404);
  });

  it("moves the clock, reads the request log, and sets faults", async () => {
    expect((await control("GET", "/clock")).json).toEqual({ now: START });
    expect((await control("POST", "/clock/advance", { seconds: 90 })).json).toEqual({
      now: START + 90,
    });
    await h.stripe.customers.list();
    const log = await control<
      Array<{ method: string; path: string; status: number; livemode: boolean }>
    >("GET", "/requests");
    expect(log.json.at(-1)).toMatchObject({
      method: "GET",
      path: "/v1/customers",
      status: 200,
      livemode: false,
    });
    const faults = await control("POST", "/faults", { dropRate: 0.5, reorder: true });
    expect(faults.json).toMatchObject({ dropRate: 0.5, reorder: true, dropWhen: false });
    expect((await control("POST", "/faults", { dropRate: 2 })).status).toBe(400);
    expect((await control("POST", "/faults", { bogus: 1 })).status).toBe(400);
    await control("POST", "/reset");
    expect((await control("GET", "/faults")).json.dropRate).toBe(0);
    expect((await control("GET", "/clock")).json).toEqual({ now: START });
  });

  it("creates endpoints, waits for and lists deliveries, drops a purchase's events", async () => {
    const endpoint = await control<{ id: string; secret: string }>("POST", "/webhook-endpoints", {
      url: receiver.url,
      enabled_events: ["checkout.session.completed"],
    });
    expect(endpoint.json.secret).toMatch(/^whsec_/);
    const price = await createPackPrice(h.stripe);
    const dropped = await createPaymentSession(h.stripe, price);
    await control("POST", "/drop-events-for", { id: dropped.id });
    await control("POST", `/sessions/${dropped.id}/pay`, {});
    await control("POST", `/sessions/${(await createPaymentSession(h.stripe, price)).id}/pay`, {});
    expect((await control("POST", "/deliveries/wait", {})).json).toEqual({ idle: true });
    const deliveries = await control<Array<{ state: string; dropReason: string | null }>>(
      "GET",
      "/deliveries",
    );
    expect(deliveries.json.map((d) => d.state).sort()).toEqual(["dropped", "succeeded"]);
    expect(receiver.received).toHaveLength(1);
    expect(receiver.verifies(receiver.received[0], endpoint.json.secret)).toBe(true);
    expect((await control("POST", "/deliveries/flush", {})).status).toBe(200);
  });

  it("seeds completed sessions in bulk and serves snapshots", async () => {
    const price = await createPackPrice(h.stripe);
    const seeded = await control<{ count: number; first: string; last: string }>(
      "POST",
      "/seed/completed-sessions",
      {
        n: 25,
        priceId: price.id,
        createdFrom: START - 3_600,
        createdTo: START - 60,
        customerEmail: "bulk{i}@example.com",
        clientReferenceIdPrefix: "user_",
      },
    );
    expect(seeded.json.count).toBe(25);
    const last = await h.stripe.checkout.sessions.retrieve(seeded.json.last, {
      expand: ["line_items"],
    });
    expect(last).toMatchObject({
      status: "complete",
      payment_status: "paid",
      client_reference_id: "user_24",
      created: START - 60,
      customer_details: { email: "bulk24@example.com" },
    });
    expect(last.line_items!.data[0].price!.id).toBe(price.id);
    expect((await h.stripe.events.list({ type: "checkout.session.completed" })).data).toHaveLength(
      0,
    );
    const snapshot = await control<{
      format: string;
      ledgers: { test: { tables: { sessions: unknown[] } } };
    }>("GET", "/snapshot");
    expect(snapshot.json.format).toBe("creditdesk-stripe-emulator");
    expect(snapshot.json.ledgers.test.tables.sessions).toHaveLength(25);
  });
});

describe("hosted checkout page", () => {
  it("shows the session and pays from the form, redirecting to success_url with the session id", async () => {
    const price = await createPackPrice(h.stripe, 1_999, "200");
    const session = await createPaymentSession(h.stripe, price, {
      customer_email: "page@example.com",
    });
    const page = await fetch(session.url!);
    expect(page.headers.get("content-type")).toMatch(/text\/html/);
    const html = await page.text();
    expect(html).toContain("Pack 200");
    expect(html).toContain("19.99 USD");
    expect(html).toContain('value="page@example.com"');

    const pay = await fetch(`${session.url}/pay`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: "card=success&email=page%40example.com",
      redirect: "manual",
    });
    expect(pay.status).toBe(303);
    expect(pay.headers.get("location")).toBe(
      `https://app.example/success?session_id=${session.id}`,
    );
    expect((await h.stripe.checkout.sessions.retrieve(session.id)).payment_status).toBe("paid");
    expect(await (await fetch(session.url!)).text()).toContain("complete");
  });

  it("cancels back to cancel_url", async () => {
    const session = await createPaymentSession(h.stripe, await createPackPrice(h.stripe));
    const res = await fetch(`${session.url}/cancel`, { method: "POST", redirect: "manual" });
    expect(res.headers.get("location")).toBe("https://app.example/cancel");
  });
});

describe("standalone server (npm run emulator)", () => {
  it("prints its URL and the webhook signing secret, and serves the SDK", async () => {
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "emulator/main.ts",
        "--port",
        "0",
        "--seed",
        "11",
        "--webhook-url",
        receiver.url,
      ],
      { cwd: new URL("../../", import.meta.url), stdio: ["ignore", "pipe", "pipe"] },
    );
    try {
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
      const deadline = Date.now() + 20_000;
      while (!/STRIPE_WEBHOOK_SECRET=whsec_\w+/.test(output)) {
        if (Date.now() > deadline || child.exitCode !== null)
          throw new Error(`Emulator did not start:\n${output}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const url = /listening on (http:\/\/\S+)/.exec(output)![1];
      const secret = /STRIPE_WEBHOOK_SECRET=(whsec_\w+)/.exec(output)![1];
      const stripe = sdkFor(url);
      await stripe.customers.create({ email: "cli@example.com" });
      await fetch(`${url}/_emulator/deliveries/wait`, { method: "POST" });
      const hook = receiver.received.find((r) => r.eventType === "customer.created");
      expect(hook).toBeDefined();
      expect(receiver.verifies(hook!, secret)).toBe(true);
    } finally {
      child.kill("SIGTERM");
    }
  }, 30_000);
});

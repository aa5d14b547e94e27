import type Stripe from "stripe";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { CheckoutSession } from "../../emulator/index";
import {
  createPackPrice,
  createPaymentSession,
  sdkFor,
  startHarness,
  startRecordedEmulator,
  stripeError,
  type Harness,
} from "./support/harness";
import { WebhookReceiver } from "./support/webhook-receiver";

const START = 1_790_000_000;
let h: Harness;
let receiver: WebhookReceiver;

beforeAll(async () => {
  h = await startHarness({ clock: START, webhookTimeoutMs: 300 });
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

async function endpoint(enabled_events: Stripe.WebhookEndpointCreateParams.EnabledEvent[] = ["*"]) {
  return h.stripe.webhookEndpoints.create({ url: receiver.url, enabled_events });
}

async function purchase(): Promise<CheckoutSession> {
  const session = await createPaymentSession(h.stripe, await createPackPrice(h.stripe));
  return h.emulator.control.paySession(session.id);
}

describe("webhook endpoints", () => {
  it("returns the secret only on create; retrieves, lists, updates and deletes", async () => {
    const created = await endpoint(["checkout.session.completed"]);
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9]{32}$/);
    expect(created).toMatchObject({
      object: "webhook_endpoint",
      status: "enabled",
      url: receiver.url,
      livemode: false,
    });
    const retrieved = await h.stripe.webhookEndpoints.retrieve(created.id);
    expect(retrieved.secret).toBeUndefined();
    expect((await h.stripe.webhookEndpoints.list()).data.map((e) => [e.id, e.secret])).toEqual([
      [created.id, undefined],
    ]);

    const updated = await h.stripe.webhookEndpoints.update(created.id, {
      url: `${receiver.url}?v=2`,
      enabled_events: ["charge.refunded", "checkout.session.completed"],
      disabled: true,
    });
    expect(updated).toMatchObject({
      url: `${receiver.url}?v=2`,
      enabled_events: ["charge.refunded", "checkout.session.completed"],
      status: "disabled",
    });
    expect((await h.stripe.webhookEndpoints.update(created.id, { disabled: false })).status).toBe(
      "enabled",
    );

    expect(await h.stripe.webhookEndpoints.del(created.id)).toMatchObject({
      id: created.id,
      deleted: true,
    });
    expect((await stripeError(h.stripe.webhookEndpoints.retrieve(created.id))).statusCode).toBe(
      404,
    );
  });

  it("validates url and enabled_events", async () => {
    expect(
      (
        await stripeError(
          h.stripe.webhookEndpoints.create({ url: "not a url", enabled_events: ["*"] }),
        )
      ).param,
    ).toBe("url");
    const noEvents = await stripeError(
      h.stripe.webhookEndpoints.create({ url: receiver.url, enabled_events: [] }),
    );
    expect(noEvents.statusCode).toBe(400);
  });
});

describe("delivery", () => {
  it("signs every delivery so constructEvent accepts it, in emission order", async () => {
    const { secret } = await endpoint();
    const paid = await purchase();
    await h.emulator.control.waitForDeliveries();
    const types = receiver.received.map((r) => r.eventType);
    expect(types).toEqual([
      "product.created",
      "price.created",
      "payment_intent.created",
      "payment_intent.succeeded",
      "charge.succeeded",
      "checkout.session.completed",
    ]);
    for (const hook of receiver.received) {
      expect(hook.signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
      const event = receiver.verify(hook, secret!);
      expect(event.id).toBe(hook.eventId);
    }
    const completed = receiver.verify(receiver.received[5], secret!);
    expect((completed.data.object as Stripe.Checkout.Session).id).toBe(paid.id);
    expect(completed.api_version).toBe("2026-10-28.endive");
    expect(receiver.verifies(receiver.received[5], "whsec_not_the_secret")).toBe(false);

    const events = await h.stripe.events.list({ delivery_success: true });
    expect(events.data).toHaveLength(6);
    expect(events.data.every((e) => e.pending_webhooks === 0)).toBe(true);
  });

  it("sends only the subscribed types, and nothing to a disabled endpoint", async () => {
    await endpoint(["checkout.session.completed"]);
    const disabled = await endpoint(["*"]);
    await h.stripe.webhookEndpoints.update(disabled.id, { disabled: true });
    await purchase();
    await h.emulator.control.waitForDeliveries();
    expect(receiver.received.map((r) => r.eventType)).toEqual(["checkout.session.completed"]);
    // Events created while an endpoint is disabled are never sent, even after re-enabling it.
    await h.stripe.webhookEndpoints.update(disabled.id, { disabled: false });
    await h.emulator.control.flushDeliveries();
    expect(receiver.received).toHaveLength(1);
  });

  it("delivers live-mode events only to live-mode endpoints", async () => {
    await endpoint(["*"]);
    const live = await h.live.webhookEndpoints.create({
      url: `${receiver.url}?live`,
      enabled_events: ["customer.created"],
    });
    await h.live.customers.create({ email: "live@example.com" });
    await h.emulator.control.waitForDeliveries();
    expect(receiver.received).toHaveLength(1);
    const event = receiver.verify(receiver.received[0], live.secret!);
    expect(event.livemode).toBe(true);
  });

  it("retries failed deliveries on the backoff schedule until they succeed", async () => {
    const { secret } = await endpoint(["checkout.session.completed"]);
    receiver.respond = (_hook, i) => (i < 2 ? 500 : 200);
    await purchase();
    await h.emulator.control.waitForDeliveries();
    expect(receiver.received).toHaveLength(1);
    const pending = await h.stripe.events.list({ delivery_success: false });
    expect(pending.data.map((e) => e.type)).toEqual(["checkout.session.completed"]);
    expect(pending.data[0].pending_webhooks).toBe(1);

    await h.emulator.control.advanceClock(299);
    await h.emulator.control.waitForDeliveries();
    expect(receiver.received).toHaveLength(1);
    await h.emulator.control.advanceClock(1);
    await h.emulator.control.waitForDeliveries();
    expect(receiver.received).toHaveLength(2);
    await h.emulator.control.advanceClock(3_600);
    await h.emulator.control.waitForDeliveries();
    expect(receiver.received).toHaveLength(3);
    expect(receiver.received.every((hook) => receiver.verifies(hook, secret!))).toBe(true);
    expect(new Set(receiver.received.map((r) => r.eventId)).size).toBe(1);

    const [delivery] = h.emulator.control.deliveries();
    expect(delivery.state).toBe("succeeded");
    expect(delivery.attempts.map((a) => [a.status, a.at])).toEqual([
      [500, START],
      [500, START + 300],
      [200, START + 3_900],
    ]);
    expect((await h.stripe.events.list({ delivery_success: false })).data).toHaveLength(0);
  });

  it("gives up after the test-mode retries and keeps the event undelivered", async () => {
    await endpoint(["checkout.session.completed"]);
    receiver.respond = () => 503;
    await purchase();
    for (let i = 0; i < 6; i++) {
      await h.emulator.control.advanceClock(6 * 3600);
      await h.emulator.control.waitForDeliveries();
    }
    const [delivery] = h.emulator.control.deliveries();
    expect(delivery.state).toBe("failed");
    expect(delivery.attempts).toHaveLength(4);
    expect((await h.stripe.events.list({ delivery_success: false })).data).toHaveLength(1);
  });

  it("retries live-mode deliveries for up to three days", async () => {
    await h.live.webhookEndpoints.create({
      url: receiver.url,
      enabled_events: ["customer.created"],
    });
    receiver.respond = () => 500;
    await h.live.customers.create({ email: "l@example.com" });
    for (let hour = 0; hour < 4 * 24; hour++) {
      await h.emulator.control.advanceClock(3600);
      await h.emulator.control.waitForDeliveries();
    }
    const [delivery] = h.emulator.control.deliveries();
    expect(delivery.state).toBe("failed");
    expect(delivery.attempts).toHaveLength(12);
    const span = delivery.attempts[11].at - delivery.attempts[0].at;
    expect(span).toBeGreaterThan(2.5 * 86_400);
    expect(span).toBeLessThanOrEqual(3 * 86_400);
  });

  it("counts a slow receiver as a timeout and retries", async () => {
    await endpoint(["checkout.session.completed"]);
    receiver.respond = async (_hook, i) => {
      if (i === 0) await new Promise((r) => setTimeout(r, 600));
      return 200;
    };
    await purchase();
    await h.emulator.control.waitForDeliveries();
    let [delivery] = h.emulator.control.deliveries();
    expect(delivery.state).toBe("retry_scheduled");
    expect(delivery.attempts[0]).toMatchObject({ status: null, error: "timed out after 300 ms" });
    await h.emulator.control.flushDeliveries();
    [delivery] = h.emulator.control.deliveries();
    expect(delivery.state).toBe("succeeded");
  });

  it("keeps start-up endpoints, with their secret, across reset()", async () => {
    const standing = await startRecordedEmulator({
      seed: 1,
      webhookEndpoints: [{ url: receiver.url, enabled_events: ["customer.created"] }],
    });
    try {
      const stripe = sdkFor(standing.url);
      const [before] = standing.control.snapshot().ledgers.test.webhookSecrets;
      await standing.control.reset();
      const [after] = standing.control.snapshot().ledgers.test.webhookSecrets;
      expect(after[1]).toBe(before[1]);
      await stripe.customers.create({ email: "s@example.com" });
      await standing.control.waitForDeliveries();
      expect(receiver.verifies(receiver.received[0], after[1])).toBe(true);
    } finally {
      await standing.stop();
    }
  });

  it("compresses retry backoff in real time with timeFactor", async () => {
    const fast = await startRecordedEmulator({ seed: 1, clock: START, timeFactor: 6_000 });
    try {
      const stripe = sdkFor(fast.url);
      await stripe.webhookEndpoints.create({
        url: receiver.url,
        enabled_events: ["customer.created"],
      });
      receiver.respond = (_hook, i) => (i === 0 ? 500 : 200);
      await stripe.customers.create({ email: "fast@example.com" });
      // 5 minutes / 6,000 = 50 ms of real time, without touching the emulator clock.
      await vi.waitFor(() => expect(receiver.received).toHaveLength(2), { timeout: 5_000 });
      await fast.control.waitForDeliveries();
      expect(fast.control.deliveries()[0].state).toBe("succeeded");
    } finally {
      await fast.stop();
    }
  });
});

describe("events", () => {
  it("carries Stripe's event fields and the triggering request", async () => {
    const customer = await h.stripe.customers.create(
      { email: "ev@example.com" },
      { idempotencyKey: "idem-ev" },
    );
    const [event] = (await h.stripe.events.list({ type: "customer.created" })).data;
    expect(event).toMatchObject({
      object: "event",
      type: "customer.created",
      api_version: "2026-10-28.endive",
      created: START,
      livemode: false,
      pending_webhooks: 0,
      request: { idempotency_key: "idem-ev" },
    });
    expect(event.id).toMatch(/^evt_/);
    expect(event.request!.id).toBe(customer.lastResponse.requestId);
    expect((await h.stripe.events.retrieve(event.id)).id).toBe(event.id);
  });

  it("filters by type, types[], wildcard and created", async () => {
    await purchase();
    await h.emulator.control.advanceClock(10);
    await h.stripe.customers.create({ email: "later@example.com" });
    const types = async (params: Stripe.EventListParams) =>
      (await h.stripe.events.list(params)).data.map((e) => e.type);
    expect(await types({ type: "charge.succeeded" })).toEqual(["charge.succeeded"]);
    expect(await types({ types: ["customer.created", "charge.succeeded"] })).toEqual([
      "customer.created",
      "charge.succeeded",
    ]);
    expect(await types({ type: "payment_intent.*" })).toEqual([
      "payment_intent.succeeded",
      "payment_intent.created",
    ]);
    expect(await types({ created: { gt: START } })).toEqual(["customer.created"]);
    expect(await types({ created: { lte: START }, limit: 2 })).toEqual([
      "checkout.session.completed",
      "charge.succeeded",
    ]);
  });

  it("keeps events for 30 days", async () => {
    await h.stripe.customers.create({ email: "old@example.com" });
    const [event] = (await h.stripe.events.list()).data;
    await h.emulator.control.advanceClock(30 * 86_400 - 1);
    expect((await h.stripe.events.retrieve(event.id)).id).toBe(event.id);
    await h.emulator.control.advanceClock(1);
    expect((await stripeError(h.stripe.events.retrieve(event.id))).statusCode).toBe(404);
    expect((await h.stripe.events.list()).data).toHaveLength(0);
  });
});

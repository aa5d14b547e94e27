import Stripe from "stripe";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { EmulatorHandle } from "../../emulator/index";
import {
  createPackPrice,
  createPaymentSession,
  sdkFor,
  startHarness,
  startRecordedEmulator,
  TEST_KEY,
  type Harness,
} from "./support/harness";
import { WebhookReceiver } from "./support/webhook-receiver";

let h: Harness;
let receiver: WebhookReceiver;
let secret: string;

beforeAll(async () => {
  h = await startHarness();
  receiver = await WebhookReceiver.start();
});
afterAll(async () => {
  await h.emulator.stop();
  await receiver.stop();
});
beforeEach(async () => {
  await h.emulator.control.reset();
  receiver.clear();
  // Answer like the app: 400 for a bad signature (so Stripe retries), 200 otherwise.
  receiver.respond = (hook) => (receiver.verifies(hook, secret) ? 200 : 400);
  secret = (
    await h.emulator.control.createWebhookEndpoint({ url: receiver.url, enabled_events: ["*"] })
  ).secret;
});

/** Creates and pays `n` sessions (in batches, to overlap round trips): four events each. */
async function purchases(emulator: EmulatorHandle, stripe: Stripe, n: number): Promise<string[]> {
  const price = await createPackPrice(stripe);
  const ids: string[] = [];
  for (let i = 0; i < n; i += 25) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(25, n - i) }, () => createPaymentSession(stripe, price)),
    );
    for (const session of batch) {
      await emulator.control.paySession(session.id);
      ids.push(session.id);
    }
  }
  return ids;
}

describe("webhook faults", () => {
  it("drops, duplicates and mis-signs deliveries at the configured rates over 1,000 deliveries", async () => {
    // Several deliveries in flight at once: the statistics do not depend on arrival order.
    const emulator = await startRecordedEmulator({
      seed: 2024,
      clock: 1_790_000_000,
      deliveryConcurrency: 8,
      faults: { dropRate: 0.2, duplicateRate: 0.1, wrongSecretRate: 0.1 },
    });
    try {
      secret = (await emulator.control.createWebhookEndpoint({ url: receiver.url })).secret;
      await checkFaultStatistics(emulator, sdkFor(emulator.url));
    } finally {
      await emulator.stop();
    }
  });

  async function checkFaultStatistics(emulator: EmulatorHandle, stripe: Stripe): Promise<void> {
    await purchases(emulator, stripe, 250);
    await emulator.control.waitForDeliveries();
    const deliveries = emulator.control.deliveries();
    const primary = deliveries.filter(
      (d) => !d.duplicate && d.eventType !== "product.created" && d.eventType !== "price.created",
    );
    expect(primary).toHaveLength(1_000);

    // Binomial tolerances: four standard deviations either side.
    const dropped = primary.filter((d) => d.state === "dropped").length;
    expect(dropped).toBeGreaterThan(200 - 51);
    expect(dropped).toBeLessThan(200 + 51);
    expect(primary.filter((d) => d.state === "dropped").every((d) => d.attempts.length === 0)).toBe(
      true,
    );

    const sent = primary.filter((d) => d.state !== "dropped");
    const duplicates = deliveries.filter(
      (d) => d.duplicate && d.eventType !== "product.created" && d.eventType !== "price.created",
    );
    const expectedDuplicates = sent.length * 0.1;
    expect(Math.abs(duplicates.length - expectedDuplicates)).toBeLessThan(
      4 * Math.sqrt(sent.length * 0.1 * 0.9),
    );

    const firstAttempts = [...sent, ...duplicates].map((d) => d.attempts[0]);
    const wrong = firstAttempts.filter((a) => a.signature === "wrong_secret").length;
    expect(Math.abs(wrong - firstAttempts.length * 0.1)).toBeLessThan(
      4 * Math.sqrt(firstAttempts.length * 0.1 * 0.9),
    );

    // What the receiver saw agrees: every wrong-secret attempt failed verification, nothing else did.
    const received = receiver.received.length;
    const attempts = deliveries.flatMap((d) => d.attempts);
    expect(received).toBe(attempts.length);
    const rejected = receiver.received.filter((hook) => !receiver.verifies(hook, secret)).length;
    expect(rejected).toBe(attempts.filter((a) => a.signature === "wrong_secret").length);
    expect(
      attempts.filter((a) => a.signature === "wrong_secret").every((a) => a.status === 400),
    ).toBe(true);

    // Dropped and not-yet-retried events are exactly the ones listed as undelivered.
    const undelivered = new Set(
      deliveries.filter((d) => !d.duplicate && d.state !== "succeeded").map((d) => d.eventId),
    );
    const listed: string[] = [];
    for await (const event of stripe.events.list({ delivery_success: false, limit: 100 }))
      listed.push(event.id);
    expect(new Set(listed)).toEqual(undelivered);
  }

  it("makes the same fault decisions for the same seed", async () => {
    const runs: string[][] = [];
    for (let run = 0; run < 2; run++) {
      const emulator = await startRecordedEmulator({
        seed: 99,
        clock: 1_790_000_000,
        faults: { dropRate: 0.3, duplicateRate: 0.3 },
      });
      try {
        await emulator.control.createWebhookEndpoint({ url: receiver.url });
        await purchases(emulator, sdkFor(emulator.url), 10);
        await emulator.control.waitForDeliveries();
        runs.push(
          emulator.control
            .deliveries()
            .map((d) => `${d.eventId}:${d.eventType}:${d.state}:${d.duplicate}`),
        );
      } finally {
        await emulator.stop();
      }
    }
    expect(runs[0].length).toBeGreaterThan(40);
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[0].some((r) => r.includes(":dropped:"))).toBe(true);
  });

  it("reorders the events of one action", async () => {
    const price = await createPackPrice(h.stripe);
    await h.emulator.control.waitForDeliveries();
    receiver.clear();
    h.emulator.control.setFaults({ reorder: true });
    const session = await createPaymentSession(h.stripe, price);
    await h.emulator.control.paySession(session.id);
    await h.emulator.control.waitForDeliveries();
    const emitted = (await h.stripe.events.list({ limit: 4 })).data.map((e) => e.type).reverse();
    const arrived = receiver.received.map((r) => r.eventType);
    expect([...arrived].sort()).toEqual([...emitted].sort());
    expect(arrived).not.toEqual(emitted);
  });

  it("delays deliveries, and waitForDeliveries waits for them", async () => {
    const price = await createPackPrice(h.stripe);
    await h.emulator.control.waitForDeliveries();
    receiver.clear();
    h.emulator.control.setFaults({ delayMs: 300 });
    const session = await createPaymentSession(h.stripe, price);
    const started = performance.now();
    await h.emulator.control.paySession(session.id);
    await h.emulator.control.waitForDeliveries();
    expect(receiver.received).toHaveLength(4);
    expect(performance.now() - started).toBeGreaterThan(50);
  });

  it("drops every webhook of one purchase on request, and only those", async () => {
    const price = await createPackPrice(h.stripe);
    const dropped = await createPaymentSession(h.stripe, price);
    const kept = await createPaymentSession(h.stripe, price);
    h.emulator.control.dropEventsFor(dropped.id);
    await h.emulator.control.paySession(dropped.id);
    await h.emulator.control.paySession(kept.id);
    await h.emulator.control.refund(dropped.id, { amount: 100 });
    await h.emulator.control.waitForDeliveries();
    const droppedDeliveries = h.emulator.control
      .deliveries()
      .filter((d) => d.dropReason === "targeted");
    expect(droppedDeliveries.map((d) => d.eventType)).toEqual([
      "payment_intent.created",
      "payment_intent.succeeded",
      "charge.succeeded",
      "checkout.session.completed",
      "charge.refunded",
      "refund.created",
    ]);
    const completed = receiver.received.filter((r) => r.eventType === "checkout.session.completed");
    expect(
      completed.map((r) => (receiver.verify(r, secret).data.object as Stripe.Checkout.Session).id),
    ).toEqual([kept.id]);
    const undelivered = await h.stripe.events.list({
      delivery_success: false,
      type: "checkout.session.completed",
    });
    expect(undelivered.data.map((e) => (e.data.object as Stripe.Checkout.Session).id)).toEqual([
      dropped.id,
    ]);
  });

  it("drops by predicate", async () => {
    h.emulator.control.setFaults({
      dropWhen: (event) => event.type === "checkout.session.completed",
    });
    await purchases(h.emulator, h.stripe, 2);
    await h.emulator.control.waitForDeliveries();
    expect(receiver.received.some((r) => r.eventType === "checkout.session.completed")).toBe(false);
    expect(receiver.received.filter((r) => r.eventType === "charge.succeeded")).toHaveLength(2);
  });
});

describe("API faults", () => {
  async function statuses(n: number): Promise<number[]> {
    const out: number[] = [];
    for (let i = 0; i < n; i += 20) {
      const batch = await Promise.all(
        Array.from({ length: 20 }, async () => {
          const res = await fetch(`${h.emulator.url}/v1/customers?limit=1`, {
            headers: { Authorization: `Bearer ${TEST_KEY}` },
          });
          await res.arrayBuffer();
          return res.status;
        }),
      );
      out.push(...batch);
    }
    return out;
  }

  it("answers 429 and 500 at the configured rates", async () => {
    h.emulator.control.setFaults({ api429Rate: 0.2, api500Rate: 0.1 });
    const n = 600;
    const got = await statuses(n);
    const count = (s: number) => got.filter((x) => x === s).length;
    expect(Math.abs(count(429) - n * 0.2)).toBeLessThan(4 * Math.sqrt(n * 0.2 * 0.8));
    expect(Math.abs(count(500) - n * 0.1)).toBeLessThan(4 * Math.sqrt(n * 0.1 * 0.9));
    expect(count(200)).toBe(n - count(429) - count(500));
    const log = h.emulator.control.requestLog();
    expect(log.filter((r) => r.fault === "rate_limit")).toHaveLength(count(429));
  });

  it("shapes 429s as Stripe does (invalid_request_error, code rate_limit); the SDK still sees a rate limit", async () => {
    h.emulator.control.setFaults({ api429Rate: 1 });
    const err = await h.stripe.customers.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
    expect(err).toMatchObject({
      statusCode: 429,
      type: "StripeRateLimitError",
      rawType: "invalid_request_error",
      code: "rate_limit",
    });
    const res = await fetch(`${h.emulator.url}/v1/customers`, {
      headers: { Authorization: `Bearer ${TEST_KEY}` },
    });
    expect(res.status).toBe(429);
    expect((await res.json()).error).toMatchObject({
      type: "invalid_request_error",
      code: "rate_limit",
    });
  });

  it("marks lock-timeout 429s retryable so the SDK retries them", async () => {
    h.emulator.control.setFaults({ api429Rate: 0.5, api429Retryable: true });
    const retrying = sdkFor(h.emulator.url, TEST_KEY, { maxNetworkRetries: 10 });
    const rateLimited = () =>
      h.emulator.control.requestLog().filter((r) => r.status === 429).length;
    let calls = 0;
    while (rateLimited() === 0 && calls < 20) {
      const list = await retrying.customers.list();
      expect(list.object).toBe("list");
      calls++;
    }
    expect(rateLimited()).toBeGreaterThan(0);
    expect(h.emulator.control.requestLog().filter((r) => r.status === 200)).toHaveLength(calls);
  });

  it("adds latency to API responses", async () => {
    h.emulator.control.setFaults({ apiLatencyMs: 150 });
    const started = performance.now();
    await h.stripe.customers.list();
    expect(performance.now() - started).toBeGreaterThanOrEqual(145);
  });

  it("rejects rates outside 0…1", () => {
    expect(() => h.emulator.control.setFaults({ dropRate: 1.5 })).toThrow(/between 0 and 1/);
  });
});

import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { isRateLimited, StripeGate } from "../../app/services/reconciliation/pacing.server";
import { parseWindowBound } from "../../app/services/reconciliation/window.server";

const rateLimit = () =>
  new Stripe.errors.StripeRateLimitError({
    type: "rate_limit_error",
    message: "Too many requests",
    statusCode: 429,
  } as never);

describe("StripeGate", () => {
  it("paces requests to the configured rate", async () => {
    const gate = new StripeGate({
      requestsPerSecond: 50,
      backoffBaseMs: 1,
      backoffMaxMs: 2,
      maxRateLimitWaitMs: 1000,
    });
    const started = performance.now();
    for (let i = 0; i < 26; i++) await gate.take();
    // One token at start, then 50/s: 25 more need about half a second.
    expect(performance.now() - started).toBeGreaterThanOrEqual(450);
  });

  it("waits out 429s, halving the rate, and succeeds", async () => {
    const gate = new StripeGate({
      requestsPerSecond: 40,
      backoffBaseMs: 1,
      backoffMaxMs: 4,
      maxRateLimitWaitMs: 1000,
    });
    let calls = 0;
    const result = await gate.call(async () => {
      calls += 1;
      if (calls <= 3) throw rateLimit();
      return "ok";
    });
    expect(result).toBe("ok");
    expect(calls).toBe(4);
    expect(gate.rateLimited).toBe(3);
    // 40 → 20 → 10 → 5, then one success adds one back.
    expect(gate.currentRate()).toBe(6);
  });

  it("an unpaced gate (a server without fixed limits) starts pacing at the first 429 and recovers", async () => {
    const gate = new StripeGate({
      requestsPerSecond: Number.POSITIVE_INFINITY,
      backoffBaseMs: 1,
      backoffMaxMs: 2,
      maxRateLimitWaitMs: 1000,
    });
    for (let i = 0; i < 40; i++) await gate.take();
    expect(gate.currentRate()).toBe(Number.POSITIVE_INFINITY);
    gate.slowDown();
    // It had just made 40 requests this second: half of that from now on.
    expect(gate.currentRate()).toBe(20);
    for (let i = 0; i < 200 && Number.isFinite(gate.currentRate()); i++) {
      await gate.call(async () => "ok");
    }
    expect(gate.currentRate()).toBe(Number.POSITIVE_INFINITY);
  });

  it("gives up on 429s after the waiting budget, and never retries other errors", async () => {
    const gate = new StripeGate({
      requestsPerSecond: 1000,
      backoffBaseMs: 20,
      backoffMaxMs: 40,
      maxRateLimitWaitMs: 100,
    });
    let calls = 0;
    await expect(
      gate.call(async () => {
        calls += 1;
        throw rateLimit();
      }),
    ).rejects.toBeInstanceOf(Stripe.errors.StripeRateLimitError);
    expect(calls).toBeGreaterThan(1);
    expect(calls).toBeLessThan(10);

    let other = 0;
    await expect(
      gate.call(async () => {
        other += 1;
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(other).toBe(1);
    expect(isRateLimited({ statusCode: 429 })).toBe(true);
    expect(isRateLimited(new Error("x"))).toBe(false);
  });
});

describe("parseWindowBound", () => {
  it("reads dates and date-times as UTC unless an offset is given", () => {
    expect(parseWindowBound("2026-11-01")?.toISOString()).toBe("2026-11-01T00:00:00.000Z");
    expect(parseWindowBound("2026-11-01T03:15")?.toISOString()).toBe("2026-11-01T03:15:00.000Z");
    expect(parseWindowBound("2026-11-01T03:15:30Z")?.toISOString()).toBe(
      "2026-11-01T03:15:30.000Z",
    );
    expect(parseWindowBound("2026-11-01T03:15:30.250+02:00")?.toISOString()).toBe(
      "2026-11-01T01:15:30.250Z",
    );
  });

  it("rejects what is not a real ISO date", () => {
    for (const text of [
      "yesterday",
      "2026-13-01",
      "2026-02-31",
      "01/11/2026",
      "2026-11-01T25:00",
      "",
      "1700000000",
    ]) {
      expect(parseWindowBound(text), text).toBeNull();
    }
  });
});

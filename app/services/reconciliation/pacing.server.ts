import Stripe from "stripe";

/**
 * Our own pacing in front of Stripe, on top of the SDK's network retries. The SDK retries
 * connection errors, 409 and 5xx, but not a plain 429 (Stripe's rate limiter does not ask it to),
 * so a 429 storm would otherwise end the run. Here a 429 halves the request rate and waits with
 * exponential backoff and jitter, then the call is tried again; successes raise the rate back.
 * A run slows down under rate limiting instead of failing, up to a generous waiting budget.
 */

export interface PacingOptions {
  /** Target rate; Stripe allows about 25/s in test mode and 100/s live, we stay below. */
  requestsPerSecond: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Total time one call may spend waiting out 429s before the error is given up on. */
  maxRateLimitWaitMs: number;
}

export const DEFAULT_PACING = {
  test: {
    requestsPerSecond: 20,
    backoffBaseMs: 1000,
    backoffMaxMs: 30_000,
    maxRateLimitWaitMs: 15 * 60_000,
  },
  live: {
    requestsPerSecond: 80,
    backoffBaseMs: 1000,
    backoffMaxMs: 30_000,
    maxRateLimitWaitMs: 15 * 60_000,
  },
} satisfies Record<string, PacingOptions>;

const MIN_RATE = 1;
/** An unlimited gate slowed by 429s goes back to unlimited above this rate. */
const UNPACED_ABOVE = 500;

export function isRateLimited(error: unknown): boolean {
  if (error instanceof Stripe.errors.StripeRateLimitError) return true;
  return (error as { statusCode?: unknown } | null)?.statusCode === 429;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class StripeGate {
  private rate: number;
  private tokens: number;
  private last = performance.now();
  private windowStart = performance.now();
  private inWindow = 0;
  private lastWindowCount = 0;
  /** 429 answers seen (each one waited out). */
  rateLimited = 0;

  constructor(private readonly opts: PacingOptions) {
    this.rate = opts.requestsPerSecond;
    this.tokens = Math.min(opts.requestsPerSecond, 1);
  }

  currentRate(): number {
    return this.rate;
  }

  /** Wait for one request slot (a token bucket holding at most one second of requests). */
  async take(): Promise<void> {
    this.countRecent();
    if (!Number.isFinite(this.rate)) return;
    for (;;) {
      const now = performance.now();
      this.tokens = Math.min(this.rate, this.tokens + ((now - this.last) / 1000) * this.rate);
      this.last = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await sleep(Math.ceil(((1 - this.tokens) / this.rate) * 1000));
    }
  }

  /** Requests per second actually made (the last full second), for an unpaced gate's first 429. */
  private countRecent(): void {
    const now = performance.now();
    if (now - this.windowStart >= 1000) {
      this.lastWindowCount = now - this.windowStart < 2000 ? this.inWindow : 0;
      this.windowStart = now;
      this.inWindow = 0;
    }
    this.inWindow += 1;
  }

  /**
   * A 429 happened: halve the rate. An unpaced gate starts from what it just managed (at least
   * Stripe's test-mode rate), so one 429 early in a run does not drop it to a crawl.
   */
  slowDown(): void {
    this.rateLimited += 1;
    const current = Number.isFinite(this.rate)
      ? this.rate
      : Math.max(this.lastWindowCount, this.inWindow, DEFAULT_PACING.test.requestsPerSecond);
    this.rate = Math.max(MIN_RATE, current / 2);
    this.tokens = Math.min(this.tokens, 0);
    this.last = performance.now();
  }

  private speedUp(): void {
    if (!Number.isFinite(this.rate) || this.rate >= this.opts.requestsPerSecond) return;
    if (Number.isFinite(this.opts.requestsPerSecond)) {
      this.rate = Math.min(this.opts.requestsPerSecond, this.rate + 1);
    } else {
      // No fixed limit: grow back faster, and stop pacing once well past any rate Stripe allows.
      this.rate = this.rate * 1.05 + 1;
      if (this.rate > UNPACED_ABOVE) this.rate = Number.POSITIVE_INFINITY;
    }
  }

  backoffMs(attempt: number): number {
    const ceiling = Math.min(this.opts.backoffMaxMs, this.opts.backoffBaseMs * 2 ** attempt);
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
  }

  /**
   * Run one Stripe-calling function under the pace, retrying it after 429s. The function must be
   * safe to repeat (reads, or the shared idempotent money-path functions).
   */
  async call<T>(fn: () => Promise<T>): Promise<T> {
    let waited = 0;
    for (let attempt = 0; ; attempt++) {
      await this.take();
      try {
        const result = await fn();
        this.speedUp();
        return result;
      } catch (error) {
        if (!isRateLimited(error)) throw error;
        this.slowDown();
        const delay = this.backoffMs(attempt);
        if (waited + delay > this.opts.maxRateLimitWaitMs) throw error;
        waited += delay;
        await sleep(delay);
      }
    }
  }

  /** Wait after a 429 that happened outside `call` (e.g. while the SDK turned a page). */
  async backoff(attempt: number): Promise<void> {
    this.slowDown();
    await sleep(this.backoffMs(attempt));
  }
}

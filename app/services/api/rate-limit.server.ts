/**
 * Per-key token buckets for the Credits API, kept in this process's memory: checking a limit
 * writes no database row, so the debit path gains no shared hot row. The price is that each server
 * process counts on its own — with N replicas a key can make N times its limit (docs/api.md).
 */

export interface RateLimit {
  /** Tokens added per second. */
  perSecond: number;
  /** Bucket size: requests allowed at once after a quiet spell. */
  burst: number;
}

export interface RateDecision {
  allowed: boolean;
  /** RateLimit-Limit: the bucket size. */
  limit: number;
  /** RateLimit-Remaining: whole requests left right now. */
  remaining: number;
  /** RateLimit-Reset: seconds until the bucket is full again. */
  resetSeconds: number;
  /** Retry-After when refused: seconds until one request is allowed. */
  retryAfterSeconds: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** One bucket per key that has made a request: as many as there are keys, a handful. */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  /** `clock` in milliseconds; monotonic by default so a wall-clock step cannot refill a bucket. */
  constructor(private clock: () => number = () => performance.now()) {}

  /** Take one token for `id`. The limit is passed each time: it comes with the key row. */
  take(id: string, limit: RateLimit): RateDecision {
    const now = this.clock();
    const bucket = this.buckets.get(id) ?? { tokens: limit.burst, at: now };
    // Refill for the time since the last request, never above the (possibly lowered) burst.
    bucket.tokens = Math.min(
      limit.burst,
      bucket.tokens + (Math.max(0, now - bucket.at) / 1000) * limit.perSecond,
    );
    bucket.at = now;
    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    this.buckets.set(id, bucket);
    return {
      allowed,
      limit: limit.burst,
      remaining: Math.floor(bucket.tokens),
      resetSeconds: Math.ceil((limit.burst - bucket.tokens) / limit.perSecond),
      retryAfterSeconds: allowed
        ? 0
        : Math.max(1, Math.ceil((1 - bucket.tokens) / limit.perSecond)),
    };
  }

  /** Tests: a fixed clock makes refills deterministic. */
  setClock(clock: () => number) {
    this.clock = clock;
  }

  clear() {
    this.buckets.clear();
  }
}

/** The buckets of this server process. */
export const apiKeyBuckets = new TokenBuckets();

export function rateLimitHeaders(d: RateDecision): Record<string, string> {
  const headers: Record<string, string> = {
    "RateLimit-Limit": String(d.limit),
    "RateLimit-Remaining": String(d.remaining),
    "RateLimit-Reset": String(d.resetSeconds),
  };
  if (!d.allowed) headers["Retry-After"] = String(d.retryAfterSeconds);
  return headers;
}

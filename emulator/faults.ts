import type { StripeEvent } from "./objects/events";

export interface FaultConfig {
  /** Fraction of webhook deliveries never sent (the event stays `delivery_success=false`). */
  dropRate: number;
  /** Fraction of deliveries sent a second time (same event id, fresh signature). */
  duplicateRate: number;
  /** Deliver the events of one action (e.g. a payment) to each endpoint in shuffled order. */
  reorder: boolean;
  /** Hold each first delivery back by a random 0…delayMs milliseconds. */
  delayMs: number;
  /** Fraction of delivery attempts signed with a secret that is not the endpoint's. */
  wrongSecretRate: number;
  /** Fraction of `/v1` requests answered 429 (`code: rate_limit`) before doing anything. */
  api429Rate: number;
  /**
   * Send `Stripe-Should-Retry: true` with injected 429s (as Stripe does for lock timeouts), so
   * the SDK retries them itself. Off by default: real rate limits are not retried by the SDK.
   */
  api429Retryable: boolean;
  /** Fraction of `/v1` requests answered 500 `api_error` before doing anything. */
  api500Rate: number;
  /** Added to every `/v1` response, in milliseconds. */
  apiLatencyMs: number;
  /** In-process only: drop every delivery of events this returns true for. */
  dropWhen: ((event: StripeEvent) => boolean) | null;
}

export const NO_FAULTS: FaultConfig = Object.freeze({
  dropRate: 0,
  duplicateRate: 0,
  reorder: false,
  delayMs: 0,
  wrongSecretRate: 0,
  api429Rate: 0,
  api429Retryable: false,
  api500Rate: 0,
  apiLatencyMs: 0,
  dropWhen: null,
});

const RATES = ["dropRate", "duplicateRate", "wrongSecretRate", "api429Rate", "api500Rate"] as const;

export function mergeFaults(base: FaultConfig, patch: Partial<FaultConfig> = {}): FaultConfig {
  const next: FaultConfig = { ...base, ...patch };
  for (const key of RATES) {
    const value = next[key];
    if (!(typeof value === "number" && value >= 0 && value <= 1)) {
      throw new RangeError(`${key} must be a number between 0 and 1`);
    }
  }
  for (const key of ["delayMs", "apiLatencyMs"] as const) {
    const value = next[key];
    if (!(typeof value === "number" && value >= 0 && Number.isFinite(value))) {
      throw new RangeError(`${key} must be a non-negative number of milliseconds`);
    }
  }
  return next;
}

/** The JSON-safe part, for the control API and snapshots. */
export function describeFaults(
  faults: FaultConfig,
): Omit<FaultConfig, "dropWhen"> & { dropWhen: boolean } {
  return { ...faults, dropWhen: faults.dropWhen !== null };
}

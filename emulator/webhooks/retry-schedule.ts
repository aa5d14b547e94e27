const MINUTE = 60;
const HOUR = 3600;

/**
 * Seconds to wait before each retry. Live mode retries with exponential backoff for up to
 * three days (Stripe's documented window); test mode retries three times over a few hours.
 */
export const LIVE_RETRY_DELAYS: readonly number[] = [
  1 * MINUTE,
  5 * MINUTE,
  30 * MINUTE,
  2 * HOUR,
  5 * HOUR,
  10 * HOUR,
  10 * HOUR,
  10 * HOUR,
  10 * HOUR,
  10 * HOUR,
  10 * HOUR,
];

export const TEST_RETRY_DELAYS: readonly number[] = [5 * MINUTE, 1 * HOUR, 3 * HOUR];

/** Delay before the attempt after `attemptsMade` failures, or null when retries are exhausted. */
export function retryDelaySeconds(livemode: boolean, attemptsMade: number): number | null {
  const delays = livemode ? LIVE_RETRY_DELAYS : TEST_RETRY_DELAYS;
  return attemptsMade - 1 < delays.length ? delays[attemptsMade - 1] : null;
}

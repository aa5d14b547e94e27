import Stripe from "stripe";

/**
 * Whether a failure may go away by itself (retry later) rather than being a fact about the input.
 * Stripe retries a webhook only when we answer 5xx, so this decides between "retry me" (5xx) and
 * "recorded as failed, support will look" (200 + attention item).
 */
export function isTransientError(error: unknown): boolean {
  if (!error || typeof error !== "object") return false;
  if (error instanceof Stripe.errors.StripeConnectionError) return true;
  if (error instanceof Stripe.errors.StripeRateLimitError) return true;
  if (error instanceof Stripe.errors.StripeAPIError) return true;
  if (error instanceof Stripe.errors.StripeError) {
    const status = error.statusCode ?? 0;
    return status >= 500 || status === 429 || status === 0;
  }
  const e = error as { code?: unknown; cause?: unknown; message?: unknown; name?: unknown };
  const codes = [e.code, (e.cause as { code?: unknown } | undefined)?.code].filter(
    (c): c is string => typeof c === "string",
  );
  for (const code of codes) {
    // Node socket errors, and Postgres: connection/resource/serialization/deadlock/shutdown classes.
    if (/^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH)$/.test(code))
      return true;
    if (/^(08...|53...|57P0[1-3]|40001|40P01)$/.test(code)) return true;
    // Prisma: can't reach / timed out / closed connection / pool timeout / transaction API timeouts.
    if (/^(P1001|P1002|P1008|P1017|P2024|P2028)$/.test(code)) return true;
  }
  const message = typeof e.message === "string" ? e.message : "";
  return /connection (terminated|refused|reset|closed)|Connection terminated|timeout exceeded when trying to connect|Can't reach database|too many clients|the database system is (starting up|shutting down)|terminating connection|Transaction already closed|Unable to start a transaction/i.test(
    message,
  );
}

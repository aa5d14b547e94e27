import type { Purchase } from "~/generated/prisma/client";
import type { FulfillOrDryRunResult, FulfillResult } from "./fulfillment.server";

/**
 * How to read a fulfillment result, in one place for every caller (the webhook's event
 * processor, the reconciler's passes, the dashboard's fixes): which outcomes credited, which need
 * a person, which purchase a result is about, and the one-line summary stored on the event row.
 * Callers keep the typed result instead of re-reading a flattened string.
 */

/** The outcomes that raised an attention item (or, in a dry run, would have). */
export const ATTENTION_OUTCOMES = ["unmatched_user", "unknown_price", "amount_mismatch"] as const;
export type AttentionOutcome = (typeof ATTENTION_OUTCOMES)[number];
export type AttentionResult = Extract<FulfillResult, { outcome: AttentionOutcome }>;
export type CreditedResult = Extract<FulfillResult, { outcome: "credited" | "already_credited" }>;

const ATTENTION = new Set<string>(ATTENTION_OUTCOMES);

/** The session's credits are on the user's balance: added now, or earlier. */
export function isCredited(r: FulfillOrDryRunResult): r is CreditedResult {
  return r.outcome === "credited" || r.outcome === "already_credited";
}

export function needsAttention(r: FulfillOrDryRunResult): r is AttentionResult {
  return ATTENTION.has(r.outcome);
}

export function isAttentionOutcome(outcome: string): outcome is AttentionOutcome {
  return ATTENTION.has(outcome);
}

/** The purchase a credited result is about; null for every other outcome. */
export function purchaseOf(r: FulfillOrDryRunResult): Purchase | null {
  return isCredited(r) ? r.purchase : null;
}

/** The user whose balance a result is about, when one is known. */
export function userOf(r: FulfillOrDryRunResult): string | null {
  if (r.outcome === "credited" || r.outcome === "would_credit") return r.userId;
  if (r.outcome === "already_credited") return r.purchase.userId;
  return null;
}

/** One line for the event row's detail (and logs): what fulfillment did with the session. */
export function summary(r: FulfillOrDryRunResult): string {
  switch (r.outcome) {
    case "credited":
      return `credited ${r.credits} credits (user resolved by ${r.resolvedBy})`;
    case "would_credit":
      return `would credit ${r.credits} credits (user resolved by ${r.resolvedBy})`;
    case "already_credited":
      return "already credited";
    case "not_paid":
      return `payment ${r.paymentStatus}: waiting for the async payment result`;
    case "no_credits":
      return r.detail;
    case "unmatched_user":
    case "unknown_price":
    case "amount_mismatch":
      return `${r.outcome}: ${r.detail}`;
  }
}

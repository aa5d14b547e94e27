/**
 * Outbound event types the product can subscribe to (client-safe: the dashboard's forms use it).
 * Payload schemas: app/services/outbound/payloads.server.ts; delivery: docs/api.md "Events".
 */
export const OUTBOUND_EVENT_TYPES = [
  "credits.granted",
  "credits.debited",
  "credits.clawed_back",
  "credits.expired",
  "credits.expiring",
  "balance.low",
  "purchase.refunded",
  "purchase.disputed",
  "purchase.dispute_closed",
  "tier.changed",
  "attention.raised",
] as const;
export type OutboundEventType = (typeof OUTBOUND_EVENT_TYPES)[number];

/** What each type reports, for the endpoint form and the OpenAPI document. */
export const OUTBOUND_EVENT_LABELS: Record<OutboundEventType, string> = {
  "credits.granted": "Credits granted (purchase, allowance, manual credit, dispute won)",
  "credits.debited": "Credits debited (high volume: opt-in)",
  "credits.clawed_back": "Credits taken back (refund, dispute hold)",
  "credits.expired": "Credits expired",
  "credits.expiring": "Credits about to expire",
  "balance.low": "Balance fell below the user's low-balance threshold",
  "purchase.refunded": "A purchase was refunded",
  "purchase.disputed": "A purchase was disputed",
  "purchase.dispute_closed": "A dispute was closed (won or lost)",
  "tier.changed": "The user's tier changed",
  "attention.raised": "An attention item was raised (ops tooling)",
};

/** A new endpoint subscribes to everything but the high-volume debits unless told otherwise. */
export const DEFAULT_OUTBOUND_EVENT_TYPES: OutboundEventType[] = OUTBOUND_EVENT_TYPES.filter(
  (t) => t !== "credits.debited",
);

export function isOutboundEventType(value: string): value is OutboundEventType {
  return (OUTBOUND_EVENT_TYPES as readonly string[]).includes(value);
}

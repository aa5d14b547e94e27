/**
 * Labels, help texts and option lists of the operations pages. Client-safe (no server imports):
 * route components render them, and the server-side schemas validate against the same lists.
 */

export const DELIVERY_OUTCOMES = [
  "accepted",
  "processed",
  "duplicate",
  "ignored",
  "needs_attention",
  "failed",
  "invalid_signature",
  "stale",
  "livemode_mismatch",
  "malformed",
  "too_large",
] as const;

/** What each outcome means for whoever reads the list. */
export const OUTCOME_HELP: Record<(typeof DELIVERY_OUTCOMES)[number], string> = {
  accepted:
    "Verified and stored; the event queue acts on it moments later (its status is shown beside it).",
  processed: "Verified and acted on (deliveries recorded before the event queue existed).",
  duplicate:
    "Verified; the event was already stored (processed or queued), so nothing was done again.",
  ignored: "Verified; the event type is not one creditdesk acts on.",
  needs_attention:
    "Verified; it could not be acted on automatically and is in the attention queue.",
  failed: "Not stored: the database was unavailable, so the 5xx asks Stripe to retry.",
  invalid_signature:
    "Refused: the Stripe-Signature header did not match any configured signing secret.",
  stale:
    "Refused: the signature timestamp is more than 5 minutes old (replayed request or clock skew).",
  livemode_mismatch: "Refused: a live event sent to a test-mode setup, or the other way round.",
  malformed:
    "Refused: the signed body was not a Stripe event, or one the database cannot store (a NUL character, an unpaired surrogate, a number beyond ±1.8e308); answered 400 so Stripe does not send it again.",
  too_large: "Refused: the body was over 1 MB.",
};

/** A title and what-to-do for each kind; a kind added later without one is shown by its code. */
export const KIND_LABELS: Record<string, { title: string; help: string } | undefined> = {
  unmatched_user: {
    title: "Paid sessions that match no user",
    help: "Stripe took the money but no user could be resolved (no client_reference_id, unknown customer, no single user with that email). Assign the right user to credit it.",
  },
  unknown_price: {
    title: "Paid sessions with a price that is not a credit pack",
    help: "A line item's price has no mirrored pack. Add metadata.credits to the price in Stripe, then retry: packs are synced before the session is fulfilled again.",
  },
  amount_mismatch: {
    title: "Sessions that do not match their pack",
    help: "The price in Stripe no longer says what the mirrored pack says. Fix the price or its metadata, then retry.",
  },
  failed_event: {
    title: "Stripe events that failed",
    help: "Processing raised an error that retrying would not fix by itself. Fix the cause, then replay the event.",
  },
  unrecovered_credits: {
    title: "Credits a refund could not claw back",
    help: "The user had already spent them. Decide with finance whether to recover them; resolve with what was decided.",
  },
  webhook_gap: {
    title: "Webhook gaps found by reconciliation",
    help: "Reconciliation had to credit purchases the webhook never delivered. Check the webhook checks on the Webhooks page.",
  },
  dispute_lost: {
    title: "Lost disputes",
    help: "The bank sided with the customer; the held credits stay removed. Resolve once the customer has been contacted.",
  },
  reconciliation_error: {
    title: "Sessions reconciliation could not process",
    help: "An error stopped the nightly check for this session. Read the detail, fix the cause, then retry the session or run reconciliation again.",
  },
  alert_delivery: {
    title: "Alerts that could not be sent",
    help: "An alert (e.g. about a webhook gap) could not be delivered to its channel. Check the alert configuration.",
  },
  outbound_endpoint_disabled: {
    title: "Event endpoints disabled after failing",
    help: "An endpoint of the product failed for 3 days, 1,000 times in a row, or answered 410 Gone, so events are no longer sent to it. Fix the receiver, enable the endpoint (npm run cli -- endpoints disable --id ID --enable) and replay the failed deliveries (npm run cli -- events replay --since …).",
  },
};

/** What each session outcome means, for the run detail page. */
export const ITEM_OUTCOME_HELP = {
  credited_now:
    "Paid in Stripe but not credited here: this run credited it (the webhook never did).",
  already_credited: "Already credited (by the webhook, the success page or an earlier run).",
  not_paid: "Completed but not paid yet (async payment pending); nothing to credit.",
  unmatched_user: "Paid, but no user matches: it is in the attention queue to be assigned.",
  unknown_price: "Paid, but a price is not a credit pack: it is in the attention queue.",
  amount_mismatch: "Paid, but the pack no longer matches the price: it is in the attention queue.",
  refund_missing: "Stripe had a refund the ledger lacked: this run applied it.",
  no_credits:
    "A subscription session whose prices grant no credits (the tier comes from subscription events).",
  error: "Could not be processed; the detail says why.",
} as const satisfies Record<string, string>;

export const ACTOR_TYPES = ["staff", "api_key", "system", "cli"] as const;

/** Actions written today, offered as suggestions; any action (or prefix such as "attention.") can be typed. */
export const KNOWN_ACTIONS = [
  "adjustment.approve",
  "adjustment.reject",
  "adjustment.request",
  "api_key.create",
  "api_key.revoke",
  "attention.assign_credit",
  "attention.dismiss",
  "attention.resolve",
  "attention.retry_session",
  "checkout.manual_fulfill",
  "checkout_session.create",
  "checkout_session.fulfill",
  "credits.adjust",
  "credits.debit",
  "dispute.opened",
  "export.ledger",
  "export.purchases",
  "packs.sync",
  "purchase.credited",
  "reconciliation.dry_run",
  "reconciliation.run",
  "refund.applied",
  "staff.create",
  "staff.disable",
  "staff.login",
  "staff.password_change",
  "staff.password_reset",
  "user.create",
  "user.tier_change",
  "user.update",
  "webhook.replay",
] as const;

export const TARGET_TYPES = [
  "user",
  "purchase",
  "attention_item",
  "stripe_event",
  "staff",
  "api_key",
  "adjustment_request",
  "reconciliation_run",
  "checkout_session",
  "credit_packs",
  "purchases",
  "ledger",
] as const;

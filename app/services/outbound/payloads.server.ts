import { z } from "zod";
import { named } from "../api/schemas.server";
import { OUTBOUND_EVENT_LABELS, type OutboundEventType } from "~/shared/outbound";

/**
 * The documented payload of every outbound event type: `{type, timestamp, data}`. The data is
 * built by the outbox triggers (prisma/migrations/20261202094649_outbound_events and
 * 20261202102500_outbound_grants); these schemas are what the OpenAPI document lists under
 * `webhooks` (app/services/api/operations.server.ts) and what the tests parse every delivered body
 * with, so SQL and documentation cannot drift apart unnoticed.
 */

const id = (description: string) => z.string().meta({ description });
const nullableId = (description: string) => z.string().nullable().meta({ description });
const int = (description: string) => z.number().int().meta({ description });
const at = (description: string) => z.string().meta({ description, format: "date-time" });

const ledgerData = named(
  "LedgerEventData",
  z.strictObject({
    userId: id("The main app's user id"),
    delta: int("Signed change of the balance"),
    amount: int("Size of the change (credits, positive)"),
    balanceAfter: int("The user's balance after this entry"),
    ledgerEntryId: id("Ledger entry id"),
    seq: int("The entry's per-user sequence number (gapless, starting at 1)"),
    kind: z.string().meta({
      description:
        "Ledger kind: purchase, grant, manual_credit, dispute_release, reversal, usage, manual_debit, refund_clawback, dispute_hold, expiry",
    }),
    reason: z.string().nullable(),
    idempotencyKey: id("The entry's idempotency key (a debit's: api:<user>:<your key>)"),
    purchaseId: nullableId("The purchase concerned, if any"),
    grantId: nullableId("The credit grant this entry created (credits), if any"),
    allocations: z
      .array(z.strictObject({ grantId: z.string().nullable(), delta: z.number().int() }))
      .meta({ description: "How the entry moved credits across grants (null grant: debt)" }),
    holdId: nullableId("The API hold concerned, if any"),
    stripeEventId: nullableId("The Stripe event that caused it, if any"),
    reversesId: nullableId("The entry this one reverses or releases, if any"),
    createdAt: at("Ledger time of the entry"),
    test: z.boolean().optional().meta({ description: "Present (true) on a Send test event ping" }),
  }),
);

const balanceLowData = named(
  "BalanceLowEventData",
  z.strictObject({
    userId: id("The main app's user id"),
    balanceAfter: int("Balance after the entry that crossed the threshold"),
    balanceBefore: int("Balance before it (at or above the threshold)"),
    threshold: int(
      "The user's low-balance threshold (PUT /users/{id}/thresholds), else the default",
    ),
    ledgerEntryId: id("The entry that crossed it"),
    seq: int("Its per-user sequence number"),
    kind: z.string(),
    purchaseId: z.string().nullable(),
    createdAt: at("Ledger time of the entry"),
  }),
);

const expiringData = named(
  "CreditsExpiringEventData",
  z.strictObject({
    userId: id("The main app's user id"),
    grantId: id("The credit grant about to expire"),
    remaining: int("Credits of the grant not yet spent"),
    amount: int("Same as remaining"),
    expiresAt: at("When they expire"),
    daysBefore: int("The configured notice (OUTBOUND_EXPIRING_DAYS)"),
    source: z.string().meta({
      description: "Grant source: purchase, subscription_period, manual, promotion, opening",
    }),
    purchaseId: z.string().nullable(),
    balanceAfter: int("The user's balance now"),
    ledgerEntryId: id("The entry that created the grant"),
    seq: int("Its per-user sequence number"),
  }),
);

const refundData = named(
  "PurchaseRefundedEventData",
  z.strictObject({
    userId: id("The main app's user id"),
    purchaseId: id("The purchase"),
    refundId: id("Stripe refund id (re_…)"),
    amount: int("Refunded, in minor units of currency"),
    currency: z.string(),
    creditsClawedBack: int("Credits taken back for this refund"),
    creditsUnrecovered: int("Credits that could not be taken back"),
    purchaseStatus: z.string(),
    balanceAfter: int("The user's balance after the refund"),
    ledgerEntryId: nullableId("The clawback entry (null when nothing was taken back)"),
    seq: z.number().int().nullable(),
    createdAt: at("When the refund was applied"),
  }),
);

const disputeData = named(
  "PurchaseDisputeEventData",
  z.strictObject({
    userId: id("The main app's user id"),
    purchaseId: id("The purchase"),
    disputeId: id("Stripe dispute id"),
    amount: int("Disputed, in minor units of currency"),
    currency: z.string(),
    reason: z.string().nullable(),
    status: z.string().meta({ description: "Stripe's dispute status (won, lost … when closed)" }),
    creditsHeld: int("Credits held while the dispute is open"),
    purchaseStatus: z.string(),
    balanceAfter: int("The user's balance after the hold or release"),
    ledgerEntryId: nullableId("The hold (disputed) or release (closed, won) entry, if any"),
    seq: z.number().int().nullable(),
    createdAt: at("When it happened"),
  }),
);

const tierData = named(
  "TierChangedEventData",
  z.strictObject({
    userId: id("The main app's user id"),
    tierChangeId: id("Tier change id"),
    from: z.string().nullable(),
    to: z.string(),
    source: z
      .string()
      .meta({ description: "purchase, subscription, manual, dispute, refund, system" }),
    sourceRef: z.string().nullable(),
    reason: z.string().nullable(),
    balanceAfter: int("The user's balance"),
    createdAt: at("When the tier changed"),
  }),
);

const attentionData = named(
  "AttentionRaisedEventData",
  z.strictObject({
    attentionItemId: id("Attention item id (dashboard: /attention/<id>)"),
    kind: z.string(),
    title: z.string(),
    userId: z.string().nullable(),
    balanceAfter: z.number().int().nullable(),
    purchaseId: z.string().nullable(),
    checkoutSessionId: z.string().nullable(),
    stripeEventId: z.string().nullable(),
    createdAt: at("When it was raised"),
  }),
);

const DATA: Record<OutboundEventType, z.ZodType> = {
  "credits.granted": ledgerData,
  "credits.debited": ledgerData,
  "credits.clawed_back": ledgerData,
  "credits.expired": ledgerData,
  "credits.expiring": expiringData,
  "balance.low": balanceLowData,
  "purchase.refunded": refundData,
  "purchase.disputed": disputeData,
  "purchase.dispute_closed": disputeData,
  "tier.changed": tierData,
  "attention.raised": attentionData,
};

function envelopeName(type: string): string {
  return `${type
    .split(/[._]/)
    .map((p) => p[0].toUpperCase() + p.slice(1))
    .join("")}Event`;
}

/** The whole body of each type, `{type, timestamp, data}`, registered for the document. */
export const outboundPayloadSchemas = Object.fromEntries(
  (Object.keys(DATA) as OutboundEventType[]).map((type) => [
    type,
    named(
      envelopeName(type),
      z
        .strictObject({
          type: z.literal(type),
          timestamp: at("When the event was recorded"),
          data: DATA[type],
        })
        .meta({ description: OUTBOUND_EVENT_LABELS[type] }),
    ),
  ]),
) as unknown as Record<OutboundEventType, z.ZodType>;

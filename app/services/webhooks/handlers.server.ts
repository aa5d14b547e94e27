import type Stripe from "stripe";
import type { EventSource } from "~/generated/prisma/enums";
import { attentionKeys, raiseAttention } from "../attention.server";
import { applyInvoicePaid } from "../grants/allowances.server";
import { applyDispute } from "../disputes.server";
import { NotFoundError } from "../errors.server";
import {
  needsAttention,
  purchaseOf,
  summary,
  userOf,
  type AttentionOutcome,
} from "../fulfillment-result.server";
import { fulfillCheckoutSession, type FulfillResult, type FulfillVia } from "../fulfillment.server";
import { logger, scrubSecrets } from "../infra/logger.server";
import { applyChargeRefunds } from "../refunds.server";
import { applySubscription } from "../subscriptions.server";
import { isTransientError } from "../infra/transient.server";
import { countReplayAttempt, objectIdOf, recordOutcome, storeEvent } from "./event-store.server";

// Callers that imported these from here keep working; their home is event-store.server.ts.
export { objectIdOf, storeEvent };

/**
 * processStripeEvent is the single place a Stripe event is acted on: the webhook endpoint, the
 * reconciliation (events Stripe failed to deliver) and the admin "replay" button all call it.
 * Every handler below is idempotent, so processing an event twice changes nothing.
 */

export const HANDLED_EVENT_TYPES = [
  "checkout.session.completed",
  "checkout.session.async_payment_succeeded",
  "checkout.session.async_payment_failed",
  "checkout.session.expired",
  "charge.refunded",
  "charge.dispute.created",
  "charge.dispute.closed",
  "customer.subscription.created",
  "customer.subscription.updated",
  "customer.subscription.deleted",
  "invoice.paid",
] as const;
const HANDLED = new Set<string>(HANDLED_EVENT_TYPES);

export function isHandledEventType(type: string): boolean {
  return HANDLED.has(type);
}

export type EventStatus = "processed" | "ignored" | "needs_attention" | "failed";

export interface ProcessResult {
  eventId: string;
  type: string;
  /** "duplicate": already processed or ignored, nothing was done (replays always re-run). */
  status: EventStatus | "duplicate";
  detail: string | null;
  userId: string | null;
  purchaseId: string | null;
  /** Set when status is "failed" because of an error. */
  error?: string;
  /** What fulfillment did, for the Checkout Session events that ran it (typed, not parsed from `detail`). */
  fulfillment?: FulfillResult;
  /** Why the event needs a person, when status is "needs_attention". */
  attention?: AttentionKind;
}

/** The attention kinds an event can end in: fulfillment's, or a subscription without a user. */
export type AttentionKind = AttentionOutcome;

interface HandlerOutcome {
  status: EventStatus;
  detail: string | null;
  userId?: string | null;
  purchaseId?: string | null;
  fulfillment?: FulfillResult;
  attention?: AttentionKind;
}

/** The attention item for an event that could not be acted on (one open item per event). */
export function raiseFailedEvent(event: Stripe.Event, detail: string, source: EventSource) {
  return raiseAttention({
    kind: "failed_event",
    dedupeKey: attentionKeys.failedEvent(event.id),
    title: `Stripe event ${event.id} (${event.type}) failed`,
    detail: `${detail} Fix the cause, then replay the event.`,
    stripeEventId: event.id,
    checkoutSessionId: event.type.startsWith("checkout.session.") ? objectIdOf(event) : null,
    data: { type: event.type, source },
  });
}

function viaFor(source: EventSource): FulfillVia {
  if (source === "reconciliation") return "reconciliation";
  return source === "replay" ? "manual" : "webhook";
}

function fromFulfillment(r: FulfillResult): HandlerOutcome {
  return {
    status: needsAttention(r) ? "needs_attention" : "processed",
    detail: summary(r),
    userId: userOf(r),
    purchaseId: purchaseOf(r)?.id ?? null,
    fulfillment: r,
    ...(needsAttention(r) ? { attention: r.outcome } : {}),
  };
}

async function handle(event: Stripe.Event, source: EventSource): Promise<HandlerOutcome> {
  const via = viaFor(source);
  const stripeEventId = event.id;
  switch (event.type) {
    case "checkout.session.completed":
    case "checkout.session.async_payment_succeeded": {
      const session = event.data.object as Stripe.Checkout.Session;
      return fromFulfillment(await fulfillCheckoutSession(session.id, via, { stripeEventId }));
    }
    case "checkout.session.async_payment_failed":
      return { status: "processed", detail: "async payment failed: nothing to credit" };
    case "checkout.session.expired":
      return { status: "processed", detail: "session expired unpaid: nothing to credit" };
    case "charge.refunded": {
      const r = await applyChargeRefunds(event.data.object as Stripe.Charge, {
        via,
        stripeEventId,
      });
      if (r.outcome === "no_purchase") return { status: "ignored", detail: r.detail };
      const clawed = r.applied.reduce((s, a) => s + a.creditsClawed, 0);
      return {
        status: "processed",
        detail: r.applied.length
          ? `applied ${r.applied.length} refund(s), clawed back ${clawed} credits`
          : "refunds already applied",
        userId: r.purchase.userId,
        purchaseId: r.purchase.id,
      };
    }
    case "charge.dispute.created":
    case "charge.dispute.closed": {
      const r = await applyDispute(event.data.object as Stripe.Dispute, { via, stripeEventId });
      if (r.outcome === "no_purchase") return { status: "ignored", detail: r.detail };
      return {
        status: "processed",
        detail: `dispute ${r.state}${r.changed ? "" : " (no change)"}`,
        userId: r.purchase.userId,
        purchaseId: r.purchase.id,
      };
    }
    case "customer.subscription.created":
    case "customer.subscription.updated":
    case "customer.subscription.deleted": {
      const r = await applySubscription(event.data.object as Stripe.Subscription, {
        eventCreated: new Date(event.created * 1000),
        stripeEventId,
      });
      if (r.outcome === "unmatched_user")
        return { status: "needs_attention", detail: r.detail, attention: "unmatched_user" };
      const userId = r.subscription.userId;
      if (r.outcome === "stale")
        return {
          status: "processed",
          detail: "older than the subscription state already applied",
          userId,
        };
      return {
        status: "processed",
        detail: r.tier.changed
          ? `tier ${r.tier.from} → ${r.tier.to}`
          : `subscription ${r.subscription.status}`,
        userId,
      };
    }
    case "invoice.paid": {
      const r = await applyInvoicePaid(event.data.object as Stripe.Invoice, {
        stripeEventId,
        eventCreated: new Date(event.created * 1000),
      });
      if (r.outcome === "unmatched_user")
        return { status: "needs_attention", detail: r.detail, attention: "unmatched_user" };
      if (r.outcome === "no_credits")
        return { status: "processed", detail: r.detail, userId: r.userId ?? null };
      return {
        status: "processed",
        detail: r.created
          ? `subscription allowance: ${r.credits} credits`
          : "subscription allowance already granted",
        userId: r.userId,
      };
    }
    default:
      return { status: "ignored", detail: `event type ${event.type} is not handled` };
  }
}

/** Write the event's outcome (and take it off the webhook queue). */
function recordStatus(eventId: string, o: HandlerOutcome, error: string | null): Promise<void> {
  return recordOutcome(eventId, {
    status: o.status,
    lastError: error ?? (o.status === "processed" ? null : o.detail),
    userId: o.userId ?? null,
    purchaseId: o.purchaseId ?? null,
  });
}

export const DONE_STATUSES = new Set(["processed", "ignored"]);

/**
 * Act on one event. `input` is an event object (webhook queue, reconciliation) or the id of a
 * stored event (replay). Unless `opts.stored` says the caller already stored it, the event row
 * is created or its attempts counted here. A transient failure (database or Stripe unreachable)
 * is re-thrown so the caller can retry — recorded as `failed` first, unless `opts.queued` says
 * the webhook queue will schedule the retry itself; any other failure is recorded as `failed`
 * with a `failed_event` attention item and returned.
 */
export async function processStripeEvent(
  input: string | Stripe.Event,
  source: EventSource,
  opts: { stored?: boolean; queued?: boolean } = {},
): Promise<ProcessResult> {
  let event: Stripe.Event;
  if (typeof input === "string") {
    const stored = await countReplayAttempt(input);
    if (!stored) throw new NotFoundError("Stripe event", input, "eventId");
    event = stored;
  } else {
    event = input;
    if (!opts.stored) {
      const stored = await storeEvent(event, source);
      if (DONE_STATUSES.has(stored.status) && source !== "replay") {
        return {
          eventId: event.id,
          type: event.type,
          status: "duplicate",
          detail: `already ${stored.status}`,
          userId: null,
          purchaseId: null,
        };
      }
    }
  }

  let outcome: HandlerOutcome;
  try {
    outcome = HANDLED.has(event.type)
      ? await handle(event, source)
      : { status: "ignored", detail: `event type ${event.type} is not handled` };
  } catch (error) {
    const message = scrubSecrets((error as Error)?.message ?? String(error)).slice(0, 2000);
    const failed: HandlerOutcome = { status: "failed", detail: message };
    if (isTransientError(error)) {
      if (opts.queued) throw error;
      // Best effort: the database may be the thing that is down.
      await recordStatus(event.id, failed, `transient: ${message}`).catch(() => undefined);
      logger.warn(
        { eventId: event.id, type: event.type, err: message },
        "event processing failed transiently; will be retried",
      );
      throw error;
    }
    logger.error({ eventId: event.id, type: event.type, err: message }, "event processing failed");
    await raiseFailedEvent(event, message, source);
    const result: ProcessResult = {
      eventId: event.id,
      type: event.type,
      status: "failed",
      detail: message,
      userId: null,
      purchaseId: null,
      error: message,
    };
    await recordStatus(event.id, failed, message);
    return result;
  }
  const result: ProcessResult = {
    eventId: event.id,
    type: event.type,
    status: outcome.status,
    detail: outcome.detail,
    userId: outcome.userId ?? null,
    purchaseId: outcome.purchaseId ?? null,
    ...(outcome.fulfillment ? { fulfillment: outcome.fulfillment } : {}),
    ...(outcome.attention ? { attention: outcome.attention } : {}),
  };
  await recordStatus(event.id, outcome, null);
  return result;
}

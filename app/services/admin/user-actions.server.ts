import { z } from "zod";
import Stripe from "stripe";
import { isCheckoutSessionId, PAYMENT_REF_ID } from "~/shared/ids";
import { writeAudit } from "../audit.server";
import { getDb } from "../infra/db.server";
import { DomainError, ValidationError } from "../errors.server";
import { fulfillCheckoutSession, type FulfillResult } from "../fulfillment.server";
import { setUserTier } from "../tiers.server";
import { getStripe } from "../infra/stripe-client.server";
import { requestSessionAssignment, type StaffActor } from "./adjustments.server";
import { stripeFailureToDomainError } from "../stripe-failure.server";

const actorOf = (staff: StaffActor) => ({
  type: "staff" as const,
  id: staff.id,
  label: staff.email,
  ip: staff.ip ?? null,
});

export const tierChangeSchema = z.object({
  tier: z.string({ error: "Choose a tier." }).trim().min(1, { error: "Choose a tier." }).max(64),
  reason: z
    .string({ error: "Write a reason." })
    .trim()
    .min(10, { error: "Write at least 10 characters, so the next person understands why." })
    .max(500, { error: "Keep the reason under 500 characters." }),
});

/** Manual tier change by staff (stands until the next event that recomputes the tier). */
export async function changeTier(
  userId: string,
  input: z.output<typeof tierChangeSchema>,
  staff: StaffActor,
) {
  return getDb().$transaction(async (tx) => {
    const result = await setUserTier(tx, userId, input.tier, {
      source: "manual",
      staffId: staff.id,
      reason: input.reason,
    });
    if (!result.changed)
      throw new ValidationError(`The user is already on the ${input.tier} tier.`, "tier");
    await writeAudit(
      {
        actor: actorOf(staff),
        action: "user.tier_change",
        targetType: "user",
        targetId: userId,
        before: { tier: result.from },
        after: { tier: result.to },
        reason: input.reason,
      },
      tx,
    );
    return result;
  });
}

export const creditSessionSchema = z.object({
  sessionId: z
    .string({ error: "Enter a Checkout Session, payment intent or charge id." })
    .trim()
    .min(1, { error: "Enter a Checkout Session, payment intent or charge id." })
    .regex(PAYMENT_REF_ID, {
      error:
        "Enter an id that starts with cs_ (Checkout Session), pi_ (payment intent) or ch_ (charge).",
    }),
  /** Set by "assign to this user": credit the session to the page's user. */
  assign: z.preprocess((v) => v === "yes", z.boolean()),
  /** Why, when the session names another user (the request for approval shows it). */
  reason: z.preprocess(
    (v) => (typeof v === "string" && v.trim() !== "" ? v.trim() : undefined),
    z
      .string()
      .min(10, { error: "Write at least 10 characters, so the approver understands why." })
      .max(500, { error: "Keep the reason under 500 characters." })
      .optional(),
  ),
});

export type CreditSessionView =
  | {
      outcome: "credited";
      sessionId: string;
      purchaseId: string;
      credits: number;
      userId: string;
      otherUser: boolean;
    }
  | {
      outcome: "already_credited";
      sessionId: string;
      purchaseId: string;
      userId: string;
      otherUser: boolean;
    }
  | { outcome: "not_paid"; sessionId: string; paymentStatus: string }
  | {
      outcome: "unmatched_user";
      sessionId: string;
      detail: string;
      email: string | null;
      amount: number;
      currency: string;
    }
  | { outcome: "unknown_price"; sessionId: string; detail: string; priceIds: string[] }
  | { outcome: "amount_mismatch" | "no_credits"; sessionId: string; detail: string }
  | {
      outcome: "approval_requested";
      sessionId: string;
      requestId: string;
      credits: number;
      namedUserId: string;
      created: boolean;
    };

function toView(userId: string, sessionId: string, r: FulfillResult): CreditSessionView {
  switch (r.outcome) {
    case "credited":
      return {
        outcome: "credited",
        sessionId,
        purchaseId: r.purchase?.id ?? "",
        credits: r.credits,
        userId: r.userId,
        otherUser: r.userId !== userId,
      };
    case "already_credited":
      return {
        outcome: "already_credited",
        sessionId,
        purchaseId: r.purchase.id,
        userId: r.purchase.userId,
        otherUser: r.purchase.userId !== userId,
      };
    case "not_paid":
      return { outcome: "not_paid", sessionId, paymentStatus: r.paymentStatus };
    case "unmatched_user":
      return {
        outcome: "unmatched_user",
        sessionId,
        detail: r.detail,
        email: r.session.email,
        amount: r.session.amountTotal,
        currency: r.session.currency,
      };
    case "unknown_price":
      return { outcome: "unknown_price", sessionId, detail: r.detail, priceIds: r.priceIds };
    default:
      return { outcome: r.outcome, sessionId, detail: r.detail };
  }
}

/** A Stripe call from the support desk: 404 → a field message naming the id, others → 502. */
async function askStripe<T>(what: string, id: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (
      (error instanceof DomainError && error.status === 404) ||
      (error instanceof Stripe.errors.StripeInvalidRequestError && error.statusCode === 404)
    ) {
      throw new ValidationError(
        `${id} was not found in creditdesk or Stripe. Check the id (test and live ids differ).`,
        "sessionId",
      );
    }
    throw stripeFailureToDomainError(error, what) ?? error;
  }
}

/**
 * The Checkout Session behind an id support was given: a cs_ as is; a pi_ by listing sessions
 * with that payment intent; a ch_ through its payment intent. Read-only.
 */
export async function resolveSessionRef(ref: string): Promise<string> {
  if (isCheckoutSessionId(ref)) return ref;
  const stripe = getStripe();
  let paymentIntent = ref;
  if (ref.startsWith("pi_")) {
    // Asked first so an unknown id says "not found", not "paid outside Checkout".
    await askStripe("about this payment intent", ref, () => stripe.paymentIntents.retrieve(ref));
  } else {
    const charge = await askStripe("about this charge", ref, () => stripe.charges.retrieve(ref));
    const pi = charge.payment_intent;
    paymentIntent = typeof pi === "string" ? pi : (pi?.id ?? "");
    if (!paymentIntent) {
      throw new ValidationError(
        `Charge ${ref} has no payment intent, so no Checkout Session made it.`,
        "sessionId",
      );
    }
  }
  const list = await askStripe("for the payment's Checkout Session", ref, () =>
    stripe.checkout.sessions.list({ payment_intent: paymentIntent, limit: 1 }),
  );
  const session = list.data[0];
  if (!session) {
    throw new ValidationError(
      `No Checkout Session made ${ref} (${paymentIntent}): it was paid outside Checkout, so there is nothing to credit here.`,
      "sessionId",
    );
  }
  return session.id;
}

/** What "Credit this purchase" would do, shown in its confirmation before anything is credited. */
export interface SessionPreview {
  sessionId: string;
  outcome: string;
  /** The user the session itself resolves to (reference, metadata, customer or email). */
  namedUserId: string | null;
  namedUserEmail: string | null;
  resolvedBy: string | null;
  /** Crediting to this page's user would go against what the session names. */
  namesAnotherUser: boolean;
  credits: number | null;
  amount: number;
  currency: string;
  paymentStatus: string;
  paymentIntentId: string | null;
  customerId: string | null;
  email: string | null;
  createdAt: string;
  livemode: boolean;
  purchaseId: string | null;
  detail: string | null;
  /** Manual credits this user got in the last 7 days (the double-credit guard). */
  recentManualCredits: { seq: number; kind: string; delta: number; createdAt: Date }[];
}

/** Look a session (or the payment behind it) up in Stripe and work out what crediting would do. */
export async function previewSession(userId: string, ref: string): Promise<SessionPreview> {
  const db = getDb();
  const sessionId = await resolveSessionRef(ref);
  const result = await askStripe("about this session", sessionId, () =>
    fulfillCheckoutSession(sessionId, "manual", { dryRun: true }),
  );
  // A session that names nobody would be assigned to this user: how many credits that makes.
  const assigned =
    result.outcome === "unmatched_user"
      ? await askStripe("about this session", sessionId, () =>
          fulfillCheckoutSession(sessionId, "manual", { dryRun: true, assignUserId: userId }),
        )
      : null;
  const since = new Date(Date.now() - 7 * 86_400_000);
  const recentManualCredits = await db.ledgerEntry.findMany({
    where: { userId, delta: { gt: 0 }, kind: "manual_credit", createdAt: { gte: since } },
    orderBy: { seq: "desc" },
    take: 20,
    select: { seq: true, kind: true, delta: true, createdAt: true },
  });
  const namedUserId =
    result.outcome === "would_credit"
      ? result.userId
      : result.outcome === "already_credited"
        ? result.purchase.userId
        : null;
  const named = namedUserId
    ? await db.user.findUnique({ where: { id: namedUserId }, select: { email: true } })
    : null;
  let facts = result.session;
  if (!facts) {
    // Already credited and the cheap exit answered without Stripe: the purchase says what it was.
    const p = result.outcome === "already_credited" ? result.purchase : null;
    facts = {
      id: sessionId,
      paymentStatus: "paid",
      status: "complete",
      amountTotal: p?.amountTotal ?? 0,
      currency: p?.currency ?? "usd",
      createdAt: p?.createdAt ?? new Date(),
      livemode: p?.livemode ?? false,
      customerId: p?.stripeCustomerId ?? null,
      email: null,
      paymentIntentId: p?.paymentIntentId ?? null,
    };
  }
  return {
    sessionId,
    outcome: result.outcome,
    namedUserId,
    namedUserEmail: named?.email ?? null,
    resolvedBy: result.outcome === "would_credit" ? result.resolvedBy : null,
    namesAnotherUser: namedUserId !== null && namedUserId !== userId,
    credits:
      result.outcome === "would_credit"
        ? result.credits
        : assigned?.outcome === "would_credit"
          ? assigned.credits
          : null,
    amount: facts.amountTotal,
    currency: facts.currency,
    paymentStatus: facts.paymentStatus,
    paymentIntentId: facts.paymentIntentId,
    customerId: facts.customerId,
    email: facts.email,
    createdAt: facts.createdAt.toISOString(),
    livemode: facts.livemode,
    purchaseId: result.outcome === "already_credited" ? result.purchase.id : null,
    detail: "detail" in result ? result.detail : null,
    recentManualCredits,
  };
}

/**
 * "Credit this Checkout Session": runs the shared fulfillment (the same code as the webhook and
 * reconciliation, so it credits at most once) and reports what happened in words support can act on.
 * With `assign`, the session goes to this page's user: directly when it names nobody (or this
 * user); as a request for a second person's approval when it names another user.
 */
export async function creditSession(
  userId: string,
  input: z.output<typeof creditSessionSchema>,
  staff: StaffActor,
): Promise<CreditSessionView> {
  const sessionId = await resolveSessionRef(input.sessionId);
  let view: CreditSessionView | null = null;
  let assignUserId: string | undefined;
  if (input.assign) {
    const dry = await askStripe("about this session", sessionId, () =>
      fulfillCheckoutSession(sessionId, "manual", { dryRun: true }),
    );
    if (dry.outcome === "would_credit" && dry.userId !== userId) {
      if (!input.reason) {
        throw new ValidationError(
          `This session names another user (${dry.userId}). Crediting it to this user needs a reason and a second person's approval.`,
          "reason",
        );
      }
      const { request, created } = await requestSessionAssignment(
        userId,
        { sessionId, credits: dry.credits, namedUserId: dry.userId, reason: input.reason },
        staff,
      );
      view = {
        outcome: "approval_requested",
        sessionId,
        requestId: request.id,
        credits: dry.credits,
        namedUserId: dry.userId,
        created,
      };
    } else if (dry.outcome === "unmatched_user") {
      assignUserId = userId;
    }
  }
  if (!view) {
    const result = await askStripe("about this session", sessionId, () =>
      fulfillCheckoutSession(sessionId, "manual", {
        staffId: staff.id,
        ...(assignUserId ? { assignUserId } : {}),
      }),
    );
    view = toView(userId, sessionId, result);
  }
  await writeAudit({
    actor: actorOf(staff),
    action: "checkout.manual_fulfill",
    targetType: "user",
    targetId: userId,
    after: {
      sessionId,
      ref: input.sessionId,
      outcome: view.outcome,
      assign: input.assign,
      ...("purchaseId" in view ? { purchaseId: view.purchaseId } : {}),
      ...("requestId" in view ? { requestId: view.requestId } : {}),
    },
  });
  return view;
}

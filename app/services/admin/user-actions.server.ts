import { z } from "zod";
import { CHECKOUT_SESSION_ID } from "~/shared/ids";
import { writeAudit } from "../audit.server";
import { getDb } from "../infra/db.server";
import { DomainError, ValidationError } from "../errors.server";
import { fulfillCheckoutSession, type FulfillResult } from "../fulfillment.server";
import { setUserTier } from "../tiers.server";
import type { StaffActor } from "./adjustments.server";
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
    .string({ error: "Enter a Checkout Session id." })
    .trim()
    .min(1, { error: "Enter a Checkout Session id." })
    .regex(CHECKOUT_SESSION_ID, {
      error: "A Checkout Session id starts with cs_ (e.g. cs_test_a1B2…).",
    }),
  /** Set by the "assign to this user" follow-up after an unmatched-user outcome. */
  assign: z.preprocess((v) => v === "yes", z.boolean()),
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
  | { outcome: "amount_mismatch" | "no_credits"; sessionId: string; detail: string };

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

/**
 * "Credit this Checkout Session": runs the shared fulfillment (the same code as the webhook and
 * reconciliation, so it credits at most once) and reports what happened in words support can act on.
 */
export async function creditSession(
  userId: string,
  input: z.output<typeof creditSessionSchema>,
  staff: StaffActor,
): Promise<CreditSessionView> {
  let result: FulfillResult;
  try {
    result = await fulfillCheckoutSession(input.sessionId, "manual", {
      staffId: staff.id,
      ...(input.assign ? { assignUserId: userId } : {}),
    });
  } catch (error) {
    if (error instanceof DomainError && error.status === 404) {
      throw new ValidationError(
        `Stripe has no Checkout Session ${input.sessionId}. Check the id (test and live ids differ).`,
        "sessionId",
      );
    }
    throw stripeFailureToDomainError(error, "about this session") ?? error;
  }
  const view = toView(userId, input.sessionId, result);
  await writeAudit({
    actor: actorOf(staff),
    action: "checkout.manual_fulfill",
    targetType: "user",
    targetId: userId,
    after: {
      sessionId: input.sessionId,
      outcome: view.outcome,
      assign: input.assign,
      ...("purchaseId" in view ? { purchaseId: view.purchaseId } : {}),
    },
  });
  return view;
}

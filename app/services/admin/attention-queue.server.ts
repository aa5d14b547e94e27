import { z } from "zod";
import { DATE_RANGE_ISSUE, isDateRangeOrdered } from "~/shared/date-range";
import { ATTENTION_KINDS, dismissAttention, resolveAttention } from "../attention.server";
import { writeAudit } from "../audit.server";
import { getDb } from "../infra/db.server";
import { ConflictError, DomainError, NotFoundError, ValidationError } from "../errors.server";
import { fulfillCheckoutSession, type FulfillResult } from "../fulfillment.server";
import { syncPacks, type PackSyncReport } from "../packs.server";
import { KIND_LABELS } from "../../shared/ops-labels";
import { cursorParam, optionalDay, optionalEnum, optionalText } from "./forms.server";
import { replayEvent, type StaffRef } from "./webhook-events.server";
import { stripeFailureToDomainError } from "../stripe-failure.server";

/** Kinds the queue knows: the money path's kinds, plus alerts the reconciliation could not send. */
export const QUEUE_KINDS = [...new Set<string>([...ATTENTION_KINDS, "alert_delivery"])] as [
  string,
  ...string[],
];
export type QueueKind = string;
export { KIND_LABELS };

export const queueFilterSchema = z.object({
  kind: optionalEnum(QUEUE_KINDS, "kind"),
  after: cursorParam,
  before: cursorParam,
});
export type QueueFilter = z.output<typeof queueFilterSchema>;

export const historyFilterSchema = z
  .object({
    status: optionalEnum(["resolved", "dismissed"] as const, "status"),
    kind: optionalEnum(QUEUE_KINDS, "kind"),
    by: optionalText(200, "Staff email"),
    from: optionalDay("From"),
    to: optionalDay("To"),
    after: cursorParam,
    before: cursorParam,
  })
  .refine(isDateRangeOrdered, DATE_RANGE_ISSUE);
export type HistoryFilter = z.output<typeof historyFilterSchema>;

// ---------------------------------------------------------------------------------------------
// Fixes

export const itemIdSchema = z.uuid({ error: "The item id is not valid: reload the page." });

export const assignSchema = z.object({
  itemId: itemIdSchema,
  userId: z
    .string({ error: "Choose the user to credit." })
    .trim()
    .min(1, { error: "Choose the user to credit." })
    .max(200, { error: "A user id is at most 200 characters." }),
});

export const itemActionSchema = z.object({ itemId: itemIdSchema });

export const dismissSchema = z.object({
  itemId: itemIdSchema,
  reason: z
    .string({ error: "Write why this item needs no fix." })
    .trim()
    .min(10, { error: "Write at least 10 characters, so the next person understands why." })
    .max(2000, { error: "Keep the reason under 2,000 characters." }),
});

export const resolveSchema = z.object({
  itemId: itemIdSchema,
  resolution: z
    .string({ error: "Write what was done." })
    .trim()
    .min(10, { error: "Write at least 10 characters: what was done, so the next person knows." })
    .max(2000, { error: "Keep the note under 2,000 characters." }),
});

export type FixOutcome = {
  tone: "success" | "info" | "error";
  message: string;
  /** The user whose balance changed, to link to. */
  userId?: string | null;
  packSync?: Pick<PackSyncReport, "created" | "updated" | "deactivated" | "errors" | "pricesSeen">;
};

const actorOf = (staff: StaffRef) => ({
  type: "staff" as const,
  id: staff.id,
  label: staff.email,
  ip: staff.ip ?? null,
});

async function openItem(itemId: string) {
  const item = await getDb().attentionItem.findUnique({ where: { id: itemId } });
  if (!item) throw new NotFoundError("Attention item", itemId, "itemId");
  if (item.status !== "open") {
    throw new ConflictError(
      `This item was already ${item.status}${item.resolution ? `: ${item.resolution}` : "."}`,
      "itemId",
    );
  }
  return item;
}

function stripeFailure(error: unknown): never {
  if (error instanceof DomainError && error.status === 404) {
    throw new ValidationError(
      `${error.message} Stripe does not know this session (test and live ids differ).`,
      "itemId",
    );
  }
  throw stripeFailureToDomainError(error, "about this session") ?? error;
}

function describeFulfillment(r: FulfillResult, sessionId: string): FixOutcome {
  switch (r.outcome) {
    case "credited":
      return {
        tone: "success",
        message: `Credited ${r.credits} credits for ${sessionId} to user ${r.userId}.`,
        userId: r.userId,
      };
    case "already_credited":
      return {
        tone: "info",
        message: `${sessionId} was already credited to user ${r.purchase.userId}; nothing was credited again.`,
        userId: r.purchase.userId,
      };
    case "not_paid":
      return {
        tone: "error",
        message: `${sessionId} is not paid (payment status ${r.paymentStatus}); nothing was credited.`,
      };
    case "unmatched_user":
      return {
        tone: "error",
        message: `Still no user matches ${sessionId}: ${r.detail} Assign a user instead.`,
      };
    case "unknown_price":
      return {
        tone: "error",
        message: `Still not credited: ${r.detail} Add metadata.credits to the price in Stripe and retry.`,
      };
    case "amount_mismatch":
      return { tone: "error", message: `Still not credited: ${r.detail}` };
    case "no_credits":
      return { tone: "info", message: `${sessionId} grants no credits: ${r.detail}` };
  }
}

/**
 * Credit an unmatched session to the user staff chose. The shared fulfillment does the work (so it
 * credits at most once) and closes the item itself when it credits; an item whose session had
 * meanwhile been credited another way is closed here with that explanation.
 */
export async function assignAndCredit(
  input: z.output<typeof assignSchema>,
  staff: StaffRef,
): Promise<FixOutcome> {
  const item = await openItem(input.itemId);
  if (item.kind !== "unmatched_user" || !item.checkoutSessionId) {
    throw new ValidationError(
      "Only a paid Checkout Session without a user can be assigned to a user.",
      "itemId",
    );
  }
  const user = await getDb().user.findUnique({ where: { id: input.userId }, select: { id: true } });
  if (!user)
    throw new ValidationError(
      `No user has the id ${input.userId}. Search again and pick one from the list.`,
      "userId",
    );
  let result: FulfillResult;
  try {
    result = await fulfillCheckoutSession(item.checkoutSessionId, "manual", {
      assignUserId: user.id,
      staffId: staff.id,
    });
  } catch (error) {
    stripeFailure(error);
  }
  const outcome = describeFulfillment(result, item.checkoutSessionId);
  if (result.outcome === "already_credited") {
    await closeIfOpen(
      item.id,
      staff,
      `Already credited to user ${result.purchase.userId} (purchase ${result.purchase.id}); nothing more to do.`,
    );
  }
  await writeAudit({
    actor: actorOf(staff),
    action: "attention.assign_credit",
    targetType: "attention_item",
    targetId: item.id,
    after: {
      sessionId: item.checkoutSessionId,
      assignedUserId: user.id,
      outcome: result.outcome,
      ...(result.outcome === "credited" || result.outcome === "already_credited"
        ? { purchaseId: result.purchase?.id ?? null }
        : {}),
    },
  });
  return outcome;
}

async function closeIfOpen(itemId: string, staff: StaffRef, resolution: string) {
  try {
    await resolveAttention(itemId, { staffId: staff.id, resolution });
  } catch (error) {
    // Closed by someone (or by the fulfillment) in the meantime: that is the state we wanted.
    if (!(error instanceof ConflictError)) throw error;
  }
}

/** Kinds whose fix may be "fulfil the session again". */
export const RETRYABLE_KINDS = [
  "unknown_price",
  "amount_mismatch",
  "unmatched_user",
  "reconciliation_error",
];

/**
 * Retry a session that could not be credited (unknown price, amount mismatch, or a user that now
 * exists): sync packs from Stripe first so a price fixed in Stripe is known, then fulfil again.
 */
export async function retrySession(
  input: z.output<typeof itemActionSchema>,
  staff: StaffRef,
): Promise<FixOutcome> {
  const item = await openItem(input.itemId);
  if (!item.checkoutSessionId || !RETRYABLE_KINDS.includes(item.kind)) {
    throw new ValidationError("This item has no Checkout Session to retry.", "itemId");
  }
  let report: PackSyncReport;
  let result: FulfillResult;
  try {
    report = await syncPacks();
    result = await fulfillCheckoutSession(item.checkoutSessionId, "manual", { staffId: staff.id });
  } catch (error) {
    stripeFailure(error);
  }
  const outcome = describeFulfillment(result, item.checkoutSessionId);
  if (result.outcome === "already_credited") {
    await closeIfOpen(
      item.id,
      staff,
      `Already credited to user ${result.purchase.userId} (purchase ${result.purchase.id}); nothing more to do.`,
    );
  }
  const packSync = {
    created: report.created,
    updated: report.updated,
    deactivated: report.deactivated,
    errors: report.errors,
    pricesSeen: report.pricesSeen,
  };
  await writeAudit({
    actor: actorOf(staff),
    action: "attention.retry_session",
    targetType: "attention_item",
    targetId: item.id,
    after: {
      sessionId: item.checkoutSessionId,
      outcome: result.outcome,
      packsCreated: report.created.length,
      packsUpdated: report.updated.length,
      packErrors: report.errors.length,
    },
  });
  return { ...outcome, packSync };
}

/** Replay the failed event behind an item (the replay closes the item when it now succeeds). */
export async function retryEvent(
  input: z.output<typeof itemActionSchema>,
  staff: StaffRef,
): Promise<FixOutcome> {
  const item = await openItem(input.itemId);
  if (item.kind !== "failed_event" || !item.stripeEventId)
    throw new ValidationError("This item has no failed event to replay.", "itemId");
  const r = await replayEvent(item.stripeEventId, staff);
  const ok = r.status === "processed" || r.status === "ignored";
  return {
    tone: ok ? "success" : "error",
    message: ok
      ? `Replayed ${item.stripeEventId}: ${r.status}${r.detail ? ` (${r.detail})` : ""}. The item is resolved.`
      : `Replayed ${item.stripeEventId}, still ${r.status}: ${r.detail ?? "no detail"}.`,
    userId: r.userId,
  };
}

export async function dismissItem(
  input: z.output<typeof dismissSchema>,
  staff: StaffRef,
): Promise<FixOutcome> {
  await dismissAttention(input.itemId, { staffId: staff.id, reason: input.reason });
  return { tone: "success", message: "Item dismissed. It stays in the history with your reason." };
}

export async function resolveItem(
  input: z.output<typeof resolveSchema>,
  staff: StaffRef,
): Promise<FixOutcome> {
  await resolveAttention(input.itemId, { staffId: staff.id, resolution: input.resolution });
  return { tone: "success", message: "Item marked as resolved." };
}

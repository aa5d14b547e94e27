import { attentionKeys, autoResolveAttention } from "../attention.server";
import { writeAudit } from "../audit.server";
import { getDb } from "../infra/db.server";
import { NotFoundError } from "../errors.server";
import { DONE_STATUSES, processStripeEvent, type ProcessResult } from "../webhooks/handlers.server";
import { STRIPE_EVENT_ID } from "~/shared/ids";

// Replaying a stored event (a command). The webhooks pages' reads are in
// app/presenters/webhooks.server.ts and app/presenters/webhook-event.server.ts.

/** Kept as a name for callers; the format lives in ~/shared/ids. */
export const EVENT_ID = STRIPE_EVENT_ID;

export interface StaffRef {
  id: string;
  email: string;
  ip?: string | null;
}

/**
 * Replay: run the stored event through processStripeEvent again (the same handler the webhook
 * uses, idempotent, so a replay never credits twice). When it now succeeds, the event's
 * failed-event attention item is closed; either way the replay and its result are audited.
 */
export async function replayEvent(eventId: string, staff: StaffRef): Promise<ProcessResult> {
  if (!EVENT_ID.test(eventId)) throw new NotFoundError("Stripe event", eventId, "eventId");
  const db = getDb();
  const before = await db.stripeEvent.findUnique({
    where: { id: eventId },
    select: { status: true, attempts: true },
  });
  if (!before) throw new NotFoundError("Stripe event", eventId, "eventId");
  const actor = { type: "staff" as const, id: staff.id, label: staff.email, ip: staff.ip ?? null };
  let result: ProcessResult;
  try {
    result = await processStripeEvent(eventId, "replay");
  } catch (error) {
    // Transient (database or Stripe unreachable): recorded on the event by the handler; audit the try.
    await writeAudit({
      actor,
      action: "webhook.replay",
      targetType: "stripe_event",
      targetId: eventId,
      before: { status: before.status },
      after: { status: "failed", error: (error as Error).message.slice(0, 500) },
    }).catch(() => undefined);
    throw error;
  }
  await db.$transaction(async (tx) => {
    if (DONE_STATUSES.has(result.status)) {
      await autoResolveAttention(
        tx,
        [attentionKeys.failedEvent(eventId)],
        `Replayed by ${staff.email}: ${result.status}${result.detail ? ` (${result.detail})` : ""}.`,
        staff.id,
      );
    }
    await writeAudit(
      {
        actor,
        action: "webhook.replay",
        targetType: "stripe_event",
        targetId: eventId,
        before: { status: before.status },
        after: {
          status: result.status,
          detail: result.detail,
          userId: result.userId,
          purchaseId: result.purchaseId,
        },
      },
      tx,
    );
  });
  return result;
}

import { getDb } from "~/services/infra/db.server";
import { NotFoundError } from "~/services/errors.server";
import { STRIPE_EVENT_ID } from "~/shared/ids";
import { toDeliveryRow, type RawDelivery } from "./webhooks.server";

/** Deliveries listed on an event's page; an event that was delivered more often shows the newest. */
export const EVENT_DELIVERIES_LIMIT = 100;

/**
 * One stored event: its payload, every delivery of it, the replays staff made (from the audit
 * log), what it is linked to (user, purchase) and the attention items it raised.
 */
export async function presentWebhookEvent(eventId: string) {
  if (!STRIPE_EVENT_ID.test(eventId)) throw new NotFoundError("Stripe event", eventId);
  const db = getDb();
  const event = await db.stripeEvent.findUnique({ where: { id: eventId } });
  if (!event) throw new NotFoundError("Stripe event", eventId);
  const deliveryRows = await db.$queryRaw<RawDelivery[]>`
    SELECT d.id, d.received_at, d.signature_status::text AS signature_status, d.outcome, d.event_id, d.event_type,
      NULL::text AS event_status, d.response_status, d.duration_ms, d.error, d.body_size, d.remote_ip
    FROM webhook_deliveries d WHERE d.event_id = ${eventId}
    ORDER BY d.received_at DESC, d.id DESC LIMIT ${EVENT_DELIVERIES_LIMIT + 1}`;
  // The purchase is linked on the event once processed; a checkout event that failed still names its session.
  const purchase = event.purchaseId
    ? await db.purchase.findUnique({ where: { id: event.purchaseId }, select: purchaseSelect })
    : event.objectId?.startsWith("cs_")
      ? await db.purchase.findUnique({
          where: { checkoutSessionId: event.objectId },
          select: purchaseSelect,
        })
      : null;
  const userId = event.userId ?? purchase?.userId ?? null;
  const user = userId
    ? await db.user.findUnique({
        where: { id: userId },
        select: { id: true, email: true, balance: true },
      })
    : null;
  const attention = await db.attentionItem.findMany({
    where: { stripeEventId: eventId },
    orderBy: { createdAt: "desc" },
    take: 20,
    select: { id: true, kind: true, status: true, title: true, createdAt: true, resolution: true },
  });
  const replays = await db.auditLog.findMany({
    where: { action: "webhook.replay", targetType: "stripe_event", targetId: eventId },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: 20,
    select: { id: true, actorLabel: true, createdAt: true, before: true, after: true },
  });
  return {
    event: {
      id: event.id,
      type: event.type,
      livemode: event.livemode,
      apiVersion: event.apiVersion,
      status: event.status,
      attempts: event.attempts,
      lastError: event.lastError,
      objectId: event.objectId,
      source: event.source,
      stripeCreatedAt: event.stripeCreatedAt,
      receivedAt: event.receivedAt,
      processedAt: event.processedAt,
      /** Set while the event waits in the queue (status received): when it is next tried. */
      nextAttemptAt: event.status === "received" ? event.availableAt : null,
      payload: JSON.stringify(event.payload, null, 2),
    },
    deliveries: deliveryRows.slice(0, EVENT_DELIVERIES_LIMIT).map(toDeliveryRow),
    moreDeliveries: deliveryRows.length > EVENT_DELIVERIES_LIMIT,
    purchase,
    user,
    attention,
    replays: replays.map((r) => ({
      id: r.id.toString(),
      actorLabel: r.actorLabel,
      createdAt: r.createdAt,
      before: r.before,
      after: r.after,
    })),
  };
}

const purchaseSelect = {
  id: true,
  checkoutSessionId: true,
  userId: true,
  credits: true,
  amountTotal: true,
  currency: true,
  status: true,
} as const;

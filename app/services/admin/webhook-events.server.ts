import { z } from "zod";
import { Prisma } from "~/generated/prisma/client";
import { attentionKeys, autoResolveAttention } from "../attention.server";
import { writeAudit } from "../audit.server";
import { getDb } from "../db.server";
import { NotFoundError } from "../errors.server";
import {
  DONE_STATUSES,
  HANDLED_EVENT_TYPES,
  processStripeEvent,
  type ProcessResult,
} from "../webhooks/handlers.server";
import type { DeliveryOutcome } from "../webhooks/ingest.server";
import { DELIVERY_OUTCOMES } from "./ops-labels";
import { cursorParam, optionalEnum, optionalText } from "./forms.server";
import {
  finishPage,
  keysetQuery,
  type Page,
  type PageRequest,
  type SortSpec,
} from "./keyset.server";
import { STRIPE_EVENT_ID } from "~/shared/ids";

export const DELIVERIES_PAGE_SIZE = 50;
/** Deliveries listed on an event's page; an event that was delivered more often shows the newest. */
export const EVENT_DELIVERIES_LIMIT = 100;

const EVENT_TYPE = /^[a-z0-9_.]{1,100}$/;

// Checked here: the client-safe list must name exactly the outcomes the webhook endpoint records.
const _outcomesMatch: readonly DeliveryOutcome[] = DELIVERY_OUTCOMES;
void _outcomesMatch;

export const deliveryFilterSchema = z.object({
  outcome: optionalEnum(DELIVERY_OUTCOMES, "outcome"),
  type: optionalText(100, "Event type").refine((v) => v === undefined || EVENT_TYPE.test(v), {
    error: "An event type looks like checkout.session.completed.",
  }),
  after: cursorParam,
  before: cursorParam,
});
export type DeliveryFilter = z.output<typeof deliveryFilterSchema>;

export const EVENT_TYPE_CHOICES = HANDLED_EVENT_TYPES;

export interface DeliveryRow {
  id: string;
  receivedAt: Date;
  signatureStatus: string;
  outcome: string;
  eventId: string | null;
  eventType: string | null;
  eventStatus: string | null;
  responseStatus: number;
  durationMs: number;
  error: string | null;
  bodySize: number;
  remoteIp: string | null;
}

interface RawDelivery {
  id: bigint;
  received_at: Date;
  signature_status: string;
  outcome: string;
  event_id: string | null;
  event_type: string | null;
  event_status: string | null;
  response_status: number;
  duration_ms: number;
  error: string | null;
  body_size: number;
  remote_ip: string | null;
}

// Newest first; (received_at, id) is covered by the received_at index (and outcome, received_at).
const DELIVERY_SORT: SortSpec = {
  direction: "desc",
  columns: [
    { sql: Prisma.sql`d.received_at`, cast: "timestamptz" },
    { sql: Prisma.sql`d.id`, cast: "bigint" },
  ],
};

function toDeliveryRow(r: RawDelivery): DeliveryRow {
  return {
    id: r.id.toString(),
    receivedAt: r.received_at,
    signatureStatus: r.signature_status,
    outcome: r.outcome,
    eventId: r.event_id,
    eventType: r.event_type,
    eventStatus: r.event_status,
    responseStatus: Number(r.response_status),
    durationMs: Number(r.duration_ms),
    error: r.error,
    bodySize: Number(r.body_size),
    remoteIp: r.remote_ip,
  };
}

/** Every HTTP request to the webhook endpoint, newest first, one keyset page at a time. */
export async function listDeliveries(
  filter: DeliveryFilter,
  limit = DELIVERIES_PAGE_SIZE,
): Promise<Page<DeliveryRow>> {
  const req: PageRequest = { after: filter.after, before: filter.before, limit };
  const conditions: Prisma.Sql[] = [Prisma.sql`TRUE`];
  if (filter.outcome) conditions.push(Prisma.sql`d.outcome = ${filter.outcome}`);
  if (filter.type) conditions.push(Prisma.sql`d.event_type = ${filter.type}`);
  const q = keysetQuery(DELIVERY_SORT, req);
  const rows = await getDb().$queryRaw<RawDelivery[]>`
    SELECT d.id, d.received_at, d.signature_status::text AS signature_status, d.outcome, d.event_id, d.event_type,
      e.status::text AS event_status, d.response_status, d.duration_ms, d.error, d.body_size, d.remote_ip
    FROM webhook_deliveries d
    LEFT JOIN stripe_events e ON e.id = d.event_id
    WHERE ${Prisma.join(conditions, " AND ")}${q.boundary}
    ORDER BY ${q.orderBy}
    LIMIT ${q.take}`;
  const page = finishPage(rows, req, q, (r) => [r.received_at, r.id]);
  return { ...page, rows: page.rows.map(toDeliveryRow) };
}

/** Deliveries per outcome over the last 24 hours, for the summary above the list. */
export async function deliveryCounts24h(now = new Date()): Promise<Record<string, number>> {
  const since = new Date(now.getTime() - 24 * 60 * 60 * 1000);
  const rows = await getDb().$queryRaw<{ outcome: string; n: bigint }[]>`
    SELECT outcome, count(*) AS n FROM webhook_deliveries WHERE received_at >= ${since} GROUP BY outcome`;
  return Object.fromEntries(rows.map((r) => [r.outcome, Number(r.n)]));
}

/** Kept as a name for callers; the format lives in ~/shared/ids. */
export const EVENT_ID = STRIPE_EVENT_ID;

/**
 * One stored event: its payload, every delivery of it, the replays staff made (from the audit
 * log), what it is linked to (user, purchase) and the attention items it raised.
 */
export async function getEventDetail(eventId: string) {
  if (!EVENT_ID.test(eventId)) throw new NotFoundError("Stripe event", eventId);
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

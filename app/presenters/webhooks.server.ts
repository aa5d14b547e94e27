import { z } from "zod";
import { Prisma } from "~/generated/prisma/client";
import { cursorParam, optionalEnum, optionalText } from "~/services/admin/forms.server";
import {
  finishPage,
  keysetQuery,
  type Page,
  type PageRequest,
  type SortSpec,
} from "~/services/admin/keyset.server";
import { DELIVERY_OUTCOMES } from "~/shared/ops-labels";
import { getDoctorReport } from "~/services/admin/webhook-doctor.server";
import { getDb } from "~/services/infra/db.server";
import { HANDLED_EVENT_TYPES } from "~/services/webhooks/handlers.server";
import type { DeliveryOutcome } from "~/services/webhooks/ingest.server";

/**
 * The webhooks page's read model: the doctor's checks, the last 24 hours' deliveries per outcome
 * and the delivery log. Replaying an event (a command) lives in
 * services/admin/webhook-events.server.ts.
 */

export const DELIVERIES_PAGE_SIZE = 50;

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

export interface RawDelivery {
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

export function toDeliveryRow(r: RawDelivery): DeliveryRow {
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

/** The page: the doctor's report (`fresh` asks Stripe again), counts, and one page of the log or none. */
export async function presentWebhooks(filter: DeliveryFilter | null, opts: { fresh: boolean }) {
  const [counts, doctor, page] = await Promise.all([
    deliveryCounts24h(),
    getDoctorReport({ fresh: opts.fresh }),
    filter ? listDeliveries(filter) : null,
  ]);
  return { counts, doctor, page, eventTypes: [...EVENT_TYPE_CHOICES] as string[] };
}

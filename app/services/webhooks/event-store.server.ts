import type Stripe from "stripe";
import type { EventSource } from "~/generated/prisma/enums";
import { getDatabase, getDb } from "../infra/db.server";
import { DELIVERY_COLUMNS, deliveryInsertParts, type DeliveryRecord } from "./delivery-log.server";

/**
 * Every statement that writes a `stripe_events` row (and the queue's reads of it) lives here, so
 * the rules of an event's status are in one place. The dashboard's read models only read.
 *
 * Status transitions (available_at: when the queue may take a `received` event; NULL once done):
 *
 *   from                      to                  by                 statement here
 *   (new, handled type)       received, due now   webhook delivery   enqueueDelivered
 *   (new, unhandled type)     ignored             webhook delivery   enqueueDelivered
 *   failed | needs_attention  received, due now   Stripe re-sends    enqueueDelivered
 *   processed | ignored       (unchanged)         Stripe re-sends    enqueueDelivered (duplicate)
 *   (new)                     received            reconciliation     storeEvent (attempts 1)
 *   any                       (unchanged)         reconciliation     storeEvent (attempts + 1)
 *   received, due             received, leased    a worker claims    claimDueEvents (attempts + 1)
 *   received, leased          received, leased    heartbeat          renewLeases
 *   received, leased          received, backoff   transient failure  scheduleRetry
 *   received                  failed              MAX_ATTEMPTS hit   markGivenUp
 *   any                       (unchanged)         staff replay       countReplayAttempt
 *   any                       processed | ignored | needs_attention | failed
 *                                                 processStripeEvent recordOutcome
 *
 * Statements on the hot path (every delivery, every claimed event) are prepared once per pooled
 * connection ({ prepare: true }).
 */

/** The id of the event's data.object (cs_…, ch_…, dp_…, sub_…), if it has one. */
export function objectIdOf(event: Stripe.Event): string | null {
  const obj = event.data?.object as { id?: unknown } | undefined;
  return typeof obj?.id === "string" ? obj.id : null;
}

export type EnqueueOutcome = "accepted" | "ignored" | "duplicate";

/**
 * Store a verified webhook event for the queue and record its delivery, in one statement. A new
 * event is `received` and due now (a type creditdesk does not act on is stored as `ignored`); an
 * event that ended `failed` or `needs_attention` is queued again, since Stripe re-sending it is a
 * request to try again; any other known event is a duplicate and nothing changes.
 */
export async function enqueueDelivered(
  event: Stripe.Event,
  payload: string,
  handled: boolean,
  delivery: Omit<DeliveryRecord, "outcome">,
): Promise<EnqueueOutcome> {
  const row = deliveryInsertParts(delivery, 9, "outcome.outcome");
  const rows = await getDatabase().query<{ outcome: EnqueueOutcome }>(
    `WITH ev AS (
       INSERT INTO stripe_events AS e (id, type, livemode, api_version, payload, status, attempts,
         object_id, source, stripe_created_at, available_at, processed_at, last_error)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6::"StripeEventStatus", 0, $7, 'webhook',
         to_timestamp($8::double precision),
         CASE WHEN $6 = 'received' THEN now() END, CASE WHEN $6 = 'ignored' THEN now() END,
         CASE WHEN $6 = 'ignored' THEN 'event type ' || $2 || ' is not handled' END)
       ON CONFLICT (id) DO UPDATE SET status = 'received', available_at = now()
         WHERE e.status IN ('failed', 'needs_attention')
       RETURNING e.status::text AS status
     ),
     outcome AS (
       SELECT COALESCE((SELECT CASE status WHEN 'ignored' THEN 'ignored' ELSE 'accepted' END FROM ev),
         'duplicate') AS outcome
     ),
     delivery AS (
       INSERT INTO webhook_deliveries (${DELIVERY_COLUMNS})
       SELECT ${row.valueList} FROM outcome
     )
     SELECT outcome FROM outcome`,
    [
      event.id,
      event.type,
      Boolean(event.livemode),
      event.api_version ?? null,
      payload,
      handled ? "received" : "ignored",
      objectIdOf(event),
      event.created ?? 0,
      ...row.values,
    ],
    // Every delivery runs it: prepared once per connection, parsed and planned once (it was
    // half of Postgres's CPU per delivery).
    { prepare: true },
  );
  return rows[0].outcome;
}

/** Store an event once by id (counting attempts); returns its status before this attempt. */
export async function storeEvent(
  event: Stripe.Event,
  source: EventSource,
  rawPayload?: string,
): Promise<{ status: string; attempts: number }> {
  const payload = rawPayload ?? JSON.stringify(event);
  const rows = await getDb().$queryRaw<{ status: string; attempts: number }[]>`
    INSERT INTO stripe_events (id, type, livemode, api_version, payload, status, attempts, object_id, source, stripe_created_at)
    VALUES (${event.id}, ${event.type}, ${Boolean(event.livemode)}, ${event.api_version ?? null}, ${payload}::jsonb,
      'received', 1, ${objectIdOf(event)}, ${source}::"EventSource", ${new Date((event.created ?? 0) * 1000)})
    ON CONFLICT (id) DO UPDATE SET attempts = stripe_events.attempts + 1
    RETURNING status::text AS status, attempts`;
  return rows[0];
}

/** A stored event's payload for a replay, counting the attempt; null when there is no such event. */
export async function countReplayAttempt(eventId: string): Promise<Stripe.Event | null> {
  const db = getDb();
  const row = await db.stripeEvent.findUnique({ where: { id: eventId } });
  if (!row) return null;
  await db.stripeEvent.update({ where: { id: eventId }, data: { attempts: { increment: 1 } } });
  return row.payload as unknown as Stripe.Event;
}

export interface EventOutcomeRecord {
  status: "processed" | "ignored" | "needs_attention" | "failed";
  /** Kept as last_error: the error, or the detail of an outcome that is not `processed`. */
  lastError: string | null;
  userId: string | null;
  purchaseId: string | null;
}

/** Write the event's outcome (and take it off the webhook queue). */
export async function recordOutcome(eventId: string, o: EventOutcomeRecord): Promise<void> {
  await getDatabase().query(
    `UPDATE stripe_events SET status = $2::"StripeEventStatus", last_error = $3, processed_at = now(),
       available_at = NULL, user_id = COALESCE($4, user_id), purchase_id = COALESCE($5, purchase_id)
     WHERE id = $1`,
    [eventId, o.status, o.lastError, o.userId, o.purchaseId],
    { prepare: true },
  );
}

export interface ClaimedEvent {
  id: string;
  payload: string;
  attempts: number;
}

/** Claim up to `limit` due events for `leaseSeconds` (SKIP LOCKED: workers never wait on each other). */
export async function claimDueEvents(limit: number, leaseSeconds: number): Promise<ClaimedEvent[]> {
  return getDatabase().query<ClaimedEvent>(
    `UPDATE stripe_events e
        SET available_at = now() + make_interval(secs => $2), attempts = e.attempts + 1
       FROM (SELECT id FROM stripe_events
              WHERE status = 'received' AND available_at <= now()
              ORDER BY available_at, id
              LIMIT $1
              FOR UPDATE SKIP LOCKED) due
      WHERE e.id = due.id
      RETURNING e.id, e.payload::text AS payload, e.attempts`,
    [limit, leaseSeconds],
    { prepare: true },
  );
}

/**
 * Push the lease of held events forward. GREATEST: never shortens a backoff another statement
 * just set. Only `received` events: one a handler finished is left be.
 */
export async function renewLeases(ids: string[], leaseSeconds: number): Promise<void> {
  await getDatabase().query(
    `UPDATE stripe_events
        SET available_at = GREATEST(available_at, now() + make_interval(secs => $2))
      WHERE id = ANY($1::text[]) AND status = 'received'`,
    [ids, leaseSeconds],
    { prepare: true },
  );
}

/** After a transient failure: due again in `delaySeconds`. */
export async function scheduleRetry(
  eventId: string,
  delaySeconds: number,
  lastError: string,
): Promise<void> {
  await getDatabase().query(
    `UPDATE stripe_events SET available_at = now() + make_interval(secs => $2), last_error = $3
      WHERE id = $1 AND status = 'received'`,
    [eventId, delaySeconds, lastError],
  );
}

/** Too many transient failures: `failed` (the caller raises the attention item). */
export async function markGivenUp(eventId: string, lastError: string): Promise<void> {
  await getDatabase().query(
    `UPDATE stripe_events SET status = 'failed', available_at = NULL, processed_at = now(), last_error = $2
      WHERE id = $1 AND status = 'received'`,
    [eventId, lastError],
  );
}

/** Events waiting to be processed, and how long the oldest has waited (for status pages). */
export async function queueBacklog(): Promise<{ waiting: number; oldestSeconds: number | null }> {
  const rows = await getDatabase().query<{ waiting: number; oldest_seconds: number | null }>(
    `SELECT count(*)::int AS waiting,
            floor(extract(epoch FROM now() - min(received_at)))::int AS oldest_seconds
       FROM stripe_events WHERE status = 'received' AND available_at IS NOT NULL`,
    [],
  );
  return { waiting: rows[0]?.waiting ?? 0, oldestSeconds: rows[0]?.oldest_seconds ?? null };
}

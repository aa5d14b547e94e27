import { getDatabase } from "../infra/db.server";

/**
 * The delivery worker's SQL, each a fixed text run as one prepared statement on the raw pool
 * (db.server.ts `query`): fan-out, claim, record. Ids and times cross as text (the two drivers
 * convert bigint and timestamptz differently).
 */

/**
 * Fan out up to `limit` outbox rows nobody has yet: one pending delivery per enabled endpoint
 * subscribed to the type (a test event: its endpoint only), then mark the rows dispatched. SKIP
 * LOCKED lets several workers do it at once without taking the same rows.
 */
const FAN_OUT_SQL = `
WITH ev AS (
  SELECT id, type, test_endpoint_id FROM outbound_events
  WHERE dispatched_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED),
ins AS (
  INSERT INTO outbound_deliveries (event_id, endpoint_id, status, next_attempt_at, created_at)
  SELECT ev.id, ep.id, 'pending', now(), now()
  FROM ev JOIN outbound_endpoints ep ON ep.enabled AND CASE
    WHEN ev.test_endpoint_id IS NOT NULL THEN ep.id = ev.test_endpoint_id
    ELSE ev.type = ANY (ep.event_types) END
  ON CONFLICT (event_id, endpoint_id) DO NOTHING
  RETURNING 1),
upd AS (
  UPDATE outbound_events o SET dispatched_at = now() FROM ev WHERE o.id = ev.id RETURNING 1)
SELECT (SELECT count(*) FROM upd)::int AS events, (SELECT count(*) FROM ins)::int AS deliveries`;

export async function fanOutEvents(limit: number): Promise<{ events: number; deliveries: number }> {
  const [row] = await getDatabase().query<{ events: number; deliveries: number }>(
    FAN_OUT_SQL,
    [limit],
    { prepare: true },
  );
  return { events: Number(row?.events ?? 0), deliveries: Number(row?.deliveries ?? 0) };
}

export interface ClaimedDelivery {
  id: string;
  endpointId: string;
  /** This attempt's number (1 = first). */
  attempt: number;
  eventId: string;
  type: string;
  /** The payload's data object, as JSON text. */
  data: string;
  /** ISO time the event was made. */
  createdAt: string;
  /** Epoch ms of the delivery's first attempt (this one, for a first attempt). */
  firstAttemptAt: number;
}

/**
 * Claim due deliveries of enabled endpoints, at most `perEndpoint[ep]` (default `cap`) of each
 * endpoint and `limit` in all, and lease them for `leaseSeconds`: a worker that dies leaves them
 * due again when the lease runs out. Per-endpoint caps keep one slow endpoint from taking every
 * slot of the worker.
 */
const CLAIM_SQL = `
WITH due AS (
  SELECT d.id FROM outbound_endpoints ep
  CROSS JOIN LATERAL (
    SELECT d.id, d.next_attempt_at FROM outbound_deliveries d
    WHERE d.endpoint_id = ep.id AND d.status = 'pending' AND d.next_attempt_at <= now()
    ORDER BY d.next_attempt_at
    LIMIT greatest(0, $2::int - coalesce(($3::jsonb ->> ep.id)::int, 0))
    FOR UPDATE SKIP LOCKED) d
  WHERE ep.enabled
  ORDER BY d.next_attempt_at LIMIT $1)
UPDATE outbound_deliveries d SET
  next_attempt_at = now() + make_interval(secs => $4::int),
  attempts = d.attempts + 1,
  first_attempt_at = coalesce(d.first_attempt_at, now()),
  last_attempt_at = now()
FROM due, outbound_events e
WHERE d.id = due.id AND e.id = d.event_id
RETURNING d.id::text AS id, d.endpoint_id, d.attempts AS attempt, e.id::text AS event_id, e.type,
  e.data::text AS data, to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS created_at,
  (extract(epoch FROM d.first_attempt_at) * 1000)::float8 AS first_attempt_ms`;

export async function claimDeliveries(
  limit: number,
  cap: number,
  inFlight: Record<string, number>,
  leaseSeconds: number,
): Promise<ClaimedDelivery[]> {
  const rows = await getDatabase().query<{
    id: string;
    endpoint_id: string;
    attempt: number;
    event_id: string;
    type: string;
    data: string;
    created_at: string;
    first_attempt_ms: number;
  }>(CLAIM_SQL, [limit, cap, JSON.stringify(inFlight), leaseSeconds], { prepare: true });
  return rows.map((r) => ({
    id: String(r.id),
    endpointId: r.endpoint_id,
    attempt: Number(r.attempt),
    eventId: String(r.event_id),
    type: r.type,
    data: r.data,
    createdAt: r.created_at,
    firstAttemptAt: Number(r.first_attempt_ms),
  }));
}

export interface AttemptResult {
  deliveryId: string;
  endpointId: string;
  attempt: number;
  startedAt: Date;
  durationMs: number;
  responseStatus: number | null;
  responseBody: string | null;
  error: string | null;
  ok: boolean;
  /** The delivery's state after this attempt. */
  status: "pending" | "delivered" | "failed";
  nextAttemptAt: Date | null;
}

export interface EndpointHealth {
  endpointId: string;
  consecutiveFailures: number;
  /** Epoch ms, or null when the endpoint's latest attempt succeeded. */
  failingSince: number | null;
}

/**
 * Record many attempts in one statement: the attempt log rows, each delivery's new state, and
 * the failure state of the endpoints concerned. An endpoint row is written only when an attempt
 * failed or when it was failing and now succeeded — successes of a healthy endpoint touch nothing
 * shared. Returns the failure state of the endpoints that had failures in this batch.
 */
const RECORD_SQL = `
WITH r AS (
  SELECT * FROM unnest($1::bigint[], $2::text[], $3::int[], $4::timestamptz[], $5::int[], $6::int[],
    $7::text[], $8::text[], $9::bool[], $10::text[], $11::timestamptz[])
    AS r(delivery_id, endpoint_id, attempt, started_at, duration_ms, response_status, response_body,
      error, ok, new_status, next_at)),
a AS (
  INSERT INTO outbound_attempts (delivery_id, endpoint_id, attempt, started_at, duration_ms,
    response_status, response_body, error, ok)
  SELECT delivery_id, endpoint_id, attempt, started_at, duration_ms, response_status, response_body, error, ok
  FROM r),
d AS (
  UPDATE outbound_deliveries d SET status = r.new_status::"OutboundDeliveryStatus",
    next_attempt_at = r.next_at, last_status = r.response_status, last_error = r.error,
    delivered_at = CASE WHEN r.ok THEN now() ELSE d.delivered_at END
  FROM r WHERE d.id = r.delivery_id),
last_ok AS (
  SELECT endpoint_id, max(started_at) AS at FROM r WHERE ok GROUP BY endpoint_id),
per AS (
  SELECT r.endpoint_id, bool_or(r.ok) AS any_ok,
    count(*) FILTER (WHERE NOT r.ok AND (l.at IS NULL OR r.started_at > l.at))::int AS fails,
    min(r.started_at) FILTER (WHERE NOT r.ok AND (l.at IS NULL OR r.started_at > l.at)) AS first_fail,
    (array_agg(coalesce(r.error, 'HTTP ' || r.response_status) ORDER BY r.started_at DESC)
      FILTER (WHERE NOT r.ok))[1] AS last_error
  FROM r LEFT JOIN last_ok l ON l.endpoint_id = r.endpoint_id GROUP BY r.endpoint_id)
UPDATE outbound_endpoints ep SET
  consecutive_failures = CASE WHEN per.any_ok THEN per.fails ELSE ep.consecutive_failures + per.fails END,
  failing_since = CASE WHEN per.fails = 0 THEN NULL
    WHEN per.any_ok THEN per.first_fail ELSE coalesce(ep.failing_since, per.first_fail) END,
  last_error = coalesce(per.last_error, ep.last_error),
  last_error_at = CASE WHEN per.last_error IS NULL THEN ep.last_error_at ELSE now() END
FROM per
WHERE ep.id = per.endpoint_id AND (per.fails > 0 OR ep.consecutive_failures > 0)
RETURNING ep.id AS endpoint_id, ep.consecutive_failures,
  (extract(epoch FROM ep.failing_since) * 1000)::float8 AS failing_since_ms`;

export async function recordAttempts(results: AttemptResult[]): Promise<EndpointHealth[]> {
  if (results.length === 0) return [];
  const rows = await getDatabase().query<{
    endpoint_id: string;
    consecutive_failures: number;
    failing_since_ms: number | null;
  }>(
    RECORD_SQL,
    [
      results.map((r) => r.deliveryId),
      results.map((r) => r.endpointId),
      results.map((r) => r.attempt),
      results.map((r) => r.startedAt.toISOString()),
      results.map((r) => r.durationMs),
      results.map((r) => r.responseStatus),
      results.map((r) => r.responseBody),
      results.map((r) => r.error),
      results.map((r) => r.ok),
      results.map((r) => r.status),
      results.map((r) => r.nextAttemptAt?.toISOString() ?? null),
    ],
    { prepare: true },
  );
  return rows.map((r) => ({
    endpointId: r.endpoint_id,
    consecutiveFailures: Number(r.consecutive_failures),
    failingSince: r.failing_since_ms === null ? null : Number(r.failing_since_ms),
  }));
}

/** URL and the secrets that sign now (the newest first) of the given endpoints. */
const SIGNING_SQL = `
SELECT ep.id, ep.url, ep.enabled, ARRAY(
  SELECT s.secret FROM outbound_endpoint_secrets s
  WHERE s.endpoint_id = ep.id AND (s.expires_at IS NULL OR s.expires_at > now())
  ORDER BY s.created_at DESC) AS secrets
FROM outbound_endpoints ep WHERE ep.id = ANY ($1::text[])`;

export async function loadSigningData(
  ids: string[],
): Promise<{ id: string; url: string; enabled: boolean; secrets: string[] }[]> {
  return getDatabase().query(SIGNING_SQL, [ids], { prepare: true });
}

import { Prisma } from "~/generated/prisma/client";
import { getDb } from "../infra/db.server";

/**
 * Read models of outbound events for the dashboard page and the CLI: endpoints with their recent
 * success rate and last error (never a secret: only hints), and the delivery log.
 */

export interface EndpointSummary {
  id: string;
  url: string;
  description: string | null;
  eventTypes: string[];
  enabled: boolean;
  demo: boolean;
  disabledReason: string | null;
  disabledAt: string | null;
  consecutiveFailures: number;
  failingSince: string | null;
  lastError: string | null;
  lastErrorAt: string | null;
  /** Hints of the secrets that sign now, newest first (with the old one's end after a rotation). */
  secrets: { hint: string; expiresAt: string | null }[];
  /** Attempts in the last 24 hours and how many got a 2xx. */
  attempts24h: number;
  succeeded24h: number;
  /** succeeded / attempts in the last 24 h, 0–100, null without attempts. */
  successRate24h: number | null;
  pending: number;
  failed: number;
  createdAt: string;
}

export async function listEndpointSummaries(): Promise<EndpointSummary[]> {
  const db = getDb();
  const endpoints = await db.outboundEndpoint.findMany({
    orderBy: { createdAt: "asc" },
    include: {
      secrets: {
        where: { OR: [{ expiresAt: null }, { expiresAt: { gt: new Date() } }] },
        select: { hint: true, expiresAt: true },
        orderBy: { createdAt: "desc" },
      },
    },
  });
  if (endpoints.length === 0) return [];
  const stats = await db.$queryRaw<
    { endpoint_id: string; attempts: number; ok: number; pending: number; failed: number }[]
  >`
    SELECT ep.id AS endpoint_id,
      (SELECT count(*)::int FROM outbound_attempts a WHERE a.endpoint_id = ep.id AND a.started_at > now() - interval '24 hours') AS attempts,
      (SELECT count(*)::int FROM outbound_attempts a WHERE a.endpoint_id = ep.id AND a.started_at > now() - interval '24 hours' AND a.ok) AS ok,
      (SELECT count(*)::int FROM outbound_deliveries d WHERE d.endpoint_id = ep.id AND d.status = 'pending') AS pending,
      (SELECT count(*)::int FROM outbound_deliveries d WHERE d.endpoint_id = ep.id AND d.status = 'failed') AS failed
    FROM outbound_endpoints ep`;
  const byId = new Map(stats.map((s) => [s.endpoint_id, s]));
  return endpoints.map((e) => {
    const s = byId.get(e.id);
    const attempts = Number(s?.attempts ?? 0);
    const ok = Number(s?.ok ?? 0);
    return {
      id: e.id,
      url: e.url,
      description: e.description,
      eventTypes: e.eventTypes,
      enabled: e.enabled,
      demo: e.demo,
      disabledReason: e.disabledReason,
      disabledAt: e.disabledAt?.toISOString() ?? null,
      consecutiveFailures: e.consecutiveFailures,
      failingSince: e.failingSince?.toISOString() ?? null,
      lastError: e.lastError,
      lastErrorAt: e.lastErrorAt?.toISOString() ?? null,
      secrets: e.secrets.map((x) => ({
        hint: x.hint,
        expiresAt: x.expiresAt?.toISOString() ?? null,
      })),
      attempts24h: attempts,
      succeeded24h: ok,
      successRate24h: attempts === 0 ? null : Math.floor((ok * 100) / attempts),
      pending: Number(s?.pending ?? 0),
      failed: Number(s?.failed ?? 0),
      createdAt: e.createdAt.toISOString(),
    };
  });
}

export interface DeliveryRow {
  id: string;
  eventId: string;
  webhookId: string;
  type: string;
  userId: string | null;
  endpointId: string;
  endpointUrl: string;
  status: "pending" | "delivered" | "failed";
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
  createdAt: string;
  /** The latest attempt: duration and the start of the answer. */
  lastDurationMs: number | null;
  lastBody: string | null;
}

export interface DeliveryFilter {
  endpointId?: string;
  status?: "pending" | "delivered" | "failed";
  limit?: number;
  /** Keyset: deliveries with a smaller id (newest first). */
  beforeId?: string;
}

export async function listDeliveries(filter: DeliveryFilter = {}): Promise<DeliveryRow[]> {
  const limit = Math.min(Math.max(filter.limit ?? 50, 1), 500);
  const where: Prisma.Sql[] = [Prisma.sql`true`];
  if (filter.endpointId) where.push(Prisma.sql`d.endpoint_id = ${filter.endpointId}`);
  if (filter.status) where.push(Prisma.sql`d.status = ${filter.status}::"OutboundDeliveryStatus"`);
  if (filter.beforeId && /^\d{1,18}$/.test(filter.beforeId))
    where.push(Prisma.sql`d.id < ${BigInt(filter.beforeId)}`);
  const rows = await getDb().$queryRaw<
    {
      id: bigint;
      event_id: bigint;
      type: string;
      user_id: string | null;
      endpoint_id: string;
      url: string;
      status: DeliveryRow["status"];
      attempts: number;
      last_status: number | null;
      last_error: string | null;
      next_attempt_at: Date | null;
      created_at: Date;
      duration_ms: number | null;
      response_body: string | null;
    }[]
  >`
    SELECT d.id, d.event_id, e.type, e.user_id, d.endpoint_id, ep.url, d.status::text AS status, d.attempts,
      d.last_status, d.last_error, d.next_attempt_at, d.created_at, la.duration_ms, la.response_body
    FROM outbound_deliveries d
    JOIN outbound_events e ON e.id = d.event_id
    JOIN outbound_endpoints ep ON ep.id = d.endpoint_id
    LEFT JOIN LATERAL (
      SELECT duration_ms, response_body FROM outbound_attempts a
      WHERE a.delivery_id = d.id ORDER BY a.attempt DESC LIMIT 1) la ON true
    WHERE ${Prisma.join(where, " AND ")}
    ORDER BY d.id DESC LIMIT ${limit}`;
  return rows.map((r) => ({
    id: r.id.toString(),
    eventId: r.event_id.toString(),
    webhookId: `msg_${r.event_id.toString()}`,
    type: r.type,
    userId: r.user_id,
    endpointId: r.endpoint_id,
    endpointUrl: r.url,
    status: r.status,
    attempts: Number(r.attempts),
    lastStatus: r.last_status === null ? null : Number(r.last_status),
    lastError: r.last_error,
    nextAttemptAt: r.status === "pending" ? (r.next_attempt_at?.toISOString() ?? null) : null,
    createdAt: r.created_at.toISOString(),
    lastDurationMs: r.duration_ms === null ? null : Number(r.duration_ms),
    lastBody: r.response_body,
  }));
}

import { Prisma } from "~/generated/prisma/client";
import {
  DEFAULT_OUTBOUND_EVENT_TYPES,
  OUTBOUND_EVENT_TYPES,
  isOutboundEventType,
  type OutboundEventType,
} from "~/shared/outbound";
import { raiseAttention } from "../attention.server";
import { writeAudit, type Actor } from "../audit.server";
import { ConflictError, NotFoundError, ValidationError } from "../errors.server";
import { getDb } from "../infra/db.server";
import { getEnv } from "../infra/env.server";
import { logger } from "../infra/logger.server";
import { generateSecret, secretHint } from "./signing.server";
import { assertSafeUrl, UnsafeUrlError, type UrlPolicy } from "./ssrf.server";

/**
 * Outbound endpoints: where the product receives events. Every change is audited; a secret is
 * returned once, by the call that makes it, and afterwards only its hint is ever read.
 */

/** After a rotation the previous secret keeps signing this long, so receivers can switch over. */
export const ROTATION_OVERLAP_MS = 24 * 3600 * 1000;
export const MAX_URL_LENGTH = 2000;

/** The production SSRF policy: no private addresses unless OUTBOUND_ALLOW_PRIVATE=true. */
export function urlPolicy(): UrlPolicy {
  const env = getEnv();
  return {
    blockPrivate: env.NODE_ENV === "production" && !env.OUTBOUND_ALLOW_PRIVATE,
    appUrl: env.appUrl,
    selfOrigins: [
      `http://localhost:${env.PORT}`,
      `http://127.0.0.1:${env.PORT}`,
      `http://[::1]:${env.PORT}`,
    ],
  };
}

async function checkUrl(raw: unknown, policy: UrlPolicy): Promise<string> {
  if (typeof raw !== "string" || raw.trim() === "")
    throw new ValidationError("url is required: the receiver's http(s) address.", "url");
  const url = raw.trim();
  if (url.length > MAX_URL_LENGTH)
    throw new ValidationError(`url must be at most ${MAX_URL_LENGTH} characters.`, "url");
  try {
    await assertSafeUrl(url, policy);
  } catch (error) {
    if (error instanceof UnsafeUrlError) throw new ValidationError(`url ${error.message}.`, "url");
    throw error;
  }
  return url;
}

function checkTypes(raw: unknown): OutboundEventType[] {
  if (raw === undefined) return [...DEFAULT_OUTBOUND_EVENT_TYPES];
  if (!Array.isArray(raw) || raw.length === 0)
    throw new ValidationError("eventTypes must list at least one event type.", "eventTypes");
  const unknown = raw.filter((t) => typeof t !== "string" || !isOutboundEventType(t));
  if (unknown.length > 0)
    throw new ValidationError(
      `eventTypes: unknown type ${unknown.map(String).join(", ")} (known: ${OUTBOUND_EVENT_TYPES.join(", ")}).`,
      "eventTypes",
    );
  return [...new Set(raw as OutboundEventType[])];
}

function checkDescription(raw: unknown): string | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== "string")
    throw new ValidationError("description must be text.", "description");
  const d = raw.trim();
  if (d.length > 200)
    throw new ValidationError("description must be at most 200 characters.", "description");
  return d || null;
}

export interface CreateEndpointInput {
  url: unknown;
  eventTypes?: unknown;
  description?: unknown;
}

export interface CreatedEndpoint {
  id: string;
  url: string;
  eventTypes: string[];
  /** The signing secret: shown now and never again. */
  secret: string;
}

function actorStaffId(actor: Actor): string | null {
  return actor.type === "staff" ? actor.id : null;
}

export async function createEndpoint(
  input: CreateEndpointInput,
  actor: Actor,
  opts: { policy?: UrlPolicy; demo?: boolean } = {},
): Promise<CreatedEndpoint> {
  const url = await checkUrl(input.url, opts.policy ?? urlPolicy());
  const eventTypes = checkTypes(input.eventTypes);
  const description = checkDescription(input.description);
  const secret = generateSecret();
  return getDb().$transaction(async (tx) => {
    const endpoint = await tx.outboundEndpoint.create({
      data: {
        url,
        eventTypes,
        description,
        demo: opts.demo ?? false,
        createdById: actorStaffId(actor),
      },
    });
    await tx.outboundEndpointSecret.create({
      data: { endpointId: endpoint.id, secret, hint: secretHint(secret) },
    });
    await writeAudit(
      {
        actor,
        action: "outbound_endpoint.create",
        targetType: "outbound_endpoint",
        targetId: endpoint.id,
        after: { url, eventTypes, description, secret: secretHint(secret) },
      },
      tx,
    );
    return { id: endpoint.id, url, eventTypes, secret };
  });
}

async function requireEndpoint(id: string) {
  const endpoint = await getDb().outboundEndpoint.findUnique({ where: { id } });
  if (!endpoint) throw new NotFoundError("Endpoint", id, "endpointId");
  return endpoint;
}

export async function updateEndpoint(
  id: string,
  input: { url?: unknown; eventTypes?: unknown; description?: unknown },
  actor: Actor,
  opts: { policy?: UrlPolicy } = {},
) {
  const before = await requireEndpoint(id);
  const data: Prisma.OutboundEndpointUpdateInput = {};
  if (input.url !== undefined) data.url = await checkUrl(input.url, opts.policy ?? urlPolicy());
  if (input.eventTypes !== undefined) data.eventTypes = checkTypes(input.eventTypes);
  if (input.description !== undefined) data.description = checkDescription(input.description);
  return getDb().$transaction(async (tx) => {
    const after = await tx.outboundEndpoint.update({ where: { id }, data });
    await writeAudit(
      {
        actor,
        action: "outbound_endpoint.update",
        targetType: "outbound_endpoint",
        targetId: id,
        before: { url: before.url, eventTypes: before.eventTypes, description: before.description },
        after: { url: after.url, eventTypes: after.eventTypes, description: after.description },
      },
      tx,
    );
    return after;
  });
}

export async function setEndpointEnabled(id: string, enabled: boolean, actor: Actor) {
  const before = await requireEndpoint(id);
  if (before.enabled === enabled)
    throw new ConflictError(`Endpoint is already ${enabled ? "enabled" : "disabled"}.`, "enabled");
  return getDb().$transaction(async (tx) => {
    const after = await tx.outboundEndpoint.update({
      where: { id },
      data: enabled
        ? {
            enabled: true,
            disabledAt: null,
            disabledReason: null,
            consecutiveFailures: 0,
            failingSince: null,
          }
        : { enabled: false, disabledAt: new Date(), disabledReason: "disabled by staff" },
    });
    await writeAudit(
      {
        actor,
        action: enabled ? "outbound_endpoint.enable" : "outbound_endpoint.disable",
        targetType: "outbound_endpoint",
        targetId: id,
        before: { enabled: before.enabled, disabledReason: before.disabledReason },
        after: { enabled: after.enabled },
      },
      tx,
    );
    return after;
  });
}

/**
 * A new secret signs from now on; the current ones keep signing for 24 hours (both signatures
 * are sent meanwhile), so the receiver can switch without losing events.
 */
export async function rotateEndpointSecret(
  id: string,
  actor: Actor,
): Promise<{ secret: string; previousExpireAt: Date }> {
  await requireEndpoint(id);
  const secret = generateSecret();
  const previousExpireAt = new Date(Date.now() + ROTATION_OVERLAP_MS);
  await getDb().$transaction(async (tx) => {
    await tx.$executeRaw`
      UPDATE outbound_endpoint_secrets SET expires_at = LEAST(coalesce(expires_at, ${previousExpireAt}), ${previousExpireAt})
      WHERE endpoint_id = ${id} AND (expires_at IS NULL OR expires_at > now())`;
    await tx.outboundEndpointSecret.create({
      data: { endpointId: id, secret, hint: secretHint(secret) },
    });
    await writeAudit(
      {
        actor,
        action: "outbound_endpoint.rotate_secret",
        targetType: "outbound_endpoint",
        targetId: id,
        after: { secret: secretHint(secret), previousExpireAt: previousExpireAt.toISOString() },
      },
      tx,
    );
  });
  return { secret, previousExpireAt };
}

/**
 * The worker's verdict: stop sending to an endpoint that answered 410 or failed for too long, and
 * tell someone (an attention item). Only the call that flips it raises the item.
 */
export async function disableEndpointForFailures(id: string, reason: string): Promise<boolean> {
  return getDb().$transaction(async (tx) => {
    const rows = await tx.$queryRaw<{ url: string }[]>`
      UPDATE outbound_endpoints SET enabled = false, disabled_at = now(), disabled_reason = ${reason}, updated_at = now()
      WHERE id = ${id} AND enabled RETURNING url`;
    if (rows.length === 0) return false;
    await raiseAttention(
      {
        kind: "outbound_endpoint_disabled",
        dedupeKey: `outbound_endpoint_disabled:${id}`,
        title: `Event endpoint disabled: ${rows[0].url}`,
        detail: `The endpoint ${reason}, so events are no longer sent to it. Fix the receiver, enable it (npm run cli -- endpoints disable --id ${id} --enable) and replay the failed deliveries (events replay --since …).`,
        data: { endpointId: id, reason },
      },
      tx,
    );
    await writeAudit(
      {
        actor: { type: "system", label: "outbound events" },
        action: "outbound_endpoint.auto_disable",
        targetType: "outbound_endpoint",
        targetId: id,
        after: { enabled: false },
        reason,
      },
      tx,
    );
    logger.warn({ endpointId: id, reason }, "outbound endpoint disabled");
    return true;
  });
}

/** Queue a `test.event`-style ping: a credits.granted-shaped event for this endpoint only. */
export async function sendTestEvent(id: string, actor: Actor): Promise<{ eventId: string }> {
  const endpoint = await requireEndpoint(id);
  if (!endpoint.enabled)
    throw new ConflictError("Enable the endpoint before sending it a test event.", "endpointId");
  return getDb().$transaction(async (tx) => {
    const [row] = await tx.$queryRaw<{ id: bigint }[]>`
      INSERT INTO outbound_events (type, user_id, data, test_endpoint_id)
      VALUES ('credits.granted', NULL, ${JSON.stringify({
        test: true,
        userId: "test_user",
        delta: 1,
        amount: 1,
        balanceAfter: 1,
        ledgerEntryId: "0",
        seq: 0,
        kind: "manual_credit",
        reason: "Test event from creditdesk",
        idempotencyKey: "test",
        purchaseId: null,
        grantId: null,
        allocations: [],
        holdId: null,
        stripeEventId: null,
        reversesId: null,
        createdAt: new Date().toISOString(),
      })}::jsonb, ${id})
      RETURNING id`;
    await writeAudit(
      {
        actor,
        action: "outbound_endpoint.test",
        targetType: "outbound_endpoint",
        targetId: id,
        after: { eventId: row.id.toString() },
      },
      tx,
    );
    return { eventId: row.id.toString() };
  });
}

/** Send one delivery again now (a new 3-day window of retries if it fails again). */
export async function replayDelivery(deliveryId: string, actor: Actor): Promise<void> {
  if (!/^\d{1,18}$/.test(deliveryId))
    throw new ValidationError("deliveryId must be a delivery number.", "deliveryId");
  await getDb().$transaction(async (tx) => {
    const rows = await tx.$queryRaw<{ status: string; endpoint_id: string }[]>`
      SELECT status::text, endpoint_id FROM outbound_deliveries WHERE id = ${BigInt(deliveryId)} FOR UPDATE`;
    if (rows.length === 0) throw new NotFoundError("Delivery", deliveryId, "deliveryId");
    if (rows[0].status === "pending")
      throw new ConflictError(
        `Delivery ${deliveryId} is still being retried; it needs no replay.`,
        "deliveryId",
      );
    await tx.$executeRaw`
      UPDATE outbound_deliveries SET status = 'pending', next_attempt_at = now(), first_attempt_at = NULL
      WHERE id = ${BigInt(deliveryId)}`;
    await writeAudit(
      {
        actor,
        action: "outbound_delivery.replay",
        targetType: "outbound_delivery",
        targetId: deliveryId,
        before: { status: rows[0].status },
        after: { status: "pending", endpointId: rows[0].endpoint_id },
      },
      tx,
    );
  });
}

/** Send every failed delivery whose event was made in [since, until) again (one endpoint, or all). */
export async function replayFailed(
  opts: { since: Date; until?: Date; endpointId?: string | null },
  actor: Actor,
): Promise<{ replayed: number }> {
  if (Number.isNaN(opts.since.getTime()))
    throw new ValidationError("since must be a date and time.", "since");
  const until = opts.until ?? new Date();
  if (Number.isNaN(until.getTime()))
    throw new ValidationError("until must be a date and time.", "until");
  if (until <= opts.since) throw new ValidationError("until must be after since.", "until");
  if (opts.endpointId) await requireEndpoint(opts.endpointId);
  return getDb().$transaction(async (tx) => {
    const replayed = await tx.$executeRaw`
      UPDATE outbound_deliveries d SET status = 'pending', next_attempt_at = now(), first_attempt_at = NULL
      FROM outbound_events e
      WHERE e.id = d.event_id AND d.status = 'failed'
        AND e.created_at >= ${opts.since} AND e.created_at < ${until}
        ${opts.endpointId ? Prisma.sql`AND d.endpoint_id = ${opts.endpointId}` : Prisma.empty}`;
    await writeAudit(
      {
        actor,
        action: "outbound_delivery.replay_failed",
        targetType: opts.endpointId ? "outbound_endpoint" : undefined,
        targetId: opts.endpointId ?? undefined,
        after: { since: opts.since.toISOString(), until: until.toISOString(), replayed },
      },
      tx,
    );
    return { replayed };
  });
}

export const MAX_LOW_BALANCE = 1_000_000_000;

/** PUT /api/v1/users/{id}/thresholds: the user's low-balance threshold (balance.low). */
export async function setUserThresholds(
  userId: string,
  lowBalance: number,
  actor: Actor,
): Promise<{ userId: string; lowBalance: number }> {
  const user = await getDb().user.findUnique({ where: { id: userId }, select: { id: true } });
  if (!user) throw new NotFoundError("User", userId, "userId");
  return getDb().$transaction(async (tx) => {
    const before = await tx.userThreshold.findUnique({ where: { userId } });
    await tx.userThreshold.upsert({
      where: { userId },
      create: { userId, lowBalance },
      update: { lowBalance },
    });
    await writeAudit(
      {
        actor,
        action: "user.thresholds",
        targetType: "user",
        targetId: userId,
        before: before ? { lowBalance: before.lowBalance } : undefined,
        after: { lowBalance },
      },
      tx,
    );
    return { userId, lowBalance };
  });
}

/** The default threshold for users without their own (kept where the ledger trigger reads it). */
export async function getDefaultLowBalance(): Promise<number> {
  const row = await getDb().outboundSettings.findUnique({ where: { id: 1 } });
  return row?.defaultLowBalance ?? 100;
}

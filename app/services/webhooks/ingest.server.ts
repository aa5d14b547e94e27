import { createHash } from "node:crypto";
import type Stripe from "stripe";
import { getDatabase } from "../db.server";
import { getEnv } from "../env.server";
import { logger, scrubSecrets } from "../logger.server";
import { expectsLivemode } from "../stripe-client.server";
import { isTransientError } from "../transient.server";
import {
  DELIVERY_COLUMNS,
  deliveryInsertParts,
  recordDelivery,
  type DeliveryRecord,
} from "./delivery-log.server";
import { isHandledEventType, objectIdOf } from "./handlers.server";
import { wakeWebhookWorker } from "./queue.server";
import { verifyStripeSignature } from "./verify.server";

/**
 * Receiving a Stripe webhook: verify, store, answer. Acting on the event happens in the event
 * queue (queue.server.ts) right after, because Stripe asks endpoints to answer quickly and the
 * work (a Stripe API call and a credit transaction) costs many times what receiving does.
 *
 * Every request is recorded as a WebhookDelivery, whatever happens. Status codes (what Stripe
 * does with them matters): 200 = stored or already stored, do not retry (the queue retries its
 * own transient failures and raises attention items); 400 = refused (signature, timestamp,
 * livemode, JSON); 413 = body over 1 MB; 503 = not stored (database down, no secret configured),
 * Stripe retries later.
 */

export const MAX_WEBHOOK_BODY_BYTES = 1024 * 1024;

export type DeliveryOutcome =
  | "accepted"
  | "processed"
  | "duplicate"
  | "ignored"
  | "needs_attention"
  | "failed"
  | "invalid_signature"
  | "stale"
  | "livemode_mismatch"
  | "malformed"
  | "too_large";

/** The request body as read by the HTTP layer: whole, or cut off at the limit. */
export type WebhookBody = { ok: true; bytes: Buffer } | { ok: false; size: number };

export interface WebhookRequest {
  body: WebhookBody;
  /** The Stripe-Signature header, if any. */
  signature: string | null;
  ip: string | null;
  /** performance.now() when the request arrived (for the delivery's duration). */
  startedAt?: number;
}

export interface WebhookResponse {
  status: number;
  body: Record<string, unknown>;
}

/** Read a request body, refusing early on Content-Length and counting while streaming. */
export async function readLimitedBody(
  stream: AsyncIterable<Uint8Array> | null,
  declaredLength: number | null,
  limit = MAX_WEBHOOK_BODY_BYTES,
): Promise<WebhookBody> {
  if (declaredLength !== null && Number.isFinite(declaredLength) && declaredLength > limit)
    return { ok: false, size: declaredLength };
  if (!stream) return { ok: true, bytes: Buffer.alloc(0) };
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    total += chunk.byteLength;
    if (total > limit) return { ok: false, size: total };
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  }
  return { ok: true, bytes: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks) };
}

const errorBody = (code: string, message: string) => ({ error: { code, message } });

/**
 * Store a verified event for the queue and record its delivery, in one statement. A new event
 * is `received` and due now (a type creditdesk does not act on is stored as `ignored`); an event
 * that ended `failed` or `needs_attention` is queued again, since Stripe re-sending it is a
 * request to try again; any other known event is a duplicate and nothing changes.
 */
async function enqueue(
  event: Stripe.Event,
  payload: string,
  delivery: Omit<DeliveryRecord, "outcome">,
): Promise<"accepted" | "ignored" | "duplicate"> {
  const handled = isHandledEventType(event.type);
  const row = deliveryInsertParts(delivery, 9, "outcome.outcome");
  const rows = await getDatabase().query<{ outcome: "accepted" | "ignored" | "duplicate" }>(
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

export async function receiveStripeWebhook(req: WebhookRequest): Promise<WebhookResponse> {
  const startedAt = req.startedAt ?? performance.now();
  const remoteIp = req.ip;
  type Fields = Omit<DeliveryRecord, "startedAt" | "remoteIp">;
  const finish = async (response: WebhookResponse, fields: Fields) => {
    await recordDelivery({ ...fields, startedAt, remoteIp });
    return response;
  };

  if (!req.body.ok) {
    const size = req.body.size;
    const message = `Request body is ${size} bytes; the limit is ${MAX_WEBHOOK_BODY_BYTES} bytes (1 MB).`;
    return finish(
      { status: 413, body: errorBody("payload_too_large", message) },
      {
        signatureStatus: req.signature ? "invalid" : "missing",
        outcome: "too_large",
        responseStatus: 413,
        error: message,
        bodySha256: "",
        bodySize: size,
      },
    );
  }
  const body = req.body.bytes;
  const base = {
    bodySha256: createHash("sha256").update(body).digest("hex"),
    bodySize: body.byteLength,
  };

  const secrets = getEnv().webhookSecrets;
  if (secrets.length === 0) {
    // A configuration gap, not the sender's fault: 503 keeps Stripe retrying until it is fixed.
    const message =
      "No webhook signing secret is configured (STRIPE_WEBHOOK_SECRET); the event cannot be verified.";
    logger.error(message);
    return finish(
      { status: 503, body: errorBody("webhook_secret_not_configured", message) },
      {
        ...base,
        signatureStatus: "invalid",
        outcome: "failed",
        responseStatus: 503,
        error: message,
      },
    );
  }

  const verified = verifyStripeSignature(body, req.signature, secrets);
  if (!verified.ok) {
    return finish(
      { status: 400, body: errorBody(verified.code, verified.message) },
      {
        ...base,
        signatureStatus: verified.signatureStatus,
        outcome: verified.outcome,
        responseStatus: 400,
        error: verified.message,
      },
    );
  }
  const event: Stripe.Event = verified.event;
  const signed = { ...base, signatureStatus: "valid" as const, eventType: event.type };

  const live = expectsLivemode();
  if (Boolean(event.livemode) !== live) {
    const message = `Event ${event.id} has livemode=${Boolean(event.livemode)} but the configured Stripe key is ${live ? "live" : "test"} mode; refused.`;
    return finish(
      { status: 400, body: errorBody("livemode_mismatch", message) },
      { ...signed, outcome: "livemode_mismatch", responseStatus: 400, error: message },
    );
  }

  try {
    const outcome = await enqueue(event, body.toString("utf8"), {
      ...signed,
      eventId: event.id,
      responseStatus: 200,
      startedAt,
      remoteIp,
    });
    if (outcome === "accepted") wakeWebhookWorker();
    return { status: 200, body: { received: true, eventId: event.id, outcome } };
  } catch (error) {
    const message = scrubSecrets((error as Error)?.message ?? String(error));
    const transient = isTransientError(error);
    logger.error(
      { eventId: event.id, type: event.type, err: message, transient },
      "could not store webhook event",
    );
    // Not stored, so ask Stripe to send it again: 503 when it should work later, 500 otherwise
    // (still retried by Stripe, and visible in the delivery log either way).
    const status = transient ? 503 : 500;
    return finish(
      {
        status,
        body: errorBody(
          transient ? "temporarily_unavailable" : "storage_error",
          transient ? "Temporary failure; please retry." : "The event could not be stored.",
        ),
      },
      { ...signed, outcome: "failed", responseStatus: status, error: message },
    );
  }
}

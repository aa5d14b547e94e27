import { createHash } from "node:crypto";
import type Stripe from "stripe";
import { getDb } from "../db.server";
import { getEnv } from "../env.server";
import { logger, scrubSecrets } from "../logger.server";
import { expectsLivemode } from "../stripe-client.server";
import { isTransientError } from "../transient.server";
import { recordDelivery, type DeliveryRecord } from "./delivery-log.server";
import {
  DONE_STATUSES,
  processStripeEvent,
  storeEvent,
  type ProcessResult,
} from "./handlers.server";
import { verifyStripeSignature } from "./verify.server";

/**
 * POST /webhooks/stripe. Every request is recorded as a WebhookDelivery, whatever happens.
 * Status codes (what Stripe does with them matters): 2xx = do not retry (processed, duplicate,
 * ignored type, needs attention, permanently failed — the latter two raise attention items);
 * 400 = refused request (signature, timestamp, livemode, JSON); 413 = body over 1 MB;
 * 503 = transient failure (database or Stripe unreachable), Stripe retries later.
 */

export const MAX_WEBHOOK_BODY_BYTES = 1024 * 1024;

export type DeliveryOutcome =
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

type BodyRead = { ok: true; body: Buffer } | { ok: false; size: number; body: Buffer };

/** Read the raw bytes, refusing early on Content-Length and counting while streaming. */
async function readBody(request: Request, limit: number): Promise<BodyRead> {
  const declared = Number(request.headers.get("content-length") ?? "NaN");
  if (Number.isFinite(declared) && declared > limit)
    return { ok: false, size: declared, body: Buffer.alloc(0) };
  if (!request.body) return { ok: true, body: Buffer.alloc(0) };
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      return { ok: false, size: total, body: Buffer.concat(chunks) };
    }
    chunks.push(value);
  }
  return {
    ok: true,
    body:
      chunks.length === 1
        ? Buffer.from(chunks[0].buffer, chunks[0].byteOffset, chunks[0].byteLength)
        : Buffer.concat(chunks),
  };
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store" },
  });
}

function errorBody(code: string, message: string) {
  return { error: { code, message } };
}

export async function handleStripeWebhook(
  request: Request,
  ctx: { ip?: string | null } = {},
): Promise<Response> {
  const startedAt = performance.now();
  const remoteIp = ctx.ip ?? null;
  type Fields = Omit<DeliveryRecord, "startedAt" | "remoteIp">;
  const finish = async (response: Response, fields: Fields): Promise<Response> => {
    await recordDelivery({ ...fields, startedAt, remoteIp });
    return response;
  };

  const read = await readBody(request, MAX_WEBHOOK_BODY_BYTES);
  const sha = createHash("sha256").update(read.body).digest("hex");
  if (!read.ok) {
    const message = `Request body is ${read.size} bytes; the limit is ${MAX_WEBHOOK_BODY_BYTES} bytes (1 MB).`;
    return finish(json(413, errorBody("payload_too_large", message)), {
      signatureStatus: request.headers.get("stripe-signature") ? "invalid" : "missing",
      outcome: "too_large",
      responseStatus: 413,
      error: message,
      bodySha256: sha,
      bodySize: read.size,
    });
  }
  const body = read.body;
  const base = { bodySha256: sha, bodySize: body.byteLength };

  const secrets = getEnv().webhookSecrets;
  if (secrets.length === 0) {
    // A configuration gap, not the sender's fault: 503 keeps Stripe retrying until it is fixed.
    const message =
      "No webhook signing secret is configured (STRIPE_WEBHOOK_SECRET); the event cannot be verified.";
    logger.error(message);
    return finish(json(503, errorBody("webhook_secret_not_configured", message)), {
      ...base,
      signatureStatus: "invalid",
      outcome: "failed",
      responseStatus: 503,
      error: message,
    });
  }

  const verified = verifyStripeSignature(body, request.headers.get("stripe-signature"), secrets);
  if (!verified.ok) {
    return finish(json(400, errorBody(verified.code, verified.message)), {
      ...base,
      signatureStatus: verified.signatureStatus,
      outcome: verified.outcome,
      responseStatus: 400,
      error: verified.message,
    });
  }
  const event: Stripe.Event = verified.event;
  const signed = { ...base, signatureStatus: "valid" as const, eventType: event.type };

  const live = expectsLivemode();
  if (Boolean(event.livemode) !== live) {
    const message = `Event ${event.id} has livemode=${Boolean(event.livemode)} but the configured Stripe key is ${live ? "live" : "test"} mode; refused.`;
    return finish(json(400, errorBody("livemode_mismatch", message)), {
      ...signed,
      outcome: "livemode_mismatch",
      responseStatus: 400,
      error: message,
    });
  }

  try {
    const stored = await storeEvent(event, "webhook", body.toString("utf8"));
    if (DONE_STATUSES.has(stored.status)) {
      return finish(json(200, { received: true, eventId: event.id, outcome: "duplicate" }), {
        ...signed,
        eventId: event.id,
        outcome: "duplicate",
        responseStatus: 200,
      });
    }
    const toOutcome = (status: ProcessResult["status"]): DeliveryOutcome => status;
    const result = await processStripeEvent(event, "webhook", {
      stored: true,
      delivery: (r) => ({
        ...signed,
        eventId: event.id,
        outcome: toOutcome(r.status),
        responseStatus: 200,
        error: r.status === "failed" || r.status === "needs_attention" ? r.detail : null,
        startedAt,
        remoteIp,
      }),
    });
    return json(200, { received: true, eventId: event.id, outcome: toOutcome(result.status) });
  } catch (error) {
    const message = scrubSecrets((error as Error)?.message ?? String(error));
    const transient = isTransientError(error);
    const status = transient ? 503 : 500;
    logger.error(
      { eventId: event.id, type: event.type, err: message, transient },
      "webhook processing error",
    );
    const stored = await getDb()
      .stripeEvent.findUnique({ where: { id: event.id }, select: { id: true } })
      .catch(() => null);
    return finish(
      json(
        status,
        errorBody(
          transient ? "temporarily_unavailable" : "processing_error",
          transient ? "Temporary failure; please retry." : "The event could not be processed.",
        ),
      ),
      {
        ...signed,
        eventId: stored ? event.id : null,
        outcome: "failed",
        responseStatus: status,
        error: message,
      },
    );
  }
}

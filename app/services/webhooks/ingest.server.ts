import { createHash } from "node:crypto";
import type Stripe from "stripe";
import { getEnv } from "../infra/env.server";
import { logger, scrubSecrets } from "../infra/logger.server";
import { expectsLivemode } from "../infra/stripe-client.server";
import { isTransientError } from "../infra/transient.server";
import { recordDelivery, type DeliveryRecord } from "./delivery-log.server";
import { enqueueDelivered } from "./event-store.server";
import { isHandledEventType } from "./handlers.server";
import { wakeWebhookWorker } from "./queue.server";
import { verifyStripeSignature, type VerifyResult } from "./verify.server";

/**
 * Receiving a Stripe webhook: verify, store, answer. Acting on the event happens in the event
 * queue (queue.server.ts) right after, because Stripe asks endpoints to answer quickly and the
 * work (a Stripe API call and a credit transaction) costs many times what receiving does.
 *
 * Every request is recorded as a WebhookDelivery, whatever happens. Status codes (what Stripe
 * does with them matters): 200 = stored or already stored, do not retry (the queue retries its
 * own transient failures and raises attention items); 400 = refused (signature, timestamp,
 * livemode, or a signed body that is not a Stripe event the database can store:
 * payload.server.ts, and whatever the database itself refuses); 413 = body over 1 MB (connection
 * closed); 503 = not stored (database down, no secret configured), Stripe retries later. Never a
 * 5xx for the bytes themselves: Stripe would resend the same bytes for days.
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

/**
 * After the limit, up to this much more of a request body is read and thrown away (never kept)
 * within DISCARD_MS, so that a client that has sent it all reads the 413 instead of a connection
 * reset: closing a socket with unread bytes makes the kernel answer with RST. A body beyond that
 * budget is answered at once and its connection closed mid-body.
 */
export const DISCARD_BYTES = 8 * 1024 * 1024;
export const DISCARD_MS = 5_000;

/**
 * The request body as read by the HTTP layer: whole, or refused at the limit. `size` is the length
 * declared, or the bytes seen; `exact` is false when reading stopped before the end ("more than").
 */
export type WebhookBody = { ok: true; bytes: Buffer } | { ok: false; size: number; exact: boolean };

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

type Chunks = AsyncIterator<Uint8Array>;

/** Read and drop the rest of a body, within the discard budget; true if it ended cleanly. */
async function discardRest(
  chunks: Chunks,
  seen: { bytes: number },
  budgetEnd: number,
): Promise<boolean> {
  const deadline = Date.now() + DISCARD_MS;
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), Math.max(0, deadline - Date.now()));
    });
    const next = chunks.next();
    // Left behind on a timeout: its failure (the client went away) must not go unhandled.
    next.catch(() => undefined);
    const step = await Promise.race([next, timeout])
      .catch(() => "failed" as const)
      .finally(() => clearTimeout(timer));
    if (step === "timeout" || step === "failed") return false;
    if (step.done) return true;
    seen.bytes += step.value.byteLength;
    // Not iterator.return(): that destroys the request, and with it the socket the 413 goes on.
    if (seen.bytes > budgetEnd) return false;
  }
}

/** Read a request body, refusing early on Content-Length and counting while streaming. */
export async function readLimitedBody(
  stream: AsyncIterable<Uint8Array> | null,
  declaredLength: number | null,
  limit = MAX_WEBHOOK_BODY_BYTES,
): Promise<WebhookBody> {
  if (declaredLength !== null && Number.isFinite(declaredLength) && declaredLength > limit) {
    if (stream && declaredLength <= limit + DISCARD_BYTES)
      await discardRest(stream[Symbol.asyncIterator](), { bytes: 0 }, declaredLength);
    return { ok: false, size: declaredLength, exact: true };
  }
  if (!stream) return { ok: true, bytes: Buffer.alloc(0) };
  const chunks: Buffer[] = [];
  const seen = { bytes: 0 };
  const iterator = stream[Symbol.asyncIterator]();
  for (;;) {
    const step = await iterator.next();
    if (step.done) break;
    const chunk = step.value;
    seen.bytes += chunk.byteLength;
    if (seen.bytes > limit) {
      chunks.length = 0;
      const ended = await discardRest(iterator, seen, limit + DISCARD_BYTES);
      return { ok: false, size: seen.bytes, exact: ended };
    }
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  }
  return { ok: true, bytes: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks) };
}

const errorBody = (code: string, message: string) => ({ error: { code, message } });

export async function receiveStripeWebhook(req: WebhookRequest): Promise<WebhookResponse> {
  const startedAt = req.startedAt ?? performance.now();
  const remoteIp = req.ip;
  type Fields = Omit<DeliveryRecord, "startedAt" | "remoteIp">;
  const finish = async (response: WebhookResponse, fields: Fields) => {
    await recordDelivery({ ...fields, startedAt, remoteIp });
    return response;
  };

  if (!req.body.ok) {
    const { size, exact } = req.body;
    const message = `Request body is ${exact ? "" : "more than "}${size} bytes; the limit is ${MAX_WEBHOOK_BODY_BYTES} bytes (1 MB).`;
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

  let verified: VerifyResult;
  try {
    verified = verifyStripeSignature(body, req.signature, secrets);
  } catch (error) {
    // A bug, not the sender's doing: recorded, and 500 so Stripe sends it again after the fix.
    const message = scrubSecrets((error as Error)?.message ?? String(error));
    logger.error({ err: message }, "webhook verification failed unexpectedly");
    return finish(
      { status: 500, body: errorBody("internal_error", "The request could not be handled.") },
      {
        ...base,
        signatureStatus: "invalid",
        outcome: "failed",
        responseStatus: 500,
        error: message,
      },
    );
  }
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
    const outcome = await enqueueDelivered(
      event,
      body.toString("utf8"),
      isHandledEventType(event.type),
      {
        ...signed,
        eventId: event.id,
        responseStatus: 200,
        startedAt,
        remoteIp,
      },
    );
    if (outcome === "accepted") wakeWebhookWorker();
    return { status: 200, body: { received: true, eventId: event.id, outcome } };
  } catch (error) {
    const message = scrubSecrets((error as Error)?.message ?? String(error));
    const refused = unstorableReason(error);
    if (refused) {
      // The database refused these bytes and will refuse them every time: a 5xx would have
      // Stripe send them again for days. payload.server.ts catches the known cases first.
      const reason = `The event could not be stored: ${refused}`;
      logger.warn({ eventId: event.id, type: event.type, err: reason }, "webhook event refused");
      return finish(
        { status: 400, body: errorBody("unstorable_payload", reason) },
        {
          // No event id: the delivery's event_id references a stored event.
          ...signed,
          outcome: "malformed",
          responseStatus: 400,
          error: reason,
        },
      );
    }
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

/**
 * The database's reason when it refused the values themselves (SQLSTATE class 22, data
 * exception: bad text, JSON or numbers; class 54, program limit: index row or nesting too large),
 * from node-postgres errors and from Prisma's driver-adapter errors (PGlite). Null otherwise.
 */
function unstorableReason(error: unknown): string | null {
  const e = error as {
    code?: unknown;
    message?: unknown;
    detail?: unknown;
    meta?: { driverAdapterError?: { cause?: Record<string, unknown> } };
  } | null;
  if (!e || typeof e !== "object") return null;
  const cause = e.meta?.driverAdapterError?.cause;
  const code = cause ? (cause.originalCode ?? cause.code) : e.code;
  if (typeof code !== "string" || !/^(22|54)[0-9A-Z]{3}$/.test(code)) return null;
  const message = cause ? (cause.originalMessage ?? cause.message) : e.message;
  const detail = cause ? cause.detail : e.detail;
  return `${String(message)}${typeof detail === "string" && detail ? ` (${detail})` : ""} [SQLSTATE ${code}].`;
}

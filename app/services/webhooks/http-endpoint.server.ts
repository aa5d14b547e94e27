import type { Request, Response } from "express";
import { logger, scrubSecrets } from "../infra/logger.server";
import { readLimitedBody, receiveStripeWebhook } from "./ingest.server";

/**
 * `POST /webhooks/stripe`, mounted straight on Express by server.ts ahead of Remix: the raw
 * bytes the signature covers, no body parser, no compression, and none of the Remix request
 * pipeline (which cost more than verifying and storing an event). The logic is in
 * ingest.server.ts; this only moves bytes in and out.
 */
export async function stripeWebhookEndpoint(req: Request, res: Response): Promise<void> {
  const startedAt = performance.now();
  if (req.method !== "POST") {
    sendJson(res, 405, {
      error: { code: "method_not_allowed", message: "Stripe webhooks are delivered with POST." },
    });
    return;
  }
  try {
    const declared = req.headers["content-length"];
    const body = await readLimitedBody(req, declared === undefined ? null : Number(declared));
    const signature = req.headers["stripe-signature"];
    const result = await receiveStripeWebhook({
      body,
      signature: typeof signature === "string" ? signature : null,
      ip: req.ip ?? req.socket.remoteAddress ?? null,
      startedAt,
    });
    // Refused for size: close the connection after the 413 (readLimitedBody has thrown away
    // what arrived in time, so the client reads the answer rather than a reset), and a keep-alive
    // client opens a fresh connection for its next request instead of reusing this one.
    if (!body.ok) res.setHeader("Connection", "close");
    sendJson(res, result.status, result.body);
  } catch (error) {
    logger.error({ err: scrubSecrets((error as Error).message) }, "webhook endpoint error");
    if (!res.headersSent)
      sendJson(res, 500, {
        error: { code: "internal_error", message: "The request could not be handled." },
      });
  }
}

function sendJson(res: Response, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader("Content-Type", "application/json; charset=utf-8");
  res.setHeader("Cache-Control", "no-store");
  if (status === 405) res.setHeader("Allow", "POST");
  res.end(JSON.stringify(body));
}

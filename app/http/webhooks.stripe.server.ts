import type { Express } from "express";
import { stripeWebhookEndpoint } from "~/services/webhooks/http-endpoint.server";

/**
 * `POST /webhooks/stripe`: mounted on Express ahead of the compression middleware and the Remix
 * handler, so the signature is checked over the untouched body and the hottest endpoint pays for
 * no Remix pipeline (docs/decisions/002-express-level-endpoints.md). What it does with the bytes
 * is app/services/webhooks/http-endpoint.server.ts and ingest.server.ts.
 */
export function mountStripeWebhook(app: Express): void {
  app.all("/webhooks/stripe", (req, res) => void stripeWebhookEndpoint(req, res));
}

import path from "node:path";
import type { ServerBuild } from "@remix-run/node";
import compression from "compression";
import express from "express";
import { installSchedulerHooks } from "../../jobs/scheduler";
import { openAppDatabase } from "~/services/infra/bootstrap.server";
import { getDatabase } from "~/services/infra/db.server";
import { installDemoHooks } from "~/services/demo/register.server";
import { installEmbeddedShareHook } from "~/services/infra/embedded-share.server";
import { getEnv } from "~/services/infra/env.server";
import { dashboardGuards } from "~/http/dashboard-guards.server";
import { loadContextFor } from "~/http/load-context.server";
import { remixRequestHandler } from "~/http/remix-handler.server";
import { securityHeaders } from "~/http/security-headers.server";
import { logger, scrubSecrets } from "~/services/infra/logger.server";
import { startWebhookWorker, stopWebhookWorker } from "~/services/webhooks/queue.server";
import { startOutboundWorker, stopOutboundWorker } from "~/services/outbound/worker.server";
import { mountCreditsApi } from "./credits-api.server";
import { mountExportRoutes } from "./exports.server";
import { mountStripeWebhook } from "./webhooks.stripe.server";

/**
 * The HTTP app and the process's start-up pieces, exported by the Remix build (app/entry.server.tsx
 * re-exports this module as `server`), so server.ts runs the same copy of every module the routes
 * use: one database handle, one env, one webhook worker per process
 * (docs/decisions/009-one-app-per-process.md). server.ts stays a thin launcher.
 *
 * Where each URL is served (README, "Layout"): /healthz here; /webhooks/stripe in
 * webhooks.stripe.server.ts; POST /api/v1/users/{id}/debits in credits-api.server.ts;
 * /purchases/export.csv and /ledger/export.csv in exports.server.ts;
 * /build/* and public files as static files; everything else by the Remix routes in app/routes.
 */

export { ConfigError, getEnv } from "~/services/infra/env.server";
export { logFormat, logger, printLine, scrubSecrets } from "~/services/infra/logger.server";
export { onStart, onStop, startHooks, stopHooks } from "~/services/infra/lifecycle.server";
export { getDatabase } from "~/services/infra/db.server";

/** The start-up hooks of `npm start`, registered once by server.ts (each says when it runs). */
export const startupHooks = {
  /** Demo mode: the Stripe emulator, the demo admin, the demo data (only without Stripe keys). */
  demo: installDemoHooks,
  /** CLI commands and `npm run jobs` reach the embedded database through this process. */
  embeddedShare: installEmbeddedShareHook,
  /** The nightly reconciliation, once listening (unless SCHEDULER=off). */
  scheduler: installSchedulerHooks,
};

/** Open the configured database (migrating it when this process owns it) for this process. */
export async function openDatabaseForServer() {
  const db = await openAppDatabase(getEnv());
  logger.info({ database: db.description }, "database ready");
  return db;
}

/**
 * Webhook events are acted on by this queue worker, moments after the endpoint stores them; the
 * outbound worker sends the product its events (app/services/outbound/).
 */
export function startWorkers(): () => Promise<void> {
  const env = getEnv();
  if (env.WEBHOOK_WORKER_CONCURRENCY > 0)
    startWebhookWorker({ concurrency: env.WEBHOOK_WORKER_CONCURRENCY });
  if (env.OUTBOUND_WORKER_CONCURRENCY > 0)
    startOutboundWorker({ concurrency: env.OUTBOUND_WORKER_CONCURRENCY });
  return async () => {
    await Promise.all([stopWebhookWorker(), stopOutboundWorker()]);
  };
}

/** Build the HTTP app around the Remix build; the database must already be open. */
export function createApp(build: ServerBuild, opts: { publicDir: string }) {
  const app = express();
  app.disable("x-powered-by");
  // Off unless TRUST_PROXY names the proxies in front (docs/deploy.md): otherwise any client could
  // choose the address that audit records and the sign-in throttle see with X-Forwarded-For.
  app.set("trust proxy", getEnv().TRUST_PROXY);
  const production = getEnv().NODE_ENV === "production";
  // The Credits API's debit call, the main app's per-usage call, ahead of everything: no
  // compression, static files or Remix pipeline, and its security headers computed once
  // (credits-api.server.ts, docs/decisions/002-express-level-endpoints.md).
  mountCreditsApi(app, { production });
  // CSP with a per-response nonce, nosniff, frame and referrer policies, HSTS in production.
  app.use(securityHeaders({ production }));

  // Health: 200 when the database answers, 503 otherwise. Cheap enough for a 5 s probe.
  app.get("/healthz", async (_req, res) => {
    try {
      await getDatabase().prisma.$queryRaw`SELECT 1`;
      res.status(200).json({ status: "ok", database: "up" });
    } catch (error) {
      logger.warn({ err: scrubSecrets((error as Error).message) }, "health check failed");
      res.status(503).json({ status: "unavailable", database: "down" });
    }
  });

  // Dashboard requests (not /api/, /webhooks/): NUL characters, cross-origin and non-form posts
  // and oversized bodies are refused here, before the session check or any parsing.
  app.use(dashboardGuards());

  // CSV exports, streamed by Express with backpressure (Remix's adapter ignores it); never compressed.
  mountExportRoutes(app);

  // Stripe webhooks, ahead of everything else: the untouched body for the signature check, and
  // no compression or Remix pipeline on the hottest endpoint.
  mountStripeWebhook(app);
  const compress = compression();
  app.use((req, res, next) =>
    req.path.startsWith("/webhooks/") ? next() : compress(req, res, next),
  );
  app.use(
    "/build",
    express.static(path.join(opts.publicDir, "build"), { immutable: true, maxAge: "1y" }),
  );
  app.use(express.static(opts.publicDir, { maxAge: "1h" }));
  // `use`, not `all("*")`: a "*" route decodes the path as a parameter, and a malformed
  // percent-encoding became Express's own HTML 400 page instead of the route's answer.
  app.use(
    remixRequestHandler({
      build,
      mode: process.env.NODE_ENV === "production" ? "production" : "development",
      getLoadContext: loadContextFor,
    }),
  );
  return app;
}

import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Server } from "node:http";
import express from "express";
import compression from "compression";
import type { ServerBuild } from "@remix-run/node";
import { ConfigError, getEnv } from "./app/services/env.server";
import { openAppDatabase } from "./app/services/bootstrap.server";
import { getDatabase } from "./app/services/db.server";
import { dashboardGuards } from "./app/services/http/dashboard-guards.server";
import { loadContextFor } from "./app/services/http/load-context.server";
import { remixRequestHandler } from "./app/services/http/remix-handler.server";
import { securityHeaders } from "./app/services/http/security-headers.server";
import { mountExportRoutes } from "./app/services/exports/express-routes.server";
import { logFormat, logger, printLine, scrubSecrets } from "./app/services/logger.server";
import { onStart, onStop, startHooks, stopHooks } from "./app/services/lifecycle.server";
import { stripeWebhookEndpoint } from "./app/services/webhooks/http-endpoint.server";
import { startWebhookWorker, stopWebhookWorker } from "./app/services/webhooks/queue.server";
import "./jobs/start-scheduler";
import "./app/services/demo/register.server";
// CLI commands and `npm run jobs` reach the embedded database through this process while it runs.
import "./app/services/embedded-share.server";

const root = path.dirname(fileURLToPath(import.meta.url));

export interface RunningServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/** Build the HTTP app around the Remix build; the database must already be open. */
export async function createApp(build: ServerBuild) {
  const app = express();
  app.disable("x-powered-by");
  // Off unless TRUST_PROXY names the proxies in front (docs/deploy.md): otherwise any client could
  // choose the address that audit records and the sign-in throttle see with X-Forwarded-For.
  app.set("trust proxy", getEnv().TRUST_PROXY);
  // CSP with a per-response nonce, nosniff, frame and referrer policies, HSTS in production.
  app.use(securityHeaders({ production: getEnv().NODE_ENV === "production" }));

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
  app.all("/webhooks/stripe", (req, res) => void stripeWebhookEndpoint(req, res));
  app.use((req, res, next) =>
    req.path.startsWith("/webhooks/") ? next() : compression()(req, res, next),
  );
  app.use(
    "/build",
    express.static(path.join(root, "public/build"), { immutable: true, maxAge: "1y" }),
  );
  app.use(express.static(path.join(root, "public"), { maxAge: "1h" }));
  app.all(
    "*",
    remixRequestHandler({
      build,
      mode: process.env.NODE_ENV === "production" ? "production" : "development",
      getLoadContext: loadContextFor,
    }),
  );
  return app;
}

export async function startServer(
  opts: { port?: number; host?: string } = {},
): Promise<RunningServer> {
  const env = getEnv();
  const build = (await import(
    pathToFileURL(path.join(root, "build/index.js")).href
  )) as ServerBuild;
  await startHooks("before-database");
  const db = await openAppDatabase(env);
  logger.info({ database: db.description }, "database ready");
  await startHooks("after-database");
  // Webhook events are acted on by this queue worker, moments after the endpoint stores them.
  if (env.WEBHOOK_WORKER_CONCURRENCY > 0)
    startWebhookWorker({ concurrency: env.WEBHOOK_WORKER_CONCURRENCY });
  onStop("webhook-queue", () => stopWebhookWorker());
  const app = await createApp(build);
  const port = opts.port ?? env.PORT;
  const host = opts.host ?? env.HOST;
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(port, host, () => resolve(s));
    s.once("error", reject);
  });
  const address = server.address() as { port: number };
  const url = `http://${host === "0.0.0.0" ? "localhost" : host}:${address.port}`;
  await startHooks("listening", { url });
  let closing: Promise<void> | undefined;
  return {
    server,
    url,
    close() {
      // Stop taking requests, let in-flight ones finish, stop jobs, then release the database.
      closing ??= (async () => {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await stopHooks();
        await getDatabase().close();
      })();
      return closing;
    },
  };
}

async function main() {
  let running: RunningServer;
  let demoMode = false;
  try {
    // Say what is happening from the first second; each step logs when it is done.
    const env = getEnv();
    demoMode = env.demoMode;
    logger.info({ mode: demoMode ? "demo" : env.NODE_ENV }, "starting creditdesk");
    onStart("before-database", "announce-database", () =>
      logger.info("opening the database (and applying any pending migrations)"),
    );
    running = await startServer();
  } catch (error) {
    // A stack trace only for the unexpected: a bad setting or a busy port is said in one line.
    const code = (error as NodeJS.ErrnoException).code;
    const message =
      error instanceof ConfigError
        ? error.message
        : code === "EADDRINUSE"
          ? `${(error as Error).message}: another process listens on that port (stop it, or set PORT).`
          : ((error as Error).stack ?? String(error));
    console.error(`creditdesk could not start:\n${scrubSecrets(message)}`);
    process.exit(1);
  }
  logger.info({ url: running.url }, "creditdesk listening");
  // JSON logs are for machines (the record above has the URL); this line is for a person.
  if (demoMode || logFormat() === "pretty")
    printLine(`\ncreditdesk is running at ${running.url}\n`);
  let shuttingDown = false;
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => {
      if (shuttingDown) return;
      shuttingDown = true;
      logger.info({ signal }, "shutting down");
      const force = setTimeout(() => process.exit(1), 15_000);
      force.unref();
      running.close().then(
        () => process.exit(0),
        (error) => {
          logger.error({ err: (error as Error).message }, "error during shutdown");
          process.exit(1);
        },
      );
    });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}

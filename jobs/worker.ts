import path from "node:path";
import { fileURLToPath } from "node:url";
import { openAppDatabase } from "../app/services/infra/bootstrap.server";
import { shareEmbeddedDatabase } from "../app/services/infra/embedded-share.server";
import type { EmbeddedSocket } from "../app/services/infra/embedded-socket.server";
import { ConfigError, getEnv } from "../app/services/infra/env.server";
import { logger, scrubSecrets } from "../app/services/infra/logger.server";
import { startWebhookWorker, stopWebhookWorker } from "../app/services/webhooks/queue.server";
import { startOutboundWorker, stopOutboundWorker } from "../app/services/outbound/worker.server";
import { startHoldSweeper } from "./hold-sweeper";
import {
  createReconcileScheduler,
  schedulerOptionsFromEnv,
  type ReconcileScheduler,
} from "./scheduler";

/**
 * `npm run jobs`: a scheduler-only process (run it beside web servers started with SCHEDULER=off,
 * or as the only scheduler among several replicas). It ignores SCHEDULER — scheduling is its job.
 */

export interface RunningWorker {
  scheduler: ReconcileScheduler;
  stop(): Promise<void>;
}

export async function startWorker(): Promise<RunningWorker> {
  const env = getEnv();
  if (env.demoMode) {
    throw new ConfigError(
      "The jobs worker needs STRIPE_SECRET_KEY: in demo mode the Stripe emulator lives inside `npm start`. " +
        "Start the demo with SCHEDULER=on to have it schedule reconciliation, or run `npm run cli -- reconcile`.",
    );
  }
  // Beside a server on the embedded database, the worker goes through the server; when it owns
  // the database itself, it shares it in turn, so CLI commands work while it runs.
  const db = await openAppDatabase(env, { throughOwner: true });
  let scheduler: ReconcileScheduler;
  let shared: EmbeddedSocket | null = null;
  let sweeper: { stop(): Promise<void> } | null = null;
  try {
    shared = await shareEmbeddedDatabase(db);
    scheduler = createReconcileScheduler(schedulerOptionsFromEnv(env));
    await scheduler.start();
    // Also work the webhook event queue (web servers may run with WEBHOOK_WORKER_CONCURRENCY=0).
    startWebhookWorker({ concurrency: Math.max(1, env.WEBHOOK_WORKER_CONCURRENCY) });
    // And send the product its events (web servers may run with OUTBOUND_WORKER_CONCURRENCY=0).
    startOutboundWorker({ concurrency: Math.max(1, env.OUTBOUND_WORKER_CONCURRENCY) });
    sweeper = startHoldSweeper();
  } catch (error) {
    await shared?.stop();
    await db.close();
    throw error;
  }
  logger.info(
    {
      database: db.description,
      cron: env.RECONCILE_CRON,
      timezone: env.RECONCILE_TZ,
      nextRunAt: scheduler.nextRunAt()?.toISOString() ?? null,
    },
    "reconciliation worker started",
  );
  let stopping: Promise<void> | undefined;
  return {
    scheduler,
    stop() {
      // Let a run in progress finish its page and record itself, then release the database.
      stopping ??= (async () => {
        await Promise.all([
          scheduler.stop(),
          stopWebhookWorker(),
          stopOutboundWorker(),
          sweeper?.stop(),
        ]);
        await shared?.stop();
        await db.close();
      })();
      return stopping;
    },
  };
}

async function main() {
  let worker: RunningWorker;
  try {
    worker = await startWorker();
  } catch (error) {
    const message =
      error instanceof ConfigError ? error.message : ((error as Error).stack ?? String(error));
    console.error(`creditdesk jobs worker could not start:\n${scrubSecrets(message)}`);
    process.exit(1);
  }
  console.log(
    `creditdesk jobs worker running; next reconciliation at ${worker.scheduler.nextRunAt()?.toISOString() ?? "(unknown)"}`,
  );
  let shuttingDown = false;
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => {
      if (shuttingDown) return;
      shuttingDown = true;
      logger.info({ signal }, "jobs worker shutting down");
      const force = setTimeout(() => process.exit(1), 15_000);
      force.unref();
      worker.stop().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error(
            { err: scrubSecrets((error as Error).message) },
            "error during worker shutdown",
          );
          process.exit(1);
        },
      );
    });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}

import { remember } from "../app/lib/remember";
import cron from "node-cron";
import { ConfigError, getEnv, type Env } from "../app/services/infra/env.server";
import { onStart, onStop } from "../app/services/infra/lifecycle.server";
import { logger, scrubSecrets } from "../app/services/infra/logger.server";
import { expireDueGrants } from "../app/services/grants/expiry.server";
import { startHoldSweeper } from "./hold-sweeper";
import { ReconciliationLockedError } from "../app/services/reconciliation/lock.server";
import { lastSuccessfulRunAt } from "../app/services/reconciliation/queries.server";
import {
  runReconciliation,
  type RunSummary,
  type RunTrigger,
} from "../app/services/reconciliation/run.server";

/**
 * The nightly reconciliation schedule (node-cron). Runs never overlap: the scheduler skips a tick
 * while its own run is going, and the reconciliation lock turns away runs from other processes
 * (each replica may run a scheduler; one of them wins). On start, if the last completed run is
 * older than 26 hours (or there is none), it runs once right away — a server that was down at
 * 3 am catches up. After each run it runs the credit expiry pass. Everything time-related is injectable so tests can drive it with a fake clock.
 */

export interface ScheduledTaskHandle {
  stop(): void | Promise<void>;
  getNextRun?(): Date | null;
}

export type ScheduleFn = (
  expression: string,
  task: () => Promise<void>,
  options: { timezone: string; name: string; noOverlap: boolean },
) => ScheduledTaskHandle;

export interface SchedulerOptions {
  cron: string;
  timezone: string;
  /** Catch up on start when the last completed run is older than this. Default 26 h. */
  catchUpAfterMs?: number;
  /**
   * A scheduled tick is skipped when a run completed this recently (another replica whose clock
   * is a few seconds ahead already did tonight's run). Default 10 minutes.
   */
  minIntervalMs?: number;
  run?: (trigger: RunTrigger, signal: AbortSignal) => Promise<RunSummary>;
  /** The credit expiry pass, run after each reconciliation (grants/expiry.server.ts). */
  expire?: () => Promise<unknown>;
  lastSuccessAt?: () => Promise<Date | null>;
  now?: () => Date;
  schedule?: ScheduleFn;
}

export interface ReconcileScheduler {
  start(): Promise<void>;
  /** Stop ticking; a run in progress stops after its current page (recorded as partial). */
  stop(): Promise<void>;
  isRunning(): boolean;
  nextRunAt(): Date | null;
  /** Resolves when no run started by this scheduler is in progress. */
  idle(): Promise<void>;
}

const HOUR_MS = 3600 * 1000;
const STOP_WAIT_MS = 10_000;

/** Throws ConfigError for an expression node-cron rejects or a time zone Intl does not know. */
export function validateSchedule(expression: string, timezone: string): void {
  if (!cron.validate(expression)) {
    throw new ConfigError(
      `RECONCILE_CRON "${expression}" is not a valid cron expression (e.g. "0 3 * * *" for 03:00 every day).`,
    );
  }
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: timezone });
  } catch {
    throw new ConfigError(
      `RECONCILE_TZ "${timezone}" is not a time zone (use an IANA name such as UTC or Europe/Berlin).`,
    );
  }
}

const nodeCronSchedule: ScheduleFn = (expression, task, options) => {
  const scheduled = cron.schedule(expression, task, options);
  return { stop: () => scheduled.stop(), getNextRun: () => scheduled.getNextRun() };
};

export function createReconcileScheduler(opts: SchedulerOptions): ReconcileScheduler {
  validateSchedule(opts.cron, opts.timezone);
  const now = opts.now ?? (() => new Date());
  const catchUpAfterMs = opts.catchUpAfterMs ?? 26 * HOUR_MS;
  const minIntervalMs = opts.minIntervalMs ?? 10 * 60_000;
  const lastSuccessAt = opts.lastSuccessAt ?? lastSuccessfulRunAt;
  const run = opts.run ?? ((trigger, signal) => runReconciliation({ trigger, signal }));
  const schedule = opts.schedule ?? nodeCronSchedule;
  const expire = opts.expire ?? (() => expireDueGrants());
  let task: ScheduledTaskHandle | null = null;
  let current: Promise<void> | null = null;
  let abort = new AbortController();
  let stopped = false;

  function launch(trigger: RunTrigger): Promise<void> {
    if (current) {
      logger.info({ trigger }, "reconciliation still running from the previous trigger; skipped");
      return Promise.resolve();
    }
    abort = new AbortController();
    const signal = abort.signal;
    current = (async () => {
      try {
        const summary = await run(trigger, signal);
        logger.info(
          { trigger, runId: summary.runId, status: summary.status },
          "scheduled reconciliation finished",
        );
      } catch (error) {
        if (error instanceof ReconciliationLockedError) {
          logger.info(
            { trigger, runningRunId: error.runningRunId },
            "another process is reconciling; skipped",
          );
        } else {
          logger.error(
            { trigger, err: scrubSecrets((error as Error)?.message ?? String(error)) },
            "scheduled reconciliation could not start",
          );
        }
      }
      // Expiry is independent of the run's outcome (and idempotent, so replicas may both do it).
      try {
        if (!signal.aborted) await expire();
      } catch (error) {
        logger.error(
          { err: scrubSecrets((error as Error)?.message ?? String(error)) },
          "credit expiry pass failed",
        );
      } finally {
        current = null;
      }
    })();
    return current;
  }

  async function tick(): Promise<void> {
    if (stopped) return;
    try {
      const last = await lastSuccessAt();
      if (last && now().getTime() - last.getTime() < minIntervalMs) {
        logger.info(
          { lastSuccessAt: last.toISOString() },
          "reconciliation completed moments ago; scheduled tick skipped",
        );
        return;
      }
    } catch (error) {
      logger.warn(
        { err: scrubSecrets((error as Error).message) },
        "could not read the last reconciliation run; running anyway",
      );
    }
    await launch("schedule");
  }

  return {
    async start() {
      if (task) return;
      stopped = false;
      task = schedule(opts.cron, tick, {
        timezone: opts.timezone,
        name: "reconciliation",
        noOverlap: true,
      });
      let last: Date | null = null;
      try {
        last = await lastSuccessAt();
      } catch (error) {
        logger.warn(
          { err: scrubSecrets((error as Error).message) },
          "could not read the last reconciliation run",
        );
      }
      const stale = !last || now().getTime() - last.getTime() > catchUpAfterMs;
      logger.info(
        {
          cron: opts.cron,
          timezone: opts.timezone,
          lastSuccessAt: last?.toISOString() ?? null,
          catchUp: stale,
        },
        "reconciliation scheduler started",
      );
      // Not awaited: start-up must not wait for a whole run.
      if (stale) void launch("catch_up");
    },
    async stop() {
      stopped = true;
      await task?.stop();
      task = null;
      abort.abort();
      if (current) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          current,
          new Promise<void>((r) => (timer = setTimeout(r, STOP_WAIT_MS))),
        ]);
        clearTimeout(timer);
      }
    },
    isRunning: () => current !== null,
    nextRunAt: () => task?.getNextRun?.() ?? null,
    idle: () => current ?? Promise.resolve(),
  };
}

export function schedulerOptionsFromEnv(env: Env = getEnv()): SchedulerOptions {
  return { cron: env.RECONCILE_CRON, timezone: env.RECONCILE_TZ };
}

const installed = remember("scheduler-hooks", (): { __creditdeskSchedulerHooks?: boolean } => ({}));

/** Run the scheduler inside `npm start` once the server listens, unless SCHEDULER=off. */
export function installSchedulerHooks(): void {
  if (installed.__creditdeskSchedulerHooks) return;
  installed.__creditdeskSchedulerHooks = true;
  onStart("listening", "reconciliation-scheduler", async () => {
    const env = getEnv();
    if (env.SCHEDULER === "off") {
      logger.info(
        "reconciliation scheduler is off (SCHEDULER=off); run `npm run jobs` to schedule it elsewhere",
      );
      return;
    }
    const scheduler = createReconcileScheduler(schedulerOptionsFromEnv(env));
    await scheduler.start();
    // Registered now, after every other start-up hook, so shutdown stops the scheduler (and lets a
    // run finish its page) before it stops what the run needs (demo mode's emulator, the database).
    onStop("reconciliation-scheduler", () => scheduler.stop());
    const sweeper = startHoldSweeper();
    onStop("hold-sweeper", () => sweeper.stop());
  });
}

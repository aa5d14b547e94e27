import Stripe from "stripe";
import type { Prisma, ReconciliationRun } from "~/generated/prisma/client";
import type { RunStatus } from "~/generated/prisma/enums";
import { writeAudit } from "../audit.server";
import { getDb } from "../infra/db.server";
import { getEnv } from "../infra/env.server";
import { logger } from "../infra/logger.server";
import { getStripe } from "../infra/stripe-client.server";
import { settleWebhookQueue } from "../webhooks/queue.server";
import { raiseGapAlert, retryPendingAlerts, type AlertStatus } from "./alerts.server";
import {
  errorText,
  isRunFatal,
  RunAborted,
  RunContext,
  type RunCounters,
  type RunOptions,
} from "./context.server";
import { runWebhookDoctor, type DoctorReport } from "./doctor.server";
import { acquireRunLock, type RunLock } from "./lock.server";
import { eventsPass } from "./passes/events.server";
import { refundsPass } from "./passes/refunds.server";
import { sessionsPass } from "./passes/sessions.server";
import { planRunWindow, type RunWindow, type WindowSegment } from "./window.server";

export {
  ITEM_OUTCOMES,
  type ItemOutcome,
  type RunCounters,
  type RunOptions,
  type RunPhase,
  type RunProgress,
  type RunTrigger,
  type RunTuning,
} from "./context.server";

/**
 * One reconciliation run (docs/reconciliation.md explains it for operators): this module starts
 * it (lock, window, run row) and finishes it (status, doctor, alert, summary). The work is three
 * passes over the window, each a function of the run's context (context.server.ts), paged
 * through the SDK's auto-pagination with one database query per page (pipeline.server.ts):
 *   1. passes/sessions: Checkout Sessions (status complete): which are credited? Each paid,
 *      uncredited one goes through fulfillCheckoutSession(…, "reconciliation").
 *   2. passes/refunds: any refunds Stripe has that the ledger lacks go through applyChargeRefunds.
 *   3. passes/events: events Stripe could not deliver (delivery_success=false) go through
 *      processStripeEvent.
 * Then the webhook doctor, and the webhook-gap alert if the run had to do the webhooks' job.
 * Every session's outcome is a ReconciliationItem; counters and the checkpoint are saved on the
 * run row after every page, so the dashboard can show progress and a broken run can be resumed.
 */

export type FinishedStatus = Exclude<RunStatus, "running">;

export interface RunSummary extends RunCounters {
  runId: string;
  status: FinishedStatus;
  trigger: string;
  dryRun: boolean;
  window: { since: Date; until: Date };
  segments: WindowSegment[];
  resumedFromRunId: string | null;
  checkpoint: Date | null;
  highWaterMark: Date | null;
  error: string | null;
  doctor: DoctorReport | null;
  alertStatus: AlertStatus | null;
  durationMs: number;
  /** 429 answers waited out (each one slowed the run down). */
  rateLimited: number;
}

export interface StartedRun {
  runId: string;
  window: RunWindow;
  /** Resolves when the run has finished and been recorded; never rejects. */
  done: Promise<RunSummary>;
}

export async function startReconciliation(opts: RunOptions): Promise<StartedRun> {
  const lock = await acquireRunLock();
  let run: ReconciliationRun;
  let window: RunWindow;
  try {
    const env = getEnv();
    const db = getDb();
    const now = opts.now?.() ?? new Date();
    // We hold the lock, so a row still "running" belongs to a process that died mid-run.
    await db.reconciliationRun.updateMany({
      where: { status: "running" },
      data: {
        status: "failed",
        finishedAt: now,
        error:
          "Interrupted: the process running it stopped before it finished; the next run resumes from its checkpoint.",
      },
    });
    window = await planRunWindow({
      now,
      since: opts.since,
      until: opts.until,
      lookbackDays: env.RECONCILE_LOOKBACK_DAYS,
      overlapMinutes: env.RECONCILE_OVERLAP_MINUTES,
    });
    run = await db.reconciliationRun.create({
      data: {
        trigger: opts.trigger,
        dryRun: opts.dryRun === true,
        status: "running",
        windowSince: window.since,
        windowUntil: window.until,
        staffId: opts.staffId ?? null,
      },
    });
    lock.setRunId(run.id);
    if (opts.staffId || opts.trigger === "cli") {
      await writeAudit({
        actor: opts.staffId
          ? { type: "staff", id: opts.staffId }
          : { type: "cli", label: "reconcile" },
        action: opts.dryRun ? "reconciliation.dry_run" : "reconciliation.run",
        targetType: "reconciliation_run",
        targetId: run.id,
        after: {
          trigger: opts.trigger,
          since: window.since.toISOString(),
          until: window.until.toISOString(),
          explicitWindow: !window.automatic,
        },
      });
    }
  } catch (error) {
    await lock.release();
    throw error;
  }
  logger.info(
    {
      runId: run.id,
      trigger: opts.trigger,
      dryRun: run.dryRun,
      since: window.since.toISOString(),
      until: window.until.toISOString(),
      resumedFrom: window.resumedFromRunId,
    },
    "reconciliation run started",
  );
  const done = executeRun(new RunContext(run, window, opts), lock).finally(() => lock.release());
  return { runId: run.id, window, done };
}

/** Start a run and wait for it (CLI, scheduler). Throws ReconciliationLockedError when one is running. */
export async function runReconciliation(opts: RunOptions): Promise<RunSummary> {
  const started = await startReconciliation(opts);
  return started.done;
}

/**
 * For the dashboard's "Run now" / "Dry run": starts in the background and returns the run id at
 * once (poll getRunningRun / getRun for progress). Throws ReconciliationLockedError if a run is
 * in progress anywhere.
 */
export async function startRun(opts: {
  staffId: string;
  dryRun?: boolean;
  since?: Date;
  until?: Date;
}): Promise<{ runId: string }> {
  const started = await startReconciliation({ trigger: "manual", ...opts });
  void started.done.then((summary) => {
    if (summary.status !== "completed")
      logger.warn(
        { runId: summary.runId, status: summary.status },
        "manual reconciliation run did not complete",
      );
  });
  return { runId: started.runId };
}

/** The passes in order, then the run's end: its row, the webhook-gap alert, the summary. Never rejects. */
async function executeRun(ctx: RunContext, lock: RunLock): Promise<RunSummary> {
  const started = performance.now();
  let doctor: DoctorReport | null = null;
  let status: FinishedStatus = "completed";
  let error: string | null = null;
  const count = () => {
    ctx.c.stripeRequests += 1;
  };
  let listening = false;
  try {
    ctx.stripe = ctx.opts.stripe ?? getStripe();
    ctx.stripe.on("request", count);
    listening = true;
    if (!ctx.dryRun) {
      await retryPendingAlerts().catch((e: unknown) =>
        logger.warn({ err: errorText(e) }, "could not retry pending alerts"),
      );
    }
    if (!ctx.dryRun) {
      // Webhooks that arrived but are still waiting in the event queue are acted on first, so
      // their sessions are credited by their webhook (and no "webhooks are broken" alert goes
      // out because the queue was a few seconds behind the run).
      await settleWebhookQueue().catch((e: unknown) =>
        logger.warn({ err: errorText(e) }, "could not settle the webhook event queue"),
      );
    }
    ctx.setPhase("sessions");
    await sessionsPass(ctx, ctx.window.segments);
    ctx.checkAbort();
    ctx.setPhase("refunds");
    await refundsPass(ctx);
    ctx.checkAbort();
    ctx.setPhase("events");
    await eventsPass(ctx);
    ctx.checkAbort();
    ctx.setPhase("doctor");
    doctor = await runWebhookDoctor({
      stripe: ctx.stripe,
      call: (fn) => ctx.gate.call(fn),
    });
  } catch (e) {
    status =
      e instanceof RunAborted || (e instanceof Stripe.errors.StripeError && isRunFatal(e))
        ? "partial"
        : "failed";
    if (
      e instanceof Stripe.errors.StripeAuthenticationError ||
      e instanceof Stripe.errors.StripePermissionError
    ) {
      status = "failed";
    }
    error =
      e instanceof Stripe.errors.StripeError
        ? `Stripe error during ${ctx.phase}: ${errorText(e)}`
        : errorText(e);
    if (!lock.isHeld()) error += " (the run lock was lost)";
    logger.error(
      { runId: ctx.run.id, phase: ctx.phase, err: error, status },
      "reconciliation run stopped early",
    );
  } finally {
    if (listening) ctx.stripe.off("request", count);
  }
  ctx.setPhase("finishing");
  const highWaterMark =
    status === "completed" && ctx.window.automatic && !ctx.dryRun ? ctx.window.until : null;
  let alertStatus: AlertStatus | null = null;
  try {
    const row = await ctx.db.reconciliationRun.update({
      where: { id: ctx.run.id },
      data: {
        ...ctx.persistedCounters(),
        status,
        error,
        highWaterMark,
        checkpoint: ctx.checkpoint,
        doctor: (doctor ?? undefined) as Prisma.InputJsonValue | undefined,
        finishedAt: new Date(),
      },
    });
    try {
      alertStatus = await raiseGapAlert(row, {
        creditedNow: ctx.c.creditedNow,
        refundsApplied: ctx.c.refundsApplied,
        webhooksSilent: doctor?.webhooksSilent ?? false,
      });
      if (alertStatus)
        await ctx.db.reconciliationRun.update({
          where: { id: ctx.run.id },
          data: { alertStatus },
        });
    } catch (e) {
      logger.error(
        { runId: ctx.run.id, err: errorText(e) },
        "could not raise the webhook-gap alert",
      );
    }
  } catch (e) {
    // The database went away: the row stays "running" and the next run marks it interrupted.
    logger.error(
      { runId: ctx.run.id, err: errorText(e) },
      "could not record the end of the reconciliation run",
    );
    if (status === "completed") status = "failed";
    error ??= `Could not record the run: ${errorText(e)}`;
  }
  ctx.setPhase("done");
  const summary: RunSummary = {
    runId: ctx.run.id,
    status,
    trigger: ctx.run.trigger,
    dryRun: ctx.dryRun,
    window: { since: ctx.window.since, until: ctx.window.until },
    segments: ctx.window.segments,
    resumedFromRunId: ctx.window.resumedFromRunId,
    checkpoint: ctx.checkpoint,
    highWaterMark,
    error,
    doctor: doctor,
    alertStatus,
    durationMs: Math.round(performance.now() - started),
    rateLimited: ctx.gate.rateLimited,
    ...ctx.c,
  };
  logger.info(
    {
      runId: summary.runId,
      status,
      scanned: summary.scanned,
      creditedNow: summary.creditedNow,
      needsAttention: summary.needsAttention,
      undeliveredEvents: summary.undeliveredEvents,
      refundsApplied: summary.refundsApplied,
      errors: summary.errors,
      stripeRequests: summary.stripeRequests,
      rateLimited: summary.rateLimited,
      durationMs: summary.durationMs,
    },
    "reconciliation run finished",
  );
  return summary;
}

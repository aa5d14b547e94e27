import { ReconciliationLockedError } from "../../app/services/reconciliation/lock.server";
import {
  runReconciliation,
  type RunProgress,
  type RunSummary,
} from "../../app/services/reconciliation/run.server";
import { parseWindowBound } from "../../app/services/reconciliation/window.server";
import { stringOption, UsageError, type CliCommand, type CliContext } from "../cli-kit";

/** Exit code when another process holds the reconciliation lock. */
export const EXIT_LOCKED = 3;

function parseBound(ctx: CliContext, name: "since" | "until"): Date | undefined {
  const text = stringOption(ctx, name);
  if (text === undefined) return undefined;
  const date = parseWindowBound(text);
  if (!date) {
    throw new UsageError(
      `--${name} "${text}" is not an ISO date: use e.g. 2026-11-01 or 2026-11-01T03:00:00Z (UTC unless an offset is given)`,
    );
  }
  return date;
}

const number = (n: number) => n.toLocaleString("en-US");

function progressLine(p: RunProgress): string {
  return (
    `${number(p.pages)} page(s), ${number(p.scanned)} session(s), ${number(p.creditedNow)} credited now, ` +
    `${number(p.needsAttention)} need attention` +
    (p.undeliveredEvents ? `, ${number(p.undeliveredEvents)} undelivered event(s)` : "") +
    (p.errors ? `, ${number(p.errors)} error(s)` : "")
  );
}

/** A one-line bar that redraws in place; sessions are listed newest first, so time covered is progress. */
function progressBar(p: RunProgress): string {
  const span = p.windowUntil.getTime() - p.windowSince.getTime();
  let fraction = 0;
  if (p.phase !== "sessions" && p.phase !== "starting") fraction = 1;
  else if (p.checkpoint && span > 0)
    fraction = (p.windowUntil.getTime() - p.checkpoint.getTime()) / span;
  fraction = Math.max(0, Math.min(1, fraction));
  const width = 24;
  const filled = Math.round(fraction * width);
  const phase = p.phase === "sessions" ? "" : ` [${p.phase}]`;
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${progressLine(p)}${phase}`;
}

export function jsonSummary(s: RunSummary) {
  return {
    runId: s.runId,
    status: s.status,
    window: { since: s.window.since.toISOString(), until: s.window.until.toISOString() },
    scanned: s.scanned,
    creditedNow: s.creditedNow,
    alreadyCredited: s.alreadyCredited,
    needsAttention: s.needsAttention,
    undeliveredEvents: s.undeliveredEvents,
    errors: s.errors,
    stripeRequests: s.stripeRequests,
    durationMs: s.durationMs,
  };
}

export const reconcileCommand: CliCommand = {
  name: "reconcile",
  summary:
    "Compare Stripe with the ledger now: credit what webhooks missed, explain every difference",
  help: `Usage: npm run cli -- reconcile [--since ISO] [--until ISO] [--dry-run] [--json]

Lists the Checkout Sessions completed in the window, credits each paid one that is not credited
(through the same fulfillment as the webhook), applies refunds the ledger lacks, processes events
Stripe could not deliver, and checks the webhook endpoint configuration. Every session's outcome
is recorded on the run (see the dashboard's Reconciliation page).

Window: by default from the last completed run's high-water mark minus RECONCILE_OVERLAP_MINUTES
to now (the first run looks back RECONCILE_LOOKBACK_DAYS); a partial run is resumed.
  --since ISO   start of an explicit window, e.g. 2026-11-01 or 2026-11-01T03:00:00Z (UTC default)
  --until ISO   end of an explicit window (default: now)
  --dry-run     compute and record everything, credit and change nothing
  --json        print one JSON object: {runId, status, window, scanned, creditedNow,
                alreadyCredited, needsAttention, undeliveredEvents, errors, stripeRequests, durationMs}

Exit codes: 0 completed (attention items included), 1 failed or partial, 2 usage error,
3 another reconciliation run holds the lock.`,
  options: {
    since: { type: "string" },
    until: { type: "string" },
    "dry-run": { type: "boolean" },
  },
  needsDatabase: true,
  async run(ctx) {
    const since = parseBound(ctx, "since");
    const until = parseBound(ctx, "until");
    if (since && since.getTime() >= (until ?? new Date()).getTime()) {
      throw new UsageError(`--since must be before ${until ? "--until" : "now"}`);
    }
    const dryRun = ctx.values["dry-run"] === true;
    const tty = Boolean(ctx.io.stdout.isTTY) && !ctx.json;
    let drawn = false;
    let lastPhase = "";
    const onProgress = (p: RunProgress) => {
      if (ctx.json) return;
      if (tty) {
        ctx.io.stdout.write(`\r${progressBar(p)}\x1b[K`);
        drawn = true;
      } else if (p.lastPage) {
        ctx.say(`page ${p.pages}: ${progressLine(p)}`);
      } else if (p.phase !== lastPhase && p.phase !== "starting" && p.phase !== "done") {
        ctx.say(`${p.phase}…`);
      }
      lastPhase = p.phase;
    };

    // Ctrl-C: finish the current page, record the run as partial (the next run resumes).
    const abort = new AbortController();
    const onSignal = () => {
      if (!abort.signal.aborted) ctx.io.stderr.write("\nStopping after the current page…\n");
      abort.abort();
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    let summary: RunSummary;
    try {
      summary = await runReconciliation({
        trigger: "cli",
        dryRun,
        since,
        until,
        onProgress,
        signal: abort.signal,
      });
    } catch (error) {
      if (!(error instanceof ReconciliationLockedError)) throw error;
      if (ctx.json)
        ctx.emit({
          ok: false,
          code: error.code,
          error: error.message,
          runningRunId: error.runningRunId,
        });
      else ctx.io.stderr.write(`${error.message}\n`);
      return EXIT_LOCKED;
    } finally {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      if (drawn) ctx.io.stdout.write("\n");
    }

    if (ctx.json) {
      ctx.emit(jsonSummary(summary));
    } else {
      const s = summary;
      ctx.say(
        `Run ${s.runId} ${s.status}${s.dryRun ? " (dry run: nothing was credited)" : ""} in ${(s.durationMs / 1000).toFixed(1)} s`,
      );
      ctx.say(
        `  window          ${s.window.since.toISOString()} → ${s.window.until.toISOString()}`,
      );
      if (s.resumedFromRunId) ctx.say(`  resumed from    run ${s.resumedFromRunId}`);
      ctx.say(`  sessions        ${number(s.scanned)} scanned in ${number(s.pages)} page(s)`);
      ctx.say(`  credited now    ${number(s.creditedNow)}`);
      ctx.say(`  already         ${number(s.alreadyCredited)}`);
      ctx.say(`  refunds applied ${number(s.refundsApplied)}`);
      ctx.say(`  need attention  ${number(s.needsAttention)}`);
      ctx.say(`  undelivered     ${number(s.undeliveredEvents)} event(s)`);
      ctx.say(`  errors          ${number(s.errors)}`);
      ctx.say(`  Stripe requests ${number(s.stripeRequests)}`);
      for (const f of s.doctor?.findings ?? [])
        ctx.say(`  webhook doctor  [${f.severity}] ${f.title} — ${f.fix}`);
      if (s.alertStatus) ctx.say(`  alert           ${s.alertStatus}`);
      if (s.error) ctx.say(`  stopped: ${s.error}`);
    }
    return summary.status === "completed" ? 0 : 1;
  },
};

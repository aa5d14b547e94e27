import Stripe from "stripe";
import type { Prisma, ReconciliationRun } from "~/generated/prisma/client";
import type { RunStatus } from "~/generated/prisma/enums";
import { attentionKeys, raiseAttention } from "../attention.server";
import { writeAudit } from "../audit.server";
import { getDatabase, getDb } from "../db.server";
import { getEnv } from "../env.server";
import { fulfillCheckoutSession, type FulfillResult } from "../fulfillment.server";
import { logger, scrubSecrets } from "../logger.server";
import { applyChargeRefunds } from "../refunds.server";
import { expectsLivemode, getStripe } from "../stripe-client.server";
import { isTransientError } from "../transient.server";
import { HANDLED_EVENT_TYPES, processStripeEvent } from "../webhooks/handlers.server";
import { settleWebhookQueue } from "../webhooks/queue.server";
import { raiseGapAlert, retryPendingAlerts, type AlertStatus } from "./alerts.server";
import { creditedSessionsAmong } from "./credited-batches.server";
import { runWebhookDoctor, type DoctorReport } from "./doctor.server";
import { acquireRunLock, type RunLock } from "./lock.server";
import { DEFAULT_PACING, isRateLimited, StripeGate, type PacingOptions } from "./pacing.server";
import { planRunWindow, type RunWindow, type WindowSegment } from "./window.server";

/**
 * One reconciliation run (DESIGN.md "Reconciliation"; docs/reconciliation.md explains it for
 * operators). Three passes over the window, each paged through the SDK's auto-pagination with
 * one database query per page:
 *   1. Checkout Sessions (status complete): which are credited? Each paid, uncredited one goes
 *      through fulfillCheckoutSession(…, "reconciliation") — the one fulfillment path.
 *   2. Refunds: any Stripe has that the ledger lacks go through applyChargeRefunds.
 *   3. Events Stripe could not deliver (delivery_success=false) go through processStripeEvent.
 * Then the webhook doctor, and the webhook-gap alert if the run had to do the webhooks' job.
 * Every session's outcome is a ReconciliationItem; counters and the checkpoint are saved on the
 * run row after every page, so the dashboard can show progress and a broken run can be resumed.
 */

export type RunTrigger = "schedule" | "catch_up" | "cli" | "manual";

export const ITEM_OUTCOMES = [
  "credited_now",
  "already_credited",
  "not_paid",
  "unmatched_user",
  "unknown_price",
  "amount_mismatch",
  "refund_missing",
  /** A subscription-mode session whose prices grant no credits (the tier comes from subscription events). */
  "no_credits",
  "error",
] as const;
export type ItemOutcome = (typeof ITEM_OUTCOMES)[number];

const ATTENTION_OUTCOMES = new Set<ItemOutcome>([
  "unmatched_user",
  "unknown_price",
  "amount_mismatch",
]);
const PAID = new Set(["paid", "no_payment_required"]);
/** Stripe keeps events for 30 days; stay a little inside that. */
const EVENT_RETENTION_MS = 30 * 24 * 3600 * 1000 - 10 * 60_000;

export interface RunCounters {
  pages: number;
  scanned: number;
  creditedNow: number;
  alreadyCredited: number;
  needsAttention: number;
  undeliveredEvents: number;
  errors: number;
  stripeRequests: number;
  /** Refunds Stripe had that the ledger lacked, applied by this run (items with refund_missing). */
  refundsApplied: number;
}

export type RunPhase =
  "starting" | "sessions" | "refunds" | "events" | "doctor" | "finishing" | "done";

export interface RunProgress extends RunCounters {
  runId: string;
  trigger: string;
  dryRun: boolean;
  phase: RunPhase;
  windowSince: Date;
  windowUntil: Date;
  checkpoint: Date | null;
  startedAt: Date;
  /**
   * Present when pages of sessions were just recorded (usually one; several when they finished
   * together): their sessions, database time per page, and time from listing to recording.
   */
  lastPage?: { pages: number; sessions: number; dbMs: number; totalMs: number };
}

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

export interface RunTuning extends PacingOptions {
  /** Sessions fulfilled at once, across the pages in flight (fulfillment is safe concurrently). */
  fulfillConcurrency: number;
  /** Stripe's maximum list page; smaller only in tests. */
  pageSize: number;
  /**
   * Listings of one window segment at once (1 or 2). With 2, once the first page shows the segment
   * holds more than a page, its older half is listed alongside: a page request is always on its
   * way while the last one is being looked at, instead of the run waiting for every answer in turn.
   */
  listLanes: number;
}

export interface RunOptions {
  trigger: RunTrigger;
  dryRun?: boolean;
  /** Explicit window bounds; either one makes the window explicit (no resume, no high-water mark). */
  since?: Date;
  until?: Date;
  staffId?: string | null;
  /** Aborting ends the run after the current page as `partial` (resumable). */
  signal?: AbortSignal;
  onProgress?: (progress: RunProgress) => void;
  tuning?: Partial<RunTuning>;
  stripe?: Stripe;
  now?: () => Date;
}

export interface StartedRun {
  runId: string;
  window: RunWindow;
  /** Resolves when the run has finished and been recorded; never rejects. */
  done: Promise<RunSummary>;
}

type ItemRow = Prisma.ReconciliationItemCreateManyInput;
type Session = Stripe.Checkout.Session;

/**
 * What a run keeps of a listed session. The SDK's full objects are dropped as soon as they arrive,
 * so they die young instead of being carried through a page's database round trips.
 */
interface SessionRow {
  id: string;
  created: number;
  amountTotal: number | null;
  currency: string | null;
  paymentStatus: string;
}

function sessionRow(s: Session): SessionRow {
  return {
    id: s.id,
    created: s.created,
    amountTotal: s.amount_total ?? null,
    currency: s.currency ? s.currency.toLowerCase() : null,
    paymentStatus: s.payment_status,
  };
}

class RunAborted extends Error {
  constructor() {
    super(
      "Stopped before the end (the process is shutting down); the next run resumes from the checkpoint.",
    );
  }
}

/**
 * Stripe's own limits for api.stripe.com. Another Stripe-compatible server (STRIPE_API_BASE: the
 * emulator) has no fixed limit, so only the adaptive part applies there: 429s still slow it down.
 */
function defaultPacing(): PacingOptions {
  try {
    if (getEnv().STRIPE_API_BASE) {
      return { ...DEFAULT_PACING.test, requestsPerSecond: Number.POSITIVE_INFINITY };
    }
    return expectsLivemode() ? DEFAULT_PACING.live : DEFAULT_PACING.test;
  } catch {
    // No usable configuration: the run fails when it first needs Stripe, with the real error.
    return DEFAULT_PACING.test;
  }
}

/** Errors that end the run (the next one resumes) rather than failing just one session. */
function isRunFatal(error: unknown): boolean {
  if (error instanceof RunAborted) return true;
  if (error instanceof Stripe.errors.StripeError)
    return !(error instanceof Stripe.errors.StripeInvalidRequestError);
  return isTransientError(error);
}

function errorText(error: unknown): string {
  return scrubSecrets((error as Error)?.message ?? String(error)).slice(0, 1000);
}

function stripeId(value: string | { id: string } | null | undefined): string | null {
  if (!value) return null;
  return typeof value === "string" ? value : value.id;
}

/** At most `limit` tasks at once (fulfilments across all pages in flight). */
class Slots {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    // A released slot is handed straight to the next waiter, so `active` never exceeds `limit`.
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active += 1;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active -= 1;
    }
  }
}

interface PageResult {
  /** Items still to write (the lookup wrote the page's already_credited ones itself). */
  items: ItemRow[];
  /** Sessions the lookup recorded as already_credited (already counted). */
  recorded: number;
  fatal: unknown;
  lookupMs: number;
}

/**
 * A listed session the lookup did not record: no purchase (`id` null) or a purchase whose amount
 * or currency differs from Stripe's.
 */
type UnsettledRow = {
  session: string;
  id: string | null;
  userId: string | null;
  amountTotal: number | null;
  currency: string | null;
};

interface LookupAnswer {
  unsettled: Map<string, UnsettledRow>;
  ms: number;
}

interface PendingLookup {
  page: SessionRow[];
  resolve: (answer: LookupAnswer) => void;
  reject: (error: unknown) => void;
}

interface InFlightPage {
  page: SessionRow[];
  started: number;
  settled: boolean;
  work: Promise<PageResult>;
}

/**
 * One listing of part of a window segment (newest first), with the pages it has listed but not
 * yet recorded. A segment has one lane, or two once split: [floor, until] and the older rest.
 */
interface Lane {
  /** Oldest `created` (seconds) this lane covers; sessions older than this belong to the next lane. */
  floor: number;
  /** Pages listed but not yet recorded (their fulfilment may still run), oldest first. */
  inFlight: InFlightPage[];
  /** The first run-ending error of this lane (listing, a page's fulfilment or lookup). */
  failure: unknown;
  /** Oldest `created` (seconds) of the pages recorded in order with no failure before them. */
  oldest: number | null;
  /** Listed to its floor and every page recorded, without a failure. */
  complete: boolean;
}

function newLane(floor: number): Lane {
  return { floor, inFlight: [], failure: null, oldest: null, complete: false };
}

/**
 * Pages per lane whose fulfilment may run behind the listing; bounds memory (slim rows, a few
 * hundred KB) and the gap to the checkpoint. Deep enough that a page of fulfilments does not stall the listing.
 */
const MAX_PAGES_IN_FLIGHT = 32;
/**
 * Pages answered by one lookup query at most. One lookup runs at a time; pages listed meanwhile
 * wait and go together in the next one, so a busy database gets fewer, larger queries.
 */
const MAX_LOOKUP_PAGES = 10;
/** A segment is split into two lanes only when each would span at least this (seconds). */
const MIN_LANE_SECONDS = 60;
/** Pages gathered into one write at most before the listing waits for the database. */
const MAX_BATCH_PAGES = 10;

interface WriteBatch {
  items: ItemRow[];
  /** Added to the stored counts (the lookups add theirs themselves, so these are increments). */
  scanned: number;
  alreadyCredited: number;
  snap: Snapshot;
  pages: number;
  sessions: number;
  lookupMs: number;
  started: number;
}

/** Counters and checkpoint as of some recorded pages, written (and reported) together. */
interface Snapshot {
  c: RunCounters;
  checkpoint: Date | null;
}

/**
 * Start a run: take the lock (or throw ReconciliationLockedError), plan the window, record the
 * run row, and carry on in the background. `done` resolves with the summary.
 */
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
  const done = new RunExecution(run, window, opts, lock).execute().finally(() => lock.release());
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

class RunExecution {
  private readonly db = getDb();
  /** Raw statements for the per-page hot path. */
  private readonly database = getDatabase();
  private readonly dryRun: boolean;
  private readonly tuning: RunTuning;
  private readonly gate: StripeGate;
  private stripe!: Stripe;
  private readonly c: RunCounters = {
    pages: 0,
    scanned: 0,
    creditedNow: 0,
    alreadyCredited: 0,
    needsAttention: 0,
    undeliveredEvents: 0,
    errors: 0,
    stripeRequests: 0,
    refundsApplied: 0,
  };
  private checkpoint: Date | null = null;
  /** The current segment's lanes, newest first. */
  private lanes: Lane[] = [];
  private readonly fulfilSlots: Slots;
  /** Pages waiting for their lookup, and whether one is under way. */
  private readonly lookupQueue: PendingLookup[] = [];
  private lookingUp = false;
  /** Recorded pages waiting to be written, and the write under way. */
  private batch: WriteBatch | null = null;
  private writer: Promise<void> | null = null;
  private writeError: unknown = null;
  private phase: RunPhase = "starting";
  private doctor: DoctorReport | null = null;
  private readonly startedAt = new Date();

  constructor(
    private readonly run: ReconciliationRun,
    private readonly window: RunWindow,
    private readonly opts: RunOptions,
    private readonly lock: RunLock,
  ) {
    this.dryRun = run.dryRun;
    this.tuning = {
      ...defaultPacing(),
      fulfillConcurrency: 8,
      pageSize: 100,
      listLanes: 2,
      ...opts.tuning,
    };
    this.gate = new StripeGate(this.tuning);
    this.fulfilSlots = new Slots(this.tuning.fulfillConcurrency);
  }

  async execute(): Promise<RunSummary> {
    const started = performance.now();
    let status: FinishedStatus = "completed";
    let error: string | null = null;
    const count = () => {
      this.c.stripeRequests += 1;
    };
    let listening = false;
    try {
      this.stripe = this.opts.stripe ?? getStripe();
      this.stripe.on("request", count);
      listening = true;
      if (!this.dryRun) {
        await retryPendingAlerts().catch((e: unknown) =>
          logger.warn({ err: errorText(e) }, "could not retry pending alerts"),
        );
      }
      if (!this.dryRun) {
        // Webhooks that arrived but are still waiting in the event queue are acted on first, so
        // their sessions are credited by their webhook (and no "webhooks are broken" alert goes
        // out because the queue was a few seconds behind the run).
        await settleWebhookQueue().catch((e: unknown) =>
          logger.warn({ err: errorText(e) }, "could not settle the webhook event queue"),
        );
      }
      this.setPhase("sessions");
      for (const segment of this.window.segments) await this.sessionsPass(segment);
      this.checkAbort();
      this.setPhase("refunds");
      await this.refundsPass();
      this.checkAbort();
      this.setPhase("events");
      await this.eventsPass();
      this.checkAbort();
      this.setPhase("doctor");
      this.doctor = await runWebhookDoctor({
        stripe: this.stripe,
        call: (fn) => this.gate.call(fn),
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
          ? `Stripe error during ${this.phase}: ${errorText(e)}`
          : errorText(e);
      if (!this.lock.isHeld()) error += " (the run lock was lost)";
      logger.error(
        { runId: this.run.id, phase: this.phase, err: error, status },
        "reconciliation run stopped early",
      );
    } finally {
      if (listening) this.stripe.off("request", count);
    }
    this.setPhase("finishing");
    const highWaterMark =
      status === "completed" && this.window.automatic && !this.dryRun ? this.window.until : null;
    let alertStatus: AlertStatus | null = null;
    try {
      const row = await this.db.reconciliationRun.update({
        where: { id: this.run.id },
        data: {
          ...this.persistedCounters(),
          status,
          error,
          highWaterMark,
          checkpoint: this.checkpoint,
          doctor: (this.doctor ?? undefined) as Prisma.InputJsonValue | undefined,
          finishedAt: new Date(),
        },
      });
      try {
        alertStatus = await raiseGapAlert(row, {
          creditedNow: this.c.creditedNow,
          refundsApplied: this.c.refundsApplied,
          webhooksSilent: this.doctor?.webhooksSilent ?? false,
        });
        if (alertStatus)
          await this.db.reconciliationRun.update({
            where: { id: this.run.id },
            data: { alertStatus },
          });
      } catch (e) {
        logger.error(
          { runId: this.run.id, err: errorText(e) },
          "could not raise the webhook-gap alert",
        );
      }
    } catch (e) {
      // The database went away: the row stays "running" and the next run marks it interrupted.
      logger.error(
        { runId: this.run.id, err: errorText(e) },
        "could not record the end of the reconciliation run",
      );
      if (status === "completed") status = "failed";
      error ??= `Could not record the run: ${errorText(e)}`;
    }
    this.setPhase("done");
    const summary: RunSummary = {
      runId: this.run.id,
      status,
      trigger: this.run.trigger,
      dryRun: this.dryRun,
      window: { since: this.window.since, until: this.window.until },
      segments: this.window.segments,
      resumedFromRunId: this.window.resumedFromRunId,
      checkpoint: this.checkpoint,
      highWaterMark,
      error,
      doctor: this.doctor,
      alertStatus,
      durationMs: Math.round(performance.now() - started),
      rateLimited: this.gate.rateLimited,
      ...this.c,
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

  private persistedCounters() {
    const { refundsApplied: _r, ...persisted } = this.c;
    return persisted;
  }

  private setPhase(phase: RunPhase) {
    this.phase = phase;
    this.emit();
  }

  private emit(lastPage?: RunProgress["lastPage"], snap: Snapshot = this.snapshot()) {
    if (!this.opts.onProgress) return;
    try {
      this.opts.onProgress({
        runId: this.run.id,
        trigger: this.run.trigger,
        dryRun: this.dryRun,
        phase: this.phase,
        windowSince: this.window.since,
        windowUntil: this.window.until,
        checkpoint: snap.checkpoint,
        startedAt: this.startedAt,
        ...snap.c,
        ...(lastPage ? { lastPage } : {}),
      });
    } catch (e) {
      logger.warn({ err: errorText(e) }, "reconciliation progress listener threw");
    }
  }

  private snapshot(): Snapshot {
    return { c: { ...this.c }, checkpoint: this.checkpoint };
  }

  private checkAbort() {
    if (this.opts.signal?.aborted) throw new RunAborted();
  }

  private async saveProgress(extra: Prisma.ReconciliationRunUpdateInput = {}) {
    await this.db.reconciliationRun.update({
      where: { id: this.run.id },
      data: { ...this.persistedCounters(), checkpoint: this.checkpoint, ...extra },
    });
  }

  private tally(items: ItemRow[]) {
    for (const item of items) {
      const outcome = item.outcome as ItemOutcome;
      if (outcome === "credited_now") this.c.creditedNow += 1;
      else if (outcome === "already_credited") this.c.alreadyCredited += 1;
      else if (outcome === "error") this.c.errors += 1;
      else if (ATTENTION_OUTCOMES.has(outcome)) this.c.needsAttention += 1;
    }
  }

  /**
   * Page through a Stripe list with the SDK's auto-pagination, handing over one page at a time.
   * As soon as a page is complete the next one is requested, so Stripe's answer is on its way
   * while this page's database work runs (the run then takes about as long as paging alone).
   * A 429 while turning a page is waited out and the list restarted after the last processed page.
   */
  private async paged<T extends { id: string }, R extends { id: string } = T>(
    list: (startingAfter: string | undefined) => Stripe.ApiListPromise<T>,
    onPage: (page: R[], startingAfter: string | undefined) => Promise<void>,
    keep: (item: T) => R = (item) => item as unknown as R,
    /** Ends the listing before the first item for which this is true (another lane has it). */
    stop?: (item: R) => boolean,
  ): Promise<void> {
    const size = this.tuning.pageSize;
    let cursor: string | undefined;
    let attempt = 0;
    let waited = 0;
    for (;;) {
      await this.gate.take();
      const iterator = list(cursor)[Symbol.asyncIterator]();
      const pull = () => {
        const next = iterator.next();
        // Awaited below; this only keeps a failure that lands during onPage from being "unhandled".
        next.catch(() => undefined);
        return next;
      };
      let pending = pull();
      let page: R[] = [];
      let restart = false;
      for (;;) {
        let next: IteratorResult<T>;
        try {
          next = await pending;
        } catch (error) {
          if (!isRateLimited(error)) throw error;
          const delay = this.gate.backoffMs(attempt++);
          if (waited + delay > this.tuning.maxRateLimitWaitMs) throw error;
          waited += delay;
          this.gate.slowDown();
          await new Promise((r) => setTimeout(r, delay));
          restart = true;
          break;
        }
        if (next.done) break;
        const item = keep(next.value);
        if (stop?.(item)) break;
        page.push(item);
        if (page.length < size) {
          pending = pull();
          continue;
        }
        await this.gate.take();
        pending = pull();
        await onPage(page, cursor);
        cursor = page[page.length - 1].id;
        page = [];
        attempt = 0;
        waited = 0;
        this.checkAbort();
      }
      if (restart) continue;
      if (page.length > 0) await onPage(page, cursor);
      return;
    }
  }

  private queueWrite(part: WriteBatch) {
    const b = this.batch;
    if (b) {
      for (const item of part.items) b.items.push(item);
      b.scanned += part.scanned;
      b.alreadyCredited += part.alreadyCredited;
      b.snap = part.snap;
      b.pages += part.pages;
      b.sessions += part.sessions;
      b.lookupMs += part.lookupMs;
    } else {
      this.batch = part;
    }
    this.writer ??= this.runWriter();
  }

  private async runWriter(): Promise<void> {
    try {
      while (this.batch) {
        const b = this.batch;
        this.batch = null;
        const started = performance.now();
        await this.writePage(b);
        const writeMs = performance.now() - started;
        this.emit(
          {
            pages: b.pages,
            sessions: b.sessions,
            dbMs: (b.lookupMs + writeMs) / b.pages,
            totalMs: performance.now() - b.started,
          },
          b.snap,
        );
      }
    } catch (error) {
      this.writeError ??= error;
      this.batch = null;
    } finally {
      this.writer = null;
    }
  }

  /** Wait until every recorded page is written; throws the first write error. */
  private async flushWrites() {
    while (this.writer) await this.writer;
    if (this.writeError !== null) throw this.writeError;
  }

  /**
   * Recorded pages' remaining items and the run's counters, in one round trip. Scanned and
   * already-credited are increments: the lookups add the sessions they record to them as they go
   * (so the stored counts always cover every stored item). Through the raw driver
   * (getDatabase().query): a fraction of the CPU Prisma spends on it.
   */
  private async writePage(batch: WriteBatch) {
    const { items } = batch;
    const { c, checkpoint } = batch.snap;
    const column = <K extends keyof ItemRow>(key: K) => items.map((i) => i[key] ?? null);
    const created = items.map((i) => new Date(i.sessionCreatedAt).getTime() / 1000);
    await this.database.query(
      `WITH inserted AS (
        INSERT INTO reconciliation_items (run_id, checkout_session_id, outcome, user_id, purchase_id,
          amount_total, currency, detail, session_created_at)
        SELECT $1::text, x.s, x.o, x.u, x.p, x.a, x.c, x.d, to_timestamp(x.t)
        FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::int4[], $7::text[], $8::text[],
          $9::float8[]) AS x(s, o, u, p, a, c, d, t)
        RETURNING 1
      )
      UPDATE reconciliation_runs SET pages = $10::int4, scanned = scanned + $11::int4,
        credited_now = $12::int4, already_credited = already_credited + $13::int4,
        needs_attention = $14::int4, undelivered_events = $15::int4,
        errors = $16::int4, stripe_requests = $17::int4, checkpoint = $18::timestamptz
      WHERE id = $1::text`,
      [
        this.run.id,
        column("checkoutSessionId"),
        column("outcome"),
        column("userId"),
        column("purchaseId"),
        column("amountTotal"),
        column("currency"),
        column("detail"),
        created,
        c.pages,
        batch.scanned,
        c.creditedNow,
        batch.alreadyCredited,
        c.needsAttention,
        c.undeliveredEvents,
        c.errors,
        c.stripeRequests,
        checkpoint ? checkpoint.toISOString() : null,
      ],
      { prepare: true },
    );
  }

  // ------------------------------------------------------------------------------------------
  // Pass 1: Checkout Sessions

  private async sessionsPass(segment: WindowSegment) {
    const gte = Math.floor(segment.since.getTime() / 1000);
    const lte = Math.floor(segment.until.getTime() / 1000);
    if (lte < gte) return;
    const listParams = (since: number, until: number): Stripe.Checkout.SessionListParams => ({
      status: "complete",
      created: { gte: since, lte: until },
      limit: this.tuning.pageSize,
    });
    const runLane = async (lane: Lane, params: Stripe.Checkout.SessionListParams) => {
      let listError: unknown = null;
      try {
        await this.paged(
          (after) =>
            this.stripe.checkout.sessions.list({
              ...params,
              ...(after ? { starting_after: after } : {}),
            }),
          (page, after) => {
            if (lane === first) splitOnFirstPage(page);
            return this.sessionPage(lane, page, after, params);
          },
          sessionRow,
          (s) => s.created < lane.floor,
        );
      } catch (error) {
        listError = error;
      }
      // Pages still being fulfilled are finished and recorded, even when the listing failed.
      try {
        await this.recordPages(lane, 0);
      } catch (error) {
        lane.failure ??= error;
      }
      lane.failure ??= listError;
      if (lane.failure === null) {
        lane.complete = true;
        this.advanceCheckpoint();
      }
    };

    const first = newLane(gte);
    this.lanes = [first];
    let second: Promise<void> | null = null;
    let splitDecided = false;
    // Split once the first page is back and full: the older part of what is left below it (half
    // of the remaining time range) gets its own listing.
    const splitOnFirstPage = (page: SessionRow[]) => {
      if (splitDecided) return;
      splitDecided = true;
      if (this.tuning.listLanes < 2 || page.length < this.tuning.pageSize) return;
      const oldest = Math.min(...page.map((p) => p.created));
      const mid = gte + Math.floor((oldest - gte) / 2);
      if (mid - gte < MIN_LANE_SECONDS || oldest - mid < MIN_LANE_SECONDS) return;
      first.floor = mid;
      const older = newLane(gte);
      this.lanes.push(older);
      second = runLane(older, listParams(gte, mid - 1));
    };
    await runLane(first, listParams(gte, lte));
    if (second) await second;
    let failure: unknown = null;
    for (const lane of this.lanes) failure ??= lane.failure;
    try {
      await this.flushWrites();
    } catch (error) {
      failure ??= error;
    }
    this.lanes = [];
    if (failure !== null) throw failure;
    // The whole segment is done, down to its start.
    if (!this.checkpoint || segment.since < this.checkpoint) this.checkpoint = segment.since;
    await this.saveProgress();
  }

  /**
   * The checkpoint covers, newest first, every complete lane and then the oldest page recorded in
   * order by the first incomplete one: everything from there to the segment's end was processed.
   */
  private advanceCheckpoint() {
    let reached: number | null = null;
    for (const lane of this.lanes) {
      if (lane.complete) {
        reached = lane.floor;
        continue;
      }
      if (lane.oldest !== null) reached = lane.oldest;
      break;
    }
    if (reached === null) return;
    const at = new Date(reached * 1000);
    if (!this.checkpoint || at < this.checkpoint) this.checkpoint = at;
  }

  private sessionItem(s: SessionRow, outcome: ItemOutcome, extra: Partial<ItemRow> = {}): ItemRow {
    return {
      runId: this.run.id,
      checkoutSessionId: s.id,
      outcome,
      amountTotal: s.amountTotal,
      currency: s.currency,
      sessionCreatedAt: new Date(s.created * 1000),
      ...extra,
    };
  }

  /**
   * One page: its lookup (gathered with the pages listed meanwhile) and the fulfilment of its
   * uncredited sessions run in the background, so paging goes on meanwhile. Each lane records its
   * pages strictly in order, so the checkpoint only ever covers fully processed pages.
   */
  private async sessionPage(
    lane: Lane,
    page: SessionRow[],
    startingAfter: string | undefined,
    params: Stripe.Checkout.SessionListParams,
  ) {
    const entry: InFlightPage = {
      page,
      started: performance.now(),
      settled: false,
      work: Promise.resolve({ items: [], recorded: 0, fatal: null, lookupMs: 0 }),
    };
    entry.work = (async (): Promise<PageResult> => {
      let recorded = 0;
      try {
        const looked = await this.lookupPage(page);
        recorded = looked.recorded;
        if (looked.uncredited.length === 0)
          return { items: looked.items, recorded, fatal: null, lookupMs: looked.ms };
        const done = await this.fulfilPage(looked.uncredited, startingAfter, params);
        return {
          items: looked.items.concat(done.items),
          recorded,
          fatal: done.fatal,
          lookupMs: looked.ms,
        };
      } catch (error) {
        return { items: [], recorded, fatal: error, lookupMs: 0 };
      }
    })().finally(() => {
      entry.settled = true;
    });
    lane.inFlight.push(entry);
    await this.recordPages(lane, MAX_PAGES_IN_FLIGHT);
    if (lane.failure !== null) throw lane.failure;
  }

  /** Which of a page's sessions are credited already: queued for the next lookup query. */
  private lookup(page: SessionRow[]) {
    return new Promise<LookupAnswer>((resolve, reject) => {
      this.lookupQueue.push({ page, resolve, reject });
      if (!this.lookingUp) void this.runLookups();
    });
  }

  /**
   * One query at a time for every page queued meanwhile (at most MAX_LOOKUP_PAGES): the one query
   * per page of the design, or fewer. The query settles the usual case itself: a session whose
   * purchase matches Stripe's amount and currency is recorded as already_credited (one
   * reconciliation_credited_batches row for the whole batch, and the counts) in the same
   * statement, and only the rest come back. So 99 of a typical page's 100
   * sessions never travel back and forth as rows. Through the raw driver, about a quarter of
   * Prisma's CPU.
   */
  private async runLookups() {
    this.lookingUp = true;
    try {
      while (this.lookupQueue.length > 0) {
        const batch = this.lookupQueue.splice(0, MAX_LOOKUP_PAGES);
        const sessions = batch.flatMap((b) => b.page);
        const started = performance.now();
        try {
          const rows = await this.database.query<UnsettledRow>(
            `WITH listed AS (
               SELECT x.s, x.a, x.c, x.o
               FROM unnest($2::text[], $3::int4[], $4::text[]) WITH ORDINALITY AS x(s, a, c, o)
             ), found AS (
               SELECT l.s, l.a, l.c, l.o, p.id, p.user_id, p.amount_total, p.currency,
                 coalesce(p.amount_total = coalesce(l.a, 0) AND p.currency = coalesce(l.c, ''), false) AS settled
               FROM listed l LEFT JOIN purchases p ON p.checkout_session_id = l.s
             ), recorded AS (
               INSERT INTO reconciliation_credited_batches (run_id, checkout_session_ids, purchase_ids)
               SELECT $1::text, array_agg(s ORDER BY o), array_agg(id ORDER BY o)
               FROM found WHERE settled
               HAVING count(*) > 0
               RETURNING cardinality(checkout_session_ids) AS n
             ), counted AS (
               UPDATE reconciliation_runs
               SET scanned = scanned + coalesce((SELECT n FROM recorded), 0),
                 already_credited = already_credited + coalesce((SELECT n FROM recorded), 0)
               WHERE id = $1::text
             )
             SELECT s AS session, id, user_id AS "userId", amount_total AS "amountTotal", currency
             FROM found WHERE NOT settled`,
            [
              this.run.id,
              sessions.map((s) => s.id),
              sessions.map((s) => s.amountTotal),
              sessions.map((s) => s.currency),
            ],
            // Planned once per connection, not once per page: ~1,000 pages a night.
            { prepare: true },
          );
          const unsettled = new Map(rows.map((r) => [r.session, r]));
          // Counted here, as the statement counted them: the stored counts never trail the items.
          const recorded = sessions.length - rows.length;
          this.c.scanned += recorded;
          this.c.alreadyCredited += recorded;
          // Each page is charged its share of the query's time.
          const ms = (performance.now() - started) / batch.length;
          for (const b of batch) b.resolve({ unsettled, ms });
        } catch (error) {
          for (const b of batch) b.reject(error);
        }
      }
    } finally {
      this.lookingUp = false;
    }
  }

  /**
   * The page's lookup and the items it decides; the uncredited, paid sessions are returned. The
   * lookup has recorded the already-credited ones (`recorded`).
   */
  private async lookupPage(page: SessionRow[]) {
    const { unsettled, ms } = await this.lookup(page);
    const items: ItemRow[] = [];
    const uncredited: SessionRow[] = [];
    let recorded = 0;
    for (const s of page) {
      const row = unsettled.get(s.id);
      if (!row) {
        recorded += 1;
        continue;
      }
      if (row.id !== null) {
        const total = s.amountTotal ?? 0;
        const currency = s.currency ?? "";
        const detail = `Credited for ${row.amountTotal} ${row.currency}, but Stripe's session total is ${total} ${currency}.`;
        if (!this.dryRun) {
          await raiseAttention({
            kind: "amount_mismatch",
            dedupeKey: attentionKeys.amountMismatch(s.id),
            title: `Purchase for ${s.id} does not match what Stripe charged`,
            detail: `${detail} Check the purchase against Stripe and correct the balance with a manual adjustment if needed.`,
            checkoutSessionId: s.id,
            userId: row.userId,
            purchaseId: row.id,
            runId: this.run.id,
            data: {
              credited: row.amountTotal,
              creditedCurrency: row.currency,
              stripe: total,
              stripeCurrency: currency,
            },
          });
        }
        items.push(
          this.sessionItem(s, "amount_mismatch", {
            userId: row.userId,
            purchaseId: row.id,
            detail,
          }),
        );
      } else if (!PAID.has(s.paymentStatus)) {
        items.push(
          this.sessionItem(s, "not_paid", {
            detail: `payment_status is ${s.paymentStatus}: waiting for the payment to settle.`,
          }),
        );
      } else {
        uncredited.push(s);
      }
    }
    return { items, uncredited, recorded, ms };
  }

  private async fulfilPage(
    uncredited: SessionRow[],
    startingAfter: string | undefined,
    params: Stripe.Checkout.SessionListParams,
  ): Promise<{ items: ItemRow[]; fatal: unknown }> {
    // Fulfillment needs line items. One re-list of this page with them expanded costs one request
    // however many sessions need it; a single session is cheaper to retrieve on its own.
    const expanded = new Map<string, Session>();
    if (uncredited.length >= 2) {
      try {
        const relisted = await this.gate.call(() =>
          this.stripe.checkout.sessions.list({
            ...params,
            ...(startingAfter ? { starting_after: startingAfter } : {}),
            expand: ["data.line_items"],
          }),
        );
        const wanted = new Set(uncredited.map((s) => s.id));
        for (const s of relisted.data) if (wanted.has(s.id)) expanded.set(s.id, s);
      } catch (error) {
        if (isRunFatal(error)) return { items: [], fatal: error };
        // Otherwise each session is retrieved on its own by fulfillment.
      }
    }
    const results = await Promise.all(
      uncredited.map((s) => this.fulfilSlots.run(() => this.fulfil(s, expanded.get(s.id)))),
    );
    const items: ItemRow[] = [];
    let fatal: unknown = null;
    for (const r of results) {
      if ("fatal" in r) fatal ??= r.fatal;
      else items.push(r.item);
    }
    return { items, fatal };
  }

  /**
   * Record the finished pages at the head of the queue — items, counters and checkpoint in one
   * write — until at most `keep` pages are in flight (0: all of them, waiting as needed).
   */
  private async recordPages(lane: Lane, keep: number) {
    const inFlight = lane.inFlight;
    for (;;) {
      const ready: InFlightPage[] = [];
      while (inFlight.length > 0 && inFlight[0].settled) ready.push(inFlight.shift()!);
      if (ready.length === 0) {
        if (inFlight.length <= keep) return;
        await inFlight[0].work;
        continue;
      }
      const results: PageResult[] = [];
      for (const entry of ready) results.push(await entry.work);
      const items: ItemRow[] = [];
      const before = { scanned: this.c.scanned, alreadyCredited: this.c.alreadyCredited };
      for (let k = 0; k < ready.length; k++) {
        const { page } = ready[k];
        const done = results[k];
        items.push(...done.items);
        this.tally(done.items);
        // The sessions the lookup recorded were counted then.
        if (done.fatal) {
          this.c.scanned += done.items.length;
          lane.failure ??= done.fatal;
          continue;
        }
        this.c.scanned += page.length - done.recorded;
        this.c.pages += 1;
        // Only while every earlier page of the lane was complete: no gap behind the checkpoint.
        if (lane.failure === null) {
          const oldest = Math.min(...page.map((s) => s.created));
          if (lane.oldest === null || oldest < lane.oldest) lane.oldest = oldest;
        }
      }
      this.advanceCheckpoint();
      // Written in the background, in order, with the counters as of these pages. While a write is
      // under way the next pages gather into one batch, so a slow database gets fewer, larger writes.
      this.queueWrite({
        items,
        scanned: this.c.scanned - before.scanned,
        alreadyCredited: this.c.alreadyCredited - before.alreadyCredited,
        snap: this.snapshot(),
        pages: ready.length,
        sessions: ready.reduce((sum, e) => sum + e.page.length, 0),
        lookupMs: results.reduce((sum, r) => sum + r.lookupMs, 0),
        started: ready[0].started,
      });
      if (this.batch && this.batch.pages >= MAX_BATCH_PAGES) await this.writer;
      if (this.writeError !== null) throw this.writeError;
      if (inFlight.length <= keep) return;
    }
  }

  private async fulfil(
    s: SessionRow,
    expanded: Session | undefined,
  ): Promise<{ item: ItemRow } | { fatal: unknown }> {
    try {
      const result = await this.gate.call(() =>
        fulfillCheckoutSession(s.id, "reconciliation", {
          // Without line items fulfillment retrieves the session itself.
          ...(expanded ? { session: expanded } : {}),
          dryRun: this.dryRun,
          // This page's lookup found no purchase; fulfillment's own check would repeat it.
          checkedUncredited: true,
        }),
      );
      return { item: this.fromFulfillment(s, result) };
    } catch (error) {
      if (isRunFatal(error)) return { fatal: error };
      const message = errorText(error);
      logger.error(
        { runId: this.run.id, sessionId: s.id, err: message },
        "reconciliation could not process a session",
      );
      if (!this.dryRun) await this.raiseError(s.id, message);
      return { item: this.sessionItem(s, "error", { detail: message }) };
    }
  }

  private async raiseError(sessionId: string, message: string) {
    await raiseAttention({
      kind: "reconciliation_error",
      dedupeKey: `reconciliation_error:${sessionId}`,
      title: `Reconciliation could not process ${sessionId}`,
      detail: `${message} Fix the cause; the session is looked at again by the next run that covers it, or credit it from the attention queue.`,
      checkoutSessionId: sessionId,
      runId: this.run.id,
    }).catch((e: unknown) =>
      logger.error({ err: errorText(e), sessionId }, "could not raise attention item"),
    );
  }

  private fromFulfillment(s: SessionRow, r: FulfillResult): ItemRow {
    switch (r.outcome) {
      case "credited":
        return this.sessionItem(s, "credited_now", {
          userId: r.userId,
          purchaseId: r.purchase?.id ?? null,
          detail: r.dryRun
            ? `Dry run: would credit ${r.credits} credits to user ${r.userId} (matched by ${r.resolvedBy}).`
            : `Credited ${r.credits} credits to user ${r.userId} (matched by ${r.resolvedBy}); its webhook never did.`,
        });
      case "already_credited":
        // Credited between our query and fulfillment (the webhook got there first).
        return this.sessionItem(s, "already_credited", {
          userId: r.purchase.userId,
          purchaseId: r.purchase.id,
        });
      case "not_paid":
        return this.sessionItem(s, "not_paid", {
          detail: `payment_status is ${r.paymentStatus}: waiting for the payment to settle.`,
        });
      case "no_credits":
        return this.sessionItem(s, "no_credits", { detail: r.detail });
      case "unmatched_user":
      case "unknown_price":
      case "amount_mismatch":
        return this.sessionItem(s, r.outcome, {
          detail: this.dryRun
            ? `Dry run: ${r.detail}`
            : `${r.detail} Not credited; see the attention queue.`,
        });
    }
  }

  // ------------------------------------------------------------------------------------------
  // Pass 2: refunds Stripe has and the ledger lacks

  private async refundsPass() {
    const gte = Math.floor(this.window.since.getTime() / 1000);
    const lte = Math.floor(this.window.until.getTime() / 1000);
    await this.paged(
      (after) =>
        this.stripe.refunds.list({
          created: { gte, lte },
          limit: this.tuning.pageSize,
          ...(after ? { starting_after: after } : {}),
        }),
      (page) => this.refundPage(page),
    );
  }

  private async refundPage(page: Stripe.Refund[]) {
    const applicable = page.filter(
      (r) => (r.status === "succeeded" || r.status === "pending") && stripeId(r.charge),
    );
    if (applicable.length === 0) return;
    const known = await this.db.refund.findMany({
      where: { id: { in: applicable.map((r) => r.id) } },
      select: { id: true },
    });
    const seen = new Set(known.map((r) => r.id));
    const missing = applicable.filter((r) => !seen.has(r.id));
    if (missing.length === 0) return;

    const byCharge = new Map<string, Stripe.Refund[]>();
    for (const r of missing) {
      const charge = stripeId(r.charge) as string;
      byCharge.set(charge, [...(byCharge.get(charge) ?? []), r]);
    }
    const paymentIntents = missing
      .map((r) => stripeId(r.payment_intent))
      .filter((id): id is string => Boolean(id));
    const purchases = await this.db.purchase.findMany({
      where: {
        OR: [
          { chargeId: { in: [...byCharge.keys()] } },
          { paymentIntentId: { in: paymentIntents } },
        ],
      },
    });
    const items: ItemRow[] = [];
    for (const [chargeId, refunds] of byCharge) {
      const pi = stripeId(refunds[0].payment_intent);
      const before =
        purchases.find(
          (p) => p.chargeId === chargeId || (pi !== null && p.paymentIntentId === pi),
        ) ?? null;
      const amount = refunds.reduce((sum, r) => sum + r.amount, 0);
      const ids = refunds.map((r) => r.id).join(", ");
      if (this.dryRun) {
        // Without a purchase this refund is not a credit-pack payment (or its session is in pass 1's items).
        if (!before) continue;
        items.push({
          runId: this.run.id,
          checkoutSessionId: before.checkoutSessionId,
          outcome: "refund_missing",
          userId: before.userId,
          purchaseId: before.id,
          amountTotal: amount,
          currency: refunds[0].currency,
          sessionCreatedAt: before.stripeCreatedAt,
          detail: `Dry run: would apply ${refunds.length} refund(s) Stripe has and the ledger lacks (${ids}).`,
        });
        this.c.refundsApplied += refunds.length;
        continue;
      }
      try {
        const result = await this.gate.call(() =>
          applyChargeRefunds(chargeId, { via: "reconciliation" }),
        );
        if (result.outcome === "no_purchase" || result.applied.length === 0) continue;
        const p = result.purchase;
        if (!before) {
          // The refund's purchase was not credited either: the refund path fulfilled it first.
          items.push({
            runId: this.run.id,
            checkoutSessionId: p.checkoutSessionId,
            outcome: "credited_now",
            userId: p.userId,
            purchaseId: p.id,
            amountTotal: p.amountTotal,
            currency: p.currency,
            sessionCreatedAt: p.stripeCreatedAt,
            detail: `Credited ${p.credits} credits while applying its refund; neither webhook arrived.`,
          });
        }
        const clawed = result.applied.reduce((sum, a) => sum + a.creditsClawed, 0);
        items.push({
          runId: this.run.id,
          checkoutSessionId: p.checkoutSessionId,
          outcome: "refund_missing",
          userId: p.userId,
          purchaseId: p.id,
          amountTotal: result.applied.reduce((sum, a) => sum + a.amount, 0),
          currency: p.currency,
          sessionCreatedAt: p.stripeCreatedAt,
          detail: `Applied ${result.applied.length} refund(s) Stripe had and the ledger lacked (${result.applied.map((a) => a.refundId).join(", ")}): ${clawed} credits clawed back.`,
        });
        this.c.refundsApplied += result.applied.length;
      } catch (error) {
        if (isRunFatal(error)) {
          await this.flushItems(items);
          throw error;
        }
        const message = errorText(error);
        logger.error(
          { runId: this.run.id, chargeId, err: message },
          "reconciliation could not apply refunds",
        );
        if (!before) {
          this.c.errors += 1;
        } else {
          await this.raiseError(
            before.checkoutSessionId,
            `Refunds ${ids} could not be applied: ${message}`,
          );
          items.push({
            runId: this.run.id,
            checkoutSessionId: before.checkoutSessionId,
            outcome: "error",
            userId: before.userId,
            purchaseId: before.id,
            amountTotal: amount,
            currency: refunds[0].currency,
            sessionCreatedAt: before.stripeCreatedAt,
            detail: `Refunds ${ids} could not be applied: ${message}`,
          });
        }
      }
    }
    await this.flushItems(items);
  }

  private async flushItems(items: ItemRow[]) {
    if (items.length === 0) return;
    await this.db.reconciliationItem.createMany({ data: items });
    this.tally(items);
    items.length = 0;
    await this.saveProgress();
    this.emit();
  }

  // ------------------------------------------------------------------------------------------
  // Pass 3: events Stripe could not deliver

  private async eventsPass() {
    const now = this.window.until.getTime();
    const gte = Math.floor(Math.max(this.window.since.getTime(), now - EVENT_RETENTION_MS) / 1000);
    const lte = Math.floor(now / 1000);
    await this.paged(
      (after) =>
        this.stripe.events.list({
          delivery_success: false,
          types: [...HANDLED_EVENT_TYPES],
          created: { gte, lte },
          limit: this.tuning.pageSize,
          ...(after ? { starting_after: after } : {}),
        }),
      (page) => this.eventPage(page),
    );
  }

  private async eventPage(page: Stripe.Event[]) {
    this.c.undeliveredEvents += page.length;
    if (this.dryRun) {
      await this.saveProgress();
      this.emit();
      return;
    }
    const sessionOf = (e: Stripe.Event) =>
      e.type.startsWith("checkout.session.")
        ? ((e.data.object as { id?: string }).id ?? null)
        : null;
    const sessionIds = [...new Set(page.map(sessionOf).filter((id): id is string => Boolean(id)))];
    const creditedBefore = new Set(
      sessionIds.length
        ? (
            await this.db.purchase.findMany({
              where: { checkoutSessionId: { in: sessionIds } },
              select: { checkoutSessionId: true },
            })
          ).map((p) => p.checkoutSessionId)
        : [],
    );
    const attention = new Map<
      string,
      { outcome: ItemOutcome; detail: string; event: Stripe.Event }
    >();
    // Oldest first, the order they happened in.
    const ordered = [...page].sort((a, b) => a.created - b.created);
    for (const event of ordered) {
      const result = await this.gate.call(() => processStripeEvent(event, "reconciliation"));
      if (result.status === "failed") this.c.errors += 1;
      const sessionId = sessionOf(event);
      if (sessionId && result.status === "needs_attention") {
        const prefix = /^(unmatched_user|unknown_price|amount_mismatch):\s*/.exec(
          result.detail ?? "",
        );
        const outcome = (prefix?.[1] as ItemOutcome | undefined) ?? "error";
        attention.set(sessionId, {
          outcome,
          detail: (result.detail ?? "").slice(prefix?.[0].length ?? 0),
          event,
        });
      }
    }
    if (sessionIds.length === 0) {
      await this.saveProgress();
      this.emit();
      return;
    }
    // Sessions pass 1 already recorded (inside the window) keep that item; the rest get one here.
    const recorded = await creditedSessionsAmong(this.run.id, sessionIds);
    for (const i of await this.db.reconciliationItem.findMany({
      where: { runId: this.run.id, checkoutSessionId: { in: sessionIds } },
      select: { checkoutSessionId: true },
    }))
      recorded.add(i.checkoutSessionId);
    const creditedNow = await this.db.purchase.findMany({
      where: {
        checkoutSessionId: {
          in: sessionIds.filter((id) => !creditedBefore.has(id) && !recorded.has(id)),
        },
      },
    });
    const items: ItemRow[] = creditedNow.map((p) => ({
      runId: this.run.id,
      checkoutSessionId: p.checkoutSessionId,
      outcome: "credited_now",
      userId: p.userId,
      purchaseId: p.id,
      amountTotal: p.amountTotal,
      currency: p.currency,
      sessionCreatedAt: p.stripeCreatedAt,
      detail: `Credited ${p.credits} credits from an event Stripe could not deliver (outside the sessions window).`,
    }));
    for (const [sessionId, a] of attention) {
      if (recorded.has(sessionId) || creditedNow.some((p) => p.checkoutSessionId === sessionId))
        continue;
      const s = a.event.data.object as Session;
      items.push({
        runId: this.run.id,
        checkoutSessionId: sessionId,
        outcome: a.outcome,
        amountTotal: s.amount_total ?? null,
        currency: s.currency ?? null,
        sessionCreatedAt: new Date((s.created ?? a.event.created) * 1000),
        detail: `${a.detail} (from undelivered event ${a.event.id}; see the attention queue)`,
      });
    }
    if (items.length > 0) {
      await this.flushItems(items);
    } else {
      await this.saveProgress();
      this.emit();
    }
  }
}

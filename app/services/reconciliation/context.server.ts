import Stripe from "stripe";
import type { Prisma, ReconciliationRun } from "~/generated/prisma/client";
import { raiseAttention } from "../attention.server";
import { getDatabase, getDb } from "../infra/db.server";
import { getEnv } from "../infra/env.server";
import { logger, scrubSecrets } from "../infra/logger.server";
import { expectsLivemode } from "../infra/stripe-client.server";
import { isTransientError } from "../infra/transient.server";
import { DEFAULT_PACING, StripeGate, type PacingOptions } from "./pacing.server";
import type { RunWindow } from "./window.server";

/**
 * What every pass of a reconciliation run shares: the run row and its window, the options, Stripe
 * and its pacing gate, the counters and checkpoint, and the bookkeeping that saves and reports
 * them. run.server.ts makes one per run; each pass (passes/*.server.ts) is a function of it.
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

/** One reconciliation_items row as the passes build it. */
export type ItemRow = Prisma.ReconciliationItemCreateManyInput;

/** Counters and checkpoint as of some recorded pages, written (and reported) together. */
export interface Snapshot {
  c: RunCounters;
  checkpoint: Date | null;
}

export class RunAborted extends Error {
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
export function defaultPacing(): PacingOptions {
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
export function isRunFatal(error: unknown): boolean {
  if (error instanceof RunAborted) return true;
  if (error instanceof Stripe.errors.StripeError)
    return !(error instanceof Stripe.errors.StripeInvalidRequestError);
  return isTransientError(error);
}

export function errorText(error: unknown): string {
  return scrubSecrets((error as Error)?.message ?? String(error)).slice(0, 1000);
}

export function stripeId(value: string | { id: string } | null | undefined): string | null {
  if (!value) return null;
  return typeof value === "string" ? value : value.id;
}

export class RunContext {
  readonly db = getDb();
  /** Raw statements for the per-page hot path. */
  readonly database = getDatabase();
  readonly dryRun: boolean;
  readonly tuning: RunTuning;
  readonly gate: StripeGate;
  /** Set when the run starts (run.server.ts), before any pass. */
  stripe!: Stripe;
  readonly c: RunCounters = {
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
  /** Everything from here to the window's end has been processed (the sessions pass moves it). */
  checkpoint: Date | null = null;
  phase: RunPhase = "starting";
  readonly startedAt = new Date();

  constructor(
    readonly run: ReconciliationRun,
    readonly window: RunWindow,
    readonly opts: RunOptions,
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
  }

  persistedCounters() {
    const { refundsApplied: _r, ...persisted } = this.c;
    return persisted;
  }

  setPhase(phase: RunPhase) {
    this.phase = phase;
    this.emit();
  }

  emit(lastPage?: RunProgress["lastPage"], snap: Snapshot = this.snapshot()) {
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

  snapshot(): Snapshot {
    return { c: { ...this.c }, checkpoint: this.checkpoint };
  }

  checkAbort() {
    if (this.opts.signal?.aborted) throw new RunAborted();
  }

  async saveProgress(extra: Prisma.ReconciliationRunUpdateInput = {}) {
    await this.db.reconciliationRun.update({
      where: { id: this.run.id },
      data: { ...this.persistedCounters(), checkpoint: this.checkpoint, ...extra },
    });
  }

  tally(items: ItemRow[]) {
    for (const item of items) {
      const outcome = item.outcome as ItemOutcome;
      if (outcome === "credited_now") this.c.creditedNow += 1;
      else if (outcome === "already_credited") this.c.alreadyCredited += 1;
      else if (outcome === "error") this.c.errors += 1;
      else if (ATTENTION_OUTCOMES.has(outcome)) this.c.needsAttention += 1;
    }
  }

  /** Items of the refunds and events passes: written at once, then counted and reported. */
  async flushItems(items: ItemRow[]) {
    if (items.length === 0) return;
    await this.db.reconciliationItem.createMany({ data: items });
    this.tally(items);
    items.length = 0;
    await this.saveProgress();
    this.emit();
  }

  async raiseError(sessionId: string, message: string) {
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
}

import type { ReconciliationItem, ReconciliationRun } from "~/generated/prisma/client";
import { getDb } from "../infra/db.server";
import { ValidationError } from "../errors.server";
import type { DoctorReport } from "./doctor.server";
import {
  creditedSessionCount,
  listCreditedSessions,
  type CreditedPosition,
  type CreditedSession,
} from "./credited-batches.server";
import { isRunLockHeld } from "./lock.server";
import { ITEM_OUTCOMES, type ItemOutcome } from "./run.server";
import { lastCompletedAutomaticRun } from "./window.server";

/** Read side for the dashboard: runs, their progress, and the outcome of every session. */

export interface RunView {
  id: string;
  trigger: string;
  dryRun: boolean;
  status: ReconciliationRun["status"];
  windowSince: Date;
  windowUntil: Date;
  checkpoint: Date | null;
  highWaterMark: Date | null;
  pages: number;
  scanned: number;
  creditedNow: number;
  alreadyCredited: number;
  needsAttention: number;
  undeliveredEvents: number;
  errors: number;
  stripeRequests: number;
  error: string | null;
  alertStatus: string | null;
  staffId: string | null;
  startedAt: Date;
  finishedAt: Date | null;
  /** Milliseconds so far (running) or in total. */
  elapsedMs: number;
}

export function toRunView(run: ReconciliationRun, now: Date = new Date()): RunView {
  return {
    id: run.id,
    trigger: run.trigger,
    dryRun: run.dryRun,
    status: run.status,
    windowSince: run.windowSince,
    windowUntil: run.windowUntil,
    checkpoint: run.checkpoint,
    highWaterMark: run.highWaterMark,
    pages: run.pages,
    scanned: run.scanned,
    creditedNow: run.creditedNow,
    alreadyCredited: run.alreadyCredited,
    needsAttention: run.needsAttention,
    undeliveredEvents: run.undeliveredEvents,
    errors: run.errors,
    stripeRequests: run.stripeRequests,
    error: run.error,
    alertStatus: run.alertStatus,
    staffId: run.staffId,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    elapsedMs: (run.finishedAt ?? now).getTime() - run.startedAt.getTime(),
  };
}

/**
 * The run in progress anywhere, with its counters (saved after every page), or null. A row left
 * "running" by a process that died is not reported: nobody holds the lock for it.
 */
export async function getRunningRun(): Promise<RunView | null> {
  const row = await getDb().reconciliationRun.findFirst({
    where: { status: "running" },
    orderBy: { startedAt: "desc" },
  });
  if (!row) return null;
  return (await isRunLockHeld()) ? toRunView(row) : null;
}

export interface RunPage {
  runs: RunView[];
  /** Pass as `before` for the next (older) page; null on the last page. */
  nextCursor: string | null;
}

function encodeCursor(run: ReconciliationRun): string {
  return Buffer.from(`${run.startedAt.toISOString()}|${run.id}`).toString("base64url");
}

function decodeCursor(cursor: string): { startedAt: Date; id: string } {
  const [at, id] = Buffer.from(cursor, "base64url").toString("utf8").split("|");
  const startedAt = new Date(at ?? "");
  if (!id || Number.isNaN(startedAt.getTime()))
    throw new ValidationError("cursor is not valid.", "cursor");
  return { startedAt, id };
}

/** Newest first, keyset-paged (at most 100 per page). */
export async function listRuns(
  opts: { limit?: number; before?: string | null; status?: ReconciliationRun["status"] } = {},
): Promise<RunPage> {
  const limit = Math.min(100, Math.max(1, opts.limit ?? 25));
  const cursor = opts.before ? decodeCursor(opts.before) : null;
  const rows = await getDb().reconciliationRun.findMany({
    where: {
      ...(opts.status ? { status: opts.status } : {}),
      ...(cursor
        ? {
            OR: [
              { startedAt: { lt: cursor.startedAt } },
              { startedAt: cursor.startedAt, id: { lt: cursor.id } },
            ],
          }
        : {}),
    },
    orderBy: [{ startedAt: "desc" }, { id: "desc" }],
    take: limit + 1,
  });
  const more = rows.length > limit;
  const page = rows.slice(0, limit);
  const now = new Date();
  return {
    runs: page.map((r) => toRunView(r, now)),
    nextCursor: more ? encodeCursor(page[page.length - 1]) : null,
  };
}

export interface RunDetail extends RunView {
  doctor: DoctorReport | null;
  /** Items per outcome (every outcome present, zero when none). */
  outcomes: Record<ItemOutcome, number>;
}

export async function getRun(runId: string): Promise<RunDetail | null> {
  const db = getDb();
  const run = await db.reconciliationRun.findUnique({ where: { id: runId } });
  if (!run) return null;
  const [grouped, credited] = await Promise.all([
    db.reconciliationItem.groupBy({ by: ["outcome"], where: { runId }, _count: { _all: true } }),
    creditedSessionCount(runId),
  ]);
  const outcomes = Object.fromEntries(ITEM_OUTCOMES.map((o) => [o, 0])) as Record<
    ItemOutcome,
    number
  >;
  for (const g of grouped) outcomes[g.outcome as ItemOutcome] = g._count._all;
  outcomes.already_credited += credited;
  return {
    ...toRunView(run),
    doctor: (run.doctor as unknown as DoctorReport | null) ?? null,
    outcomes,
  };
}

/** One session's outcome in a run, as the run page shows it. */
export interface RunItem extends Omit<ReconciliationItem, "id"> {
  /** The item's row id, or `c<batch>.<n>` for a session recorded in a credited batch. */
  id: string;
}

export interface ItemPage {
  items: RunItem[];
  nextCursor: string | null;
}

const CREDITED_CURSOR = /^c(\d{1,19})\.(\d{1,9})$/;

function creditedItem(runId: string, s: CreditedSession): RunItem {
  return {
    id: `c${s.position.batchId}.${s.position.ordinal}`,
    runId,
    checkoutSessionId: s.checkoutSessionId,
    outcome: "already_credited",
    userId: s.userId,
    purchaseId: s.purchaseId,
    amountTotal: s.amountTotal,
    currency: s.currency,
    detail: null,
    sessionCreatedAt: s.sessionCreatedAt,
    createdAt: s.createdAt,
  };
}

/**
 * A run's items, filtered by `outcome` (the caller puts problems first). The item rows come first,
 * by id; then, where `already_credited` is wanted, the sessions the lookups recorded in credited
 * batches. The cursor is the last item's id.
 */
export async function listRunItems(
  runId: string,
  opts: { outcome?: ItemOutcome | ItemOutcome[]; limit?: number; after?: string | null } = {},
): Promise<ItemPage> {
  const limit = Math.min(100, Math.max(1, opts.limit ?? 50));
  let afterRow: bigint | null = null;
  let afterCredited: CreditedPosition | null = null;
  if (opts.after) {
    const credited = CREDITED_CURSOR.exec(opts.after);
    if (credited) afterCredited = { batchId: BigInt(credited[1]), ordinal: Number(credited[2]) };
    else if (/^\d{1,19}$/.test(opts.after)) afterRow = BigInt(opts.after);
    else throw new ValidationError("cursor is not valid.", "cursor");
  }
  const outcomes =
    opts.outcome === undefined
      ? undefined
      : Array.isArray(opts.outcome)
        ? opts.outcome
        : [opts.outcome];
  const withCredited = !outcomes || outcomes.includes("already_credited");
  const items: RunItem[] = [];
  if (!afterCredited) {
    const rows = await getDb().reconciliationItem.findMany({
      where: {
        runId,
        ...(outcomes ? { outcome: { in: outcomes } } : {}),
        ...(afterRow !== null ? { id: { gt: afterRow } } : {}),
      },
      orderBy: { id: "asc" },
      take: limit + 1,
    });
    for (const r of rows.slice(0, limit)) items.push({ ...r, id: String(r.id) });
    if (rows.length > limit) return { items, nextCursor: items[items.length - 1].id };
  }
  if (!withCredited) return { items, nextCursor: null };
  // The credited sessions follow the rows; one more than fits says whether a next page exists.
  const credited = await listCreditedSessions(runId, afterCredited, limit - items.length + 1);
  const room = limit - items.length;
  for (const s of credited.slice(0, room)) items.push(creditedItem(runId, s));
  return { items, nextCursor: credited.length > room ? items[items.length - 1].id : null };
}

/** When reconciliation last completed its automatic window (what the 26 h catch-up rule checks). */
export async function lastSuccessfulRunAt(): Promise<Date | null> {
  const run = await lastCompletedAutomaticRun();
  return run ? (run.finishedAt ?? run.highWaterMark) : null;
}

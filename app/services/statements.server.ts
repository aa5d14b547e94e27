import { z } from "zod";
import { Prisma } from "~/generated/prisma/client";
import type { LedgerKind } from "~/generated/prisma/enums";
import { dateRangeFields, dayAfter, dayStart, refineDateRange } from "~/shared/date-range";
import { csvLine, csvText } from "./admin/csv.server";
import { NotFoundError, ValidationError } from "./errors.server";
import { isoFromEpochMs, keysetBatches, type CsvExport } from "./exports/csv-export.server";
import { getDatabase } from "./infra/db.server";

/**
 * Balances at a point in time and statements over a period, read from the ledger alone.
 *
 * The ledger's order is the per-user `seq`; `balance_after` chains along it exactly. A point in
 * time T therefore cuts the sequence after **the last entry (highest seq) created at or before T**,
 * and the balance at T is that entry's `balance_after` (0 before the first entry). A statement for
 * `[start, end)` is the cut before `start` (opening), the cut before `end` (closing) and every
 * entry between the two cuts, so opening + Σ deltas = closing holds by construction, whatever the
 * timestamps. (Entries' times follow seq except where two writers of one user raced within
 * milliseconds; the cut then follows seq — docs/credits.md, "Balances at a point in time".)
 *
 * The cut is one backward walk of the (user_id, seq) unique index from the newest entry, stopping
 * at the first entry at or before T: no extra index on the ledger's hot insert path.
 */

export interface LedgerCut {
  /** seq of the last entry at or before the instant; 0 when there is none. */
  seq: number;
  /** The balance right after that entry (0 when none). */
  balance: number;
  entry: { id: string; seq: number; createdAt: Date } | null;
}

interface CutRow {
  id: string;
  seq: number;
  balance_after: number;
  created_at: Date | string;
}

async function requireUser(userId: string): Promise<void> {
  const rows = await getDatabase().query<{ id: string }>("SELECT id FROM users WHERE id = $1", [
    userId,
  ]);
  if (rows.length === 0) throw new NotFoundError("User", userId, "id");
}

/** The cut after the last entry created at or before `at` (`inclusive`) or strictly before it. */
async function cutAt(userId: string, at: Date, inclusive: boolean): Promise<LedgerCut> {
  const op = inclusive ? Prisma.sql`<=` : Prisma.sql`<`;
  const sql = Prisma.sql`
    SELECT id::text AS id, seq, balance_after, created_at FROM ledger_entries
    WHERE user_id = ${userId} AND created_at ${op} ${at}
    ORDER BY seq DESC LIMIT 1`;
  const [row] = await getDatabase().query<CutRow>(sql.text, sql.values);
  if (!row) return { seq: 0, balance: 0, entry: null };
  return {
    seq: Number(row.seq),
    balance: Number(row.balance_after),
    entry: { id: row.id, seq: Number(row.seq), createdAt: new Date(row.created_at) },
  };
}

/** The balance as of `at` (which must not be in the future: the caller checks it). */
export async function balanceAt(userId: string, at: Date): Promise<LedgerCut> {
  await requireUser(userId);
  return cutAt(userId, at, true);
}

/** `at` of GET /api/v1/users/{id}?at=…: an ISO 8601 date-time with a time zone, not in the future. */
const ISO_INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})$/i;

export function parseInstant(value: string, now = new Date()): Date {
  const m = ISO_INSTANT.exec(value);
  const at = m ? new Date(value) : null;
  // The round trip refuses 2026-02-30T…, which Date would read as 2 March.
  const real =
    m &&
    at &&
    !Number.isNaN(at.getTime()) &&
    new Date(`${m[1]}-${m[2]}-${m[3]}T00:00:00Z`).toISOString().slice(0, 10) ===
      `${m[1]}-${m[2]}-${m[3]}` &&
    Number(m[4]) < 24 &&
    Number(m[5]) < 60 &&
    Number(m[6] ?? 0) < 60;
  if (!real || !at) {
    throw new ValidationError(
      "at must be an ISO 8601 date-time with a time zone, e.g. 2026-11-22T08:00:00Z.",
      "at",
    );
  }
  if (at.getTime() > now.getTime()) {
    throw new ValidationError(
      `at must not be in the future (it is ${at.toISOString()}; now is ${now.toISOString()}).`,
      "at",
    );
  }
  return at;
}

// ---------------------------------------------------------------------------------------------
// Statements

/** The statement's period: UTC calendar days, both ends inclusive, by the shared date-range rule. */
export const statementPeriodSchema = refineDateRange(z.object(dateRangeFields()));
export type StatementPeriod = z.output<typeof statementPeriodSchema>;

export const STATEMENT_PAGE_SIZE = 100;

export interface StatementEntry {
  id: string;
  seq: number;
  createdAt: Date;
  kind: LedgerKind;
  delta: number;
  balanceAfter: number;
  reason: string | null;
  purchaseId: string | null;
  idempotencyKey: string;
  /** How the entry moved credits across grants (grant null: debt); they sum to `delta`. */
  allocations: StatementAllocation[];
}

export interface StatementAllocation {
  grantId: string | null;
  source: string | null;
  delta: number;
}

export interface StatementBounds {
  /** Cut before the period (opening) and at its end (closing); entries are seq in (opening, closing]. */
  opening: LedgerCut;
  closing: LedgerCut;
  /** The instants the period covers: [start, end). start null: since the first entry. */
  start: Date | null;
  end: Date;
}

/**
 * The two cuts of a period. No `to` day: up to `now` (the request's snapshot, so entries written
 * while a statement is read or exported are not half in it).
 */
export async function statementBounds(
  userId: string,
  period: StatementPeriod,
  now = new Date(),
): Promise<StatementBounds> {
  await requireUser(userId);
  const start = period.from ? dayStart(period.from) : null;
  const periodEnd = period.to ? dayAfter(period.to) : null;
  const end = periodEnd && periodEnd.getTime() < now.getTime() ? periodEnd : now;
  const inclusiveEnd = end === now;
  const [opening, closing] = await Promise.all([
    start ? cutAt(userId, start, false) : Promise.resolve({ seq: 0, balance: 0, entry: null }),
    cutAt(userId, end, inclusiveEnd),
  ]);
  // A period that starts after now has no entries: closing is then the opening cut.
  return {
    opening,
    closing: closing.seq < opening.seq ? opening : closing,
    start,
    end,
  };
}

interface EntryRow {
  id: string;
  seq: number;
  created_at: Date | string;
  kind: LedgerKind;
  delta: number;
  balance_after: number;
  reason: string | null;
  purchase_id: string | null;
  idempotency_key: string;
  allocations: StatementAllocation[] | string | null;
}

function toStatementEntry(r: EntryRow): StatementEntry {
  return {
    id: r.id,
    seq: Number(r.seq),
    createdAt: new Date(r.created_at),
    kind: r.kind,
    delta: Number(r.delta),
    balanceAfter: Number(r.balance_after),
    reason: r.reason,
    purchaseId: r.purchase_id,
    idempotencyKey: r.idempotency_key,
    allocations: (typeof r.allocations === "string"
      ? (JSON.parse(r.allocations) as StatementAllocation[])
      : (r.allocations ?? [])
    ).map((a) => ({
      grantId: a.grantId === null ? null : String(a.grantId),
      source: a.source,
      delta: Number(a.delta),
    })),
  };
}

export interface Statement extends StatementBounds {
  totals: { entries: number; creditsIn: number; creditsOut: number };
  /** One page of the period's entries, oldest first. */
  entries: StatementEntry[];
  /** seq to pass as `after` for the next page, or as `before` for the previous one. */
  next: number | null;
  prev: number | null;
}

/**
 * A statement page: opening and closing balances, the period's totals and up to `pageSize`
 * entries in ledger order (after / before a seq, for the pager). Opening + creditsIn − creditsOut
 * = closing (tests/integration/statements.test.ts asserts it).
 */
export async function getStatement(
  userId: string,
  period: StatementPeriod,
  page: { after?: number; before?: number } = {},
  pageSize = STATEMENT_PAGE_SIZE,
  now = new Date(),
): Promise<Statement> {
  const bounds = await statementBounds(userId, period, now);
  const lo = bounds.opening.seq;
  const hi = bounds.closing.seq;
  const db = getDatabase();
  const totalsSql = Prisma.sql`
    SELECT count(*)::int AS entries,
      coalesce(sum(delta) FILTER (WHERE delta > 0), 0)::int8::text AS credits_in,
      coalesce(-sum(delta) FILTER (WHERE delta < 0), 0)::int8::text AS credits_out
    FROM ledger_entries WHERE user_id = ${userId} AND seq > ${lo} AND seq <= ${hi}`;
  const backwards = page.before !== undefined && page.after === undefined;
  const from = page.after !== undefined ? Math.max(lo, page.after) : lo;
  const to = backwards ? Math.min(hi + 1, page.before!) : hi + 1;
  const entriesSql = Prisma.sql`
    SELECT e.id::text AS id, e.seq, e.created_at, e.kind::text AS kind, e.delta, e.balance_after,
      e.reason, e.purchase_id, e.idempotency_key,
      (SELECT coalesce(json_agg(json_build_object('grantId', a.grant_id::text, 'source', g.source::text,
                'delta', a.delta) ORDER BY a.id), '[]'::json)
       FROM credit_allocations a LEFT JOIN credit_grants g ON g.id = a.grant_id
       WHERE a.entry_id = e.id) AS allocations
    FROM ledger_entries e
    WHERE e.user_id = ${userId} AND e.seq > ${from} AND e.seq < ${to}
    ORDER BY e.seq ${backwards ? Prisma.sql`DESC` : Prisma.sql`ASC`} LIMIT ${pageSize}`;
  const [[totals], rows] = await Promise.all([
    db.query<{ entries: number; credits_in: string; credits_out: string }>(
      totalsSql.text,
      totalsSql.values,
    ),
    db.query<EntryRow>(entriesSql.text, entriesSql.values),
  ]);
  const entries = rows.map(toStatementEntry);
  if (backwards) entries.reverse();
  const first = entries[0]?.seq;
  const last = entries[entries.length - 1]?.seq;
  return {
    ...bounds,
    totals: {
      entries: Number(totals.entries),
      creditsIn: Number(totals.credits_in),
      creditsOut: Number(totals.credits_out),
    },
    entries,
    next: last !== undefined && last < hi ? last : null,
    prev: first !== undefined && first > lo + 1 ? first : null,
  };
}

// ---------------------------------------------------------------------------------------------
// CSV

export const STATEMENT_CSV_HEADERS = [
  "line",
  "entry_id",
  "created_at_utc",
  "seq",
  "kind",
  "delta",
  "balance_after",
  "reason",
  "purchase_id",
  "idempotency_key",
  "allocations",
] as const;

interface CsvRow {
  id: string;
  seq: number;
  created_ms: string;
  kind: string;
  delta: number;
  balance_after: number;
  reason: string | null;
  purchase_id: string | null;
  idempotency_key: string;
  allocations: string;
}

function entryLines(rows: CsvRow[], from: number, to: number): string {
  let out = "";
  for (let i = from; i < to; i++) {
    const r = rows[i];
    // Integer columns and our own enum labels are written as they are; text passes csvText.
    out += `entry,${r.id},${isoFromEpochMs(r.created_ms)},${r.seq},${r.kind},${r.delta},${r.balance_after},${csvText(r.reason)},${csvText(r.purchase_id)},${csvText(r.idempotency_key)},${csvText(r.allocations)}\r\n`;
  }
  return out;
}

function balanceLine(label: "opening" | "closing", at: Date | null, cut: LedgerCut): string {
  // Every column of the header, so spreadsheets see one rectangle.
  return csvLine([
    label,
    null,
    at ? at.toISOString() : null,
    cut.seq,
    null,
    null,
    cut.balance,
    null,
    null,
    null,
    null,
  ]);
}

/**
 * A user's statement as CSV: an `opening` line (balance before the period), every entry of the
 * period in ledger order, read in keyset batches on seq, and a `closing` line. An entry's
 * `allocations` cell lists how it moved credits across grants ("grant 12 -5; grant 13 -3", "debt"
 * for credits beyond every grant); the parts sum to its delta. Formula-safe like
 * the other exports (app/services/admin/csv.server.ts).
 */
export async function statementCsv(
  userId: string,
  period: StatementPeriod,
  batchSize = 2000,
  now = new Date(),
): Promise<CsvExport> {
  const bounds = await statementBounds(userId, period, now);
  const hi = bounds.closing.seq;
  const fetchBatch = (after: CsvRow | null) => {
    const sql = Prisma.sql`
      SELECT e.id::text AS id, e.seq, (extract(epoch FROM e.created_at) * 1000)::int8::text AS created_ms,
        e.kind::text AS kind, e.delta, e.balance_after, e.reason, e.purchase_id, e.idempotency_key,
        (SELECT coalesce(string_agg(coalesce('grant ' || a.grant_id::text, 'debt') || ' ' || a.delta::text,
                 '; ' ORDER BY a.id), '')
         FROM credit_allocations a WHERE a.entry_id = e.id) AS allocations
      FROM ledger_entries e
      WHERE e.user_id = ${userId} AND e.seq > ${after ? after.seq : bounds.opening.seq} AND e.seq <= ${hi}
      ORDER BY e.seq LIMIT ${batchSize}`;
    return getDatabase().query<CsvRow>(sql.text, sql.values);
  };
  async function* batches() {
    const opening = balanceLine("opening", bounds.start, bounds.opening);
    yield { text: opening, rows: 1 };
    yield* keysetBatches(fetchBatch, entryLines, batchSize);
    yield { text: balanceLine("closing", bounds.end, bounds.closing), rows: 1 };
  }
  return { header: csvLine([...STATEMENT_CSV_HEADERS]), batches: batches() };
}

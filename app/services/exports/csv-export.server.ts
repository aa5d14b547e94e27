import { Prisma } from "~/generated/prisma/client";
import { csvLine, csvText, zoneLine } from "../admin/csv.server";
import { reportZone } from "../infra/env.server";
import { ledgerConditions, type LedgerFilters } from "../admin/ledger-query.server";
import {
  minorToDecimal,
  purchaseConditions,
  type PurchaseFilters,
} from "../admin/purchases-query.server";
import { getDatabase } from "../infra/db.server";

/**
 * The CSV exports' data: every matching row, oldest first, read in keyset batches through the raw
 * `getDatabase().query` (a plain `pg` pool on Postgres) and turned into CSV text batch by batch.
 *
 * Why not Prisma objects: an export is all about rows per second on a shared machine. Each row
 * arrives as one flat object of text / int / bool columns, times as epoch milliseconds (formatted
 * by `isoFromEpochMs`, cheaper than Postgres' to_char), and is written with one template string
 * whose text cells pass `csvText` (one regex test when nothing needs quoting or neutralising).
 *
 * Rows created after the export started are left out (`snapshot`), so a long export is a
 * consistent list rather than a moving target. Batch N+1 is fetched while batch N is being written,
 * so at most two batches are held however many rows match.
 */

/**
 * Rows per query: fewer round trips (each is planned anew, ≈ 1–2 ms) without holding much at once.
 * Not much more: from about 5,000 rows Postgres plans a parallel scan, whose workers cost more than
 * they save on a small machine (one run each: 9.7 s of database CPU against 6.9 s per 1M rows).
 */
export const EXPORT_BATCH_SIZE = 2000;

export interface CsvBatch {
  /** CSV lines of the batch, each ending in CRLF. */
  text: string;
  rows: number;
}

export interface CsvExport {
  /** Header line, CRLF included. */
  header: string;
  batches: AsyncGenerator<CsvBatch>;
}

const DAY_MS = 86_400_000;
const TWO_DIGITS = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, "0"));
let isoDay = Number.NaN;
let isoDayPrefix = "";

/**
 * Epoch milliseconds (as text, see db.server.ts on result types) → ISO-8601 UTC with milliseconds,
 * exactly what Date#toISOString gives (e.g. 2026-11-22T08:12:00.123Z) for years 1970–9999, at a
 * fraction of its cost: the date part is computed once per day (exports run in time order), the
 * time part with integer arithmetic. toISOString on every cell was the export's largest CPU cost.
 */
export function isoFromEpochMs(text: string): string {
  const ms = Number(text);
  const day = Math.floor(ms / DAY_MS);
  if (day !== isoDay) {
    isoDay = day;
    isoDayPrefix = new Date(day * DAY_MS).toISOString().slice(0, 11);
  }
  let rest = ms - day * DAY_MS;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  const millis = rest - seconds * 1000;
  const milliText = millis < 10 ? `00${millis}` : millis < 100 ? `0${millis}` : String(millis);
  return `${isoDayPrefix}${TWO_DIGITS[hours]}:${TWO_DIGITS[minutes]}:${TWO_DIGITS[seconds]}.${milliText}Z`;
}
const iso = isoFromEpochMs;

/**
 * Rows per piece of text handed to the socket: pieces stay small (≈ 60 KB), so V8 collects them
 * young instead of flattening and encoding one large string per database batch.
 */
export const WRITE_ROWS = 256;

/**
 * Walk a keyset-ordered query batch by batch, one batch ahead of the consumer, yielding each batch
 * as CSV in pieces of `WRITE_ROWS` rows. A short batch is the last one. If the consumer stops
 * (client gone), the batch in flight is left to finish quietly.
 */
export async function* keysetBatches<R>(
  fetchBatch: (after: R | null) => Promise<R[]>,
  render: (rows: R[], from: number, to: number) => string,
  batchSize: number,
): AsyncGenerator<CsvBatch> {
  let pending: Promise<R[]> | null = fetchBatch(null);
  try {
    while (pending) {
      const rows: R[] = await pending;
      pending = rows.length >= batchSize ? fetchBatch(rows[rows.length - 1]) : null;
      for (let from = 0; from < rows.length; from += WRITE_ROWS) {
        const to = Math.min(rows.length, from + WRITE_ROWS);
        yield { text: render(rows, from, to), rows: to - from };
      }
    }
  } finally {
    pending?.catch(() => {});
  }
}

function run<R>(sql: Prisma.Sql): Promise<R[]> {
  return getDatabase().query<R>(sql.text, sql.values);
}

// ---------------------------------------------------------------------------------------------
// Purchases

export const PURCHASE_CSV_HEADERS = [
  "purchase_id",
  "paid_at_utc",
  "credited_at_utc",
  "stripe_created_at_utc",
  "checkout_session_id",
  "payment_intent_id",
  "charge_id",
  "user_id",
  "user_email",
  "pack",
  "quantity",
  "credits",
  "currency",
  "amount_total_minor",
  "amount_total",
  "amount_refunded_minor",
  "credits_clawed_back",
  "status",
  "credited_via",
  "user_resolved_by",
  "livemode",
] as const;

interface PurchaseExportRow {
  id: string;
  paid_ms: string;
  created_ms: string;
  stripe_created_ms: string;
  checkout_session_id: string;
  payment_intent_id: string | null;
  charge_id: string | null;
  user_id: string;
  email: string;
  pack: string | null;
  quantity: number;
  credits: number;
  currency: string;
  amount_total: number;
  amount_refunded: number;
  credits_clawed_back: number;
  status: string;
  credited_via: string;
  user_resolved_by: string;
  livemode: boolean;
}

function purchaseLines(rows: PurchaseExportRow[], from: number, to: number): string {
  let out = "";
  for (let i = from; i < to; i++) {
    const r = rows[i];
    // Integer columns are numbers from INTEGER columns and enums are our own labels: written as is.
    out += `${csvText(r.id)},${iso(r.paid_ms)},${iso(r.created_ms)},${iso(r.stripe_created_ms)},${csvText(r.checkout_session_id)},${csvText(r.payment_intent_id)},${csvText(r.charge_id)},${csvText(r.user_id)},${csvText(r.email)},${csvText(r.pack)},${r.quantity},${r.credits},${csvText(r.currency)},${r.amount_total},${minorToDecimal(r.amount_total, r.currency)},${r.amount_refunded},${r.credits_clawed_back},${r.status},${r.credited_via},${r.user_resolved_by},${r.livemode ? "true" : "false"}\r\n`;
  }
  return out;
}

/** Every purchase the filters match, in the order Stripe was paid (the finance time, issue 21). */
export function purchasesCsv(
  filters: PurchaseFilters,
  batchSize = EXPORT_BATCH_SIZE,
  snapshot = new Date(),
): CsvExport {
  const where = Prisma.sql`${purchaseConditions(filters)} AND p.created_at <= ${snapshot}`;
  const fetchBatch = (after: PurchaseExportRow | null) =>
    run<PurchaseExportRow>(Prisma.sql`
      SELECT p.id, (extract(epoch FROM p.paid_at) * 1000)::int8::text AS paid_ms,
        (extract(epoch FROM p.created_at) * 1000)::int8::text AS created_ms,
        (extract(epoch FROM p.stripe_created_at) * 1000)::int8::text AS stripe_created_ms,
        p.checkout_session_id, p.payment_intent_id, p.charge_id, p.user_id, u.email, cp.name AS pack,
        p.quantity, p.credits, p.currency, p.amount_total, p.amount_refunded, p.credits_clawed_back,
        p.status::text AS status, p.credited_via::text AS credited_via,
        p.user_resolved_by::text AS user_resolved_by, p.livemode
      FROM purchases p
      JOIN users u ON u.id = p.user_id
      LEFT JOIN credit_packs cp ON cp.id = p.pack_id
      WHERE ${where}${
        after
          ? Prisma.sql` AND (p.paid_at, p.id) > (${iso(after.paid_ms)}::timestamptz, ${after.id})`
          : Prisma.empty
      }
      ORDER BY p.paid_at, p.id
      LIMIT ${batchSize}`);
  return {
    header:
      zoneLine("creditdesk purchases by paid time", reportZone()) +
      csvLine([...PURCHASE_CSV_HEADERS]),
    batches: keysetBatches(fetchBatch, purchaseLines, batchSize),
  };
}

// ---------------------------------------------------------------------------------------------
// Ledger

export const LEDGER_CSV_HEADERS = [
  "entry_id",
  "created_at_utc",
  "user_id",
  "user_email",
  "seq",
  "kind",
  "delta",
  "balance_after",
  "reason",
  "purchase_id",
  "stripe_event_id",
  "staff_email",
  "api_key",
  "idempotency_key",
] as const;

interface LedgerExportRow {
  id: string;
  created_ms: string;
  user_id: string;
  email: string;
  seq: number;
  kind: string;
  delta: number;
  balance_after: number;
  reason: string | null;
  purchase_id: string | null;
  stripe_event_id: string | null;
  staff_email: string | null;
  api_key_name: string | null;
  idempotency_key: string;
}

function ledgerLines(rows: LedgerExportRow[], from: number, to: number): string {
  let out = "";
  for (let i = from; i < to; i++) {
    const r = rows[i];
    // delta stays a number ("-200"), not neutralised: it is an INTEGER column, not typed text.
    out += `${r.id},${iso(r.created_ms)},${csvText(r.user_id)},${csvText(r.email)},${r.seq},${r.kind},${r.delta},${r.balance_after},${csvText(r.reason)},${csvText(r.purchase_id)},${csvText(r.stripe_event_id)},${csvText(r.staff_email)},${csvText(r.api_key_name)},${csvText(r.idempotency_key)}\r\n`;
  }
  return out;
}

export function ledgerCsv(
  filters: LedgerFilters,
  batchSize = EXPORT_BATCH_SIZE,
  snapshot = new Date(),
): CsvExport {
  // Entries are never changed, only added: the snapshot bound makes the list fixed.
  const where = Prisma.sql`${ledgerConditions(filters)} AND e.created_at <= ${snapshot}`;
  const fetchBatch = (after: LedgerExportRow | null) =>
    run<LedgerExportRow>(Prisma.sql`
      SELECT e.id::text AS id, (extract(epoch FROM e.created_at) * 1000)::int8::text AS created_ms,
        e.user_id, u.email, e.seq, e.kind::text AS kind, e.delta, e.balance_after, e.reason,
        e.purchase_id, e.stripe_event_id, s.email AS staff_email, k.name AS api_key_name,
        e.idempotency_key
      FROM ledger_entries e
      JOIN users u ON u.id = e.user_id
      LEFT JOIN staff_users s ON s.id = e.staff_id
      LEFT JOIN api_keys k ON k.id = e.api_key_id
      WHERE ${where}${
        after
          ? Prisma.sql` AND (e.created_at, e.id) > (${iso(after.created_ms)}::timestamptz, ${after.id}::bigint)`
          : Prisma.empty
      }
      ORDER BY e.created_at, e.id
      LIMIT ${batchSize}`);
  return {
    header: zoneLine("creditdesk ledger entries", reportZone()) + csvLine([...LEDGER_CSV_HEADERS]),
    batches: keysetBatches(fetchBatch, ledgerLines, batchSize),
  };
}

import { Prisma } from "~/generated/prisma/client";
import { monthRange, shiftMonth, zonedMonth } from "~/shared/report-time";
import { csvLine, csvText, zoneLine } from "../admin/csv.server";
import { minorToDecimal } from "../admin/purchases-query.server";
import { getDatabase } from "../infra/db.server";
import { reportZone } from "../infra/env.server";
import { monthClose } from "../finance/month-close.server";
import { NEGATIVE_ROLL_LINES, rollLineLabels } from "~/shared/finance-close";
import {
  EXPORT_BATCH_SIZE,
  isoFromEpochMs as iso,
  keysetBatches,
  type CsvBatch,
  type CsvExport,
} from "./csv-export.server";

/**
 * The month close's exports (issue 21): the month-close report itself (the page's tables, one
 * section after another), and the month's refunds and disputes, streamed in keyset batches like
 * the purchases export. Each starts with the report time zone line.
 */

/** `month` as the page resolves it: blank → last month in the report zone. */
export function resolveMonth(month: string | undefined, now = new Date()): string {
  return month ?? shiftMonth(zonedMonth(now, reportZone()), -1);
}

function run<R>(sql: Prisma.Sql): Promise<R[]> {
  return getDatabase().query<R>(sql.text, sql.values);
}

// ---------------------------------------------------------------------------------------------
// Refunds

export const REFUND_CSV_HEADERS = [
  "refund_id",
  "refunded_at_utc",
  "purchase_id",
  "checkout_session_id",
  "purchase_paid_at_utc",
  "user_id",
  "currency",
  "amount_minor",
  "amount",
  "credits_clawed_back",
  "credits_unrecovered",
] as const;

interface RefundExportRow {
  id: string;
  created_ms: string;
  purchase_id: string;
  checkout_session_id: string;
  paid_ms: string;
  user_id: string;
  currency: string;
  amount: number;
  credits_clawed: number;
  unrecovered: number;
}

function refundLines(rows: RefundExportRow[], from: number, to: number): string {
  let out = "";
  for (let i = from; i < to; i++) {
    const r = rows[i];
    out += `${csvText(r.id)},${iso(r.created_ms)},${csvText(r.purchase_id)},${csvText(r.checkout_session_id)},${iso(r.paid_ms)},${csvText(r.user_id)},${csvText(r.currency)},${r.amount},${minorToDecimal(r.amount, r.currency)},${r.credits_clawed},${r.unrecovered}\r\n`;
  }
  return out;
}

export function refundsCsv(month: string, batchSize = EXPORT_BATCH_SIZE): CsvExport {
  const zone = reportZone();
  const { start, end } = monthRange(month, zone);
  const fetchBatch = (after: RefundExportRow | null) =>
    run<RefundExportRow>(Prisma.sql`
      SELECT r.id, (extract(epoch FROM r.stripe_created) * 1000)::int8::text AS created_ms,
        r.purchase_id, p.checkout_session_id, (extract(epoch FROM p.paid_at) * 1000)::int8::text AS paid_ms,
        p.user_id, r.currency, r.amount, r.credits_clawed, r.unrecovered
      FROM refunds r JOIN purchases p ON p.id = r.purchase_id
      WHERE r.stripe_created >= ${start} AND r.stripe_created < ${end}${
        after
          ? Prisma.sql` AND (r.stripe_created, r.id) > (${iso(after.created_ms)}::timestamptz, ${after.id})`
          : Prisma.empty
      }
      ORDER BY r.stripe_created, r.id
      LIMIT ${batchSize}`);
  return {
    header:
      zoneLine(`creditdesk refunds issued in ${month}`, zone) + csvLine([...REFUND_CSV_HEADERS]),
    batches: keysetBatches(fetchBatch, refundLines, batchSize),
  };
}

// ---------------------------------------------------------------------------------------------
// Disputes

export const DISPUTE_CSV_HEADERS = [
  "dispute_id",
  "opened_at_utc",
  "evidence_due_by_utc",
  "closed_at_utc",
  "status",
  "reason",
  "purchase_id",
  "checkout_session_id",
  "currency",
  "amount_minor",
  "amount",
  "credits_held",
] as const;

interface DisputeExportRow {
  id: string;
  opened_ms: string;
  due_ms: string | null;
  closed_ms: string | null;
  status: string;
  reason: string | null;
  purchase_id: string;
  checkout_session_id: string;
  currency: string;
  amount: number;
  credits_held: number;
}

function disputeLines(rows: DisputeExportRow[], from: number, to: number): string {
  let out = "";
  for (let i = from; i < to; i++) {
    const r = rows[i];
    out += `${csvText(r.id)},${iso(r.opened_ms)},${r.due_ms ? iso(r.due_ms) : ""},${r.closed_ms ? iso(r.closed_ms) : ""},${csvText(r.status)},${csvText(r.reason)},${csvText(r.purchase_id)},${csvText(r.checkout_session_id)},${csvText(r.currency)},${r.amount},${minorToDecimal(r.amount, r.currency)},${r.credits_held}\r\n`;
  }
  return out;
}

/** Disputes opened or closed in the month. */
export function disputesCsv(month: string, batchSize = EXPORT_BATCH_SIZE): CsvExport {
  const zone = reportZone();
  const { start, end } = monthRange(month, zone);
  const fetchBatch = (after: DisputeExportRow | null) =>
    run<DisputeExportRow>(Prisma.sql`
      SELECT d.id, (extract(epoch FROM d.opened_at) * 1000)::int8::text AS opened_ms,
        (extract(epoch FROM d.evidence_due_by) * 1000)::int8::text AS due_ms,
        (extract(epoch FROM d.closed_at) * 1000)::int8::text AS closed_ms,
        d.status, d.reason, d.purchase_id, p.checkout_session_id, d.currency, d.amount, d.credits_held
      FROM disputes d JOIN purchases p ON p.id = d.purchase_id
      WHERE ((d.opened_at >= ${start} AND d.opened_at < ${end})
         OR (d.closed_at >= ${start} AND d.closed_at < ${end}))${
           after
             ? Prisma.sql` AND (d.opened_at, d.id) > (${iso(after.opened_ms)}::timestamptz, ${after.id})`
             : Prisma.empty
         }
      ORDER BY d.opened_at, d.id
      LIMIT ${batchSize}`);
  return {
    header:
      zoneLine(`creditdesk disputes opened or closed in ${month}`, zone) +
      csvLine([...DISPUTE_CSV_HEADERS]),
    batches: keysetBatches(fetchBatch, disputeLines, batchSize),
  };
}

// ---------------------------------------------------------------------------------------------
// The month close itself

export const MONTH_CLOSE_CSV_HEADERS = [
  "section",
  "currency",
  "pack",
  "item",
  "count",
  "gross_minor",
  "refunds_minor",
  "disputes_lost_minor",
  "net_minor",
  "credits",
] as const;

/**
 * The page's tables as rows of one CSV, `section` saying which table: sales_currency, sales_pack,
 * late_credited (per currency), roll_forward (one row per line, credits), balances_check.
 * Refunds and disputes have their own exports. Small by construction (a row per currency, pack
 * and roll-forward line), so it is written in one piece.
 */
export async function monthCloseCsv(month: string): Promise<CsvExport> {
  const zone = reportZone();
  const report = await monthClose(month, zone);
  const rows: string[] = [];
  for (const c of report.currencies)
    rows.push(
      csvLine([
        "sales_currency",
        c.currency,
        "",
        "",
        c.count,
        c.gross,
        c.refunds,
        c.disputesLost,
        c.net,
        "",
      ]),
    );
  for (const p of report.packs)
    rows.push(
      csvLine([
        "sales_pack",
        p.currency,
        p.pack,
        "",
        p.count,
        p.gross,
        p.refunds,
        p.disputesLost,
        p.net,
        "",
      ]),
    );
  for (const l of report.lateCreditedTotals)
    rows.push(
      csvLine([
        "late_credited",
        l.currency,
        "",
        "paid in month, credited after",
        l.count,
        l.amount,
        "",
        "",
        "",
        "",
      ]),
    );
  const r = report.rollForward;
  // The line's key, not its label: "= Closing" would be a formula cell, neutralised to text.
  for (const [key] of rollLineLabels) {
    const value = NEGATIVE_ROLL_LINES.has(key) ? 0 - r[key] : r[key];
    rows.push(csvLine(["roll_forward", "", "", key, "", "", "", "", "", value]));
  }
  rows.push(
    csvLine([
      "balances_check",
      "",
      "",
      "sum of user balances at month end",
      "",
      "",
      "",
      "",
      "",
      r.balancesAtEnd,
    ]),
  );
  async function* one(): AsyncGenerator<CsvBatch> {
    yield { text: rows.join(""), rows: rows.length };
  }
  return {
    header:
      zoneLine(
        `creditdesk month close ${month}${report.empty ? " (no activity in this month)" : ""}`,
        zone,
      ) + csvLine([...MONTH_CLOSE_CSV_HEADERS]),
    batches: one(),
  };
}

/**
 * CSV exports: RFC 4180 (comma separated, CRLF line ends, fields with a comma, quote, CR or LF are
 * quoted and quotes doubled), UTF-8, optionally with a byte-order mark so Excel detects UTF-8.
 *
 * Formula injection: a spreadsheet runs a cell that starts with = + - @ (or a tab / carriage
 * return) as a formula. Text cells starting with one of those get a leading single quote, which
 * spreadsheets show as text. Integer columns are exempt: their values come from the database as
 * numbers (never from what a user typed), so "-500" stays a number a spreadsheet can sum.
 *
 * Streaming lives in app/services/exports/ (Express routes that write keyset-paged batches to the
 * socket as fast as the client reads them); this module is the format.
 */

export type CsvCell = string | number | bigint | boolean | Date | null | undefined;

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;
/** Either of the two above: most cells match neither and are written as they are. */
const NEEDS_WORK = /^[=+\-@\t\r]|[",\r\n]/;

/** Neutralise a text cell that a spreadsheet would evaluate. */
export function neutralise(text: string): string {
  return FORMULA_START.test(text) ? `'${text}` : text;
}

export function csvCell(value: CsvCell): string {
  if (value === null || value === undefined) return "";
  let text: string;
  if (typeof value === "number") {
    // Whole numbers are data, not formulas; anything else (NaN, fractions) is treated as text.
    if (Number.isSafeInteger(value)) return String(value);
    text = neutralise(String(value));
  } else if (typeof value === "bigint") {
    return value.toString();
  } else if (typeof value === "boolean") {
    return value ? "true" : "false";
  } else if (value instanceof Date) {
    text = value.toISOString();
  } else {
    text = neutralise(value);
  }
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** `csvCell` for a text column (null → empty), with one regex test for the usual plain value. */
export function csvText(value: string | null | undefined): string {
  if (value === null || value === undefined) return "";
  return NEEDS_WORK.test(value) ? csvCell(value) : value;
}

export function csvLine(cells: CsvCell[]): string {
  return `${cells.map(csvCell).join(",")}\r\n`;
}

/** UTF-8 byte-order mark, on request, so Excel detects UTF-8. */
export const BOM = "\uFEFF";

/** Filename-safe stamp, e.g. purchases-2026-11-22T0812Z.csv */
export function exportFilename(kind: string, now = new Date()): string {
  const stamp = now.toISOString().slice(0, 16).replace(":", "");
  return `${kind}-${stamp}Z.csv`;
}

/**
 * A finance export's name says what it holds: the kind, the period of its filter and the report
 * time zone — purchases-2026-11-utc.csv for a whole month, purchases-2026-11-03_2026-11-09-utc.csv
 * for a range, purchases-all-utc.csv without dates.
 */
export function periodFilename(
  kind: string,
  period: { from?: string; to?: string; month?: string },
  zone: string,
): string {
  const slug = zone
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
  let stamp: string;
  if (period.month) stamp = period.month;
  else if (period.from && period.to && isWholeMonth(period.from, period.to))
    stamp = period.from.slice(0, 7);
  else if (period.from || period.to) stamp = `${period.from ?? "start"}_${period.to ?? "now"}`;
  else stamp = "all";
  return `${kind}-${stamp}-${slug}.csv`;
}

function isWholeMonth(from: string, to: string): boolean {
  if (!from.endsWith("-01") || from.slice(0, 7) !== to.slice(0, 7)) return false;
  const [y, m] = from.split("-").map(Number);
  return Number(to.slice(8)) === new Date(Date.UTC(y, m, 0)).getUTCDate();
}

/**
 * The first line of every finance export: which report it is and the time zone its days and
 * months are cut in (its timestamps are UTC instants, ISO 8601). A `#` line, so a reader that
 * skips comment lines (pandas' `comment="#"`, spreadsheets' "start at row 2") reads the table.
 */
export function zoneLine(what: string, zone: string): string {
  return csvLine([
    `# ${what}; report time zone: ${zone} (days and months start at midnight there; times are UTC)`,
  ]);
}

/** Response headers of every CSV export. */
export function csvHeaders(filename: string): Record<string, string> {
  return {
    "Content-Type": "text/csv; charset=utf-8",
    "Content-Disposition": `attachment; filename="${filename}"`,
    // no-transform: sent as is, never gzipped by a compression layer (see docs/dashboard.md).
    "Cache-Control": "no-store, no-transform",
    "X-Content-Type-Options": "nosniff",
  };
}

/**
 * CSV exports: RFC 4180 (comma separated, CRLF line ends, fields with a comma, quote, CR or LF are
 * quoted and quotes doubled), UTF-8, optionally with a byte-order mark so Excel detects UTF-8.
 *
 * Formula injection: a spreadsheet runs a cell that starts with = + - @ (or a tab / carriage
 * return) as a formula. Text cells starting with one of those get a leading single quote, which
 * spreadsheets show as text. Integer columns are exempt: their values come from the database as
 * numbers (never from what a user typed), so "-500" stays a number a spreadsheet can sum.
 *
 * Streaming: rows come from an async iterator that reads the database in keyset-paged batches; the
 * stream pulls the next batch only when the client has taken the previous one, so memory stays
 * constant however many rows match.
 */

/** Rows per database round trip while exporting: large enough to be fast, small enough to stay flat. */
export const EXPORT_BATCH_SIZE = 1000;

export type CsvCell = string | number | bigint | boolean | Date | null | undefined;

export interface CsvColumn<T> {
  header: string;
  value: (row: T) => CsvCell;
}

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

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

export function csvLine(cells: CsvCell[]): string {
  return `${cells.map(csvCell).join(",")}\r\n`;
}

const BOM = "\uFEFF";

/** A byte stream of the CSV: header line, then one line per row, pulling batches on demand. */
export function csvStream<T>(
  columns: CsvColumn<T>[],
  batches: AsyncIterable<T[]>,
  opts: { bom?: boolean } = {},
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const iterator = batches[Symbol.asyncIterator]();
  let headerSent = false;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          if (!headerSent) {
            headerSent = true;
            controller.enqueue(
              encoder.encode((opts.bom ? BOM : "") + csvLine(columns.map((c) => c.header))),
            );
            return;
          }
          const next = await iterator.next();
          if (next.done) {
            controller.close();
            return;
          }
          let chunk = "";
          for (const row of next.value) chunk += csvLine(columns.map((c) => c.value(row)));
          controller.enqueue(encoder.encode(chunk));
        } catch (error) {
          controller.error(error);
        }
      },
      async cancel() {
        // The client went away: stop reading the database.
        await iterator.return?.();
      },
    },
    { highWaterMark: 1 },
  );
}

/** Filename-safe stamp, e.g. purchases-2026-11-22T0812Z.csv */
export function exportFilename(kind: string, now = new Date()): string {
  const stamp = now.toISOString().slice(0, 16).replace(":", "");
  return `${kind}-${stamp}Z.csv`;
}

export function csvResponse(stream: ReadableStream<Uint8Array>, filename: string): Response {
  return new Response(stream, {
    status: 200,
    headers: {
      "Content-Type": "text/csv; charset=utf-8",
      "Content-Disposition": `attachment; filename="${filename}"`,
      // no-transform: sent as is, not gzipped by the server's compression middleware (see docs/dashboard.md).
      "Cache-Control": "no-store, no-transform",
      "X-Content-Type-Options": "nosniff",
    },
  });
}

import type { HTMLAttributes, ReactNode } from "react";

/**
 * The dashboard's table: a scrolling wrapper, an optional screen-reader caption, header cells
 * with `scope="col"`, numeric columns right-aligned (`num`). Columns are data, so a feature table
 * (LedgerTable, PurchasesTable, StripeEventsTable) is a list of columns, not a copy of the markup.
 */
export interface Column<T> {
  header: ReactNode;
  cell: (row: T) => ReactNode;
  /** Right-aligned number column (header and cells). */
  num?: boolean;
  /** Extra class for the cells, e.g. "mono" or a sign colour computed from the row. */
  className?: string | ((row: T) => string);
}

export function DataTable<T>({
  rows,
  columns,
  rowKey,
  rowId,
  rowProps,
  caption,
  testId,
}: {
  rows: readonly T[];
  columns: readonly (Column<T> | false | null | undefined)[];
  rowKey: (row: T) => string;
  /** An element id per row, for in-page links (`#event-evt_…`). */
  rowId?: (row: T) => string;
  /** Attributes per row: a class ("inactive") or data-* hooks for tests (`data-testid`). */
  rowProps?: (row: T) => HTMLAttributes<HTMLTableRowElement> & Record<`data-${string}`, string>;
  caption?: string;
  testId?: string;
}) {
  const cols = columns.filter((c): c is Column<T> => Boolean(c));
  return (
    <div className="table-wrap">
      <table data-testid={testId}>
        {caption ? <caption className="sr-only">{caption}</caption> : null}
        <thead>
          <tr>
            {cols.map((c, i) => (
              <th key={i} scope="col" className={c.num ? "num" : undefined}>
                {c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={rowKey(row)} id={rowId?.(row)} {...rowProps?.(row)}>
              {cols.map((c, i) => (
                <td key={i} className={cellClass(c, row)}>
                  {c.cell(row)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function cellClass<T>(c: Column<T>, row: T): string | undefined {
  const extra = typeof c.className === "function" ? c.className(row) : c.className;
  const cls = [c.num ? "num" : "", extra ?? ""].filter(Boolean).join(" ");
  return cls || undefined;
}

/** "–" in a muted span: the dashboard's way of showing nothing. */
export function None() {
  return <span className="muted">–</span>;
}

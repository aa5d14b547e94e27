import { Prisma } from "~/generated/prisma/client";
import { ValidationError } from "../errors.server";

/**
 * Keyset ("seek") pagination for every dashboard list: a page is "the next N rows after this
 * sort key", never OFFSET, so page 10,000 costs what page 1 costs and rows inserted meanwhile do
 * not shift or repeat rows. Cursors are opaque base64url strings of the boundary row's sort key.
 *
 * Every sort ends with a unique column (the primary key) and all its columns run in the same
 * direction, so the boundary is one SQL row comparison `(a, b) < ($1, $2)` that a btree index on
 * (a, b) answers with a range scan.
 */

export type KeyCast = "timestamptz" | "int" | "bigint" | "text";

export interface KeyColumn {
  /** The expression as it appears in ORDER BY (must match an index for large tables). */
  sql: Prisma.Sql;
  cast: KeyCast;
}

export interface SortSpec {
  columns: KeyColumn[];
  direction: "asc" | "desc";
}

export interface PageRequest {
  after?: string | null;
  before?: string | null;
  limit: number;
}

export interface Page<T> {
  rows: T[];
  /** Cursor for the page after this one, null on the last page. */
  next: string | null;
  /** Cursor for the page before this one, null on the first page. */
  prev: string | null;
}

export type KeyValue = string | number | bigint | Date;

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;
const INT = /^-?\d{1,19}$/;

function keyToString(value: KeyValue): string {
  return value instanceof Date ? value.toISOString() : String(value);
}

export function encodeCursor(values: KeyValue[]): string {
  return Buffer.from(JSON.stringify(values.map(keyToString)), "utf8").toString("base64url");
}

const badCursor = () =>
  new ValidationError(
    "This page link is no longer valid. Start again from the first page.",
    "cursor",
  );

/** Decode and type-check a cursor against the sort it must belong to. */
export function decodeCursor(raw: string, spec: SortSpec): string[] {
  let values: unknown;
  try {
    values = JSON.parse(Buffer.from(raw, "base64url").toString("utf8"));
  } catch {
    throw badCursor();
  }
  if (!Array.isArray(values) || values.length !== spec.columns.length) throw badCursor();
  return values.map((v, i) => {
    if (typeof v !== "string" || v.length > 500) throw badCursor();
    if (!fitsColumn(v, spec.columns[i].cast)) throw badCursor();
    return v;
  });
}

const INT_RANGE = { int: [-(2n ** 31n), 2n ** 31n - 1n], bigint: [-(2n ** 63n), 2n ** 63n - 1n] };

/**
 * Whether Postgres will take the value as the column's type: the right shape is not enough — a
 * tampered cursor with month 13, year 0 or a number past the type's range fails in the query, and
 * text cannot hold NUL.
 */
function fitsColumn(value: string, cast: KeyCast): boolean {
  switch (cast) {
    case "timestamptz": {
      if (!ISO.test(value)) return false;
      const time = new Date(value);
      // The round trip catches 2026-02-30 and 25:00 (which Date would roll over or refuse).
      return (
        !Number.isNaN(time.getTime()) &&
        time.toISOString().slice(0, 19) === value.slice(0, 19) &&
        value >= "1970"
      );
    }
    case "int":
    case "bigint": {
      if (!INT.test(value)) return false;
      const [min, max] = INT_RANGE[cast];
      const n = BigInt(value);
      return n >= min && n <= max;
    }
    default:
      return !value.includes("\0");
  }
}

function param(value: string, cast: KeyCast): Prisma.Sql {
  switch (cast) {
    case "timestamptz":
      return Prisma.sql`${value}::timestamptz`;
    case "int":
      return Prisma.sql`${value}::int`;
    case "bigint":
      return Prisma.sql`${value}::bigint`;
    default:
      return Prisma.sql`${value}`;
  }
}

export interface KeysetQuery {
  /** `AND (…) < (…)` or empty: append to a WHERE that already has at least one condition. */
  boundary: Prisma.Sql;
  orderBy: Prisma.Sql;
  /** Rows to fetch: one more than the page, to know whether another page follows. */
  take: number;
  /** True when paging backwards: rows come back in reverse order and are flipped by `finishPage`. */
  backwards: boolean;
}

export function keysetQuery(spec: SortSpec, req: PageRequest): KeysetQuery {
  const backwards = !req.after && Boolean(req.before);
  const raw = req.after || req.before || null;
  // Walking backwards flips both the comparison and the order; the page is reversed afterwards.
  const ascending = (spec.direction === "asc") !== backwards;
  let boundary = Prisma.empty;
  if (raw) {
    const values = decodeCursor(raw, spec);
    const columns = Prisma.join(spec.columns.map((c) => c.sql));
    const params = Prisma.join(values.map((v, i) => param(v, spec.columns[i].cast)));
    boundary = Prisma.sql` AND (${columns}) ${Prisma.raw(ascending ? ">" : "<")} (${params})`;
  }
  const dir = Prisma.raw(ascending ? "ASC" : "DESC");
  const orderBy = Prisma.join(
    spec.columns.map((c) => Prisma.sql`${c.sql} ${dir}`),
    ", ",
  );
  return { boundary, orderBy, take: req.limit + 1, backwards };
}

/** Trim the extra row, restore display order and work out the neighbouring cursors. */
export function finishPage<T>(
  rows: T[],
  req: PageRequest,
  q: KeysetQuery,
  keyOf: (row: T) => KeyValue[],
): Page<T> {
  const hasMore = rows.length > req.limit;
  const page = rows.slice(0, req.limit);
  if (q.backwards) {
    page.reverse();
    return {
      rows: page,
      prev: hasMore && page.length ? encodeCursor(keyOf(page[0])) : null,
      next: page.length ? encodeCursor(keyOf(page[page.length - 1])) : null,
    };
  }
  const cameFromCursor = Boolean(req.after);
  return {
    rows: page,
    next: hasMore ? encodeCursor(keyOf(page[page.length - 1])) : null,
    prev: cameFromCursor && page.length ? encodeCursor(keyOf(page[0])) : null,
  };
}

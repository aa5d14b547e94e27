import { z } from "zod";
import { Prisma } from "~/generated/prisma/client";
import type { LedgerKind } from "~/generated/prisma/enums";
import { getDb } from "../db.server";
import { EXPORT_BATCH_SIZE, type CsvColumn } from "./csv.server";
import {
  cursorParam,
  dayAfter,
  dayStart,
  optionalDay,
  optionalEnum,
  optionalText,
} from "./forms.server";
import {
  finishPage,
  keysetQuery,
  prefetchPages,
  type Page,
  type PageRequest,
  type SortSpec,
} from "./keyset.server";
import { LEDGER_KIND_OPTIONS } from "./options";

export const LEDGER_PAGE_SIZE = 50;

/** Actor filter: a staff id, or one of these for entries no person made. */
export const ACTOR_KINDS = ["api", "system"] as const;

export const ledgerFiltersSchema = z
  .object({
    kind: optionalEnum(LEDGER_KIND_OPTIONS, "entry kind"),
    from: optionalDay("From"),
    to: optionalDay("To"),
    actor: optionalText(64, "Actor"),
    /** User id, or an email address (exact, case-insensitive). */
    user: optionalText(320, "User"),
  })
  .refine((f) => !f.from || !f.to || f.from <= f.to, {
    path: ["to"],
    error: "“To” must not be before “From”.",
  });

export type LedgerFilters = z.output<typeof ledgerFiltersSchema>;

export const ledgerSearchSchema = z.intersection(
  ledgerFiltersSchema,
  z.object({ after: cursorParam, before: cursorParam }),
);

const NEWEST_FIRST: SortSpec = {
  direction: "desc",
  columns: [
    { sql: Prisma.sql`e.created_at`, cast: "timestamptz" },
    { sql: Prisma.sql`e.id`, cast: "bigint" },
  ],
};
const OLDEST_FIRST: SortSpec = { ...NEWEST_FIRST, direction: "asc" };

export interface LedgerRow {
  id: string;
  createdAt: Date;
  userId: string;
  userEmail: string;
  seq: number;
  kind: LedgerKind;
  delta: number;
  balanceAfter: number;
  reason: string | null;
  purchaseId: string | null;
  stripeEventId: string | null;
  staffId: string | null;
  staffEmail: string | null;
  apiKeyName: string | null;
  idempotencyKey: string;
}

function conditions(f: LedgerFilters): Prisma.Sql {
  const c: Prisma.Sql[] = [Prisma.sql`TRUE`];
  if (f.kind) c.push(Prisma.sql`e.kind = ${f.kind}::"LedgerKind"`);
  if (f.from) c.push(Prisma.sql`e.created_at >= ${dayStart(f.from)}`);
  if (f.to) c.push(Prisma.sql`e.created_at < ${dayAfter(f.to)}`);
  if (f.actor === "api") c.push(Prisma.sql`e.api_key_id IS NOT NULL`);
  else if (f.actor === "system") c.push(Prisma.sql`e.staff_id IS NULL AND e.api_key_id IS NULL`);
  else if (f.actor) c.push(Prisma.sql`e.staff_id = ${f.actor}`);
  if (f.user) {
    c.push(
      f.user.includes("@")
        ? Prisma.sql`e.user_id IN (SELECT id FROM users WHERE email_normalized = ${f.user.toLowerCase()})`
        : Prisma.sql`e.user_id = ${f.user}`,
    );
  }
  return Prisma.join(c, " AND ");
}

async function selectEntries(
  where: Prisma.Sql,
  boundary: Prisma.Sql,
  orderBy: Prisma.Sql,
  take: number,
) {
  const rows = await getDb().$queryRaw<(Omit<LedgerRow, "id"> & { id: bigint })[]>`
    SELECT e.id, e.created_at AS "createdAt", e.user_id AS "userId", u.email AS "userEmail", e.seq,
      e.kind::text AS kind, e.delta, e.balance_after AS "balanceAfter", e.reason,
      e.purchase_id AS "purchaseId", e.stripe_event_id AS "stripeEventId", e.staff_id AS "staffId",
      s.email AS "staffEmail", k.name AS "apiKeyName", e.idempotency_key AS "idempotencyKey"
    FROM ledger_entries e
    JOIN users u ON u.id = e.user_id
    LEFT JOIN staff_users s ON s.id = e.staff_id
    LEFT JOIN api_keys k ON k.id = e.api_key_id
    WHERE ${where}${boundary}
    ORDER BY ${orderBy}
    LIMIT ${take}`;
  return rows.map((r) => ({ ...r, id: r.id.toString() }));
}

export async function listLedger(
  filters: LedgerFilters,
  page: { after?: string; before?: string },
): Promise<Page<LedgerRow>> {
  const req: PageRequest = { ...page, limit: LEDGER_PAGE_SIZE };
  const q = keysetQuery(NEWEST_FIRST, req);
  const rows = await selectEntries(conditions(filters), q.boundary, q.orderBy, q.take);
  return finishPage(rows, req, q, (r) => [r.createdAt, r.id]);
}

/** One exported entry, times as ISO-8601 UTC text (see `ledgerBatches`). */
export interface LedgerExportRow {
  id: string;
  createdAt: string;
  userId: string;
  userEmail: string;
  seq: number;
  kind: string;
  delta: number;
  balanceAfter: number;
  reason: string | null;
  purchaseId: string | null;
  stripeEventId: string | null;
  staffEmail: string | null;
  apiKeyName: string | null;
  idempotencyKey: string;
}

type ExportTuple = [
  string,
  string,
  string,
  string,
  number,
  string,
  number,
  number,
  string | null,
  string | null,
  string | null,
  string | null,
  string | null,
  string,
];

/**
 * Every matching entry, oldest first, in keyset batches (entries are never changed, only added).
 * Like the purchases export, each batch arrives as one JSON array from Postgres.
 */
export async function* ledgerBatches(
  filters: LedgerFilters,
  batchSize = EXPORT_BATCH_SIZE,
): AsyncGenerator<LedgerExportRow[]> {
  const snapshot = new Date();
  const where = Prisma.sql`${conditions(filters)} AND e.created_at <= ${snapshot}`;
  yield* prefetchPages(async (after) => {
    const req: PageRequest = { after, limit: batchSize };
    const q = keysetQuery(OLDEST_FIRST, req);
    const [{ batch }] = await getDb().$queryRaw<{ batch: string | null }[]>`
      SELECT json_agg(json_build_array(q.id::text, to_char(q.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
          q.user_id, q.email, q.seq, q.kind, q.delta, q.balance_after, q.reason, q.purchase_id, q.stripe_event_id,
          q.staff_email, q.api_key_name, q.idempotency_key)
        ORDER BY q.created_at, q.id)::text AS batch
      FROM (
        SELECT e.id, e.created_at, e.user_id, u.email, e.seq, e.kind::text AS kind, e.delta, e.balance_after, e.reason,
          e.purchase_id, e.stripe_event_id, s.email AS staff_email, k.name AS api_key_name, e.idempotency_key
        FROM ledger_entries e
        JOIN users u ON u.id = e.user_id
        LEFT JOIN staff_users s ON s.id = e.staff_id
        LEFT JOIN api_keys k ON k.id = e.api_key_id
        WHERE ${where}${q.boundary}
        ORDER BY ${q.orderBy}
        LIMIT ${q.take}
      ) q`;
    const tuples = batch ? (JSON.parse(batch) as ExportTuple[]) : [];
    const rows = tuples.map((t) => ({
      id: t[0],
      createdAt: t[1],
      userId: t[2],
      userEmail: t[3],
      seq: t[4],
      kind: t[5],
      delta: t[6],
      balanceAfter: t[7],
      reason: t[8],
      purchaseId: t[9],
      stripeEventId: t[10],
      staffEmail: t[11],
      apiKeyName: t[12],
      idempotencyKey: t[13],
    }));
    return finishPage(rows, req, q, (r) => [r.createdAt, r.id]);
  });
}

export const LEDGER_CSV_COLUMNS: CsvColumn<LedgerExportRow>[] = [
  { header: "entry_id", value: (r) => r.id },
  { header: "created_at_utc", value: (r) => r.createdAt },
  { header: "user_id", value: (r) => r.userId },
  { header: "user_email", value: (r) => r.userEmail },
  { header: "seq", value: (r) => r.seq },
  { header: "kind", value: (r) => r.kind },
  { header: "delta", value: (r) => r.delta },
  { header: "balance_after", value: (r) => r.balanceAfter },
  { header: "reason", value: (r) => r.reason },
  { header: "purchase_id", value: (r) => r.purchaseId },
  { header: "stripe_event_id", value: (r) => r.stripeEventId },
  { header: "staff_email", value: (r) => r.staffEmail },
  { header: "api_key", value: (r) => r.apiKeyName },
  { header: "idempotency_key", value: (r) => r.idempotencyKey },
];

/** Staff who appear as actors, for the filter's select (a few dozen people at most). */
export async function listActorOptions() {
  return getDb().staffUser.findMany({
    orderBy: { email: "asc" },
    select: { id: true, email: true, name: true },
    take: 500,
  });
}

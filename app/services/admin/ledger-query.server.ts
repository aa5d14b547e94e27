import { z } from "zod";
import { DATE_RANGE_ISSUE, isDateRangeOrdered } from "~/shared/date-range";
import { Prisma } from "~/generated/prisma/client";
import type { LedgerKind } from "~/generated/prisma/enums";
import { zonedDayAfter, zonedDayStart } from "~/shared/report-time";
import { getDb } from "../infra/db.server";
import { reportZone } from "../infra/env.server";
import { cursorParam, optionalDay, optionalEnum, optionalText } from "./forms.server";
import {
  finishPage,
  keysetQuery,
  type Page,
  type PageRequest,
  type SortSpec,
} from "./keyset.server";
import { LEDGER_KIND_OPTIONS } from "../../shared/options";

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
  .refine(isDateRangeOrdered, DATE_RANGE_ISSUE);

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
  staffName: string | null;
  apiKeyName: string | null;
  /** How Stripe's entries reached us (`metadata.via`), for actorLabel (~/shared/labels). */
  via: string | null;
  idempotencyKey: string;
}

/** The WHERE clause of the ledger explorer and its CSV export (aliases `e`, `u`). */
export function ledgerConditions(f: LedgerFilters): Prisma.Sql {
  const c: Prisma.Sql[] = [Prisma.sql`TRUE`];
  if (f.kind) c.push(Prisma.sql`e.kind = ${f.kind}::"LedgerKind"`);
  // Days in the report time zone, as on every finance page (issue 21).
  const zone = reportZone();
  if (f.from) c.push(Prisma.sql`e.created_at >= ${zonedDayStart(f.from, zone)}`);
  if (f.to) c.push(Prisma.sql`e.created_at < ${zonedDayAfter(f.to, zone)}`);
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
      s.email AS "staffEmail", s.name AS "staffName", k.name AS "apiKeyName",
      e.metadata->>'via' AS via, e.idempotency_key AS "idempotencyKey"
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
  const rows = await selectEntries(ledgerConditions(filters), q.boundary, q.orderBy, q.take);
  return finishPage(rows, req, q, (r) => [r.createdAt, r.id]);
}

/** Staff who appear as actors, for the filter's select (a few dozen people at most). */
export async function listActorOptions() {
  return getDb().staffUser.findMany({
    orderBy: { email: "asc" },
    select: { id: true, email: true, name: true },
    take: 500,
  });
}

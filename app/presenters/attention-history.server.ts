import { Prisma } from "~/generated/prisma/client";
import type { HistoryFilter } from "~/services/admin/attention-queue.server";
import {
  finishPage,
  keysetQuery,
  type Page,
  type PageRequest,
  type SortSpec,
} from "~/services/admin/keyset.server";
import { getDb } from "~/services/infra/db.server";
import { dayAfter, dayStart } from "~/shared/date-range";
import { loadItems, type QueueItem } from "./attention-queue.server";

// The attention history page's read model: closed items, who closed each, when and how.

export const HISTORY_PAGE_SIZE = 50;

const HISTORY_SORT: SortSpec = {
  direction: "desc",
  columns: [
    { sql: Prisma.sql`a.resolved_at`, cast: "timestamptz" },
    { sql: Prisma.sql`a.id`, cast: "text" },
  ],
};

/** Resolved and dismissed items, newest first: who closed each, when and how. */
export async function listClosedItems(
  filter: HistoryFilter,
  limit = HISTORY_PAGE_SIZE,
): Promise<Page<QueueItem>> {
  const req: PageRequest = { after: filter.after, before: filter.before, limit };
  const conditions: Prisma.Sql[] = [
    Prisma.sql`a.status <> 'open'`,
    Prisma.sql`a.resolved_at IS NOT NULL`,
  ];
  if (filter.status) conditions.push(Prisma.sql`a.status = ${filter.status}::"AttentionStatus"`);
  if (filter.kind) conditions.push(Prisma.sql`a.kind = ${filter.kind}`);
  if (filter.from) conditions.push(Prisma.sql`a.resolved_at >= ${dayStart(filter.from)}`);
  if (filter.to) conditions.push(Prisma.sql`a.resolved_at < ${dayAfter(filter.to)}`);
  if (filter.by) {
    const prefix = `${filter.by.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    conditions.push(
      Prisma.sql`EXISTS (SELECT 1 FROM staff_users s WHERE s.id = a.resolved_by_id AND lower(s.email) LIKE ${prefix})`,
    );
  }
  const q = keysetQuery(HISTORY_SORT, req);
  const keys = await getDb().$queryRaw<{ id: string; resolved_at: Date }[]>`
    SELECT a.id, a.resolved_at FROM attention_items a
    WHERE ${Prisma.join(conditions, " AND ")}${q.boundary}
    ORDER BY ${q.orderBy} LIMIT ${q.take}`;
  const page = finishPage(keys, req, q, (r) => [r.resolved_at, r.id]);
  return { ...page, rows: await loadItems(page.rows.map((r) => r.id)) };
}

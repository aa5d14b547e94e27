import { Prisma } from "~/generated/prisma/client";
import { QUEUE_KINDS, type QueueFilter } from "~/services/admin/attention-queue.server";
import {
  finishPage,
  keysetQuery,
  type Page,
  type PageRequest,
  type SortSpec,
} from "~/services/admin/keyset.server";
import { searchUsers } from "~/services/admin/user-search.server";
import { getDb } from "~/services/infra/db.server";

/**
 * The attention queue's read model: open items by kind, the count of each kind, and the users the
 * "assign to" box finds. The fixes (commands) live in services/admin/attention-queue.server.ts.
 */

export const QUEUE_PAGE_SIZE = 100;

export const itemSelect = {
  id: true,
  kind: true,
  status: true,
  title: true,
  detail: true,
  checkoutSessionId: true,
  stripeEventId: true,
  userId: true,
  purchaseId: true,
  runId: true,
  occurrences: true,
  createdAt: true,
  updatedAt: true,
  resolvedAt: true,
  resolution: true,
  resolvedBy: { select: { id: true, email: true, name: true } },
  user: { select: { id: true, email: true } },
} as const;

interface RawKeyRow {
  id: string;
  kind: string;
  created_at: Date;
}

// Oldest first inside each kind (a queue is worked from its front); the index (status, kind, created_at) serves it.
const QUEUE_SORT: SortSpec = {
  direction: "asc",
  columns: [
    { sql: Prisma.sql`kind`, cast: "text" },
    { sql: Prisma.sql`created_at`, cast: "timestamptz" },
    { sql: Prisma.sql`id`, cast: "text" },
  ],
};

export async function loadItems(ids: string[]) {
  if (ids.length === 0) return [];
  const rows = await getDb().attentionItem.findMany({
    where: { id: { in: ids } },
    select: itemSelect,
  });
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.map((id) => byId.get(id)).filter((r): r is NonNullable<typeof r> => Boolean(r));
}

export type QueueItem = Awaited<ReturnType<typeof loadItems>>[number];

/** Open items, grouped by kind (kind, then oldest first), one keyset page of at most 100. */
export async function listOpenItems(
  filter: QueueFilter,
  limit = QUEUE_PAGE_SIZE,
): Promise<Page<QueueItem>> {
  const req: PageRequest = { after: filter.after, before: filter.before, limit };
  const q = keysetQuery(QUEUE_SORT, req);
  const kind = filter.kind ? Prisma.sql` AND kind = ${filter.kind}` : Prisma.empty;
  const keys = await getDb().$queryRaw<RawKeyRow[]>`
    SELECT id, kind, created_at FROM attention_items
    WHERE status = 'open'${kind}${q.boundary}
    ORDER BY ${q.orderBy} LIMIT ${q.take}`;
  const page = finishPage(keys, req, q, (r) => [r.kind, r.created_at, r.id]);
  return { ...page, rows: await loadItems(page.rows.map((r) => r.id)) };
}

export async function openCountsByKind(): Promise<Record<string, number>> {
  const rows = await getDb().attentionItem.groupBy({
    by: ["kind"],
    where: { status: "open" },
    _count: { _all: true },
  });
  return Object.fromEntries(rows.map((r) => [r.kind, r._count._all]));
}

/** Everything the queue page shows for one filter. */
export async function presentAttentionQueue(filter: QueueFilter) {
  const [page, counts] = await Promise.all([listOpenItems(filter), openCountsByKind()]);
  return { page, counts, kinds: QUEUE_KINDS as string[], kind: filter.kind ?? null };
}

/** Users for the "assign to" search box: part 1's finder (email, id, name or customer prefix). */
export async function findUsersForAssignment(q: string) {
  const term = q.trim();
  if (term.length < 2) return [];
  const page = await searchUsers({ q: term.slice(0, 200) }, 10);
  return page.rows.map((u) => ({ id: u.id, email: u.email, name: u.name, balance: u.balance }));
}

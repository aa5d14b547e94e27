import { z } from "zod";
import { DATE_RANGE_ISSUE, isDateRangeOrdered } from "~/shared/date-range";
import { Prisma } from "~/generated/prisma/client";
import { getDb } from "~/services/infra/db.server";
import { ACTOR_TYPES, TARGET_TYPES } from "~/shared/ops-labels";
import {
  cursorParam,
  dayAfter,
  dayStart,
  optionalDay,
  optionalEnum,
  optionalText,
} from "~/services/admin/forms.server";
import {
  finishPage,
  keysetQuery,
  type Page,
  type PageRequest,
  type SortSpec,
} from "~/services/admin/keyset.server";

export const AUDIT_PAGE_SIZE = 50;

const TOKEN = /^[A-Za-z0-9_.:@+-]+$/;

export const auditFilterSchema = z
  .object({
    actorType: optionalEnum(ACTOR_TYPES, "actor type"),
    /** Staff email or API key name (prefix), or an exact actor id. */
    actor: optionalText(200, "Actor"),
    /** An action, or a prefix ending in "." (e.g. "attention."). */
    action: optionalText(100, "Action").refine((v) => v === undefined || TOKEN.test(v), {
      error: "An action looks like staff.disable, or attention. for all attention actions.",
    }),
    targetType: optionalEnum(TARGET_TYPES, "target type"),
    targetId: optionalText(200, "Target id"),
    from: optionalDay("From"),
    to: optionalDay("To"),
    after: cursorParam,
    before: cursorParam,
  })
  .refine(isDateRangeOrdered, DATE_RANGE_ISSUE);
export type AuditFilter = z.output<typeof auditFilterSchema>;

// (created_at, id) descending: the audit_logs_created_at_id index; filtered variants use the
// (actor_type, actor_id, created_at), (target_type, target_id, created_at) and (action, created_at) indexes.
const AUDIT_SORT: SortSpec = {
  direction: "desc",
  columns: [
    { sql: Prisma.sql`created_at`, cast: "timestamptz" },
    { sql: Prisma.sql`id`, cast: "bigint" },
  ],
};

export interface AuditRow {
  id: string;
  createdAt: Date;
  actorType: string;
  actorId: string | null;
  actorLabel: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  before: unknown;
  after: unknown;
  reason: string | null;
  ip: string | null;
}

interface RawAudit {
  id: bigint;
  created_at: Date;
  actor_type: string;
  actor_id: string | null;
  actor_label: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  before: unknown;
  after: unknown;
  reason: string | null;
  ip: string | null;
}

function likePrefix(term: string): string {
  return `${term.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * Every staff, API and system action, newest first, filtered and keyset-paged. Staff rows written
 * without a label (older code paths) are matched by the staff member's email too.
 */
export async function listAudit(
  filter: AuditFilter,
  limit = AUDIT_PAGE_SIZE,
): Promise<Page<AuditRow>> {
  const req: PageRequest = { after: filter.after, before: filter.before, limit };
  const conditions: Prisma.Sql[] = [Prisma.sql`TRUE`];
  if (filter.actorType) conditions.push(Prisma.sql`actor_type = ${filter.actorType}`);
  if (filter.actor) {
    const p = likePrefix(filter.actor);
    conditions.push(Prisma.sql`(actor_id = ${filter.actor} OR lower(actor_label) LIKE ${p}
      OR actor_id IN (SELECT id FROM staff_users WHERE lower(email) LIKE ${p})
      OR actor_id IN (SELECT id FROM api_keys WHERE lower(name) LIKE ${p} OR lower(prefix) LIKE ${p}))`);
  }
  if (filter.action) {
    if (filter.action.endsWith("."))
      conditions.push(Prisma.sql`action LIKE ${likePrefix(filter.action)}`);
    else conditions.push(Prisma.sql`action = ${filter.action}`);
  }
  if (filter.targetType) conditions.push(Prisma.sql`target_type = ${filter.targetType}`);
  if (filter.targetId) conditions.push(Prisma.sql`target_id = ${filter.targetId}`);
  if (filter.from) conditions.push(Prisma.sql`created_at >= ${dayStart(filter.from)}`);
  if (filter.to) conditions.push(Prisma.sql`created_at < ${dayAfter(filter.to)}`);
  const q = keysetQuery(AUDIT_SORT, req);
  const rows = await getDb().$queryRaw<RawAudit[]>`
    SELECT id, created_at, actor_type, actor_id, actor_label, action, target_type, target_id, before, after, reason, ip
    FROM audit_logs
    WHERE ${Prisma.join(conditions, " AND ")}${q.boundary}
    ORDER BY ${q.orderBy}
    LIMIT ${q.take}`;
  const page = finishPage(rows, req, q, (r) => [r.created_at, r.id]);
  const staffIds = [
    ...new Set(
      page.rows
        .filter((r) => r.actor_type === "staff" && !r.actor_label && r.actor_id)
        .map((r) => r.actor_id as string),
    ),
  ];
  const staff = staffIds.length
    ? await getDb().staffUser.findMany({
        where: { id: { in: staffIds } },
        select: { id: true, email: true },
      })
    : [];
  const emailById = new Map(staff.map((s) => [s.id, s.email]));
  return {
    ...page,
    rows: page.rows.map((r) => ({
      id: r.id.toString(),
      createdAt: r.created_at,
      actorType: r.actor_type,
      actorId: r.actor_id,
      actorLabel: r.actor_label ?? (r.actor_id ? (emailById.get(r.actor_id) ?? null) : null),
      action: r.action,
      targetType: r.target_type,
      targetId: r.target_id,
      before: r.before,
      after: r.after,
      reason: r.reason,
      ip: r.ip,
    })),
  };
}

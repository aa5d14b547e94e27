import { z } from "zod";
import { Prisma } from "~/generated/prisma/client";
import { getDb } from "../infra/db.server";
import { cursorParam, optionalEnum, optionalText, optionalWholeNumber } from "./forms.server";
import {
  finishPage,
  keysetQuery,
  type Page,
  type PageRequest,
  type SortSpec,
} from "./keyset.server";
import { USER_SORTS, type UserSort } from "../../shared/options";

export const USERS_PAGE_SIZE = 50;

export const userSearchSchema = z
  .object({
    q: optionalText(200, "Search"),
    tier: optionalText(64, "Tier"),
    balanceMin: optionalWholeNumber("a minimum balance"),
    balanceMax: optionalWholeNumber("a maximum balance"),
    sort: optionalEnum(USER_SORTS, "sort order"),
    after: cursorParam,
    before: cursorParam,
  })
  .refine(
    (f) => f.balanceMin === undefined || f.balanceMax === undefined || f.balanceMin <= f.balanceMax,
    {
      path: ["balanceMax"],
      error: "The maximum balance must not be below the minimum.",
    },
  );

export type UserSearch = z.output<typeof userSearchSchema>;

const EMAIL_KEY = Prisma.sql`(lower(email_normalized) COLLATE "C")`;

// Each sort has an index (see the admin_search_indexes migration) and ends with the primary key.
const SORTS: Record<UserSort, SortSpec> = {
  newest: {
    direction: "desc",
    columns: [
      { sql: Prisma.sql`created_at`, cast: "timestamptz" },
      { sql: Prisma.sql`id`, cast: "text" },
    ],
  },
  oldest: {
    direction: "asc",
    columns: [
      { sql: Prisma.sql`created_at`, cast: "timestamptz" },
      { sql: Prisma.sql`id`, cast: "text" },
    ],
  },
  balance_desc: {
    direction: "desc",
    columns: [
      { sql: Prisma.sql`balance`, cast: "int" },
      { sql: Prisma.sql`id`, cast: "text" },
    ],
  },
  balance_asc: {
    direction: "asc",
    columns: [
      { sql: Prisma.sql`balance`, cast: "int" },
      { sql: Prisma.sql`id`, cast: "text" },
    ],
  },
  email: {
    direction: "asc",
    columns: [
      { sql: EMAIL_KEY, cast: "text" },
      { sql: Prisma.sql`id`, cast: "text" },
    ],
  },
};

/** LIKE treats % and _ as wildcards and \ as the escape: a typed "usr_1" must mean exactly that. */
export function likePrefix(term: string): string {
  return `${term.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export interface UserRow {
  id: string;
  email: string;
  name: string | null;
  tierCode: string;
  balance: number;
  stripeCustomerId: string | null;
  createdAt: Date;
}

interface RawUserRow {
  id: string;
  email: string;
  name: string | null;
  tier_code: string;
  balance: number;
  stripe_customer_id: string | null;
  created_at: Date;
  email_key: string;
}

/**
 * Users whose email, id, name or Stripe customer id starts with `q` (case-insensitive), filtered
 * and sorted, one keyset page at a time. The four prefix tests are four index range scans
 * combined by a bitmap OR.
 */
export async function searchUsers(
  search: UserSearch,
  limit = USERS_PAGE_SIZE,
): Promise<Page<UserRow>> {
  const sort = SORTS[search.sort ?? "newest"];
  const req: PageRequest = { after: search.after, before: search.before, limit };
  const conditions: Prisma.Sql[] = [Prisma.sql`TRUE`];
  if (search.q) {
    const p = likePrefix(search.q);
    conditions.push(Prisma.sql`(${EMAIL_KEY} LIKE ${p}
      OR (lower(id) COLLATE "C") LIKE ${p}
      OR (lower(name) COLLATE "C") LIKE ${p}
      OR (lower(stripe_customer_id) COLLATE "C") LIKE ${p})`);
  }
  if (search.tier) conditions.push(Prisma.sql`tier_code = ${search.tier}`);
  if (search.balanceMin !== undefined) conditions.push(Prisma.sql`balance >= ${search.balanceMin}`);
  if (search.balanceMax !== undefined) conditions.push(Prisma.sql`balance <= ${search.balanceMax}`);
  const q = keysetQuery(sort, req);
  const rows = await getDb().$queryRaw<RawUserRow[]>`
    SELECT id, email, name, tier_code, balance, stripe_customer_id, created_at, ${EMAIL_KEY} AS email_key
    FROM users
    WHERE ${Prisma.join(conditions, " AND ")}${q.boundary}
    ORDER BY ${q.orderBy}
    LIMIT ${q.take}`;
  const keyOf = (r: RawUserRow) => {
    const s = search.sort ?? "newest";
    if (s === "balance_desc" || s === "balance_asc") return [r.balance, r.id];
    if (s === "email") return [r.email_key, r.id];
    return [r.created_at, r.id];
  };
  const page = finishPage(rows, req, q, keyOf);
  return {
    ...page,
    rows: page.rows.map((r) => ({
      id: r.id,
      email: r.email,
      name: r.name,
      tierCode: r.tier_code,
      balance: Number(r.balance),
      stripeCustomerId: r.stripe_customer_id,
      createdAt: r.created_at,
    })),
  };
}

export async function listTiers() {
  return getDb().tier.findMany({
    orderBy: { rank: "asc" },
    select: { code: true, name: true, rank: true },
  });
}

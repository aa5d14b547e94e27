import { beforeAll, describe, expect, it } from "vitest";
import { loader as usersLoader } from "../../app/routes/_app.users._index/route";
import type { Page } from "../../app/services/admin/keyset.server";
import { listLedger } from "../../app/services/admin/ledger-query.server";
import { USER_SORTS, type UserSort } from "../../app/shared/options";
import { listPurchases } from "../../app/services/admin/purchases-query.server";
import { searchUsers, type UserRow } from "../../app/services/admin/user-search.server";
import { getDb } from "../../app/services/infra/db.server";
import { postLedgerEntry } from "../../app/services/ledger.server";
import { callLoader, makeUser, rid, seedPurchases } from "../support/admin";
import { createStaffWithSession } from "../support/staff";
import { useTestDatabase } from "../support/test-database";

useTestDatabase();

const USERS = 137;
const prefix = rid("pg").toLowerCase();

beforeAll(async () => {
  // Ties on purpose: 5 users share each created_at, balances repeat every 9 users, names repeat.
  await getDb().$executeRaw`
    INSERT INTO users (id, email, email_normalized, name, balance, tier_code, created_at, updated_at)
    SELECT ${prefix} || '_' || lpad(g::text, 4, '0'),
      upper(${prefix}) || '.' || (g % 13) || '.' || g || '@Example.com',
      ${prefix} || '.' || (g % 13) || '.' || g || '@example.com',
      'Name ' || (g % 4), (g % 9) * 10, CASE WHEN g % 2 = 0 THEN 'pro' ELSE 'free' END,
      timestamptz '2026-01-01 00:00:00+00' + ((g / 5) || ' minutes')::interval, now()
    FROM generate_series(1, ${USERS}::int) g`;
});

/** Follow `next` to the end, then `prev` back to the start; both walks must see every row once. */
async function walk<T>(
  fetch: (cursor: { after?: string; before?: string }) => Promise<Page<T>>,
  idOf: (row: T) => string,
) {
  const forward: string[][] = [];
  let page = await fetch({});
  forward.push(page.rows.map(idOf));
  expect(page.prev).toBeNull();
  while (page.next) {
    page = await fetch({ after: page.next });
    forward.push(page.rows.map(idOf));
  }
  const backward: string[][] = [forward[forward.length - 1]];
  while (page.prev) {
    page = await fetch({ before: page.prev });
    backward.unshift(page.rows.map(idOf));
  }
  return { forward, backward, ids: forward.flat() };
}

function sortKey(sort: UserSort, u: UserRow): [number | string, string] {
  if (sort === "balance_asc" || sort === "balance_desc") return [u.balance, u.id];
  if (sort === "email") return [u.email.toLowerCase(), u.id];
  return [u.createdAt.toISOString(), u.id];
}

const cmp = (a: [number | string, string], b: [number | string, string]) =>
  a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;

describe("keyset pagination returns each row exactly once", () => {
  for (const sort of USER_SORTS) {
    it(`users sorted ${sort}, in pages of 10, forwards and backwards`, async () => {
      const rows: UserRow[] = [];
      const { forward, backward, ids } = await walk(
        async (c) => {
          const page = await searchUsers({ q: prefix, sort, ...c }, 10);
          rows.push(...page.rows);
          return page;
        },
        (u) => u.id,
      );
      expect(ids).toHaveLength(USERS);
      expect(new Set(ids).size).toBe(USERS);
      expect(backward).toEqual(forward);
      // And in the promised order (ties broken by id).
      const firstPass = rows.slice(0, USERS);
      const keys = firstPass.map((u) => sortKey(sort, u));
      const desc = sort === "newest" || sort === "balance_desc";
      for (let i = 1; i < keys.length; i++)
        expect(cmp(keys[i - 1], keys[i]) * (desc ? -1 : 1)).toBeLessThan(0);
    });
  }

  it("with filters (tier and balance range) every matching user once", async () => {
    const { ids } = await walk(
      (c) =>
        searchUsers(
          { q: prefix, tier: "pro", balanceMin: 20, balanceMax: 60, sort: "balance_desc", ...c },
          7,
        ),
      (u) => u.id,
    );
    const expected = await getDb().user.count({
      where: { id: { startsWith: prefix }, tierCode: "pro", balance: { gte: 20, lte: 60 } },
    });
    expect(expected).toBeGreaterThan(10);
    expect(ids).toHaveLength(expected);
    expect(new Set(ids).size).toBe(expected);
  });

  it("through the users page: next links carry the filters and never repeat a row", async () => {
    const { cookie } = await createStaffWithSession("support");
    const seen: string[] = [];
    let path = `/users?q=${prefix}&sort=email`;
    for (let i = 0; i < 10; i++) {
      const result = await callLoader<{ page: Page<UserRow> }>(usersLoader, path, { cookie });
      expect(result.status).toBe(200);
      seen.push(...result.data!.page.rows.map((u) => u.id));
      if (!result.data!.page.next) break;
      path = `/users?q=${prefix}&sort=email&after=${result.data!.page.next}`;
    }
    expect(seen).toHaveLength(USERS);
    expect(new Set(seen).size).toBe(USERS);
    const bad = await callLoader(usersLoader, `/users?q=${prefix}&after=not-a-cursor`, { cookie });
    expect(bad.status).toBe(400);
  });

  it("purchases (created_at ties) page through every purchase once", async () => {
    const user = await makeUser();
    await seedPurchases(user.id, 260, { days: 2 });
    const { forward, backward, ids } = await walk(
      (c) => listPurchases({ user: user.id }, c),
      (p) => p.id,
    );
    expect(forward.every((p) => p.length <= 50)).toBe(true);
    expect(ids).toHaveLength(260);
    expect(new Set(ids).size).toBe(260);
    expect(backward).toEqual(forward);
  });

  it("ledger entries (created_at ties) page through every entry once", async () => {
    const user = await makeUser();
    const at = new Date("2026-03-01T12:00:00Z");
    for (let i = 0; i < 120; i++) {
      await postLedgerEntry({
        userId: user.id,
        delta: 1,
        kind: "grant",
        idempotencyKey: `p:${user.id}:${i}`,
        at: new Date(at.getTime() + Math.floor(i / 4) * 1000),
      });
    }
    const { forward, backward, ids } = await walk(
      (c) => listLedger({ user: user.id }, c),
      (e) => e.id,
    );
    expect(ids).toHaveLength(120);
    expect(new Set(ids).size).toBe(120);
    expect(backward).toEqual(forward);
  });
});

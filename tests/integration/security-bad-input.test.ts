import { describe, expect, it } from "vitest";
import type { LoaderFunctionArgs } from "@remix-run/node";
import { useTestDatabase } from "../support/test-database";
import {
  callAction,
  callLoader,
  makeUser,
  seedPurchases,
  type RouteResult,
} from "../support/admin";
import { createStaffWithSession } from "../support/staff";
import { startExportApp } from "../support/export-app";
import { loader as usersLoader } from "../../app/routes/_app.users._index/route";
import { action as userAction } from "../../app/routes/_app.users.$userId/route";
import { loader as purchasesLoader } from "../../app/routes/_app.purchases._index/route";
import { loader as ledgerLoader } from "../../app/routes/_app.ledger._index/route";
import { loader as auditLoader } from "../../app/routes/_app.audit/route";
import { loader as webhooksLoader } from "../../app/routes/_app.webhooks._index/route";
import { loader as historyLoader } from "../../app/routes/_app.attention.history/route";
import { encodeCursor } from "../../app/services/admin/keyset.server";

/**
 * Issue 15, item 6 (the dashboard's part): out-of-range numbers, dates and tampered page cursors
 * are a 400 that names what is wrong — before this, each was a 500 from Postgres ("integer out
 * of range", "date/time field value out of range", "invalid byte sequence … 0x00"). NUL bytes,
 * text/plain and cross-origin posts are refused before Remix (tests/e2e/security.test.ts and
 * security-guards.test.ts).
 */
const t = useTestDatabase();

type Page = { errors?: Record<string, string> };
type Loader = (args: LoaderFunctionArgs) => unknown;

async function message(r: RouteResult<Page>): Promise<string> {
  if (r.response) return r.response.clone().text();
  return Object.values(r.data?.errors ?? {}).join(" ");
}

async function expect400(loader: Loader, path: string, cookie: string, text: RegExp) {
  const r = await callLoader<Page>(loader, path, { cookie });
  expect(r.status, path).toBe(400);
  expect(await message(r), path).toMatch(text);
}

const STALE_LINK = /This page link is no longer valid/;

describe("out-of-range and tampered query strings are 400, never 500", () => {
  it("numbers past what an integer column holds", async () => {
    const { cookie } = await createStaffWithSession("admin");
    await expect400(
      usersLoader,
      "/users?balanceMin=999999999999",
      cookie,
      /A minimum balance must be between -2,147,483,647 and 2,147,483,647\./,
    );
    await expect400(
      usersLoader,
      "/users?balanceMax=-3000000000",
      cookie,
      /A maximum balance must be between/,
    );
    // The largest that fits still works.
    const ok = await callLoader(usersLoader, "/users?balanceMin=-2147483647", { cookie });
    expect(ok.status).toBe(200);
  });

  it("dates Postgres cannot hold (year 0000) on every date filter", async () => {
    const { cookie } = await createStaffWithSession("admin");
    const cases: [Loader, string][] = [
      [purchasesLoader, "/purchases?from=0000-01-01"],
      [ledgerLoader, "/ledger?from=0000-01-01"],
      [auditLoader, "/audit?to=0000-12-31"],
      [historyLoader, "/attention/history?from=0000-06-01"],
    ];
    for (const [loader, path] of cases)
      await expect400(loader, path, cookie, /must be between 1970-01-01 and 9999-12-31\./);
    // The far end of the range is a valid (empty) search.
    expect((await callLoader(ledgerLoader, "/ledger?to=9999-12-31", { cookie })).status).toBe(200);
    expect((await callLoader(auditLoader, "/audit?to=9999-12-31", { cookie })).status).toBe(200);
  });

  it("tampered cursors: right shape, impossible values", async () => {
    const { cookie } = await createStaffWithSession("admin");
    const user = await makeUser();
    await seedPurchases(user.id, 3);
    const cursor = (values: string[]) => encodeURIComponent(encodeCursor(values));
    const cases: [Loader, string][] = [
      // balance is an int: 2^31 does not fit; 19 digits do not fit a bigint id either.
      [usersLoader, `/users?sort=balance_desc&after=${cursor(["2147483648", "x"])}`],
      [ledgerLoader, `/ledger?after=${cursor(["2026-01-01T00:00:00Z", "9999999999999999999"])}`],
      [auditLoader, `/audit?after=${cursor(["2026-01-01T00:00:00Z", "-9999999999999999999"])}`],
      [
        webhooksLoader,
        `/webhooks?after=${cursor(["2026-01-01T00:00:00Z", "9223372036854775808"])}`,
      ],
      // Month 13, 30 February, hour 25, year 0.
      [purchasesLoader, `/purchases?after=${cursor(["2026-13-45T99:99:99Z", "x"])}`],
      [purchasesLoader, `/purchases?after=${cursor(["2026-02-30T00:00:00Z", "x"])}`],
      [purchasesLoader, `/purchases?before=${cursor(["2026-01-01T25:00:00Z", "x"])}`],
      [purchasesLoader, `/purchases?after=${cursor(["0000-01-01T00:00:00Z", "x"])}`],
      // A NUL in a text key.
      [purchasesLoader, `/purchases?after=${cursor(["2026-01-01T00:00:00Z", "a\u0000b"])}`],
    ];
    for (const [loader, path] of cases) await expect400(loader, path, cookie, STALE_LINK);
    // Boundary values that do fit still page.
    const fits = [
      `/users?sort=balance_desc&after=${cursor(["2147483647", "x"])}`,
      `/purchases?after=${cursor(["2026-01-01T00:00:00.123Z", "x"])}`,
    ];
    expect((await callLoader(usersLoader, fits[0], { cookie })).status).toBe(200);
    expect((await callLoader(purchasesLoader, fits[1], { cookie })).status).toBe(200);
  });

  it("the CSV export's date filter too (400 naming the field, no file)", async () => {
    const { cookie } = await createStaffWithSession("finance");
    const exportApp = await startExportApp();
    try {
      const res = await exportApp.get("/purchases/export.csv?from=0000-01-01", { cookie });
      expect(res.status).toBe(400);
      expect(await res.text()).toMatch(/From must be between 1970-01-01 and 9999-12-31/);
      expect(await t.db.prisma.auditLog.count({ where: { action: "export.purchases" } })).toBe(0);
    } finally {
      await exportApp.close();
    }
  });
});

describe("out-of-range numbers in forms", () => {
  it("an adjustment of 99,999,999,999 credits is a field error; the balance and ledger are untouched", async () => {
    const { cookie } = await createStaffWithSession("support");
    const user = await makeUser();
    const r = await callAction<{ fieldErrors: Record<string, string> }>(
      userAction,
      `/users/${user.id}`,
      { intent: "adjust", amount: "99999999999", reason: "testing the limits" },
      { cookie, params: { userId: user.id } },
    );
    expect(r.status).toBe(400);
    expect(r.data?.fieldErrors.amount).toMatch(/An amount must be between/);
    const after = await t.db.prisma.user.findUniqueOrThrow({ where: { id: user.id } });
    expect(after.balance).toBe(0);
    expect(await t.db.prisma.ledgerEntry.count({ where: { userId: user.id } })).toBe(0);
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loader as statementLoader } from "../../app/routes/_app.users.$userId_.statement/route";
import { loader as userLoader } from "../../app/routes/_app.users.$userId/route";
import { getUserGrants } from "../../app/presenters/user-grants.server";
import { getDb } from "../../app/services/infra/db.server";
import { postLedgerEntry } from "../../app/services/ledger.server";
import {
  getStatement,
  STATEMENT_CSV_HEADERS,
  statementBounds,
} from "../../app/services/statements.server";
import { callLoader, makeUser } from "../support/admin";
import { createApiFetch, makeApiKey, readJson, type ApiFetch } from "../support/api-harness";
import { parseCsv } from "../support/csv-parse";
import { startExportApp, type ExportApp } from "../support/export-app";
import { createStaffWithSession } from "../support/staff";
import { useTestDatabase } from "../support/test-database";

// Balances at a point in time (GET /api/v1/users/{id}?at=) and statements for a period (page and
// CSV), all read from the ledger (app/services/statements.server.ts).
useTestDatabase();

let api: ApiFetch;
let readKey = "";
let exportsApp: ExportApp;
let finance = "";
let financeId = "";
let support = "";

/** A user with entries on fixed days: 1 Mar +100, 2 Mar −30, 2 Mar −5 (later), 5 Mar +50, 9 Mar −20. */
const HISTORY: [string, number, "manual_credit" | "usage"][] = [
  ["2026-03-01T10:00:00.000Z", 100, "manual_credit"],
  ["2026-03-02T09:00:00.000Z", -30, "usage"],
  ["2026-03-02T23:59:59.999Z", -5, "usage"],
  ["2026-03-05T12:00:00.000Z", 50, "manual_credit"],
  ["2026-03-09T08:30:00.000Z", -20, "usage"],
];

async function userWithHistory(reason = "history") {
  const user = await makeUser();
  for (const [i, [at, delta, kind]] of HISTORY.entries()) {
    await postLedgerEntry({
      userId: user.id,
      delta,
      kind,
      idempotencyKey: `stmt:${user.id}:${i}`,
      reason: i === 1 ? '=HYPERLINK("http://evil")' : reason,
      at: new Date(at),
    });
  }
  return user;
}

beforeAll(async () => {
  api = await createApiFetch();
  readKey = (await makeApiKey("statements", { scopes: ["users:read"] })).key;
  exportsApp = await startExportApp();
  const f = await createStaffWithSession("finance");
  finance = f.cookie;
  financeId = f.staff.id;
  support = (await createStaffWithSession("support")).cookie;
});

afterAll(async () => {
  await exportsApp?.close();
});

const getAt = (userId: string, at: string, key = readKey) =>
  api.fetch("GET", `/api/v1/users/${encodeURIComponent(userId)}?at=${encodeURIComponent(at)}`, {
    key,
  });

describe("GET /api/v1/users/{id}?at=", () => {
  it("answers the balance after the last entry at or before the instant", async () => {
    const user = await userWithHistory();
    const cases: [string, number, number][] = [
      ["2026-02-28T00:00:00Z", 0, 0], // before the first entry
      ["2026-03-01T10:00:00Z", 100, 1], // exactly at an entry: included
      ["2026-03-01T09:59:59.999Z", 0, 0], // a millisecond before it: not
      ["2026-03-02T12:00:00+02:00", 70, 2], // 10:00Z, with an offset
      ["2026-03-03T00:00:00Z", 65, 3],
      ["2026-03-07T00:00:00Z", 115, 4],
      ["2026-04-01T00:00:00Z", 95, 5],
    ];
    for (const [at, balance, seq] of cases) {
      const res = await getAt(user.id, at);
      expect(res.status, at).toBe(200);
      const body = await readJson<{
        id: string;
        email: string;
        balance: number;
        balanceAt: { at: string; seq: number; entryId: string | null };
      }>(res);
      expect(body.balance, at).toBe(balance);
      expect(body.balanceAt.seq, at).toBe(seq);
      expect(body.balanceAt.at).toBe(new Date(at).toISOString());
      expect(body.id).toBe(user.id);
      expect(body.balanceAt.entryId === null).toBe(seq === 0);
    }
    // Without `at`: today's balance from the cache, as before (no balanceAt).
    const now = await readJson(
      await api.fetch("GET", `/api/v1/users/${user.id}`, { key: readKey }),
    );
    expect(now.balance).toBe(95);
    expect(now).not.toHaveProperty("balanceAt");
  });

  it("refuses a malformed or future `at` with 400 naming at", async () => {
    const user = await userWithHistory();
    const bad = [
      "yesterday",
      "2026-03-01", // a day is not an instant: which time zone?
      "2026-03-01T10:00:00", // no time zone
      "2026-02-30T10:00:00Z", // no such day
      "2026-03-01T24:00:00Z",
      "2026-03-01T10:61:00Z",
      "",
      "x".repeat(100),
    ];
    for (const at of bad) {
      const res = await getAt(user.id, at);
      expect(res.status, at).toBe(400);
      const body = await readJson<{ error: { code: string; field: string; message: string } }>(res);
      expect(body.error.field, at).toBe("at");
      expect(body.error.message, at).toMatch(/^at /);
    }
    const future = new Date(Date.now() + 60_000).toISOString();
    const res = await getAt(user.id, future);
    expect(res.status).toBe(400);
    const body = await readJson<{ error: { field: string; message: string } }>(res);
    expect(body.error.field).toBe("at");
    expect(body.error.message).toMatch(/future/);
  });

  it("404s an unknown user and needs users:read", async () => {
    const missing = await getAt("nobody-here", "2026-03-01T00:00:00Z");
    expect(missing.status).toBe(404);
    const debitOnly = (await makeApiKey("debit-only", { scopes: ["debits:write"] })).key;
    const user = await userWithHistory();
    const refused = await getAt(user.id, "2026-03-01T00:00:00Z", debitOnly);
    expect(refused.status).toBe(403);
  });
});

describe("statements", () => {
  it("opening + Σ entries = closing for every period, with the period's entries in ledger order", async () => {
    const user = await userWithHistory();
    const now = new Date("2026-06-01T00:00:00Z");
    const periods: [string | undefined, string | undefined, number, number, number[]][] = [
      [undefined, undefined, 0, 95, [1, 2, 3, 4, 5]],
      ["2026-03-02", "2026-03-02", 100, 65, [2, 3]], // both ends inclusive, 23:59:59.999 in
      ["2026-03-03", "2026-03-04", 65, 65, []], // nothing happened: opening = closing
      ["2026-03-02", "2026-03-05", 100, 115, [2, 3, 4]],
      [undefined, "2026-03-01", 0, 100, [1]],
      ["2026-03-06", undefined, 115, 95, [5]],
      ["2026-05-01", "2026-05-31", 95, 95, []],
    ];
    for (const [from, to, opening, closing, seqs] of periods) {
      const s = await getStatement(user.id, { from, to }, {}, 100, now);
      const label = `${from}..${to}`;
      expect(s.opening.balance, label).toBe(opening);
      expect(s.closing.balance, label).toBe(closing);
      expect(
        s.entries.map((e) => e.seq),
        label,
      ).toEqual(seqs);
      const sum = s.entries.reduce((acc, e) => acc + e.delta, 0);
      expect(s.opening.balance + sum, label).toBe(s.closing.balance);
      expect(s.opening.balance + s.totals.creditsIn - s.totals.creditsOut, label).toBe(
        s.closing.balance,
      );
      expect(s.totals.entries, label).toBe(seqs.length);
    }
  });

  it("pages through a long period without skipping or repeating an entry", async () => {
    const user = await makeUser();
    for (let i = 0; i < 23; i++) {
      await postLedgerEntry({
        userId: user.id,
        delta: i % 3 === 2 ? -1 : 4,
        kind: i % 3 === 2 ? "usage" : "manual_credit",
        idempotencyKey: `page:${user.id}:${i}`,
        at: new Date(Date.UTC(2026, 2, 1 + i)),
      });
    }
    const period = { from: "2026-03-03", to: "2026-03-20" };
    const seen: number[] = [];
    let after: number | undefined;
    let pages = 0;
    for (;;) {
      const s = await getStatement(user.id, period, after ? { after } : {}, 5);
      seen.push(...s.entries.map((e) => e.seq));
      pages++;
      if (s.next === null) break;
      after = s.next;
    }
    expect(seen).toEqual(Array.from({ length: 18 }, (_, i) => i + 3));
    expect(pages).toBe(4);
    // Back from the last page.
    const last = await getStatement(user.id, period, { after: 17 }, 5);
    expect(last.entries.map((e) => e.seq)).toEqual([18, 19, 20]);
    const before = await getStatement(user.id, period, { before: last.prev! }, 5);
    expect(before.entries.map((e) => e.seq)).toEqual([13, 14, 15, 16, 17]);
  });

  it("a period after now ends at now; the bounds never cross", async () => {
    const user = await userWithHistory();
    const b = await statementBounds(user.id, { from: "2026-03-06", to: "2026-03-07" });
    expect(b.opening.seq).toBe(4);
    expect(b.closing.seq).toBe(4);
  });

  it("the page shows opening, entries and closing; a bad range is a 400 beside To", async () => {
    const user = await userWithHistory();
    const path = `/users/${user.id}/statement?from=2026-03-02&to=2026-03-05`;
    const page = await callLoader<{
      statement: { opening: { balance: number }; closing: { balance: number }; entries: unknown[] };
      canExport: boolean;
      exportQuery: string;
    }>(statementLoader, path, { cookie: support, params: { userId: user.id } });
    expect(page.status).toBe(200);
    expect(page.data!.statement.opening.balance).toBe(100);
    expect(page.data!.statement.closing.balance).toBe(115);
    expect(page.data!.statement.entries).toHaveLength(3);
    expect(page.data!.canExport).toBe(false); // support reads, finance exports
    expect(page.data!.exportQuery).toBe("from=2026-03-02&to=2026-03-05");

    const bad = await callLoader<{ errors: Record<string, string>; statement: null }>(
      statementLoader,
      `/users/${user.id}/statement?from=2026-03-05&to=2026-03-02`,
      { cookie: support, params: { userId: user.id } },
    );
    expect(bad.status).toBe(400);
    expect(bad.data!.errors.to).toBe("The end date must not be before the start date.");
    expect(bad.data!.statement).toBeNull();

    const notADay = await callLoader<{ errors: Record<string, string> }>(
      statementLoader,
      `/users/${user.id}/statement?from=2026-02-30`,
      { cookie: support, params: { userId: user.id } },
    );
    expect(notADay.status).toBe(400);
    expect(notADay.data!.errors.from).toBe("From is not a real date.");

    const missing = await callLoader(statementLoader, `/users/nobody/statement`, {
      cookie: support,
      params: { userId: "nobody" },
    });
    expect(missing.status).toBe(404);

    const anonymous = await callLoader(statementLoader, path, { params: { userId: user.id } });
    expect(anonymous.status).toBe(302);
  });
});

describe("grants in statements and on the user page", () => {
  /** 100 free manual credits (priority 100), 30 paid subscription credits (priority 10), −40 usage. */
  async function userWithGrants() {
    const user = await makeUser();
    await postLedgerEntry({
      userId: user.id,
      delta: 100,
      kind: "manual_credit",
      idempotencyKey: `g:${user.id}:1`,
      at: new Date("2026-04-01T10:00:00Z"),
      grant: { source: "manual", expiresAt: new Date("2030-01-01T00:00:00Z") },
    });
    await postLedgerEntry({
      userId: user.id,
      delta: 30,
      kind: "grant",
      idempotencyKey: `g:${user.id}:2`,
      at: new Date("2026-04-02T10:00:00Z"),
      grant: { source: "subscription_period", amountPaid: 1000, currency: "usd", priority: 10 },
    });
    await postLedgerEntry({
      userId: user.id,
      delta: -40,
      kind: "usage",
      idempotencyKey: `g:${user.id}:3`,
      at: new Date("2026-04-03T10:00:00Z"),
    });
    return user;
  }

  it("each statement entry lists its allocations, which sum to its delta (page and CSV)", async () => {
    const user = await userWithGrants();
    const s = await getStatement(user.id, { from: "2026-04-01", to: "2026-04-30" });
    expect(s.opening.balance + s.entries.reduce((a, e) => a + e.delta, 0)).toBe(s.closing.balance);
    for (const e of s.entries) {
      expect(
        e.allocations.reduce((a, x) => a + x.delta, 0),
        `entry ${e.seq}`,
      ).toBe(e.delta);
    }
    const usage = s.entries[2];
    // Burn order: the subscription grant (priority 10) first, then the manual one.
    expect(usage.allocations.map((a) => [a.source, a.delta])).toEqual([
      ["subscription_period", -30],
      ["manual", -10],
    ]);

    const res = await exportsApp.get(
      `/users/${user.id}/statement.csv?from=2026-04-01&to=2026-04-30`,
      { cookie: finance },
    );
    const rows = parseCsv(await res.text());
    const col = STATEMENT_CSV_HEADERS.indexOf("allocations");
    const grantIds = usage.allocations.map((a) => a.grantId);
    expect(rows[4][col]).toBe(`grant ${grantIds[0]} -30; grant ${grantIds[1]} -10`);
    expect(rows[2][col]).toBe(`grant ${s.entries[0].allocations[0].grantId} 100`);
  });

  it("the user page lists the grants: spendable ones in burn order, with remaining, expiry and value", async () => {
    const user = await userWithGrants();
    await postLedgerEntry({
      userId: user.id,
      delta: -70,
      kind: "usage",
      idempotencyKey: `g:${user.id}:4`,
    });
    await postLedgerEntry({
      userId: user.id,
      delta: 5,
      kind: "grant",
      idempotencyKey: `g:${user.id}:5`,
      grant: { source: "promotion", priority: 50 },
    });
    const page = await callLoader<{
      grants: {
        total: number;
        rows: {
          source: string;
          status: string;
          granted: number;
          remaining: number;
          expiresAt: string | null;
          remainingValue: number;
          currency: string | null;
        }[];
      };
    }>(userLoader, `/users/${user.id}`, { cookie: support, params: { userId: user.id } });
    expect(page.status).toBe(200);
    const rows = page.data!.grants.rows;
    expect(page.data!.grants.total).toBe(3);
    // Spendable first, in burn order (promotion priority 50), then the spent subscription grant.
    expect(rows.map((g) => [g.source, g.granted, g.remaining])).toEqual([
      ["promotion", 5, 5],
      ["manual", 100, 20], // 100 − 10 (first usage) − 70
      ["subscription_period", 30, 0],
    ]);
    expect(new Date(rows[1].expiresAt!).toISOString()).toBe("2030-01-01T00:00:00.000Z");
    expect(rows[0].expiresAt).toBeNull();
    // The spent paid grant has no value left; a free grant has none to show.
    expect(rows[2]).toMatchObject({ currency: "usd", remainingValue: 0 });
    expect(rows[1]).toMatchObject({ currency: null, remainingValue: 0 });
  });

  it("a paid grant's value left is what was paid minus the value of what was used", async () => {
    const user = await makeUser();
    await postLedgerEntry({
      userId: user.id,
      delta: 30,
      kind: "grant",
      idempotencyKey: `v:${user.id}:1`,
      grant: { source: "subscription_period", amountPaid: 1000, currency: "usd" },
    });
    await postLedgerEntry({
      userId: user.id,
      delta: -10,
      kind: "usage",
      idempotencyKey: `v:${user.id}:2`,
    });
    const { rows } = await getUserGrants(user.id);
    // 1000 − floor(10 × 1000 / 30) = 1000 − 333.
    expect(rows).toMatchObject([
      { granted: 30, remaining: 20, remainingValue: 667, status: "active" },
    ]);
  });
});

describe("statement CSV", () => {
  it("streams opening, every entry of the period and closing, formula-safe, with an audit record", async () => {
    const user = await userWithHistory("@SUM(A1)");
    const res = await exportsApp.get(
      `/users/${encodeURIComponent(user.id)}/statement.csv?from=2026-03-02&to=2026-03-05`,
      { cookie: finance },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("text/csv; charset=utf-8");
    expect(res.headers.get("Content-Disposition")).toMatch(/^attachment; filename="statement-/);
    const rows = parseCsv(await res.text());
    expect(rows[0]).toEqual([...STATEMENT_CSV_HEADERS]);
    const body = rows.slice(1);
    expect(body.map((r) => r[0])).toEqual(["opening", "entry", "entry", "entry", "closing"]);
    const col = (name: (typeof STATEMENT_CSV_HEADERS)[number]) =>
      STATEMENT_CSV_HEADERS.indexOf(name);
    expect(body[0][col("balance_after")]).toBe("100");
    expect(body[0][col("created_at_utc")]).toBe("2026-03-02T00:00:00.000Z");
    expect(body[4][col("balance_after")]).toBe("115");
    expect(body[4][col("created_at_utc")]).toBe("2026-03-06T00:00:00.000Z");
    const deltas = body.slice(1, 4).map((r) => Number(r[col("delta")]));
    expect(deltas).toEqual([-30, -5, 50]);
    expect(100 + deltas.reduce((a, b) => a + b, 0)).toBe(115);
    expect(body[1][col("created_at_utc")]).toBe("2026-03-02T09:00:00.000Z");
    // Text a spreadsheet would run is neutralised; numbers stay numbers.
    expect(body[1][col("reason")]).toBe('\'=HYPERLINK("http://evil")');
    expect(body[2][col("reason")]).toBe("'@SUM(A1)");
    expect(body[1][col("delta")]).toBe("-30");

    const audit = await getDb().auditLog.findFirst({
      where: { action: "export.statement", actorId: financeId, targetId: user.id },
    });
    expect(audit?.targetType).toBe("user");
    expect(audit?.after).toEqual({ filters: { from: "2026-03-02", to: "2026-03-05" } });
  });

  it("refuses support (403), anonymous (login), a bad range (400) and an unknown user (404)", async () => {
    const user = await userWithHistory();
    const path = `/users/${user.id}/statement.csv`;
    expect((await exportsApp.get(path, { cookie: support })).status).toBe(403);
    const anonymous = await exportsApp.get(path);
    expect(anonymous.status).toBe(302);
    expect(anonymous.headers.get("Location")).toMatch(/^\/login/);
    const bad = await exportsApp.get(`${path}?from=2026-03-05&to=2026-03-01`, { cookie: finance });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/“to”: The end date must not be before the start date\./);
    const missing = await exportsApp.get(`/users/nobody/statement.csv`, { cookie: finance });
    expect(missing.status).toBe(404);
    expect(await missing.text()).toBe("User nobody was not found.");
  });
});

import { beforeAll, describe, expect, it } from "vitest";
import { loader as ledgerExport } from "../../app/routes/_app.ledger.export[.]csv";
import { loader as purchasesExport } from "../../app/routes/_app.purchases.export[.]csv";
import { getDb } from "../../app/services/db.server";
import { postLedgerEntry } from "../../app/services/ledger.server";
import { callLoader, makeUser, seedPurchases } from "../support/admin";
import { parseCsv } from "../support/csv-parse";
import { createStaffWithSession } from "../support/staff";
import { useTestDatabase } from "../support/test-database";

useTestDatabase();

let finance = "";
let financeId = "";
let userId = "";
const COUNT = 2345; // more than two export batches of 1,000

beforeAll(async () => {
  const s = await createStaffWithSession("finance");
  finance = s.cookie;
  financeId = s.staff.id;
  const user = await makeUser({ email: '=evil,"quoted"@example.com' });
  userId = user.id;
  await seedPurchases(user.id, COUNT, { days: 20, end: new Date("2026-06-30T12:00:00Z") });
  const other = await makeUser();
  await seedPurchases(other.id, 40, { days: 20, end: new Date("2026-06-30T12:00:00Z") });
});

async function download(loader: typeof purchasesExport, path: string) {
  const result = await callLoader(loader, path, { cookie: finance });
  expect(result.status).toBe(200);
  expect(result.response!.headers.get("Content-Type")).toBe("text/csv; charset=utf-8");
  expect(result.response!.headers.get("Content-Disposition")).toMatch(
    /^attachment; filename="[a-z]+-\d{4}-\d{2}-\d{2}T\d{4}Z\.csv"$/,
  );
  const bytes = new Uint8Array(await result.response!.arrayBuffer());
  return { bytes, text: new TextDecoder().decode(bytes) };
}

describe("purchases CSV export", () => {
  it("streams every matching purchase (not just a page), each once, matching the database", async () => {
    const { text } = await download(purchasesExport, `/purchases/export.csv?from=&user=${userId}`);
    const [header, ...rows] = parseCsv(text);
    expect(header.slice(0, 4)).toEqual([
      "purchase_id",
      "created_at_utc",
      "stripe_created_at_utc",
      "checkout_session_id",
    ]);
    expect(rows).toHaveLength(COUNT);
    const col = (name: string) => header.indexOf(name);
    const ids = rows.map((r) => r[col("purchase_id")]);
    expect(new Set(ids).size).toBe(COUNT);

    const db = await getDb().purchase.findMany({
      where: { userId },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
    });
    expect(ids).toEqual(db.map((p) => p.id));
    for (const [i, p] of db.entries()) {
      const r = rows[i];
      expect(r[col("checkout_session_id")]).toBe(p.checkoutSessionId);
      expect(r[col("created_at_utc")]).toBe(p.createdAt.toISOString());
      expect(Number(r[col("amount_total_minor")])).toBe(p.amountTotal);
      expect(Number(r[col("credits")])).toBe(p.credits);
      expect(r[col("status")]).toBe(p.status);
      expect(r[col("credited_via")]).toBe(p.creditedVia);
    }
    // The customer's email starts with "=": neutralised, and its quotes and comma survive quoting.
    expect(rows[0][col("user_email")]).toBe('\'=evil,"quoted"@example.com');
    expect(text).toContain(`"'=evil,""quoted""@example.com"`);
    expect(
      await getDb().auditLog.count({ where: { action: "export.purchases", actorId: financeId } }),
    ).toBeGreaterThan(0);
  });

  it("applies the page's filters: date range and status", async () => {
    const { text } = await download(
      purchasesExport,
      `/purchases/export.csv?from=2026-06-20&to=2026-06-25&status=refunded`,
    );
    const rows = parseCsv(text).slice(1);
    const expected = await getDb().purchase.count({
      where: {
        status: "refunded",
        createdAt: { gte: new Date("2026-06-20T00:00:00Z"), lt: new Date("2026-06-26T00:00:00Z") },
      },
    });
    expect(expected).toBeGreaterThan(0);
    expect(rows).toHaveLength(expected);
  });

  it("adds a BOM for Excel when asked", async () => {
    const { bytes } = await download(
      purchasesExport,
      `/purchases/export.csv?from=&user=${userId}&bom=1`,
    );
    expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
  });

  it("refuses a bad filter with 400 instead of exporting everything", async () => {
    const result = await callLoader(purchasesExport, "/purchases/export.csv?from=yesterday", {
      cookie: finance,
    });
    expect(result.status).toBe(400);
    expect(await result.response!.text()).toMatch(/From must be a date/);
  });
});

describe("ledger CSV export", () => {
  it("keeps negative deltas as numbers and neutralises formula-like reasons", async () => {
    const user = await makeUser();
    await postLedgerEntry({
      userId: user.id,
      delta: 500,
      kind: "grant",
      idempotencyKey: `x:${user.id}:1`,
      reason: '=HYPERLINK("http://evil")',
    });
    await postLedgerEntry({
      userId: user.id,
      delta: -200,
      kind: "usage",
      idempotencyKey: `x:${user.id}:2`,
      reason: "-200 for export, job 7",
    });
    const { text } = await download(ledgerExport, `/ledger/export.csv?user=${user.id}`);
    const [header, ...rows] = parseCsv(text);
    const col = (name: string) => header.indexOf(name);
    expect(rows).toHaveLength(2);
    expect(rows[0][col("reason")]).toBe('\'=HYPERLINK("http://evil")');
    expect(rows[1][col("delta")]).toBe("-200");
    expect(rows[1][col("balance_after")]).toBe("300");
    expect(rows[1][col("reason")]).toBe("'-200 for export, job 7");
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getDb } from "../../app/services/infra/db.server";
import {
  EXPORT_BATCH_SIZE,
  ledgerCsv,
  purchasesCsv,
} from "../../app/services/exports/csv-export.server";
import { postLedgerEntry } from "../../app/services/ledger.server";
import { makeUser, seedPurchases } from "../support/admin";
import { parseCsv } from "../support/csv-parse";
import { startExportApp, type ExportApp } from "../support/export-app";
import { createStaffWithSession } from "../support/staff";
import { useTestDatabase } from "../support/test-database";

// The CSV exports over real HTTP, as server.ts mounts them (app/services/exports/).
useTestDatabase();

let app: ExportApp;
let finance = "";
let financeId = "";
let support = "";
let userId = "";
const COUNT = 2345; // more than one export batch, with purchases sharing a timestamp (ties)

beforeAll(async () => {
  app = await startExportApp();
  const s = await createStaffWithSession("finance");
  finance = s.cookie;
  financeId = s.staff.id;
  support = (await createStaffWithSession("support")).cookie;
  const user = await makeUser({ email: '=evil,"quoted"@example.com' });
  userId = user.id;
  await seedPurchases(user.id, COUNT, { days: 20, end: new Date("2026-06-30T12:00:00Z") });
  const other = await makeUser();
  await seedPurchases(other.id, 40, { days: 20, end: new Date("2026-06-30T12:00:00Z") });
});

afterAll(async () => {
  await app?.close();
});

async function download(path: string, cookie = finance) {
  const res = await app.get(path, { cookie });
  expect(res.status).toBe(200);
  expect(res.headers.get("Content-Type")).toBe("text/csv; charset=utf-8");
  expect(res.headers.get("Content-Disposition")).toMatch(
    // Named after the filter and the report time zone (issue 21): purchases-2026-06-utc.csv.
    /^attachment; filename="[a-z]+-(all|\d{4}-\d{2}|[\d-]+_[\d-]+)-utc\.csv"$/,
  );
  expect(res.headers.get("Cache-Control")).toBe("no-store, no-transform");
  expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
  expect(res.headers.get("Content-Encoding")).toBeNull();
  const bytes = new Uint8Array(await res.arrayBuffer());
  return { bytes, text: new TextDecoder().decode(bytes) };
}

const auditCount = (action: string) =>
  getDb().auditLog.count({ where: { action, actorId: financeId } });

describe("purchases CSV export", () => {
  it("streams every matching purchase (not just a page), each once, matching the database", async () => {
    const before = await auditCount("export.purchases");
    const { text } = await download(`/purchases/export.csv?from=&user=${userId}`);
    const [zone, header, ...rows] = parseCsv(text);
    expect(zone).toEqual([
      "# creditdesk purchases by paid time; report time zone: UTC (days and months start at midnight there; times are UTC)",
    ]);
    expect(header).toEqual([
      "purchase_id",
      "paid_at_utc",
      "credited_at_utc",
      "stripe_created_at_utc",
      "checkout_session_id",
      "payment_intent_id",
      "charge_id",
      "user_id",
      "user_email",
      "pack",
      "quantity",
      "credits",
      "currency",
      "amount_total_minor",
      "amount_total",
      "amount_refunded_minor",
      "credits_clawed_back",
      "status",
      "credited_via",
      "user_resolved_by",
      "livemode",
    ]);
    expect(COUNT).toBeGreaterThan(EXPORT_BATCH_SIZE);
    expect(rows).toHaveLength(COUNT);
    const col = (name: string) => header.indexOf(name);
    const ids = rows.map((r) => r[col("purchase_id")]);
    expect(new Set(ids).size).toBe(COUNT);

    const db = await getDb().purchase.findMany({
      where: { userId },
      orderBy: [{ paidAt: "asc" }, { id: "asc" }],
    });
    expect(ids).toEqual(db.map((p) => p.id));
    for (const [i, p] of db.entries()) {
      const r = rows[i];
      expect(r[col("checkout_session_id")]).toBe(p.checkoutSessionId);
      expect(r[col("payment_intent_id")]).toBe(p.paymentIntentId);
      expect(r[col("charge_id")]).toBe("");
      expect(r[col("paid_at_utc")]).toBe(p.paidAt.toISOString());
      expect(r[col("credited_at_utc")]).toBe(p.createdAt.toISOString());
      expect(r[col("stripe_created_at_utc")]).toBe(p.stripeCreatedAt.toISOString());
      expect(Number(r[col("amount_total_minor")])).toBe(p.amountTotal);
      expect(r[col("amount_total")]).toBe((p.amountTotal / 100).toFixed(2));
      expect(Number(r[col("credits")])).toBe(p.credits);
      expect(r[col("status")]).toBe(p.status);
      expect(r[col("credited_via")]).toBe(p.creditedVia);
      expect(r[col("user_resolved_by")]).toBe(p.userResolvedBy);
      expect(r[col("livemode")]).toBe("false");
    }
    // The customer's email starts with "=": neutralised, and its quotes and comma survive quoting.
    expect(rows[0][col("user_email")]).toBe('\'=evil,"quoted"@example.com');
    expect(text).toContain(`"'=evil,""quoted""@example.com"`);

    // One audit record per export: who, from where, with which filters.
    expect(await auditCount("export.purchases")).toBe(before + 1);
    const audit = await getDb().auditLog.findFirstOrThrow({
      where: { action: "export.purchases", actorId: financeId },
      orderBy: { id: "desc" },
    });
    expect(audit).toMatchObject({
      actorType: "staff",
      targetType: "purchases",
      ip: "127.0.0.1",
      after: { filters: { user: userId } },
    });
  });

  it("applies the page's filters: date range and status", async () => {
    const { text } = await download(
      `/purchases/export.csv?from=2026-06-20&to=2026-06-25&status=refunded`,
    );
    const rows = parseCsv(text).slice(2);
    const expected = await getDb().purchase.count({
      where: {
        status: "refunded",
        paidAt: { gte: new Date("2026-06-20T00:00:00Z"), lt: new Date("2026-06-26T00:00:00Z") },
      },
    });
    expect(expected).toBeGreaterThan(0);
    expect(rows).toHaveLength(expected);
  });

  it("adds a BOM for Excel only when asked", async () => {
    const { bytes } = await download(`/purchases/export.csv?from=&user=${userId}&bom=1`);
    expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const plain = await download(`/purchases/export.csv?from=&user=${userId}`);
    expect(plain.text.startsWith("# creditdesk purchases")).toBe(true);
  });

  it("refuses a bad filter with 400 instead of exporting everything, and records nothing", async () => {
    const before = await auditCount("export.purchases");
    const res = await app.get("/purchases/export.csv?from=yesterday", { cookie: finance });
    expect(res.status).toBe(400);
    expect(res.headers.get("Content-Type")).toMatch(/^text\/plain/);
    expect(await res.text()).toMatch(/Export filter “from”: From must be a date/);
    expect(await auditCount("export.purchases")).toBe(before);
  });

  it("sends anonymous visitors to the login page and refuses support with 403", async () => {
    const anonymous = await app.get("/purchases/export.csv?from=");
    expect(anonymous.status).toBe(302);
    expect(anonymous.headers.get("Location")).toBe(
      `/login?redirectTo=${encodeURIComponent("/purchases/export.csv?from=")}`,
    );
    const tampered = await app.get("/purchases/export.csv", { cookie: "cd_session=forged" });
    expect(tampered.status).toBe(302);
    expect(tampered.headers.get("Location")).toMatch(/reason=tampered/);
    expect(tampered.headers.get("Set-Cookie")).toMatch(/^cd_session=; Path=\/; Max-Age=0/);
    const refused = await app.get("/purchases/export.csv?from=", { cookie: support });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toMatch(/Forbidden: this page needs the admin or finance role/);
  });

  it("answers HEAD with the headers only and records no export", async () => {
    const before = await auditCount("export.purchases");
    const res = await app.get("/purchases/export.csv?from=", { cookie: finance, method: "HEAD" });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("text/csv; charset=utf-8");
    expect(await res.text()).toBe("");
    expect(await auditCount("export.purchases")).toBe(before);
  });

  it("walks keyset batches across ties in paid_at without losing or repeating a row", async () => {
    // Three purchases share each timestamp; batches of 7 split those groups.
    let text = "";
    let rows = 0;
    const csv = purchasesCsv({ user: userId }, 7);
    for await (const batch of csv.batches) {
      expect(batch.rows).toBeLessThanOrEqual(7);
      text += batch.text;
      rows += batch.rows;
    }
    const ids = parseCsv(csv.header + text)
      .slice(2)
      .map((r) => r[0]);
    expect(rows).toBe(COUNT);
    const db = await getDb().purchase.findMany({
      where: { userId },
      orderBy: [{ paidAt: "asc" }, { id: "asc" }],
      select: { id: true },
    });
    expect(ids).toEqual(db.map((p) => p.id));
  });

  it("leaves out purchases created after the export started", async () => {
    const user = await makeUser();
    await seedPurchases(user.id, 5, { days: 0.001, end: new Date("2026-07-01T00:00:00Z") });
    const csv = purchasesCsv({ user: user.id }, 2, new Date("2026-06-30T00:00:00Z"));
    let rows = 0;
    for await (const batch of csv.batches) rows += batch.rows;
    expect(rows).toBe(0);
  });
});

describe("ledger CSV export", () => {
  it("keeps negative deltas as numbers, neutralises formula-like reasons, records the export", async () => {
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
    const before = await auditCount("export.ledger");
    const { text } = await download(`/ledger/export.csv?user=${user.id}`);
    const [zone, header, ...rows] = parseCsv(text);
    expect(zone[0]).toMatch(/^# creditdesk ledger entries; report time zone: UTC/);
    expect(header).toEqual([
      "entry_id",
      "created_at_utc",
      "user_id",
      "user_email",
      "seq",
      "kind",
      "delta",
      "balance_after",
      "reason",
      "purchase_id",
      "stripe_event_id",
      "staff_email",
      "api_key",
      "idempotency_key",
    ]);
    const col = (name: string) => header.indexOf(name);
    expect(rows).toHaveLength(2);
    const entries = await getDb().ledgerEntry.findMany({
      where: { userId: user.id },
      orderBy: { id: "asc" },
    });
    expect(rows.map((r) => r[col("entry_id")])).toEqual(entries.map((e) => e.id.toString()));
    expect(rows[0][col("created_at_utc")]).toBe(entries[0].createdAt.toISOString());
    expect(rows[0][col("reason")]).toBe('\'=HYPERLINK("http://evil")');
    expect(rows[0][col("kind")]).toBe("grant");
    expect(rows[1][col("seq")]).toBe("2");
    expect(rows[1][col("delta")]).toBe("-200");
    expect(rows[1][col("balance_after")]).toBe("300");
    expect(rows[1][col("reason")]).toBe("'-200 for export, job 7");
    expect(rows[1][col("idempotency_key")]).toBe(`x:${user.id}:2`);
    expect(await auditCount("export.ledger")).toBe(before + 1);
    const audit = await getDb().auditLog.findFirstOrThrow({
      where: { action: "export.ledger", actorId: financeId },
      orderBy: { id: "desc" },
    });
    expect(audit).toMatchObject({ targetType: "ledger", after: { filters: { user: user.id } } });
  });

  it("pages through entries in batches (bigint ids as the tie-break)", async () => {
    const user = await makeUser();
    for (let i = 1; i <= 9; i++) {
      await postLedgerEntry({
        userId: user.id,
        delta: 10,
        kind: "grant",
        idempotencyKey: `batch:${user.id}:${i}`,
      });
    }
    const csv = ledgerCsv({ user: user.id }, 4);
    const seqs: string[] = [];
    for await (const batch of csv.batches) {
      for (const row of parseCsv(batch.text)) seqs.push(row[4]);
    }
    expect(seqs).toEqual(["1", "2", "3", "4", "5", "6", "7", "8", "9"]);
  });

  it("refuses support (exports are finance and admin only)", async () => {
    const res = await app.get("/ledger/export.csv", { cookie: support });
    expect(res.status).toBe(403);
  });
});

import { afterAll, describe, expect, it } from "vitest";
import { listPurchases, purchaseTotals } from "../../app/services/admin/purchases-query.server";
import { purchasesCsv } from "../../app/services/exports/csv-export.server";
import { fulfillCheckoutSession } from "../../app/services/fulfillment.server";
import { setAppClock } from "../../app/services/infra/clock.server";
import { getDb } from "../../app/services/infra/db.server";
import { verifyLedger } from "../../app/services/ledger-verify.server";
import { syncPacks } from "../../app/services/packs.server";
import { readDailyRollups } from "../../app/services/rollups.server";
import { parseCsv } from "../support/csv-parse";
import { createPrice, createUser, paidSession, useMoneyPath } from "../support/money-path";
import { useTestDatabase } from "../support/test-database";

// Issue 21: "November" is one set of purchases everywhere — dated by when Stripe took the money,
// cut at midnight in REPORT_TZ — whatever day creditdesk credited them.
useTestDatabase();
// Europe/Athens is UTC+2 in November and December.
const PAID = Date.parse("2026-11-30T21:59:00Z"); // Nov 30, 23:59 in Athens
const mp = useMoneyPath({ REPORT_TZ: "Europe/Athens" }, { clock: PAID / 1000 });

afterAll(() => setAppClock(undefined));

async function creditLate(sessionId: string, creditedAt: string) {
  setAppClock(() => Date.parse(creditedAt));
  try {
    const result = await fulfillCheckoutSession(sessionId, "reconciliation");
    if (result.outcome !== "credited") throw new Error(`expected a credit, got ${result.outcome}`);
    return result.purchase;
  } finally {
    setAppClock(undefined);
  }
}

describe("paid at vs credited at, in the report time zone", () => {
  it("dates a purchase paid Nov 30 23:59 (UTC+2) and credited Dec 1 in November on every finance view", async () => {
    const user = await createUser();
    const price = await createPrice(mp.ctx.stripe, { credits: 300, unitAmount: 2500 });
    await syncPacks();
    const session = await paidSession(mp.ctx, { priceId: price.id, clientReferenceId: user.id });
    // Credited the next morning (Dec 1, 10:00 in Athens), as reconciliation would.
    const purchase = await creditLate(session.id, "2026-12-01T08:00:00Z");

    const row = await getDb().purchase.findUniqueOrThrow({ where: { id: purchase.id } });
    expect(row.paidAt.toISOString()).toBe("2026-11-30T21:59:00.000Z");
    expect(row.createdAt.toISOString()).toBe("2026-12-01T08:00:00.000Z");
    const entry = await getDb().ledgerEntry.findFirstOrThrow({
      where: { purchaseId: purchase.id },
    });
    expect(entry.createdAt.toISOString()).toBe("2026-12-01T08:00:00.000Z");

    // Purchases page (filters and totals): November has it, December does not.
    const nov = { from: "2026-11-01", to: "2026-11-30" };
    const dec = { from: "2026-12-01", to: "2026-12-31" };
    const novPage = await listPurchases(nov, {});
    expect(novPage.rows.map((r) => r.id)).toEqual([purchase.id]);
    expect((await listPurchases(dec, {})).rows).toEqual([]);
    expect(await purchaseTotals(nov)).toEqual([
      { currency: "usd", purchases: 1, amountTotal: 2500, amountRefunded: 0, credits: 300 },
    ]);
    expect(await purchaseTotals(dec)).toEqual([]);

    // Overview: revenue on the Athens day it was paid; the credits on the day they were granted.
    const rollups = await readDailyRollups(getDb(), "2026-11-01");
    expect(rollups.filter((r) => r.currency === "usd")).toEqual([
      expect.objectContaining({ day: "2026-11-30", revenue: 2500, purchases: 1 }),
    ]);
    expect(rollups.filter((r) => r.currency === "-")).toEqual([
      expect.objectContaining({ day: "2026-12-01", creditsIssued: 300 }),
    ]);
    expect((await verifyLedger()).violations).toEqual([]);

    // CSV: states the zone, lists the purchase under November with both times.
    const csv = purchasesCsv(nov);
    let text = csv.header;
    for await (const b of csv.batches) text += b.text;
    const [zoneLine, header, ...rows] = parseCsv(text);
    expect(zoneLine[0]).toMatch(/report time zone: Europe\/Athens/);
    expect(rows).toHaveLength(1);
    expect(rows[0][header.indexOf("paid_at_utc")]).toBe("2026-11-30T21:59:00.000Z");
    expect(rows[0][header.indexOf("credited_at_utc")]).toBe("2026-12-01T08:00:00.000Z");
  });

  it("cuts the month at midnight in the zone: paid Dec 1 00:30 in Athens is December, though still Nov 30 in UTC", async () => {
    await mp.ctx.emu.control.advanceClock(31 * 60); // 22:30 UTC = 00:30 Dec 1 in Athens
    const user = await createUser();
    const price = await createPrice(mp.ctx.stripe, { credits: 100, unitAmount: 900 });
    await syncPacks();
    const session = await paidSession(mp.ctx, { priceId: price.id, clientReferenceId: user.id });
    const purchase = await creditLate(session.id, "2026-12-01T09:00:00Z");
    expect(purchase.paidAt.toISOString()).toBe("2026-11-30T22:30:00.000Z");
    const dec = await listPurchases({ from: "2026-12-01", to: "2026-12-31" }, {});
    expect(dec.rows.map((r) => r.id)).toEqual([purchase.id]);
    const nov = await listPurchases({ from: "2026-11-01", to: "2026-11-30" }, {});
    expect(nov.rows.map((r) => r.id)).not.toContain(purchase.id);
  });
});

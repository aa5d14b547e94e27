import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { purchasesCsv } from "../../app/services/exports/csv-export.server";
import type { CsvExport } from "../../app/services/exports/csv-export.server";
import {
  disputesCsv,
  monthCloseCsv,
  refundsCsv,
} from "../../app/services/exports/finance-csv.server";
import { monthClose } from "../../app/services/finance/month-close.server";
import { compareWithStripe } from "../../app/services/finance/stripe-compare.server";
import { createStripeClient, setStripe } from "../../app/services/infra/stripe-client.server";
import { fulfillCheckoutSession } from "../../app/services/fulfillment.server";
import { setAppClock } from "../../app/services/infra/clock.server";
import { postLedgerEntry } from "../../app/services/ledger.server";
import { syncPacks } from "../../app/services/packs.server";
import { loader as closeLoader } from "../../app/routes/_app.finance.close/route";
import { callLoader } from "../support/admin";
import { parseCsv } from "../support/csv-parse";
import { createUser, deliver, eventsFor, paidSession, useMoneyPath } from "../support/money-path";
import { createStaffWithSession } from "../support/staff";
import { useTestDatabase } from "../support/test-database";

// Issue 21: the month close on demo-like data — purchases in three currencies, a refund in
// November of an October purchase, a usage debit, a manual credit, a dispute opened and lost, and
// a purchase paid Nov 30 23:59 in a UTC+2 report zone and credited Dec 1 — ties out.
useTestDatabase();
const START = Date.parse("2026-10-20T10:00:00Z");
const mp = useMoneyPath({ REPORT_TZ: "Europe/Athens" }, { clock: START / 1000 });
let now = START;

/** Move the emulator's and the app's clocks to `iso` together. */
async function at(iso: string) {
  const t = Date.parse(iso);
  if (t > now) await mp.ctx.emu.control.advanceClock((t - now) / 1000);
  now = t;
}

async function price(currency: string, unitAmount: number, credits: number, name: string) {
  const product = await mp.ctx.stripe.products.create({ name });
  return mp.ctx.stripe.prices.create({
    product: product.id,
    unit_amount: unitAmount,
    currency,
    metadata: { credits: String(credits) },
  });
}

async function buy(userId: string, priceId: string) {
  const session = await paidSession(mp.ctx, { priceId, clientReferenceId: userId });
  const result = await fulfillCheckoutSession(session.id, "webhook");
  if (result.outcome !== "credited") throw new Error(result.outcome);
  return result.purchase;
}

async function deliverLatest(objectId: string, type: string) {
  const events = await eventsFor(mp.ctx.stripe, objectId, type);
  expect((await deliver(mp.ctx, events[events.length - 1])).outcome).toBe("processed");
}

let finance = "";
let support = "";
const ids: Record<string, string> = {};

beforeAll(async () => {
  setAppClock(() => now);
  const small = await price("usd", 1000, 100, "Small");
  const large = await price("usd", 2500, 300, "Large");
  const euro = await price("eur", 900, 100, "Euro");
  const pound = await price("gbp", 800, 100, "Pound");
  await syncPacks();
  const a = await createUser();
  const b = await createUser();
  const c = await createUser();
  ids.a = a.id;

  // October: two purchases (one in gbp, a currency November never sells in).
  const october = await buy(a.id, small.id);
  await buy(b.id, pound.id);
  // November.
  await at("2026-11-05T09:00:00Z");
  const disputed = await buy(a.id, large.id);
  await buy(b.id, euro.id);
  await at("2026-11-10T12:00:00Z");
  // A refund in November of October's purchase.
  const refund = await mp.ctx.emu.control.refund(october.checkoutSessionId, { amount: 500 });
  await deliverLatest(refund.charge as string, "charge.refunded");
  await at("2026-11-12T12:00:00Z");
  await postLedgerEntry({ userId: a.id, delta: -50, kind: "usage", idempotencyKey: `u:${a.id}:1` });
  await at("2026-11-15T12:00:00Z");
  const dispute = await mp.ctx.emu.control.openDispute(disputed.checkoutSessionId);
  ids.dispute = dispute.id;
  await deliverLatest(dispute.id, "charge.dispute.created");
  await at("2026-11-20T12:00:00Z");
  await mp.ctx.emu.control.closeDispute(dispute.id, "lost");
  await deliverLatest(dispute.id, "charge.dispute.closed");
  await at("2026-11-25T12:00:00Z");
  await postLedgerEntry({
    userId: b.id,
    delta: 20,
    kind: "manual_credit",
    idempotencyKey: `m:${b.id}:1`,
    reason: "goodwill",
  });
  // Paid in Stripe, never credited here (its webhook was lost and reconciliation has not run).
  await at("2026-11-28T12:00:00Z");
  ids.uncredited = (await paidSession(mp.ctx, { priceId: euro.id, clientReferenceId: b.id })).id;
  // Paid Nov 30 23:59 in Athens (21:59 UTC), credited the next morning.
  await at("2026-11-30T21:59:00Z");
  const session = await paidSession(mp.ctx, { priceId: small.id, clientReferenceId: c.id });
  await at("2026-12-01T08:00:00Z");
  const late = await fulfillCheckoutSession(session.id, "reconciliation");
  if (late.outcome !== "credited") throw new Error(late.outcome);
  ids.late = late.purchase.id;
  // December activity must not leak into November.
  await postLedgerEntry({ userId: c.id, delta: -10, kind: "usage", idempotencyKey: `u:${c.id}:1` });
  setAppClock(undefined);
  finance = (await createStaffWithSession("finance")).cookie;
  support = (await createStaffWithSession("support")).cookie;
});

afterAll(() => setAppClock(undefined));

async function readCsv(csv: CsvExport | Promise<CsvExport>) {
  const c = await csv;
  let text = c.header;
  for await (const b of c.batches) text += b.text;
  return parseCsv(text);
}

describe("month close exports", () => {
  it("the month-close CSV carries the page's figures, states the zone, and its sales equal the purchases export's", async () => {
    const nov = await monthClose("2026-11");
    const [zone, header, ...rows] = await readCsv(monthCloseCsv("2026-11"));
    expect(zone[0]).toMatch(/^# creditdesk month close 2026-11; report time zone: Europe\/Athens/);
    const col = (name: string) => header.indexOf(name);
    const sales = rows.filter((r) => r[col("section")] === "sales_currency");
    expect(
      sales.map((r) => [
        r[col("currency")],
        Number(r[col("count")]),
        Number(r[col("gross_minor")]),
        Number(r[col("net_minor")]),
      ]),
    ).toEqual(nov.currencies.map((c) => [c.currency, c.count, c.gross, c.net]));
    const roll = Object.fromEntries(
      rows
        .filter((r) => r[col("section")] === "roll_forward")
        .map((r) => [r[col("item")], Number(r[col("credits")])]),
    );
    expect(roll.opening).toBe(nov.rollForward.opening);
    expect(roll.consumed).toBe(-nov.rollForward.consumed);
    expect(roll.closing).toBe(nov.rollForward.closing);
    const check = rows.find((r) => r[col("section")] === "balances_check");
    expect(Number(check?.[col("credits")])).toBe(nov.rollForward.closing);
  });

  it("the refunds and disputes CSVs list the month's refunds and disputes by their own dates", async () => {
    const [rz, rh, ...refunds] = await readCsv(refundsCsv("2026-11"));
    expect(rz[0]).toMatch(/refunds issued in 2026-11; report time zone: Europe\/Athens/);
    expect(refunds).toHaveLength(1);
    expect(refunds[0][rh.indexOf("amount_minor")]).toBe("500");
    expect(refunds[0][rh.indexOf("refunded_at_utc")]).toBe("2026-11-10T12:00:00.000Z");
    expect((await readCsv(refundsCsv("2026-10"))).slice(2)).toEqual([]);
    const [, dh, ...disputes] = await readCsv(disputesCsv("2026-11"));
    expect(disputes.map((d) => [d[dh.indexOf("dispute_id")], d[dh.indexOf("status")]])).toEqual([
      [ids.dispute, "lost"],
    ]);
    expect(disputes[0][dh.indexOf("evidence_due_by_utc")]).toMatch(/^2026-11-2\dT/);
  });
});

describe("compare with Stripe", () => {
  it("finds the session paid in Stripe but missing here, and nothing else", async () => {
    const result = await compareWithStripe("2026-11");
    if (!result.ok) throw new Error(result.error);
    expect(result.sessions).toEqual({ stripe: 4, here: 3 });
    expect(result.refunds).toEqual({ stripe: 1, here: 1 });
    expect(result.differences).toEqual([
      expect.objectContaining({
        kind: "session",
        id: ids.uncredited,
        problem: "missing_here",
        stripeAmount: 900,
        ourAmount: null,
        currency: "eur",
      }),
    ]);
    // October's sessions are October's, in Stripe as here.
    const oct = await compareWithStripe("2026-10");
    if (!oct.ok) throw new Error(oct.error);
    expect(oct.differences).toEqual([]);
  });

  it("says so when Stripe is unreachable, and the rest of the page still works", async () => {
    const down = createStripeClient({
      secretKey: "sk_test_creditdesk_tests",
      apiBase: "http://127.0.0.1:9",
      maxNetworkRetries: 0,
    });
    const result = await compareWithStripe("2026-11", "Europe/Athens", down);
    expect(result).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^Stripe could not be reached/),
    });

    setStripe(down);
    try {
      const page = await callLoader<{
        close: { stripe: { ok: boolean; error: string }; report: { currencies: unknown[] } };
      }>(closeLoader, "/finance/close?month=2026-11&compare=1", { cookie: finance });
      expect(page.status).toBe(200);
      expect(page.data?.close.stripe.ok).toBe(false);
      expect(page.data?.close.stripe.error).toMatch(/Stripe could not be reached/);
      expect(page.data?.close.report.currencies).toHaveLength(2);
    } finally {
      setStripe(mp.ctx.stripe);
    }
  });
});

describe("month close", () => {
  it("rolls credits forward: opening + granted − consumed − expired − clawed back ± adjustments = closing = Σ balances at month end", async () => {
    const r = (await monthClose("2026-11")).rollForward;
    expect(r.opening).toBe(200); // October's two purchases
    expect(r).toMatchObject({
      grantedPurchases: 400, // large (300) + euro (100); the late one is December's credit
      grantedSubscriptions: 0,
      grantedManual: 20,
      consumed: 50,
      expired: 0,
      clawedBack: 50, // half of October's 100 credits
    });
    // The lost dispute's hold stays: the large purchase's remaining 300 credits.
    expect(r.adjustments).toBe(-300);
    expect(
      r.opening +
        r.grantedPurchases +
        r.grantedSubscriptions +
        r.grantedManual -
        r.consumed -
        r.expired -
        r.clawedBack +
        r.adjustments,
    ).toBe(r.closing);
    expect(r.closing).toBe(220);
    expect(r.balancesAtEnd).toBe(r.closing);
    // December's roll-forward opens where November closed, with the late purchase's credits.
    const dec = (await monthClose("2026-12")).rollForward;
    expect(dec.opening).toBe(r.closing);
    expect(dec.grantedPurchases).toBe(100);
    expect(dec.balancesAtEnd).toBe(dec.closing);
  });

  it("reports sales per currency and pack by paid time, refunds and disputes by their own dates, late credits as a reconciling line", async () => {
    const nov = await monthClose("2026-11");
    expect(nov.zone).toBe("Europe/Athens");
    // gbp sold only in October: omitted, not a row of zeros.
    expect(nov.currencies).toEqual([
      { currency: "eur", pack: null, count: 1, gross: 900, refunds: 0, disputesLost: 0, net: 900 },
      {
        currency: "usd",
        pack: null,
        count: 2, // large + the late small one (paid Nov 30 23:59 local)
        gross: 3500,
        refunds: 500, // October's purchase, refunded in November
        disputesLost: 2500,
        net: 500,
      },
    ]);
    expect(nov.packs.map((p) => [p.currency, p.pack, p.count, p.net])).toEqual([
      ["eur", "Euro", 1, 900],
      ["usd", "Large", 1, 0],
      ["usd", "Small", 1, 500],
    ]);
    expect(nov.refunds).toHaveLength(1);
    expect(nov.refunds[0]).toMatchObject({ amount: 500, currency: "usd", creditsClawed: 50 });
    expect(nov.disputes).toEqual([
      expect.objectContaining({
        id: ids.dispute,
        status: "lost",
        amount: 2500,
        openedInMonth: true,
        closedInMonth: true,
      }),
    ]);
    expect(nov.disputes[0].evidenceDueBy).toBeInstanceOf(Date);
    expect(nov.disputes[0].evidenceDueBy!.getTime()).toBeGreaterThan(
      nov.disputes[0].openedAt.getTime(),
    );
    expect(nov.lateCredited.map((l) => l.id)).toEqual([ids.late]);
    expect(nov.lateCreditedTotals).toEqual([{ currency: "usd", count: 1, amount: 1000 }]);
    const oct = await monthClose("2026-10");
    expect(oct.currencies.map((c) => c.currency)).toEqual(["gbp", "usd"]);
  });

  it("matches the purchases export's totals for the same month", async () => {
    const nov = await monthClose("2026-11");
    const csv = purchasesCsv({ from: "2026-11-01", to: "2026-11-30" });
    let text = csv.header;
    for await (const b of csv.batches) text += b.text;
    const [, header, ...rows] = parseCsv(text);
    const sums = new Map<string, { count: number; gross: number }>();
    for (const row of rows) {
      const cur = row[header.indexOf("currency")];
      const s = sums.get(cur) ?? { count: 0, gross: 0 };
      s.count++;
      s.gross += Number(row[header.indexOf("amount_total_minor")]);
      sums.set(cur, s);
    }
    expect(Object.fromEntries(sums)).toEqual(
      Object.fromEntries(
        nov.currencies.map((c) => [c.currency, { count: c.count, gross: c.gross }]),
      ),
    );
  });

  it("says a month outside the data is empty, and refuses a malformed month naming the field", async () => {
    const empty = await monthClose("2020-01");
    expect(empty).toMatchObject({ empty: true, currencies: [], refunds: [], disputes: [] });
    expect(empty.rollForward).toMatchObject({ opening: 0, closing: 0, balancesAtEnd: 0 });

    const page = await callLoader<{ ok: boolean; close: { report: { empty: boolean } } }>(
      closeLoader,
      "/finance/close?month=2020-01",
      { cookie: finance },
    );
    expect(page.status).toBe(200);
    expect(page.data?.close.report.empty).toBe(true);

    for (const bad of ["2026-13", "november", "2026-1", "0000-01"]) {
      const res = await callLoader<{ ok: boolean; errors: Record<string, string> }>(
        closeLoader,
        `/finance/close?month=${bad}`,
        { cookie: finance },
      );
      expect(res.status).toBe(400);
      expect(res.data?.errors.month).toMatch(/^Month must be/);
    }
  });

  it("opens on last month for finance and refuses support", async () => {
    const page = await callLoader<{ ok: boolean; values: { month: string } }>(
      closeLoader,
      "/finance/close",
      { cookie: finance },
    );
    expect(page.status).toBe(200);
    const today = new Date();
    const last = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - 1, 1));
    // Last month in the report zone (Athens is ahead of UTC, so near a month's start it may differ).
    expect(page.data?.values.month).toMatch(/^\d{4}-\d{2}$/);
    expect([last.toISOString().slice(0, 7), today.toISOString().slice(0, 7)]).toContain(
      page.data?.values.month,
    );
    const refused = await callLoader(closeLoader, "/finance/close", { cookie: support });
    expect(refused.status).toBe(403);
  });
});

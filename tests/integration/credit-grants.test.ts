import { describe, expect, it } from "vitest";
import { getDb } from "../../app/services/infra/db.server";
import { InsufficientCreditsError } from "../../app/services/errors.server";
import { postLedgerEntry } from "../../app/services/ledger.server";
import { verifyLedger } from "../../app/services/ledger-verify.server";
import type { GrantSpec } from "../../app/services/grants/allocation.server";
import type { LedgerKind } from "../../app/generated/prisma/enums";
import { expireDueGrants } from "../../app/services/grants/expiry.server";
import {
  creditValueByCurrency,
  liabilityByCurrency,
} from "../../app/services/grants/liability.server";
import { parseExpireDaysMetadata } from "../../app/services/packs.server";
import { createUser, uid } from "../support/money-path";
import { useTestDatabase } from "../support/test-database";

useTestDatabase();

const DAY = 86_400_000;
const key = () => uid("k");

async function post(userId: string, delta: number, kind: LedgerKind, grant?: GrantSpec, at?: Date) {
  return postLedgerEntry({ userId, delta, kind, idempotencyKey: key(), grant, at });
}

async function grantsOf(userId: string) {
  return getDb().creditGrant.findMany({ where: { userId }, orderBy: { id: "asc" } });
}

async function allocationsOf(entryId: bigint) {
  const rows = await getDb().creditAllocation.findMany({
    where: { entryId },
    orderBy: { id: "asc" },
  });
  return rows.map((a) => [a.grantId, a.delta]);
}

async function expectClean() {
  expect((await verifyLedger()).violations).toEqual([]);
}

describe("credit grants: burn order and allocations", () => {
  it("spends by priority, then soonest expiry (none last), then oldest, across sources", async () => {
    const user = await createUser();
    const now = Date.now();
    const purchase = await post(user.id, 100, "grant", {
      source: "purchase",
      amountPaid: 999,
      currency: "usd",
    });
    const later = await post(user.id, 50, "grant", {
      source: "promotion",
      expiresAt: new Date(now + 10 * DAY),
    });
    const allowance = await post(user.id, 30, "grant", {
      source: "subscription_period",
      expiresAt: new Date(now + 5 * DAY),
    });
    const manual = await post(user.id, 40, "manual_credit");
    const first = await post(user.id, 20, "grant", { source: "manual", priority: 10 });
    const g = await grantsOf(user.id);
    expect(g.map((x) => [x.source, x.granted, x.remaining, x.amountPaid, x.currency])).toEqual([
      ["purchase", 100, 100, 999, "usd"],
      ["promotion", 50, 50, 0, null],
      ["subscription_period", 30, 30, 0, null],
      ["manual", 40, 40, 0, null],
      ["manual", 20, 20, 0, null],
    ]);
    const [gPurchase, gLater, gAllowance, gManual, gFirst] = g.map((x) => x.id);
    expect(g.map((x) => x.ledgerEntryId)).toEqual(
      [purchase, later, allowance, manual, first].map((p) => p.entry.id),
    );

    // 20 from the priority-10 grant, 30 from the allowance (expires first), 10 of the promotion.
    const debit = await post(user.id, -60, "usage");
    expect(await allocationsOf(debit.entry.id)).toEqual([
      [gFirst, -20],
      [gAllowance, -30],
      [gLater, -10],
    ]);
    // Then the rest of the promotion, then the oldest of the never-expiring (the purchase).
    const debit2 = await post(user.id, -140, "usage");
    expect(await allocationsOf(debit2.entry.id)).toEqual([
      [gLater, -40],
      [gPurchase, -100],
    ]);
    expect((await grantsOf(user.id)).map((x) => x.remaining)).toEqual([0, 0, 0, 40, 0]);
    expect(debit2.balance).toBe(40);
    expect(gManual).toBeGreaterThan(gPurchase);
    await expectClean();
  });

  it("never spends a grant past its expiry, even before the expiry pass: 402 with what can be spent", async () => {
    const user = await createUser();
    const past = new Date(Date.now() - DAY);
    await post(
      user.id,
      70,
      "grant",
      { source: "promotion", expiresAt: past },
      new Date(Date.now() - 2 * DAY),
    );
    await post(user.id, 30, "manual_credit");
    const refused = await post(user.id, -40, "usage").catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(InsufficientCreditsError);
    expect((refused as InsufficientCreditsError).message).toMatch(/30/);
    const ok = await post(user.id, -30, "usage");
    expect(ok.balance).toBe(70);
    expect((await grantsOf(user.id)).map((x) => x.remaining)).toEqual([70, 0]);
    await expectClean();
  });

  it("a clawback beyond every grant is debt, repaid first by the next credits", async () => {
    const user = await createUser();
    await post(user.id, 50, "manual_credit");
    const claw = await post(user.id, -80, "refund_clawback");
    expect(claw.balance).toBe(-30);
    expect(await allocationsOf(claw.entry.id)).toEqual([
      [(await grantsOf(user.id))[0].id, -50],
      [null, -30],
    ]);
    expect((await getDb().user.findUniqueOrThrow({ where: { id: user.id } })).creditDebt).toBe(30);
    await expectClean();
    const credit = await post(user.id, 100, "grant", {
      source: "purchase",
      amountPaid: 500,
      currency: "eur",
    });
    const g = await grantsOf(user.id);
    expect(g[1]).toMatchObject({ granted: 100, remaining: 70 });
    expect(await allocationsOf(credit.entry.id)).toEqual([
      [g[1].id, 100],
      [g[1].id, -30],
      [null, 30],
    ]);
    expect(credit.balance).toBe(70);
    expect((await getDb().user.findUniqueOrThrow({ where: { id: user.id } })).creditDebt).toBe(0);
    await expectClean();
  });

  it("a reversal takes from the grant its entry created; a dispute release gives back to the held grant", async () => {
    const user = await createUser();
    const a = await post(user.id, 40, "manual_credit");
    await post(user.id, 60, "grant", { source: "manual", priority: 1 });
    const rev = await postLedgerEntry({
      userId: user.id,
      delta: -10,
      kind: "reversal",
      idempotencyKey: key(),
      reversesId: a.entry.id,
    });
    const [ga, gb] = await grantsOf(user.id);
    expect(await allocationsOf(rev.entry.id)).toEqual([[ga.id, -10]]);
    const hold = await post(user.id, -25, "dispute_hold", { grantId: gb.id });
    expect((await grantsOf(user.id))[1]).toMatchObject({ status: "held", remaining: 35 });
    // Held credits are not spendable: 30 left in grant a, 35 held in b.
    await expect(post(user.id, -31, "usage")).rejects.toBeInstanceOf(InsufficientCreditsError);
    const release = await postLedgerEntry({
      userId: user.id,
      delta: 25,
      kind: "dispute_release",
      idempotencyKey: key(),
      reversesId: hold.entry.id,
    });
    expect(await allocationsOf(release.entry.id)).toEqual([[gb.id, 25]]);
    expect((await grantsOf(user.id))[1]).toMatchObject({ status: "active", remaining: 60 });
    expect((await post(user.id, -90, "usage")).balance).toBe(0);
    await expectClean();
  });

  it("a user with 10,000 grants still debits in one statement, from the right grant", async () => {
    const user = await createUser();
    const db = getDb();
    // 10,000 daily allowances kept (rollover), built in SQL through the ledger's own allocation
    // function (seconds, not minutes). `dispute_release` without a reversed entry: a plain credit
    // that the credits rollup does not count, so `ledger verify` stays exact.
    await db.$executeRaw`
      INSERT INTO ledger_entries (user_id, seq, delta, balance_after, kind, idempotency_key, payload_hash, created_at)
      SELECT ${user.id}, n, 5, 5 * n, 'dispute_release', ${user.id} || ':' || n, 'x',
        now() - (10001 - n) * interval '1 minute'
      FROM generate_series(1, 10000) n`;
    await db.$executeRaw`
      SELECT count(credit_allocate(e.id, e.user_id, e.delta, e.kind::text, e.created_at, 0, NULL, NULL,
        NULL, NULL, 'subscription_period', NULL, NULL, NULL, NULL, NULL, NULL))
      FROM (SELECT * FROM ledger_entries WHERE user_id = ${user.id} ORDER BY seq) e`;
    await db.$executeRaw`UPDATE users SET balance = 50000, last_seq = 10000 WHERE id = ${user.id}`;
    const grants = await grantsOf(user.id);
    expect(grants).toHaveLength(10_000);
    // The first 9,999 spent (one entry walking them all), then a debit finds the last one at once.
    const big = await post(user.id, -49_995, "usage");
    expect(big.balance).toBe(5);
    const debit = await post(user.id, -3, "usage");
    expect(debit.balance).toBe(2);
    expect(await allocationsOf(debit.entry.id)).toEqual([[grants[9_999].id, -3]]);
    await expectClean();
  });
});

describe("credit grants: the expiry pass", () => {
  it("posts one expiry entry per expired grant, idempotently and safely when passes run concurrently", async () => {
    const user = await createUser();
    const twoDaysAgo = new Date(Date.now() - 2 * DAY);
    await post(
      user.id,
      70,
      "grant",
      { source: "promotion", expiresAt: new Date(Date.now() - DAY) },
      twoDaysAgo,
    );
    await post(user.id, 30, "manual_credit", { expiresAt: new Date(Date.now() + DAY) });
    await post(user.id, -20, "usage", undefined, twoDaysAgo); // spends 20 of the promotion
    const [promo] = await grantsOf(user.id);

    const dry = await expireDueGrants({ dryRun: true });
    expect(dry.grants.filter((g) => g.userId === user.id)).toEqual([
      expect.objectContaining({ grantId: promo.id.toString(), credits: 50, posted: false }),
    ]);
    expect(await getDb().ledgerEntry.count({ where: { userId: user.id, kind: "expiry" } })).toBe(0);

    const passes = await Promise.all([expireDueGrants(), expireDueGrants(), expireDueGrants()]);
    const mine = passes.flatMap((p) => p.grants.filter((g) => g.userId === user.id && g.posted));
    expect(mine).toHaveLength(1);
    const expiries = await getDb().ledgerEntry.findMany({
      where: { userId: user.id, kind: "expiry" },
    });
    expect(expiries.map((e) => [e.delta, e.idempotencyKey])).toEqual([[-50, `expiry:${promo.id}`]]);
    expect(await allocationsOf(expiries[0].id)).toEqual([[promo.id, -50]]);
    expect((await grantsOf(user.id)).map((g) => [g.status, g.remaining])).toEqual([
      ["expired", 0],
      ["active", 30],
    ]);
    expect((await getDb().user.findUniqueOrThrow({ where: { id: user.id } })).balance).toBe(30);
    const again = await expireDueGrants();
    expect(again.grants.filter((g) => g.userId === user.id)).toEqual([]);
    await expectClean();
  });
});

describe("pack metadata.credits_expire_days", () => {
  it("accepts whole days from 1 to 36500 and flags anything else as never expiring", () => {
    expect(parseExpireDaysMetadata("30")).toEqual({ days: 30, problem: null });
    expect(parseExpireDaysMetadata(undefined)).toEqual({ days: null, problem: null });
    for (const bad of ["0", "-3", "1.5", "abc", "36501", "3e2"]) {
      const parsed = parseExpireDaysMetadata(bad);
      expect(parsed.days).toBeNull();
      expect(parsed.problem).toContain(`metadata.credits_expire_days "${bad}"`);
    }
  });
});

describe("credit value and liability", () => {
  it("apportions what was paid exactly: granted = consumed + expired + clawed back + remaining", async () => {
    const user = await createUser();
    const a = await post(user.id, 100, "grant", {
      source: "purchase",
      amountPaid: 999,
      currency: "xts",
    });
    await post(
      user.id,
      7,
      "grant",
      {
        source: "purchase",
        amountPaid: 1000,
        currency: "xau",
        expiresAt: new Date(Date.now() - DAY),
      },
      new Date(Date.now() - 2 * DAY),
    );
    await post(user.id, -33, "usage");
    await postLedgerEntry({
      userId: user.id,
      delta: -10,
      kind: "reversal",
      idempotencyKey: key(),
      reversesId: a.entry.id,
    });
    await expireDueGrants();
    const value = await creditValueByCurrency();
    // 33 credits of 100-for-999 leave floor(33 × 999 / 100) = 329; the next 10 floor(43 × 9.99) − 329 = 100.
    expect(value.find((v) => v.currency === "xts")).toEqual({
      currency: "xts",
      granted: 999,
      consumed: 329,
      expired: 0,
      clawedBack: 100,
      remaining: 570,
      creditsRemaining: 57,
    });
    expect(value.find((v) => v.currency === "xau")).toEqual({
      currency: "xau",
      granted: 1000,
      consumed: 0,
      expired: 1000,
      clawedBack: 0,
      remaining: 0,
      creditsRemaining: 0,
    });
    const liability = await liabilityByCurrency();
    expect(liability.find((l) => l.currency === "xts")).toEqual({
      currency: "xts",
      value: 570,
      credits: 57,
    });
    expect(liability.find((l) => l.currency === "xau")).toBeUndefined();
    // As of before the debits: all of it still unused.
    const before = await creditValueByCurrency({ asOf: new Date(a.entry.createdAt.getTime()) });
    expect(before.find((v) => v.currency === "xts")).toMatchObject({
      granted: 999,
      remaining: 999,
    });
    await expectClean();
  });
});

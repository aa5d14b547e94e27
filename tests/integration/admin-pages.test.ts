import { beforeAll, describe, expect, it } from "vitest";
import { loader as overviewLoader } from "../../app/routes/_app._index/route";
import { loader as ledgerLoader } from "../../app/routes/_app.ledger._index/route";
import { loader as purchaseLoader } from "../../app/routes/_app.purchases.$purchaseId/route";
import { loader as purchasesLoader } from "../../app/routes/_app.purchases._index/route";
import { loader as userLoader } from "../../app/routes/_app.users.$userId/route";
import { loader as usersLoader } from "../../app/routes/_app.users._index/route";
import type { Overview } from "../../app/presenters/overview.server";
import { getDb } from "../../app/services/infra/db.server";
import { postLedgerEntry } from "../../app/services/ledger.server";
import { bumpRollup, CREDITS_ROW } from "../../app/services/rollups.server";
import { callLoader, makeUser, rid, seedPurchases } from "../support/admin";
import { createStaffWithSession } from "../support/staff";
import { useTestDatabase } from "../support/test-database";

useTestDatabase();

let support = "";
let finance = "";
let supportId = "";
const tag = rid("pages").toLowerCase().replace("_", "");

beforeAll(async () => {
  const s = await createStaffWithSession("support");
  support = s.cookie;
  supportId = s.staff.id;
  finance = (await createStaffWithSession("finance")).cookie;
});

type UsersData = {
  page: { rows: { id: string }[] } | null;
  errors: Record<string, string>;
  values: Record<string, string>;
};
const findUsers = (qs: string) =>
  callLoader<UsersData>(usersLoader, `/users?${qs}`, { cookie: support });
const ids = (r: { data: UsersData | null }) => r.data!.page!.rows.map((u) => u.id).sort();

describe("users search", () => {
  let jane = "";
  let bob = "";
  let under = "";
  beforeAll(async () => {
    jane = (
      await makeUser({
        id: `${tag}_Jane`,
        email: `Jane.Doe.${tag}@Example.com`,
        name: `Zoë ${tag}`,
        stripeCustomerId: `cus_${tag}AbC`,
      })
    ).id;
    bob = (await makeUser({ id: `${tag}_bob`, email: `bob.${tag}@example.com`, name: "Bob" })).id;
    // "_" and "%" in a search are literal: "x_y" must not match "xzy".
    under = (await makeUser({ id: `${tag}xzy`, email: `${tag}xzy@example.com` })).id;
  });

  it("finds by email prefix, case-insensitively", async () => {
    expect(ids(await findUsers(`q=JANE.DOE.${tag}`))).toEqual([jane]);
  });
  it("finds by user id prefix", async () => {
    expect(ids(await findUsers(`q=${tag}_j`))).toEqual([jane]);
  });
  it("finds by name prefix", async () => {
    expect(ids(await findUsers(`q=${encodeURIComponent(`zoë ${tag}`)}`))).toEqual([jane]);
  });
  it("finds by Stripe customer id prefix", async () => {
    expect(ids(await findUsers(`q=CUS_${tag}ab`))).toEqual([jane]);
  });
  it("treats _ and % as plain characters", async () => {
    expect(ids(await findUsers(`q=${tag}_`))).toEqual([bob, jane].sort());
    expect(ids(await findUsers(`q=${tag}%25`))).toEqual([]);
    expect(ids(await findUsers(`q=${tag}x`))).toEqual([under]);
  });
  it("matches only prefixes, not the middle of a value", async () => {
    expect(ids(await findUsers(`q=doe.${tag}`))).toEqual([]);
  });
  it("returns field errors and keeps values for bad filters", async () => {
    const r = await findUsers(`q=${tag}&balanceMin=lots&balanceMax=5&sort=sideways`);
    expect(r.status).toBe(400);
    expect(r.data?.page).toBeNull();
    expect(r.data?.errors.balanceMin).toMatch(/whole number/);
    expect(r.data?.errors.sort).toMatch(/Choose a valid sort order/);
    expect(r.data?.values.q).toBe(tag);
    const range = await findUsers(`balanceMin=10&balanceMax=5`);
    expect(range.data?.errors.balanceMax).toMatch(/must not be below the minimum/);
  });
});

describe("user detail", () => {
  it("pages the ledger 50 at a time with the running balance, newest first", async () => {
    const user = await makeUser();
    for (let i = 1; i <= 120; i++)
      await postLedgerEntry({
        userId: user.id,
        delta: i,
        kind: "grant",
        idempotencyKey: `d:${user.id}:${i}`,
      });
    type Detail = {
      detail: {
        user: { balance: number };
        ledger: {
          entries: { seq: number; balanceAfter: number }[];
          olderBefore: number | null;
          newerAfter: number | null;
        };
      };
    };
    const load = (qs = "") =>
      callLoader<Detail>(userLoader, `/users/${user.id}${qs}`, {
        cookie: support,
        params: { userId: user.id },
      });
    const first = (await load()).data!.detail;
    expect(first.user.balance).toBe((120 * 121) / 2);
    expect(first.ledger.entries.map((e) => e.seq)).toEqual(
      Array.from({ length: 50 }, (_, i) => 120 - i),
    );
    expect(first.ledger.entries[0].balanceAfter).toBe(first.user.balance);
    expect(first.ledger.newerAfter).toBeNull();
    expect(first.ledger.olderBefore).toBe(71);
    const second = (await load(`?ledgerBefore=71`)).data!.detail.ledger;
    expect(second.entries[0].seq).toBe(70);
    expect(second.newerAfter).toBe(70);
    const third = (await load(`?ledgerBefore=${second.olderBefore}`)).data!.detail.ledger;
    expect(third.entries.map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => 20 - i));
    expect(third.olderBefore).toBeNull();
    const back = (await load(`?ledgerAfter=${third.newerAfter}`)).data!.detail.ledger;
    expect(back.entries.map((e) => e.seq)).toEqual(second.entries.map((e) => e.seq));
    expect((await load("?ledgerBefore=abc")).status).toBe(400);
  });
});

describe("purchases page", () => {
  it("opens on the last 30 days with totals per currency over every match, at most 50 rows", async () => {
    const user = await makeUser();
    await seedPurchases(user.id, 90, { days: 20, currency: "eur" });
    await seedPurchases(user.id, 5, {
      days: 1,
      end: new Date(Date.now() - 60 * 86_400_000),
      currency: "eur",
    });
    type P = {
      page: { rows: unknown[]; next: string | null };
      totals: { currency: string; purchases: number; amountTotal: number }[];
      values: Record<string, string>;
    };
    const r = await callLoader<P>(purchasesLoader, `/purchases?user=${user.id}`, {
      cookie: finance,
    });
    expect(r.status).toBe(200);
    expect(r.data!.values.from).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(r.data!.page.rows).toHaveLength(50);
    expect(r.data!.page.next).not.toBeNull();
    const eur = r.data!.totals.find((t) => t.currency === "eur")!;
    expect(eur.purchases).toBe(90);
    const sum = await getDb().purchase.aggregate({
      where: { userId: user.id, createdAt: { gte: new Date(`${r.data!.values.from}T00:00:00Z`) } },
      _sum: { amountTotal: true },
    });
    expect(eur.amountTotal).toBe(sum._sum.amountTotal);
    // An empty "From" means all time.
    const all = await callLoader<P>(purchasesLoader, `/purchases?from=&user=${user.id}`, {
      cookie: finance,
    });
    expect(all.data!.totals.find((t) => t.currency === "eur")!.purchases).toBe(95);
    const bad = await callLoader<{ errors: Record<string, string> }>(
      purchasesLoader,
      `/purchases?from=2026-02-30&to=2026-01-01&currency=euro`,
      { cookie: finance },
    );
    expect(bad.status).toBe(400);
    expect(bad.data!.errors.from).toMatch(/not a real date/);
    expect(bad.data!.errors.currency).toMatch(/three-letter/);
    const impossible = await callLoader<{ errors: Record<string, string> }>(
      purchasesLoader,
      `/purchases?from=2026-13-45`,
      { cookie: finance },
    );
    expect(impossible.status).toBe(400);
    expect(impossible.data!.errors.from).toMatch(/not a real date/);
  });

  it("shows a purchase with its ledger entries; 404 for an unknown id", async () => {
    const user = await makeUser();
    await seedPurchases(user.id, 1);
    const p = await getDb().purchase.findFirstOrThrow({ where: { userId: user.id } });
    await postLedgerEntry({
      userId: user.id,
      delta: p.credits,
      kind: "purchase",
      purchaseId: p.id,
      idempotencyKey: `checkout:${p.checkoutSessionId}`,
    });
    const r = await callLoader<{ purchase: { id: string }; entries: { delta: number }[] }>(
      purchaseLoader,
      `/purchases/${p.id}`,
      { cookie: finance, params: { purchaseId: p.id } },
    );
    expect(r.data!.purchase.id).toBe(p.id);
    expect(r.data!.entries.map((e) => e.delta)).toEqual([p.credits]);
    // Event ids link to the webhooks event page only for roles that may open it.
    const forSupport = await callLoader<{ canOpenEvents: boolean }>(
      purchaseLoader,
      `/purchases/${p.id}`,
      {
        cookie: support,
        params: { purchaseId: p.id },
      },
    );
    expect(forSupport.data!.canOpenEvents).toBe(true);
    expect((r.data as unknown as { canOpenEvents: boolean }).canOpenEvents).toBe(false);
    const missing = await callLoader(purchaseLoader, "/purchases/nope", {
      cookie: finance,
      params: { purchaseId: "nope" },
    });
    expect(missing.status).toBe(404);
  });
});

describe("ledger explorer", () => {
  it("filters by kind, actor and user email", async () => {
    const user = await makeUser({ email: `Ledger.${tag}@Example.com` });
    await postLedgerEntry({
      userId: user.id,
      delta: 40,
      kind: "grant",
      idempotencyKey: `l:${user.id}:1`,
    });
    await postLedgerEntry({
      userId: user.id,
      delta: 5,
      kind: "manual_credit",
      staffId: supportId,
      reason: "Goodwill",
      idempotencyKey: `l:${user.id}:2`,
    });
    await postLedgerEntry({
      userId: user.id,
      delta: -3,
      kind: "usage",
      idempotencyKey: `l:${user.id}:3`,
    });
    type L = {
      page: { rows: { kind: string; userId: string; staffEmail: string | null }[] };
      errors: Record<string, string>;
    };
    const byEmail = await callLoader<L>(
      ledgerLoader,
      `/ledger?user=${encodeURIComponent(`ledger.${tag}@example.com`)}`,
      { cookie: support },
    );
    expect(byEmail.data!.page.rows.map((r) => r.kind)).toEqual(["usage", "manual_credit", "grant"]);
    const byKind = await callLoader<L>(ledgerLoader, `/ledger?user=${user.id}&kind=usage`, {
      cookie: support,
    });
    expect(byKind.data!.page.rows.map((r) => r.kind)).toEqual(["usage"]);
    const byActor = await callLoader<L>(
      ledgerLoader,
      `/ledger?user=${user.id}&actor=${supportId}`,
      { cookie: support },
    );
    expect(byActor.data!.page.rows.map((r) => r.kind)).toEqual(["manual_credit"]);
    const system = await callLoader<L>(ledgerLoader, `/ledger?user=${user.id}&actor=system`, {
      cookie: support,
    });
    expect(system.data!.page.rows).toHaveLength(2);
    const bad = await callLoader<L>(ledgerLoader, `/ledger?kind=gift`, { cookie: support });
    expect(bad.status).toBe(400);
    expect(bad.data!.errors.kind).toMatch(/valid entry kind/);
  });
});

describe("overview", () => {
  it("sends support to the users page", async () => {
    const r = await callLoader(overviewLoader, "/", { cookie: support });
    expect(r.status).toBe(302);
    expect(r.location).toBe("/users");
  });

  it("sums revenue per currency for today / 7 / 30 days from the rollups, credits and webhook health", async () => {
    const before = (await callLoader<Overview>(overviewLoader, "/", { cookie: finance })).data!;
    const now = new Date();
    const daysAgo = (n: number) => new Date(now.getTime() - n * 86_400_000);
    await getDb().$transaction(async (tx) => {
      await bumpRollup(tx, now, "usd", { revenue: 1000, purchases: 2 });
      await bumpRollup(tx, daysAgo(3), "usd", {
        revenue: 500,
        purchases: 1,
        refunded: 200,
        refunds: 1,
      });
      await bumpRollup(tx, daysAgo(20), "usd", { revenue: 700, purchases: 1 });
      await bumpRollup(tx, daysAgo(45), "usd", { revenue: 9999, purchases: 9 });
      await bumpRollup(tx, daysAgo(1), "eur", { revenue: 300, purchases: 1 });
      await bumpRollup(tx, daysAgo(2), CREDITS_ROW, { creditsIssued: 800, creditsConsumed: 150 });
    });
    await getDb().webhookDelivery.createMany({
      data: [
        {
          signatureStatus: "valid",
          outcome: "processed",
          eventType: "checkout.session.completed",
          responseStatus: 200,
          durationMs: 5,
          bodySha256: "x",
          bodySize: 10,
        },
        {
          signatureStatus: "valid",
          outcome: "duplicate",
          responseStatus: 200,
          durationMs: 5,
          bodySha256: "x",
          bodySize: 10,
        },
        {
          signatureStatus: "invalid",
          outcome: "invalid_signature",
          responseStatus: 400,
          durationMs: 1,
          bodySha256: "y",
          bodySize: 10,
        },
        {
          signatureStatus: "valid",
          outcome: "processed",
          responseStatus: 200,
          durationMs: 5,
          bodySha256: "x",
          bodySize: 10,
          receivedAt: daysAgo(2),
        },
      ],
    });
    await getDb().attentionItem.create({
      data: {
        kind: "unmatched_user",
        dedupeKey: `k:${tag}`,
        openKey: `k:${tag}`,
        title: "Paid session matches no user",
      },
    });

    const r = await callLoader<Overview>(overviewLoader, "/?range=90", { cookie: finance });
    expect(r.status).toBe(200);
    const o = r.data!;
    const usd = o.money.find((m) => m.currency === "usd")!;
    expect(usd).toMatchObject({ today: 1000, last7: 1500, last30: 2200, refunded30: 200 });
    expect(o.money.find((m) => m.currency === "eur")).toMatchObject({ today: 0, last7: 300 });
    expect(o.purchases30).toBe(5);
    expect(o.refunds30).toBe(1);
    expect(o.refundRate30).toBeCloseTo(0.2);
    // Other tests in this file post ledger entries (which bump the credit counters): compare the change.
    expect(o.credits.issued30 - before.credits.issued30).toBe(800);
    expect(o.credits.consumed30 - before.credits.consumed30).toBe(150);
    expect(o.charts.revenue).toHaveLength(90);
    expect(o.charts.revenue[89]).toMatchObject({ day: o.today, usd: 1000, eur: 0 });
    expect(o.charts.webhooks).toHaveLength(24);
    expect(o.webhooks.last24h).toEqual({ processed: 1, duplicate: 1, invalid_signature: 1 });
    expect(o.webhooks.lastValid?.eventType).toBeDefined();
    expect(o.webhooks.openAttention).toEqual([{ kind: "unmatched_user", count: 1 }]);
    expect(o.lastRun).toBeNull();
    const balances = await getDb().user.aggregate({ _sum: { balance: true } });
    expect(o.credits.outstanding).toBe(balances._sum.balance ?? 0);
    // The default range is 30 days; anything else falls back to it.
    const d = await callLoader<Overview>(overviewLoader, "/?range=7", { cookie: finance });
    expect(d.data!.charts.revenue).toHaveLength(30);
  });
});

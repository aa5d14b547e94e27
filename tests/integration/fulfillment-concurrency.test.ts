import type Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { getDb } from "../../app/services/infra/db.server";
import { fulfillCheckoutSession, type FulfillResult } from "../../app/services/fulfillment.server";
import { verifyLedger } from "../../app/services/ledger-verify.server";
import { syncPacks } from "../../app/services/packs.server";
import {
  balanceOf,
  createPrice,
  createUser,
  deliver,
  eventOf,
  paidSession,
  useMoneyPath,
} from "../support/money-path";
import { testDbKind, useTestDatabase } from "../support/test-database";

useTestDatabase();
const mp = useMoneyPath();

/**
 * docs/architecture.md invariant 1: many callers at once, one credit. On native Postgres this is a real race
 * (22 callers, separate connections); PGlite has a single connection, so there the same mix runs
 * one after another and proves the idempotency, not the locking.
 */
describe("one session fulfilled by many callers", () => {
  it(`credits exactly once (${testDbKind() === "postgres" ? "20 concurrent webhooks + success page + direct" : "sequential variant"})`, async () => {
    const user = await createUser();
    const price = await createPrice(mp.ctx.stripe, { credits: 250 });
    await syncPacks();
    const session = await paidSession(mp.ctx, { priceId: price.id, clientReferenceId: user.id });
    const real = await eventOf(mp.ctx.stripe, session.id, "checkout.session.completed");
    // Stripe can send the same event more than once, and two event types fulfil a session:
    // half the deliveries repeat the real event, half are distinct events about the same session.
    const deliveries = Array.from({ length: 20 }, (_, i) =>
      i % 2 === 0
        ? real
        : ({
            ...real,
            id: `${real.id}_copy${i}`,
            type: i % 4 === 1 ? "checkout.session.async_payment_succeeded" : real.type,
          } as Stripe.Event),
    );

    const webhookCalls = () => deliveries.map((event) => () => deliver(mp.ctx, event));
    const directCalls: (() => Promise<FulfillResult>)[] = [
      () => fulfillCheckoutSession(session.id, "success_page"),
      () => fulfillCheckoutSession(session.id, "manual"),
    ];

    let webhookResults: { status: number; outcome?: string }[];
    let directResults: FulfillResult[];
    if (testDbKind() === "postgres") {
      const all = await Promise.all([
        ...webhookCalls().map((f) => f()),
        ...directCalls.map((f) => f()),
      ]);
      webhookResults = all.slice(0, 20) as typeof webhookResults;
      directResults = all.slice(20) as FulfillResult[];
    } else {
      webhookResults = [];
      for (const f of webhookCalls().slice(0, 6)) webhookResults.push(await f());
      directResults = [];
      for (const f of directCalls) directResults.push(await f());
    }

    expect(webhookResults.every((r) => r.status === 200)).toBe(true);
    expect(
      webhookResults.every((r) => r.outcome === "processed" || r.outcome === "duplicate"),
    ).toBe(true);
    expect(
      directResults.every((r) => r.outcome === "credited" || r.outcome === "already_credited"),
    ).toBe(true);

    const entries = await getDb().ledgerEntry.findMany({ where: { userId: user.id } });
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      kind: "purchase",
      delta: 250,
      idempotencyKey: `checkout:${session.id}`,
    });
    expect(await getDb().purchase.count({ where: { checkoutSessionId: session.id } })).toBe(1);
    expect(await balanceOf(user.id)).toBe(250);
    const purchases = await getDb().dailyRollup.aggregate({
      _sum: { purchases: true },
      where: { currency: "usd" },
    });
    expect(purchases._sum.purchases).toBe(1);
    expect((await verifyLedger()).violations).toEqual([]);
    // No event was left failed by the race.
    expect(await getDb().stripeEvent.count({ where: { status: "failed" } })).toBe(0);
  });
});

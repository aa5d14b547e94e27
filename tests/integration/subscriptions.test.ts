import type Stripe from "stripe";
import { beforeAll, describe, expect, it } from "vitest";
import { getDb } from "../../app/services/infra/db.server";
import { syncPacks } from "../../app/services/packs.server";
import { applySubscription } from "../../app/services/subscriptions.server";
import {
  createPrice,
  createUser,
  deliver,
  eventsFor,
  paidSession,
  uid,
  useMoneyPath,
} from "../support/money-path";
import { useTestDatabase } from "../support/test-database";

useTestDatabase();
const mp = useMoneyPath();

let proMonthly: string;
let businessMonthly: string;
let proPack: string;
beforeAll(async () => {
  proMonthly = (
    await createPrice(mp.ctx.stripe, {
      credits: null,
      tier: "pro",
      recurring: true,
      unitAmount: 2000,
    })
  ).id;
  businessMonthly = (
    await createPrice(mp.ctx.stripe, {
      credits: null,
      tier: "business",
      recurring: true,
      unitAmount: 5000,
    })
  ).id;
  proPack = (await createPrice(mp.ctx.stripe, { credits: 10, tier: "pro" })).id;
  await syncPacks();
});

const tierOf = async (userId: string) =>
  (await getDb().user.findUniqueOrThrow({ where: { id: userId } })).tierCode;

async function subscribe(userId: string, priceId = proMonthly, metadata?: Record<string, string>) {
  const session = await paidSession(mp.ctx, {
    priceId,
    mode: "subscription",
    clientReferenceId: userId,
    email: `${userId}@example.com`,
    subscriptionMetadata: metadata,
  });
  const full = await mp.ctx.stripe.checkout.sessions.retrieve(session.id);
  lastSessionId = session.id;
  return full.subscription as string;
}
let lastSessionId = "";

async function deliverAll(objectId: string, type: string) {
  const outcomes: unknown[] = [];
  for (const event of await eventsFor(mp.ctx.stripe, objectId, type))
    outcomes.push((await deliver(mp.ctx, event)).outcome);
  return outcomes;
}

describe("subscriptions", () => {
  it("grants the price's tier on creation, upgrades on update and drops to free on cancellation", async () => {
    const user = await createUser();
    const subId = await subscribe(user.id, proMonthly, { user_id: user.id });
    expect(await deliverAll(subId, "customer.subscription.created")).toEqual(["processed"]);
    expect(await tierOf(user.id)).toBe("pro");
    const row = await getDb().subscription.findUniqueOrThrow({ where: { id: subId } });
    expect(row).toMatchObject({
      userId: user.id,
      status: "active",
      tierCode: "pro",
      priceId: proMonthly,
    });

    // The checkout event of a subscription session credits nothing but is processed.
    expect(await deliverAll(lastSessionId, "checkout.session.completed")).toEqual(["processed"]);
    expect(await getDb().purchase.count({ where: { checkoutSessionId: lastSessionId } })).toBe(0);
    expect((await getDb().user.findUniqueOrThrow({ where: { id: user.id } })).balance).toBe(0);

    const sub = await mp.ctx.stripe.subscriptions.retrieve(subId);
    await mp.ctx.stripe.subscriptions.update(subId, {
      items: [{ id: sub.items.data[0].id, price: businessMonthly }],
    });
    expect(await deliverAll(subId, "customer.subscription.updated")).toContain("processed");
    expect(await tierOf(user.id)).toBe("business");

    await mp.ctx.emu.control.cancelSubscription(subId);
    expect(await deliverAll(subId, "customer.subscription.deleted")).toEqual(["processed"]);
    expect(await tierOf(user.id)).toBe("free");
    expect((await getDb().subscription.findUniqueOrThrow({ where: { id: subId } })).status).toBe(
      "canceled",
    );
    const changes = await getDb().tierChange.findMany({
      where: { userId: user.id },
      orderBy: { createdAt: "asc" },
    });
    expect(changes.map((c) => [c.fromTier, c.toTier, c.source])).toEqual([
      ["free", "pro", "subscription"],
      ["pro", "business", "subscription"],
      ["business", "free", "subscription"],
    ]);
  });

  it("resolves the user through the Checkout Session when the subscription has no metadata", async () => {
    const user = await createUser();
    const subId = await subscribe(user.id);
    await deliverAll(subId, "customer.subscription.created");
    expect(await tierOf(user.id)).toBe("pro");
    // The customer id is remembered, so later events resolve by it.
    expect(
      (await getDb().user.findUniqueOrThrow({ where: { id: user.id } })).stripeCustomerId,
    ).toMatch(/^cus_/);
  });

  it("ends up in the right state when deleted is delivered before created and updated", async () => {
    const user = await createUser();
    const subId = await subscribe(user.id, proMonthly, { user_id: user.id });
    const sub = await mp.ctx.stripe.subscriptions.retrieve(subId);
    await mp.ctx.stripe.subscriptions.update(subId, {
      items: [{ id: sub.items.data[0].id, price: businessMonthly }],
    });
    await mp.ctx.emu.control.cancelSubscription(subId);
    await deliverAll(subId, "customer.subscription.deleted");
    await deliverAll(subId, "customer.subscription.updated");
    await deliverAll(subId, "customer.subscription.created");
    expect(await tierOf(user.id)).toBe("free");
    expect((await getDb().subscription.findUniqueOrThrow({ where: { id: subId } })).status).toBe(
      "canceled",
    );
  });

  it("ignores an older unrefreshed subscription state (reordering guard)", async () => {
    const user = await createUser();
    const subId = await subscribe(user.id, proMonthly, { user_id: user.id });
    const current = await mp.ctx.stripe.subscriptions.retrieve(subId);
    const now = new Date();
    const applied = await applySubscription(
      { ...current, status: "canceled" } as Stripe.Subscription,
      { eventCreated: now, refresh: false },
    );
    expect(applied.outcome).toBe("applied");
    const older = await applySubscription(current, {
      eventCreated: new Date(now.getTime() - 60_000),
      refresh: false,
    });
    expect(older.outcome).toBe("stale");
    expect((await getDb().subscription.findUniqueOrThrow({ where: { id: subId } })).status).toBe(
      "canceled",
    );
    expect(await tierOf(user.id)).toBe("free");
  });

  it("keeps a tier a pack purchase granted when the subscription ends", async () => {
    const user = await createUser();
    const pack = await paidSession(mp.ctx, { priceId: proPack, clientReferenceId: user.id });
    await deliverAll(pack.id, "checkout.session.completed");
    expect(await tierOf(user.id)).toBe("pro");
    const subId = await subscribe(user.id, businessMonthly, { user_id: user.id });
    await deliverAll(subId, "customer.subscription.created");
    expect(await tierOf(user.id)).toBe("business");
    await mp.ctx.emu.control.cancelSubscription(subId);
    await deliverAll(subId, "customer.subscription.deleted");
    expect(await tierOf(user.id)).toBe("pro");
  });

  it("raises unmatched_user (200 needs_attention) when no user owns the subscription", async () => {
    const customer = await mp.ctx.stripe.customers.create({ email: `${uid()}@stranger.example` });
    const sub = await mp.ctx.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: proMonthly }],
    });
    const outcomes = await deliverAll(sub.id, "customer.subscription.created");
    expect(outcomes).toEqual(["needs_attention"]);
    const item = await getDb().attentionItem.findFirstOrThrow({
      where: { dedupeKey: `unmatched_user:${sub.id}` },
    });
    expect(item).toMatchObject({ kind: "unmatched_user", status: "open" });
    expect(await getDb().subscription.count({ where: { id: sub.id } })).toBe(0);
  });
});

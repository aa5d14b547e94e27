import { getDb } from "~/services/infra/db.server";

// Commands (the sync from Stripe) live in services/admin/packs-tiers.server.ts.

/** At most this many packs on the page (active first); an account with more is told so. */
export const PACKS_LIMIT = 100;

/**
 * The packs page: mirrored Stripe prices (active first, inactive greyed), when they were last
 * synced, the tiers with how many users hold each, and what grants each tier (one-time packs,
 * subscription prices, manual changes by staff).
 */
export async function presentPacks() {
  const db = getDb();
  const [packs, total, lastSync, tiers, userCounts, subscriptionCounts] = await Promise.all([
    db.creditPack.findMany({
      orderBy: [{ active: "desc" }, { unitAmount: "asc" }, { credits: "asc" }, { id: "asc" }],
      take: PACKS_LIMIT,
      select: {
        id: true,
        stripePriceId: true,
        stripeProductId: true,
        name: true,
        credits: true,
        unitAmount: true,
        currency: true,
        priceType: true,
        grantsTier: true,
        creditsExpireDays: true,
        expiryProblem: true,
        creditsRollover: true,
        active: true,
        lastSyncedAt: true,
        _count: { select: { purchases: true } },
      },
    }),
    db.creditPack.count(),
    db.creditPack.aggregate({ _max: { lastSyncedAt: true } }),
    db.tier.findMany({
      orderBy: { rank: "asc" },
      select: { code: true, name: true, rank: true, isDefault: true },
    }),
    db.user.groupBy({ by: ["tierCode"], _count: { _all: true } }),
    db.subscription.groupBy({
      by: ["tierCode", "priceId"],
      where: { status: { in: ["active", "trialing"] }, tierCode: { not: null } },
      _count: { _all: true },
      orderBy: [{ tierCode: "asc" }, { priceId: "asc" }],
      take: PACKS_LIMIT,
    }),
  ]);
  const usersByTier = new Map(userCounts.map((r) => [r.tierCode, r._count._all]));
  return {
    packs: packs.map(({ _count, ...p }) => ({ ...p, purchases: _count.purchases })),
    morePacks: Math.max(0, total - packs.length),
    lastSyncedAt: lastSync._max.lastSyncedAt,
    tiers: tiers.map((t) => ({
      ...t,
      users: usersByTier.get(t.code) ?? 0,
      /** Subscription prices (metadata.tier) that currently hold users on this tier. */
      subscriptionPrices: subscriptionCounts
        .filter((r) => r.tierCode === t.code)
        .map((r) => ({ priceId: r.priceId, active: r._count._all })),
      grantedBy: {
        packs: packs
          .filter((p) => p.grantsTier === t.code && p.priceType !== "recurring")
          .map((p) => ({ id: p.id, name: p.name, active: p.active })),
        subscriptions: packs
          .filter((p) => p.grantsTier === t.code && p.priceType === "recurring")
          .map((p) => ({ id: p.id, name: p.name, active: p.active })),
      },
    })),
  };
}

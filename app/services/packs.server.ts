import type Stripe from "stripe";
import type { CreditPack } from "~/generated/prisma/client";
import { getDb } from "./infra/db.server";
import { logger } from "./infra/logger.server";
import { getStripe } from "./infra/stripe-client.server";

/**
 * Credit packs mirror the Stripe prices that carry `metadata.credits` (credits per unit) and,
 * optionally, `metadata.tier` (the tier buying it grants). Stripe stays the source of truth for
 * prices; the mirror only lets fulfillment map a price id to credits without an API call.
 */

export interface PackSyncReport {
  created: string[];
  updated: string[];
  deactivated: string[];
  unchanged: number;
  /** Prices that carry metadata.credits but could not be mirrored, with why. */
  errors: { priceId: string; error: string }[];
  pricesSeen: number;
}

interface MirroredFields {
  stripeProductId: string;
  name: string;
  credits: number;
  unitAmount: number;
  currency: string;
  priceType: string;
  grantsTier: string | null;
  creditsExpireDays: number | null;
  expiryProblem: string | null;
  creditsRollover: boolean;
  active: boolean;
}

/** metadata.credits must be a positive whole number written as digits. */
export function parseCreditsMetadata(value: string | undefined | null): number | null {
  if (value === undefined || value === null) return null;
  const trimmed = value.trim();
  if (!/^\d{1,9}$/.test(trimmed)) return null;
  const n = Number(trimmed);
  return n > 0 ? n : null;
}

/**
 * metadata.credits_expire_days: a positive whole number of days (at most 36,500), or absent
 * (never expires). Anything else is a problem to show on the packs page, and the pack's credits
 * are treated as never expiring — a bad value never stops a purchase from being credited.
 */
export function parseExpireDaysMetadata(value: string | undefined | null): {
  days: number | null;
  problem: string | null;
} {
  if (value === undefined || value === null || value.trim() === "")
    return { days: null, problem: null };
  const trimmed = value.trim();
  if (/^\d{1,5}$/.test(trimmed) && Number(trimmed) > 0 && Number(trimmed) <= 36_500)
    return { days: Number(trimmed), problem: null };
  return {
    days: null,
    problem: `metadata.credits_expire_days "${value}" is not a whole number of days from 1 to 36500; the pack's credits never expire until it is fixed`,
  };
}

function productOf(price: Stripe.Price): { id: string; name: string | null; active: boolean } {
  const p = price.product;
  if (typeof p === "string") return { id: p, name: null, active: true };
  if ("deleted" in p && p.deleted) return { id: p.id, name: null, active: false };
  const product = p as Stripe.Product;
  return { id: product.id, name: product.name, active: product.active };
}

function mirrorOf(price: Stripe.Price, credits: number, tier: string | null): MirroredFields {
  const product = productOf(price);
  const expiry = parseExpireDaysMetadata(price.metadata?.credits_expire_days);
  const base = product.name ?? price.nickname ?? price.id;
  return {
    stripeProductId: product.id,
    name: price.nickname && product.name ? `${product.name} (${price.nickname})` : base,
    credits,
    unitAmount: price.unit_amount ?? 0,
    currency: price.currency,
    priceType: price.type,
    grantsTier: tier,
    creditsExpireDays: expiry.days,
    expiryProblem: expiry.problem,
    creditsRollover: price.metadata?.credits_rollover?.trim().toLowerCase() === "true",
    active: price.active && product.active,
  };
}

function differs(pack: CreditPack, m: MirroredFields): boolean {
  return (
    pack.stripeProductId !== m.stripeProductId ||
    pack.name !== m.name ||
    pack.credits !== m.credits ||
    pack.unitAmount !== m.unitAmount ||
    pack.currency !== m.currency ||
    pack.priceType !== m.priceType ||
    pack.grantsTier !== m.grantsTier ||
    pack.creditsExpireDays !== m.creditsExpireDays ||
    pack.expiryProblem !== m.expiryProblem ||
    pack.creditsRollover !== m.creditsRollover ||
    pack.active !== m.active
  );
}

async function runSync(): Promise<PackSyncReport> {
  try {
    return await mirrorPrices();
  } finally {
    packCache.clear();
  }
}

async function mirrorPrices(): Promise<PackSyncReport> {
  const db = getDb();
  const stripe = getStripe();
  const report: PackSyncReport = {
    created: [],
    updated: [],
    deactivated: [],
    unchanged: 0,
    errors: [],
    pricesSeen: 0,
  };
  const tiers = new Set((await db.tier.findMany({ select: { code: true } })).map((t) => t.code));
  const existing = new Map((await db.creditPack.findMany()).map((p) => [p.stripePriceId, p]));
  const mirrored = new Set<string>();
  const now = new Date();

  // No `active` filter: inactive prices are listed too, so their packs get deactivated.
  for await (const price of stripe.prices.list({ limit: 100, expand: ["data.product"] })) {
    report.pricesSeen += 1;
    const raw = price.metadata?.credits;
    if (raw === undefined) continue;
    const credits = parseCreditsMetadata(raw);
    if (credits === null) {
      report.errors.push({
        priceId: price.id,
        error: `metadata.credits "${raw}" is not a positive whole number`,
      });
      continue;
    }
    if (price.unit_amount === null || price.unit_amount === undefined) {
      report.errors.push({
        priceId: price.id,
        error: "price has no fixed unit_amount (tiered or customer-chosen prices are not packs)",
      });
      continue;
    }
    const tierRaw = price.metadata?.tier?.trim() || null;
    if (tierRaw !== null && !tiers.has(tierRaw)) {
      report.errors.push({
        priceId: price.id,
        error: `metadata.tier "${tierRaw}" is not a known tier (${[...tiers].join(", ")})`,
      });
      continue;
    }
    const m = mirrorOf(price, credits, tierRaw);
    mirrored.add(price.id);
    const pack = existing.get(price.id);
    if (!pack) {
      // Upsert: a concurrent sync (fulfillment of an unknown price) may have created it already.
      await db.creditPack.upsert({
        where: { stripePriceId: price.id },
        create: { stripePriceId: price.id, ...m, lastSyncedAt: now },
        update: { ...m, lastSyncedAt: now },
      });
      report.created.push(price.id);
    } else if (differs(pack, m)) {
      await db.creditPack.update({ where: { id: pack.id }, data: { ...m, lastSyncedAt: now } });
      if (pack.active && !m.active) report.deactivated.push(price.id);
      else report.updated.push(price.id);
    } else {
      await db.creditPack.update({ where: { id: pack.id }, data: { lastSyncedAt: now } });
      report.unchanged += 1;
    }
  }

  // Packs whose price lost metadata.credits (or vanished from the account) stop being sold.
  for (const pack of existing.values()) {
    if (mirrored.has(pack.stripePriceId) || !pack.active) continue;
    if (report.errors.some((e) => e.priceId === pack.stripePriceId)) continue;
    await db.creditPack.update({
      where: { id: pack.id },
      data: { active: false, lastSyncedAt: now },
    });
    report.deactivated.push(pack.stripePriceId);
  }
  logger.info(
    {
      created: report.created.length,
      updated: report.updated.length,
      deactivated: report.deactivated.length,
      errors: report.errors.length,
    },
    "credit packs synced",
  );
  return report;
}

// One sync at a time per process: a burst of webhooks for a new price shares one Stripe listing.
let inFlight: Promise<PackSyncReport> | null = null;

/** Mirror Stripe prices into CreditPack; returns what changed. */
export function syncPacks(): Promise<PackSyncReport> {
  inFlight ??= runSync().finally(() => {
    inFlight = null;
  });
  return inFlight;
}

/** Packs on sale, cheapest first. */
export function listActivePacks(): Promise<CreditPack[]> {
  return getDb().creditPack.findMany({
    where: { active: true },
    orderBy: [{ unitAmount: "asc" }, { credits: "asc" }],
  });
}

// Fulfillment looks packs up on every purchase; they change rarely. A cached pack that went stale
// is caught anyway: fulfillment compares it with the price Stripe returns and re-syncs on a
// difference, and every sync clears the cache. Misses are not cached (a new price must be seen).
const PACK_CACHE_MS = 30_000;
const packCache = new Map<string, { pack: CreditPack; at: number }>();

/** The mirrored packs for these prices (active or not: a paid session for a retired price still counts). */
export async function findPacksByPriceIds(priceIds: string[]): Promise<Map<string, CreditPack>> {
  const found = new Map<string, CreditPack>();
  const now = Date.now();
  const missing: string[] = [];
  for (const id of priceIds) {
    const hit = packCache.get(id);
    if (hit && now - hit.at < PACK_CACHE_MS) found.set(id, hit.pack);
    else missing.push(id);
  }
  if (missing.length === 0) return found;
  const packs = await getDb().creditPack.findMany({ where: { stripePriceId: { in: missing } } });
  for (const pack of packs) {
    packCache.set(pack.stripePriceId, { pack, at: now });
    found.set(pack.stripePriceId, pack);
  }
  return found;
}

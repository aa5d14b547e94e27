import type { TierChangeSource } from "~/generated/prisma/enums";
import type { Tx } from "./infra/db.server";
import { NotFoundError, ValidationError } from "./errors.server";

/**
 * What grants a tier (the rule every recomputation applies):
 *   effective tier = the highest-ranked of
 *     - the tier of each subscription whose status is `active` or `trialing`
 *       (from the subscribed price's `metadata.tier`),
 *     - the tier of each credit pack bought in a purchase that is still in good standing
 *       (`paid`, `partially_refunded` or `disputed` — an open dispute may still be won),
 *     - the default tier (Free).
 * Consequences: a full refund (`refunded`) or a lost dispute (`dispute_lost`) of the purchase that
 * granted a tier removes that grant and the tier is recomputed; a partial refund keeps it.
 * Cancelling a subscription drops to whatever else still grants a tier. A manual change made by
 * staff stands until the next event that recomputes (subscription change, refund, dispute).
 * A purchase only ever raises the tier (it never lowers a higher manual or subscription tier).
 */

const GOOD_STANDING = ["paid", "partially_refunded", "disputed"] as const;
const ACTIVE_SUBSCRIPTION = ["active", "trialing"] as const;

export interface TierChangeOptions {
  source: TierChangeSource;
  staffId?: string | null;
  /** Stripe object or purchase that caused it. */
  sourceRef?: string | null;
  reason?: string | null;
}

export interface TierChangeResult {
  changed: boolean;
  from: string;
  to: string;
}

/** Set a user's tier; writes a TierChange row only when the tier actually changes. */
export async function setUserTier(
  tx: Tx,
  userId: string,
  toTier: string,
  opts: TierChangeOptions,
): Promise<TierChangeResult> {
  const rows = await tx.$queryRaw<
    { tier_code: string }[]
  >`SELECT tier_code FROM users WHERE id = ${userId} FOR UPDATE`;
  if (rows.length === 0) throw new NotFoundError("User", userId, "userId");
  const from = rows[0].tier_code;
  if (from === toTier) return { changed: false, from, to: toTier };
  const tier = await tx.tier.findUnique({ where: { code: toTier }, select: { code: true } });
  if (!tier) throw new ValidationError(`tier "${toTier}" does not exist.`, "tier");
  await tx.user.update({ where: { id: userId }, data: { tierCode: toTier } });
  await tx.tierChange.create({
    data: {
      userId,
      fromTier: from,
      toTier,
      source: opts.source,
      staffId: opts.staffId ?? null,
      sourceRef: opts.sourceRef ?? null,
      reason: opts.reason ?? null,
    },
  });
  return { changed: true, from, to: toTier };
}

export async function getDefaultTier(tx: Tx): Promise<string> {
  const tier = await tx.tier.findFirst({
    where: { isDefault: true },
    orderBy: { rank: "asc" },
    select: { code: true },
  });
  if (tier) return tier.code;
  const lowest = await tx.tier.findFirst({ orderBy: { rank: "asc" }, select: { code: true } });
  if (!lowest) throw new Error("No tiers are defined.");
  return lowest.code;
}

/** The tier the rule above gives this user right now. */
export async function computeEffectiveTier(tx: Tx, userId: string): Promise<string> {
  const rows = await tx.$queryRaw<{ code: string }[]>`
    SELECT t.code FROM tiers t
    WHERE t.code IN (
      SELECT s.tier_code FROM subscriptions s
        WHERE s.user_id = ${userId} AND s.tier_code IS NOT NULL AND s.status = ANY(${[...ACTIVE_SUBSCRIPTION]}::text[])
      UNION
      SELECT cp.grants_tier FROM purchases p JOIN credit_packs cp ON cp.id = p.pack_id
        WHERE p.user_id = ${userId} AND cp.grants_tier IS NOT NULL
          AND p.status::text = ANY(${[...GOOD_STANDING]}::text[])
    )
    ORDER BY t.rank DESC LIMIT 1`;
  return rows[0]?.code ?? getDefaultTier(tx);
}

/** Recompute after something that may remove a grant (refund, dispute, subscription change). */
export async function recomputeUserTier(
  tx: Tx,
  userId: string,
  opts: TierChangeOptions,
): Promise<TierChangeResult> {
  return setUserTier(tx, userId, await computeEffectiveTier(tx, userId), opts);
}

/** A purchase grants its pack's tier only if that is higher than what the user has. */
export async function raiseUserTier(
  tx: Tx,
  userId: string,
  toTier: string,
  opts: TierChangeOptions,
): Promise<TierChangeResult> {
  const rows = await tx.$queryRaw<
    { current: string; current_rank: number; target_rank: number | null }[]
  >`
    SELECT u.tier_code AS current, cur.rank AS current_rank,
      (SELECT rank FROM tiers WHERE code = ${toTier}) AS target_rank
    FROM users u JOIN tiers cur ON cur.code = u.tier_code WHERE u.id = ${userId}`;
  const row = rows[0];
  if (!row) throw new NotFoundError("User", userId, "userId");
  if (row.target_rank === null)
    throw new ValidationError(`tier "${toTier}" does not exist.`, "tier");
  if (row.target_rank <= row.current_rank)
    return { changed: false, from: row.current, to: row.current };
  return setUserTier(tx, userId, toTier, opts);
}

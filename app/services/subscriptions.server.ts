import Stripe from "stripe";
import type { Subscription } from "~/generated/prisma/client";
import { attentionKeys, raiseAttention } from "./attention.server";
import { stripeId } from "./charge-purchase.server";
import { getDb } from "./infra/db.server";
import { isUniqueViolation } from "./errors.server";
import { logger } from "./infra/logger.server";
import { getStripe } from "./infra/stripe-client.server";
import { recomputeUserTier, type TierChangeResult } from "./tiers.server";

/**
 * Subscriptions grant a tier from their price's `metadata.tier` while `active` or `trialing`;
 * any other status (canceled, unpaid, past_due, incomplete, paused) grants nothing and the user's
 * tier is recomputed (tiers.server.ts: the highest remaining grant, else the default tier).
 * Stripe may deliver subscription events out of order: the webhook path re-reads the subscription
 * from Stripe and applies its current state, so order does not matter; a subscription object
 * handed in without a refresh is applied only if no newer event was (stripeUpdatedAt).
 */

const GRANTING = new Set(["active", "trialing"]);
const TERMINAL = new Set(["canceled", "incomplete_expired"]);

export type SubscriptionResult =
  | { outcome: "applied"; subscription: Subscription; tier: TierChangeResult }
  | { outcome: "stale"; subscription: Subscription }
  | { outcome: "unmatched_user"; attentionItemId: string; detail: string };

async function resolveUserId(
  sub: Stripe.Subscription,
): Promise<{ userId: string; viaCustomer: boolean; hasCustomer: boolean } | null> {
  const db = getDb();
  const existing = await db.subscription.findUnique({
    where: { id: sub.id },
    select: { userId: true },
  });
  if (existing) return { userId: existing.userId, viaCustomer: false, hasCustomer: true };
  const customerId = stripeId(sub.customer as string | { id: string });
  if (customerId) {
    const byCustomer = await db.user.findUnique({
      where: { stripeCustomerId: customerId },
      select: { id: true },
    });
    if (byCustomer) return { userId: byCustomer.id, viaCustomer: true, hasCustomer: true };
  }
  const metaUser = sub.metadata?.user_id?.trim();
  if (metaUser) {
    const byMeta = await db.user.findUnique({
      where: { id: metaUser },
      select: { id: true, stripeCustomerId: true },
    });
    if (byMeta)
      return {
        userId: byMeta.id,
        viaCustomer: false,
        hasCustomer: Boolean(byMeta.stripeCustomerId),
      };
  }
  // Started through Checkout: the session carries the app's user id even when the subscription
  // does not (its created event usually arrives before checkout.session.completed).
  const sessions = await getStripe().checkout.sessions.list({ subscription: sub.id, limit: 1 });
  const session = sessions.data[0];
  for (const candidate of [session?.client_reference_id, session?.metadata?.user_id]) {
    const id = candidate?.trim();
    if (!id) continue;
    const user = await db.user.findUnique({
      where: { id },
      select: { id: true, stripeCustomerId: true },
    });
    if (user)
      return { userId: user.id, viaCustomer: false, hasCustomer: Boolean(user.stripeCustomerId) };
  }
  return null;
}

/** Stripe's current state of the subscription; the event's copy may be older than another event's. */
async function currentState(sub: Stripe.Subscription): Promise<Stripe.Subscription> {
  try {
    return await getStripe().subscriptions.retrieve(sub.id);
  } catch (error) {
    if (error instanceof Stripe.errors.StripeInvalidRequestError && error.statusCode === 404)
      return sub;
    throw error;
  }
}

/** The highest-ranked known tier named by the subscription's prices. */
async function tierOf(
  sub: Stripe.Subscription,
): Promise<{ tier: string | null; priceId: string | null }> {
  const prices = sub.items.data.map((i) => i.price).filter(Boolean);
  const named = [
    ...new Set(prices.map((p) => p.metadata?.tier?.trim()).filter((t): t is string => Boolean(t))),
  ];
  const priceId = prices[0]?.id ?? null;
  if (named.length === 0) return { tier: null, priceId };
  const tiers = await getDb().tier.findMany({
    where: { code: { in: named } },
    orderBy: { rank: "desc" },
  });
  if (tiers.length === 0) {
    logger.warn(
      { subscriptionId: sub.id, tiers: named },
      "subscription price names an unknown tier",
    );
    return { tier: null, priceId };
  }
  const best = tiers[0];
  return {
    tier: best.code,
    priceId: prices.find((p) => p.metadata?.tier?.trim() === best.code)?.id ?? priceId,
  };
}

function periodEnd(sub: Stripe.Subscription): Date | null {
  const ends = sub.items.data
    .map((i) => i.current_period_end)
    .filter((n): n is number => typeof n === "number");
  return ends.length ? new Date(Math.max(...ends) * 1000) : null;
}

/**
 * Apply customer.subscription.created / updated / deleted. `eventCreated` orders deliveries;
 * reconciliation (no event) passes the time it fetched the subscription.
 */
export async function applySubscription(
  input: Stripe.Subscription,
  opts: { eventCreated: Date; stripeEventId?: string; refresh?: boolean },
): Promise<SubscriptionResult> {
  const db = getDb();
  // Refreshed state is current whatever order events arrive in, so it is always applied; an
  // unrefreshed copy (reconciliation hands one in) is only applied if no newer event was.
  const refreshed = opts.refresh !== false;
  const sub = refreshed ? await currentState(input) : input;
  const user = await resolveUserId(sub);
  const customerId = stripeId(sub.customer as string | { id: string });
  if (!user) {
    const detail = `No user for subscription ${sub.id}: customer=${customerId ?? "(none)"}, metadata.user_id=${sub.metadata?.user_id ?? "(none)"}.`;
    const attention = await raiseAttention({
      kind: "unmatched_user",
      dedupeKey: attentionKeys.unmatchedUser(sub.id),
      title: `Subscription ${sub.id} matches no user`,
      detail: `${detail} Its tier was not applied.`,
      stripeEventId: opts.stripeEventId ?? null,
      data: { subscriptionId: sub.id, customerId, status: sub.status },
    });
    return { outcome: "unmatched_user", attentionItemId: attention.id, detail };
  }
  const { tier, priceId } = await tierOf(sub);
  const fields = {
    userId: user.userId,
    stripeCustomerId: customerId,
    status: sub.status,
    priceId,
    tierCode: GRANTING.has(sub.status) ? tier : null,
    currentPeriodEnd: periodEnd(sub),
    canceledAt: sub.canceled_at
      ? new Date(sub.canceled_at * 1000)
      : sub.ended_at
        ? new Date(sub.ended_at * 1000)
        : null,
    stripeUpdatedAt: opts.eventCreated,
  };
  const keepNewest = (current: Date | undefined) => ({
    ...fields,
    stripeUpdatedAt: current && current > opts.eventCreated ? current : opts.eventCreated,
  });
  const run = () =>
    db.$transaction(async (tx): Promise<SubscriptionResult> => {
      const locked = await tx.$queryRaw<{ stripe_updated_at: Date; status: string }[]>`
        SELECT stripe_updated_at, status FROM subscriptions WHERE id = ${sub.id} FOR UPDATE`;
      const current = locked[0];
      if (current) {
        const older = current.stripe_updated_at.getTime() > opts.eventCreated.getTime();
        // Same second (Stripe's resolution): a terminal state is not undone by a sibling event.
        const sameSecondRevival =
          current.stripe_updated_at.getTime() === opts.eventCreated.getTime() &&
          TERMINAL.has(current.status) &&
          !TERMINAL.has(sub.status);
        if (!refreshed && (older || sameSecondRevival)) {
          return {
            outcome: "stale",
            subscription: await tx.subscription.findUniqueOrThrow({ where: { id: sub.id } }),
          };
        }
      }
      const subscription = current
        ? await tx.subscription.update({
            where: { id: sub.id },
            data: keepNewest(current.stripe_updated_at),
          })
        : await tx.subscription.create({ data: { id: sub.id, ...fields } });
      const tierResult = await recomputeUserTier(tx, user.userId, {
        source: "subscription",
        sourceRef: sub.id,
        reason: `Subscription ${sub.status}`,
      });
      return { outcome: "applied", subscription, tier: tierResult };
    });
  let result: SubscriptionResult;
  try {
    result = await run();
  } catch (error) {
    // Two first events for one subscription at once: the loser re-runs and sees the row.
    if (!isUniqueViolation(error)) throw error;
    result = await run();
  }
  if (result.outcome === "applied" && !user.hasCustomer && customerId) {
    try {
      await db.$executeRaw`
        UPDATE users SET stripe_customer_id = ${customerId}, updated_at = now()
        WHERE id = ${user.userId} AND stripe_customer_id IS NULL
          AND NOT EXISTS (SELECT 1 FROM users WHERE stripe_customer_id = ${customerId})`;
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
    }
  }
  return result;
}

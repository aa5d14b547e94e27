import type Stripe from "stripe";
import { monthRange } from "~/shared/report-time";
import { getDb } from "../infra/db.server";
import { reportZone } from "../infra/env.server";
import { logger, scrubSecrets } from "../infra/logger.server";
import { getStripe } from "../infra/stripe-client.server";

/**
 * "Compare with Stripe" for a month (issue 21): Stripe's paid Checkout Sessions and refunds of the
 * month, from the list API (100 a page, auto-paginated, created ranges), item by item against
 * creditdesk's purchases (by paid time) and refunds (by their created). Read only.
 *
 * A session's `created` is when Checkout opened; it is paid at most 24 hours later (sessions
 * expire then), so sessions are listed from a day before the month and kept when their charge was
 * created in the month (docs/finance.md). Delayed (async) payments settled later than that are
 * outside this window.
 */

const SESSION_LIFETIME_S = 24 * 3600;

export interface CompareDifference {
  kind: "session" | "refund";
  id: string;
  /** missing_here: in Stripe, not in creditdesk; missing_in_stripe: the other way; mismatch: both, different. */
  problem: "missing_here" | "missing_in_stripe" | "mismatch";
  stripeAmount: number | null;
  ourAmount: number | null;
  currency: string;
  detail: string;
}

export type StripeComparison =
  | {
      ok: true;
      month: string;
      sessions: { stripe: number; here: number };
      refunds: { stripe: number; here: number };
      differences: CompareDifference[];
      requests: number;
    }
  | { ok: false; month: string; error: string };

function paidTime(s: Stripe.Checkout.Session): number {
  const pi = s.payment_intent;
  if (pi && typeof pi === "object" && pi.latest_charge && typeof pi.latest_charge === "object")
    return pi.latest_charge.created;
  return s.created;
}

export async function compareWithStripe(
  month: string,
  zone = reportZone(),
  stripe: Stripe = getStripe(),
): Promise<StripeComparison> {
  const { start, end } = monthRange(month, zone);
  const gte = Math.floor(start.getTime() / 1000);
  const lt = Math.floor(end.getTime() / 1000);
  let requests = 0;
  const stripeSessions = new Map<string, Stripe.Checkout.Session>();
  const stripeRefunds = new Map<string, Stripe.Refund>();
  try {
    let page: Stripe.ApiList<Stripe.Checkout.Session> | null = null;
    do {
      page = await stripe.checkout.sessions.list({
        status: "complete",
        created: { gte: gte - SESSION_LIFETIME_S, lt },
        limit: 100,
        expand: ["data.payment_intent.latest_charge"],
        ...(page ? { starting_after: page.data[page.data.length - 1].id } : {}),
      });
      requests++;
      for (const s of page.data) {
        if (s.payment_status !== "paid" && s.payment_status !== "no_payment_required") continue;
        if (s.mode !== "payment") continue;
        const t = paidTime(s);
        if (t >= gte && t < lt) stripeSessions.set(s.id, s);
      }
    } while (page.has_more && page.data.length > 0);
    let refunds: Stripe.ApiList<Stripe.Refund> | null = null;
    do {
      refunds = await stripe.refunds.list({
        created: { gte, lt },
        limit: 100,
        ...(refunds ? { starting_after: refunds.data[refunds.data.length - 1].id } : {}),
      });
      requests++;
      for (const r of refunds.data) if (r.status !== "failed") stripeRefunds.set(r.id, r);
    } while (refunds.has_more && refunds.data.length > 0);
  } catch (error) {
    const message = scrubSecrets((error as Error)?.message ?? String(error));
    logger.warn({ month, err: message }, "compare with Stripe: Stripe not reachable");
    return {
      ok: false,
      month,
      error: `Stripe could not be reached (${message}). The rest of the month close is from creditdesk's own records.`,
    };
  }

  const db = getDb();
  const [purchases, refunds] = await Promise.all([
    db.purchase.findMany({
      where: { paidAt: { gte: start, lt: end } },
      select: { checkoutSessionId: true, amountTotal: true, currency: true },
    }),
    db.refund.findMany({
      where: { stripeCreated: { gte: start, lt: end } },
      select: { id: true, amount: true, currency: true },
    }),
  ]);
  // Sessions paid in the month in Stripe may be credited here under another month only if the
  // two disagree on the paid time: look those up by id, so they show as a mismatch, not missing.
  const ours = new Map(purchases.map((p) => [p.checkoutSessionId, p]));
  const elsewhere = [...stripeSessions.keys()].filter((id) => !ours.has(id));
  const otherMonth = elsewhere.length
    ? await db.purchase.findMany({
        where: { checkoutSessionId: { in: elsewhere } },
        select: { checkoutSessionId: true, amountTotal: true, currency: true, paidAt: true },
      })
    : [];
  const otherById = new Map(otherMonth.map((p) => [p.checkoutSessionId, p]));

  const differences: CompareDifference[] = [];
  for (const [id, s] of stripeSessions) {
    const p = ours.get(id);
    const amount = s.amount_total ?? 0;
    const currency = (s.currency ?? "").toLowerCase();
    if (!p) {
      const other = otherById.get(id);
      differences.push({
        kind: "session",
        id,
        problem: other ? "mismatch" : "missing_here",
        stripeAmount: amount,
        ourAmount: other?.amountTotal ?? null,
        currency,
        detail: other
          ? `Paid in this month in Stripe; creditdesk dates it ${other.paidAt.toISOString()}.`
          : "Paid in Stripe, no purchase in creditdesk: run reconciliation or credit it from the user's page.",
      });
    } else if (p.amountTotal !== amount || p.currency !== currency) {
      differences.push({
        kind: "session",
        id,
        problem: "mismatch",
        stripeAmount: amount,
        ourAmount: p.amountTotal,
        currency,
        detail: `Stripe ${amount} ${currency}, creditdesk ${p.amountTotal} ${p.currency}.`,
      });
    }
  }
  for (const p of purchases) {
    if (!stripeSessions.has(p.checkoutSessionId))
      differences.push({
        kind: "session",
        id: p.checkoutSessionId,
        problem: "missing_in_stripe",
        stripeAmount: null,
        ourAmount: p.amountTotal,
        currency: p.currency,
        detail: "A purchase here that Stripe's list of the month's paid sessions does not have.",
      });
  }
  const ourRefunds = new Map(refunds.map((r) => [r.id, r]));
  for (const [id, r] of stripeRefunds) {
    const mine = ourRefunds.get(id);
    if (!mine)
      differences.push({
        kind: "refund",
        id,
        problem: "missing_here",
        stripeAmount: r.amount,
        ourAmount: null,
        currency: r.currency,
        detail: "Refunded in Stripe, not applied here (its charge.refunded event did not arrive).",
      });
    else if (mine.amount !== r.amount)
      differences.push({
        kind: "refund",
        id,
        problem: "mismatch",
        stripeAmount: r.amount,
        ourAmount: mine.amount,
        currency: r.currency,
        detail: `Stripe ${r.amount}, creditdesk ${mine.amount}.`,
      });
  }
  for (const r of refunds) {
    if (!stripeRefunds.has(r.id))
      differences.push({
        kind: "refund",
        id: r.id,
        problem: "missing_in_stripe",
        stripeAmount: null,
        ourAmount: r.amount,
        currency: r.currency,
        detail: "A refund here that Stripe's list of the month's refunds does not have.",
      });
  }
  return {
    ok: true,
    month,
    sessions: { stripe: stripeSessions.size, here: purchases.length },
    refunds: { stripe: stripeRefunds.size, here: refunds.length },
    differences,
    requests,
  };
}

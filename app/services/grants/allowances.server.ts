import type Stripe from "stripe";
import { stripeId } from "../charge-purchase.server";
import { getDb } from "../infra/db.server";
import { getStripe } from "../infra/stripe-client.server";
import { postLedgerEntry } from "../ledger.server";
import { findPacksByPriceIds } from "../packs.server";
import { applySubscription } from "../subscriptions.server";

/**
 * Subscription allowances: a subscription price carrying `metadata.credits` grants that many
 * credits (× quantity) for EACH paid period, on `invoice.paid` — one `grant` entry per invoice line
 * (key `invoice:<in_…>:<line id>`, so a redelivered or reconciled invoice credits once), making a
 * `subscription_period` grant valued at the line's amount, expiring at the end of the billed
 * period unless the price says `metadata.credits_rollover=true`. A new grant never touches the
 * purchased credits. Cancelling stops the invoices, so future allowances stop; the current
 * period's grant stays until it expires.
 *
 * The first period of a subscription bought through Checkout is credited by the Checkout Session
 * itself (fulfillment, a purchase grant, as before allowances existed), so the subscription's
 * first invoice (`billing_reason: subscription_create`) grants nothing when a session started it.
 */

export type AllowanceResult =
  | { outcome: "granted"; userId: string; credits: number; created: number }
  | { outcome: "no_credits"; detail: string; userId?: string }
  | { outcome: "unmatched_user"; detail: string };

function subscriptionIdOf(invoice: Stripe.Invoice): string | null {
  const parent = invoice.parent?.subscription_details?.subscription ?? null;
  if (parent) return stripeId(parent as string | { id: string });
  const line = invoice.lines?.data?.find((l) => l.subscription);
  return line ? stripeId(line.subscription as string | { id: string }) : null;
}

function priceIdOf(line: Stripe.InvoiceLineItem): string | null {
  const price = line.pricing?.price_details?.price ?? null;
  return price ? stripeId(price as string | { id: string }) : null;
}

export async function applyInvoicePaid(
  invoice: Stripe.Invoice,
  opts: { stripeEventId?: string; eventCreated?: Date } = {},
): Promise<AllowanceResult> {
  const subscriptionId = subscriptionIdOf(invoice);
  if (!subscriptionId || !invoice.id)
    return { outcome: "no_credits", detail: "invoice of no subscription: no allowance" };
  const lines = invoice.lines?.data ?? [];
  const packs = await findPacksByPriceIds(
    lines.map(priceIdOf).filter((p): p is string => p !== null),
  );
  const credited = lines
    .map((line) => ({ line, pack: packs.get(priceIdOf(line) ?? "") }))
    .filter((x) => x.pack && x.pack.priceType === "recurring" && x.pack.credits > 0);
  if (credited.length === 0)
    return { outcome: "no_credits", detail: "the invoice's prices carry no credits" };

  if (invoice.billing_reason === "subscription_create") {
    const sessions = await getStripe().checkout.sessions.list({
      subscription: subscriptionId,
      limit: 1,
    });
    if (sessions.data.length > 0)
      return {
        outcome: "no_credits",
        detail: "first period: credited by its Checkout Session",
      };
  }

  const db = getDb();
  let sub = await db.subscription.findUnique({ where: { id: subscriptionId } });
  if (!sub) {
    // invoice.paid may overtake customer.subscription.created: apply the subscription first.
    const fresh = await getStripe().subscriptions.retrieve(subscriptionId);
    const applied = await applySubscription(fresh, {
      eventCreated: opts.eventCreated ?? new Date(),
      stripeEventId: opts.stripeEventId,
    });
    if (applied.outcome === "unmatched_user")
      return { outcome: "unmatched_user", detail: applied.detail };
    sub = applied.subscription;
  }
  let credits = 0;
  let created = 0;
  for (const { line, pack } of credited) {
    const quantity = line.quantity ?? 1;
    const lineCredits = pack!.credits * quantity;
    const periodEnd = line.period?.end ? new Date(line.period.end * 1000) : null;
    const posted = await postLedgerEntry({
      userId: sub.userId,
      delta: lineCredits,
      kind: "grant",
      idempotencyKey: `invoice:${invoice.id}:${line.id}`,
      reason: `Subscription ${subscriptionId} allowance, invoice ${invoice.id}`,
      stripeEventId: opts.stripeEventId ?? null,
      grant: {
        source: "subscription_period",
        amountPaid: Math.max(0, line.amount ?? 0),
        currency: invoice.currency,
        expiresAt: pack!.creditsRollover ? null : periodEnd,
        invoiceId: invoice.id,
        subscriptionId,
      },
    });
    credits += lineCredits;
    if (posted.created) created += 1;
  }
  return { outcome: "granted", userId: sub.userId, credits, created };
}

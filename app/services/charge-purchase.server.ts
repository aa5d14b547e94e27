import type { Purchase } from "~/generated/prisma/client";
import { getDb, type Tx } from "./infra/db.server";
import { purchaseOf } from "./fulfillment-result.server";
import { fulfillCheckoutSession, type FulfillVia } from "./fulfillment.server";
import { getStripe } from "./infra/stripe-client.server";

/**
 * Refunds and disputes arrive keyed by charge / payment intent, purchases by Checkout Session.
 * When the purchase is not there yet (the refund event overtook the checkout event, or the
 * checkout webhook never came), the session is looked up by payment intent and fulfilled first,
 * so money events are never applied to nothing and never lost.
 */
export async function findOrFulfillPurchase(
  ref: { chargeId: string | null; paymentIntentId: string | null },
  opts: { via: FulfillVia; stripeEventId?: string },
): Promise<Purchase | null> {
  const found = await findPurchaseByCharge(getDb(), ref);
  if (found || !ref.paymentIntentId) return found;
  const sessions = await getStripe().checkout.sessions.list({
    payment_intent: ref.paymentIntentId,
    limit: 1,
  });
  const session = sessions.data[0];
  if (!session) return null;
  const result = await fulfillCheckoutSession(session.id, opts.via, {
    stripeEventId: opts.stripeEventId,
  });
  return purchaseOf(result);
}

export async function findPurchaseByCharge(
  client: Tx | ReturnType<typeof getDb>,
  ref: { chargeId: string | null; paymentIntentId: string | null },
): Promise<Purchase | null> {
  const or = [
    ...(ref.chargeId ? [{ chargeId: ref.chargeId }] : []),
    ...(ref.paymentIntentId ? [{ paymentIntentId: ref.paymentIntentId }] : []),
  ];
  if (or.length === 0) return null;
  return client.purchase.findFirst({ where: { OR: or }, orderBy: { createdAt: "asc" } });
}

/** Lock the purchase row so refunds and disputes of one purchase apply one at a time. */
export async function lockPurchase(tx: Tx, purchaseId: string): Promise<Purchase> {
  await tx.$queryRaw`SELECT id FROM purchases WHERE id = ${purchaseId} FOR UPDATE`;
  return tx.purchase.findUniqueOrThrow({ where: { id: purchaseId } });
}

export function stripeId(value: string | { id: string } | null | undefined): string | null {
  if (!value) return null;
  return typeof value === "string" ? value : value.id;
}

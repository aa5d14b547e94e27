import { getDb } from "~/services/infra/db.server";
import { NotFoundError } from "~/services/errors.server";

/**
 * The purchase page's read model (a presenter: reads only). The refund, dispute and fulfillment
 * commands that change a purchase live in app/services/.
 */

/** One line of a Checkout Session as fulfillment stored it in `purchases.lines`. */
export interface PurchaseLine {
  priceId: string;
  quantity: number;
  creditsPerUnit: number;
  credits: number;
  amountTotal: number;
  currency: string;
}

/** `purchases.lines` is JSON: keep only rows shaped like a line. */
export function linesOf(value: unknown): PurchaseLine[] {
  return Array.isArray(value)
    ? (value as PurchaseLine[]).filter((l) => l && typeof l.priceId === "string")
    : [];
}

/**
 * A purchase with everything finance and support ask about it. Each list is capped (40 entries,
 * 20 events, 10 refunds / disputes / attention items) so the page stays under 100 rows.
 */
export async function getPurchaseDetail(id: string) {
  const db = getDb();
  const purchase = await db.purchase.findUnique({
    where: { id },
    include: {
      user: { select: { id: true, email: true, name: true } },
      pack: {
        select: {
          id: true,
          name: true,
          stripePriceId: true,
          credits: true,
          unitAmount: true,
          currency: true,
        },
      },
      refunds: { orderBy: { stripeCreated: "asc" }, take: 10 },
      disputes: { orderBy: { openedAt: "asc" }, take: 10 },
    },
  });
  if (!purchase) throw new NotFoundError("Purchase", id);
  const objectIds = [
    purchase.checkoutSessionId,
    purchase.paymentIntentId,
    purchase.chargeId,
  ].filter((v): v is string => Boolean(v));
  const [entries, events, attention] = await Promise.all([
    db.ledgerEntry.findMany({
      where: { purchaseId: id },
      orderBy: { id: "asc" },
      take: 40,
      select: {
        id: true,
        seq: true,
        delta: true,
        balanceAfter: true,
        kind: true,
        reason: true,
        stripeEventId: true,
        createdAt: true,
        staff: { select: { id: true, email: true, name: true } },
      },
    }),
    db.stripeEvent.findMany({
      where: { OR: [{ purchaseId: id }, { objectId: { in: objectIds } }] },
      orderBy: { receivedAt: "asc" },
      take: 20,
      select: {
        id: true,
        type: true,
        status: true,
        source: true,
        lastError: true,
        receivedAt: true,
      },
    }),
    db.attentionItem.findMany({
      where: { OR: [{ purchaseId: id }, { checkoutSessionId: purchase.checkoutSessionId }] },
      orderBy: { createdAt: "desc" },
      take: 10,
      select: {
        id: true,
        kind: true,
        status: true,
        title: true,
        resolution: true,
        createdAt: true,
      },
    }),
  ]);
  return {
    purchase: { ...purchase, lines: linesOf(purchase.lines) },
    entries: entries.map((e) => ({ ...e, id: e.id.toString() })),
    events,
    attention,
  };
}

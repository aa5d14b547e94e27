import type Stripe from "stripe";
import type { Purchase, Refund } from "~/generated/prisma/client";
import type { PurchaseStatus } from "~/generated/prisma/enums";
import { attentionKeys, raiseAttention } from "./attention.server";
import { writeAudit } from "./audit.server";
import { findOrFulfillPurchase, lockPurchase, stripeId } from "./charge-purchase.server";
import { getDb, type Tx } from "./infra/db.server";
import { getEnv } from "./infra/env.server";
import { isUniqueViolation } from "./errors.server";
import type { FulfillVia } from "./fulfillment.server";
import { postLedgerEntryInTx } from "./ledger.server";
import { logger } from "./infra/logger.server";
import { bumpRollup } from "./rollups.server";
import { getStripe } from "./infra/stripe-client.server";
import { recomputeUserTier } from "./tiers.server";

/**
 * Refunds claw credits back in proportion to the money returned, one refund at a time (the
 * Refund row's primary key is Stripe's refund id, the ledger key is `refund:<re_id>`).
 *
 * Rounding is cumulative, so partial refunds add up exactly to the purchase's credits:
 *   clawTotal(amountRefunded) = credits                                  if amountRefunded ≥ amountTotal
 *                             = floor(credits × amountRefunded / amountTotal)  otherwise
 *   this refund's claw = clawTotal(refunded after it) − clawTotal(refunded before it)
 * e.g. 100 credits for 999: refunds of 333, 333, 333 claw 33, 33, 34.
 *
 * The clawback takes from the refunded purchase's own grant first, then from the user's other
 * grants in burn order (credit_allocate, docs/credits.md "Grants"); only the shortfall beyond that
 * follows CLAWBACK_POLICY.
 *
 * CLAWBACK_POLICY: `allow_negative` (default) claws the whole share and lets the balance go below
 * zero; `clamp_to_zero` claws at most the current balance. Either way the credits that could not
 * be recovered (clamp: not taken; allow_negative: the part that drove the balance below zero) are
 * added to Purchase.creditsUnrecovered and an `unrecovered_credits` attention item is raised.
 */

/** Refund statuses that return money: a pending card refund is on its way back to the customer. */
const APPLICABLE = new Set(["succeeded", "pending"]);

export function clawTotal(credits: number, amountTotal: number, amountRefunded: number): number {
  if (amountRefunded <= 0 || amountTotal <= 0)
    return amountRefunded > 0 && amountTotal <= 0 ? credits : 0;
  if (amountRefunded >= amountTotal) return credits;
  return Math.floor((credits * amountRefunded) / amountTotal);
}

export interface AppliedRefund {
  refundId: string;
  amount: number;
  creditsClawed: number;
  unrecovered: number;
}

export type ChargeRefundsResult =
  | { outcome: "no_purchase"; chargeId: string; detail: string }
  | {
      outcome: "applied";
      purchase: Purchase;
      applied: AppliedRefund[];
      alreadyApplied: number;
      skipped: number;
    };

export interface RefundOptions {
  via?: FulfillVia;
  stripeEventId?: string;
}

async function listChargeRefunds(ref: {
  chargeId: string | null;
  paymentIntentId: string | null;
}): Promise<Stripe.Refund[]> {
  const refunds: Stripe.Refund[] = [];
  const params: Stripe.RefundListParams = ref.chargeId
    ? { charge: ref.chargeId, limit: 100 }
    : { payment_intent: ref.paymentIntentId ?? undefined, limit: 100 };
  for await (const refund of getStripe().refunds.list(params)) refunds.push(refund);
  // Oldest first: the cumulative rounding is applied in the order the money went back.
  return refunds.sort((a, b) => a.created - b.created || a.id.localeCompare(b.id));
}

/** Refunds Stripe has for the purchase's charge that are not applied here yet (for reconciliation). */
export async function findMissingRefunds(
  purchase: Pick<Purchase, "id" | "chargeId" | "paymentIntentId">,
  charge?: Stripe.Charge | string,
): Promise<Stripe.Refund[]> {
  const chargeId = charge ? stripeId(charge) : purchase.chargeId;
  if (!chargeId && !purchase.paymentIntentId) return [];
  const refunds = (
    await listChargeRefunds({ chargeId, paymentIntentId: purchase.paymentIntentId })
  ).filter((r) => APPLICABLE.has(r.status ?? ""));
  if (refunds.length === 0) return [];
  const applied = await getDb().refund.findMany({
    where: { id: { in: refunds.map((r) => r.id) } },
    select: { id: true },
  });
  const seen = new Set(applied.map((r) => r.id));
  return refunds.filter((r) => !seen.has(r.id));
}

function statusAfterRefund(
  current: PurchaseStatus,
  amountRefunded: number,
  amountTotal: number,
): PurchaseStatus {
  // A dispute decides the status while it lasts; refunds still count their money.
  if (current === "disputed" || current === "dispute_lost") return current;
  if (amountRefunded <= 0) return "paid";
  return amountRefunded >= amountTotal ? "refunded" : "partially_refunded";
}

async function applyInTx(
  tx: Tx,
  purchaseId: string,
  refunds: Stripe.Refund[],
  opts: RefundOptions,
  chargeId: string | null,
) {
  let purchase = await lockPurchase(tx, purchaseId);
  const existing = new Set(
    (
      await tx.refund.findMany({
        where: { id: { in: refunds.map((r) => r.id) } },
        select: { id: true },
      })
    ).map((r) => r.id),
  );
  const policy = getEnv().CLAWBACK_POLICY;
  const applied: AppliedRefund[] = [];
  let unrecoveredNow = 0;
  let { amountRefunded, creditsClawedBack, creditsUnrecovered } = purchase;
  for (const refund of refunds) {
    if (existing.has(refund.id)) continue;
    const before = amountRefunded;
    const after = Math.min(purchase.amountTotal, before + refund.amount);
    const share =
      clawTotal(purchase.credits, purchase.amountTotal, after) -
      clawTotal(purchase.credits, purchase.amountTotal, before);
    const balanceRows = await tx.$queryRaw<
      { balance: number }[]
    >`SELECT balance FROM users WHERE id = ${purchase.userId} FOR UPDATE`;
    // Held credits and credits past their expiry are in the balance but cannot be taken back.
    const [unusable] = await tx.$queryRaw<{ n: number }[]>`
      SELECT credit_unusable(${purchase.userId}, now()) AS n`;
    const available = Math.max(0, (balanceRows[0]?.balance ?? 0) - Number(unusable?.n ?? 0));
    const taken = policy === "clamp_to_zero" ? Math.min(share, available) : share;
    const unrecovered = policy === "clamp_to_zero" ? share - taken : Math.max(0, share - available);
    const row: Refund = await tx.refund.create({
      data: {
        id: refund.id,
        purchaseId,
        amount: refund.amount,
        currency: refund.currency,
        creditsClawed: taken,
        unrecovered,
        stripeCreated: new Date(refund.created * 1000),
      },
    });
    if (taken > 0) {
      await postLedgerEntryInTx(tx, {
        userId: purchase.userId,
        delta: -taken,
        kind: "refund_clawback",
        idempotencyKey: `refund:${refund.id}`,
        purchaseId,
        stripeEventId: opts.stripeEventId ?? null,
        reason: `Refund ${refund.id} of ${refund.amount} ${refund.currency}`,
        metadata: { refundId: refund.id, amount: refund.amount, share, unrecovered, policy },
      });
    }
    await bumpRollup(tx, row.stripeCreated, refund.currency, {
      refunded: refund.amount,
      refunds: 1,
    });
    await writeAudit(
      {
        actor: { type: "system", label: "refunds" },
        action: "refund.applied",
        targetType: "purchase",
        targetId: purchaseId,
        after: {
          refundId: refund.id,
          amount: refund.amount,
          creditsClawed: taken,
          unrecovered,
          policy,
        },
      },
      tx,
    );
    amountRefunded = after;
    creditsClawedBack += taken;
    creditsUnrecovered += unrecovered;
    unrecoveredNow += unrecovered;
    applied.push({ refundId: refund.id, amount: refund.amount, creditsClawed: taken, unrecovered });
  }
  if (applied.length > 0) {
    const status = statusAfterRefund(purchase.status, amountRefunded, purchase.amountTotal);
    purchase = await tx.purchase.update({
      where: { id: purchaseId },
      data: {
        amountRefunded,
        creditsClawedBack,
        creditsUnrecovered,
        status,
        chargeId: purchase.chargeId ?? chargeId,
      },
    });
    // A full refund removes the tier the purchase granted (tiers.server.ts states the rule).
    if (status === "refunded") {
      await recomputeUserTier(tx, purchase.userId, {
        source: "refund",
        sourceRef: purchaseId,
        reason: "Purchase fully refunded",
      });
    }
    if (unrecoveredNow > 0) {
      await raiseAttention(
        {
          kind: "unrecovered_credits",
          dedupeKey: attentionKeys.unrecoveredCredits(purchaseId),
          title: `Refund could not recover ${unrecoveredNow} credits`,
          detail:
            policy === "clamp_to_zero"
              ? `The user had spent the credits; ${creditsUnrecovered} credits of purchase ${purchaseId} were not clawed back (clamp_to_zero).`
              : `The clawback took the balance below zero; ${creditsUnrecovered} credits of purchase ${purchaseId} were already spent (allow_negative).`,
          userId: purchase.userId,
          purchaseId,
          checkoutSessionId: purchase.checkoutSessionId,
          stripeEventId: opts.stripeEventId ?? null,
          data: { creditsUnrecovered, policy },
        },
        tx,
      );
    }
  } else if (!purchase.chargeId && chargeId) {
    purchase = await tx.purchase.update({ where: { id: purchaseId }, data: { chargeId } });
  }
  return { purchase, applied, alreadyApplied: existing.size };
}

/**
 * Apply every refund of the charge that is not applied yet. Safe to call any number of times, in
 * any order and concurrently: the purchase row lock serialises callers, the refund id dedupes.
 */
export async function applyChargeRefunds(
  charge: Stripe.Charge | string,
  opts: RefundOptions = {},
): Promise<ChargeRefundsResult> {
  const chargeObj =
    typeof charge === "string" ? await getStripe().charges.retrieve(charge) : charge;
  const ref = {
    chargeId: chargeObj.id,
    paymentIntentId: stripeId(chargeObj.payment_intent as string | { id: string } | null),
  };
  const purchase = await findOrFulfillPurchase(ref, {
    via: opts.via ?? "webhook",
    stripeEventId: opts.stripeEventId,
  });
  if (!purchase) {
    return {
      outcome: "no_purchase",
      chargeId: chargeObj.id,
      detail: `No credited purchase for charge ${chargeObj.id}.`,
    };
  }
  const all = await listChargeRefunds(ref);
  const refunds = all.filter((r) => APPLICABLE.has(r.status ?? ""));
  const skipped = all.length - refunds.length;
  if (refunds.length === 0)
    return { outcome: "applied", purchase, applied: [], alreadyApplied: 0, skipped };
  const run = () =>
    getDb().$transaction((tx) => applyInTx(tx, purchase.id, refunds, opts, chargeObj.id));
  let result: Awaited<ReturnType<typeof applyInTx>>;
  try {
    result = await run();
  } catch (error) {
    // Only possible if a refund row appeared outside the purchase lock; the retry skips it.
    if (!isUniqueViolation(error)) throw error;
    result = await run();
  }
  if (result.applied.length > 0) {
    logger.info(
      { purchaseId: purchase.id, chargeId: chargeObj.id, applied: result.applied.length },
      "refunds applied",
    );
  }
  return {
    outcome: "applied",
    purchase: result.purchase,
    applied: result.applied,
    alreadyApplied: result.alreadyApplied,
    skipped,
  };
}

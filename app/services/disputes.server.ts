import type Stripe from "stripe";
import type { Dispute, Purchase } from "~/generated/prisma/client";
import type { PurchaseStatus } from "~/generated/prisma/enums";
import { attentionKeys, raiseAttention } from "./attention.server";
import { writeAudit } from "./audit.server";
import { findOrFulfillPurchase, lockPurchase, stripeId } from "./charge-purchase.server";
import { appNow } from "./infra/clock.server";
import { getDb, type Tx } from "./infra/db.server";
import type { FulfillVia } from "./fulfillment.server";
import { postLedgerEntryInTx } from "./ledger.server";
import { logger } from "./infra/logger.server";
import { applyChargeRefunds, clawTotal, findMissingRefunds } from "./refunds.server";
import { recomputeUserTier } from "./tiers.server";
import { settleDisputedGrant } from "./grants/holds.server";

/**
 * Disputes (chargebacks):
 *   opened     → the purchase's remaining credits are held (`dispute_hold`, may go negative:
 *                the customer has the money back for now), purchase `disputed`;
 *   closed won → the hold is released (`dispute_release`), status back to paid / refunded state;
 *   closed lost→ the hold stays (the credits are gone for good), purchase `dispute_lost`, an
 *                attention item, and the tier is recomputed (a lost dispute removes its grant).
 * Applying is idempotent and order-independent: a "closed" event that arrives before "created"
 * creates the dispute, holds, then closes; the late "created" then finds nothing to do.
 * Inquiries (`warning_*` statuses) move no money and hold nothing.
 * Grants: the hold takes from the purchase's own grant first and marks it `held`; a release gives
 * the credits back to it and marks it `active`; a lost dispute voids it (grants/holds.server.ts).
 */

function dueBy(d: Stripe.Dispute): Date | null {
  const due = d.evidence_details?.due_by;
  return due ? new Date(due * 1000) : null;
}

const CLOSED = new Set(["won", "lost", "warning_closed", "prevented"]);

export type DisputeResult =
  | { outcome: "no_purchase"; disputeId: string; detail: string }
  | {
      outcome: "applied";
      purchase: Purchase;
      dispute: Dispute;
      changed: boolean;
      state: "open" | "won" | "lost" | "closed";
    };

function baseStatus(p: Pick<Purchase, "amountRefunded" | "amountTotal">): PurchaseStatus {
  if (p.amountRefunded <= 0) return "paid";
  return p.amountRefunded >= p.amountTotal ? "refunded" : "partially_refunded";
}

/** Credits still attributable to the purchase after refunds, limited to the disputed amount's share. */
function creditsToHold(p: Purchase, disputeAmount: number): number {
  const remaining = p.credits - clawTotal(p.credits, p.amountTotal, p.amountRefunded);
  if (disputeAmount >= p.amountTotal - p.amountRefunded) return Math.max(0, remaining);
  return Math.max(0, Math.min(remaining, clawTotal(p.credits, p.amountTotal, disputeAmount)));
}

async function applyInTx(
  tx: Tx,
  purchaseId: string,
  d: Stripe.Dispute,
  opts: { stripeEventId?: string },
) {
  let purchase = await lockPurchase(tx, purchaseId);
  const inquiry = d.status.startsWith("warning_");
  let row = await tx.dispute.findUnique({ where: { id: d.id } });
  let changed = false;
  if (!row) {
    const held = inquiry ? 0 : creditsToHold(purchase, d.amount);
    row = await tx.dispute.create({
      data: {
        id: d.id,
        purchaseId,
        amount: d.amount,
        currency: d.currency,
        reason: d.reason ?? null,
        // A "closed" that overtook "created" is opened first, then closed below.
        status: CLOSED.has(d.status) ? "needs_response" : d.status,
        creditsHeld: held,
        openedAt: new Date(d.created * 1000),
        evidenceDueBy: dueBy(d),
      },
    });
    changed = true;
    if (held > 0) {
      await postLedgerEntryInTx(tx, {
        userId: purchase.userId,
        delta: -held,
        kind: "dispute_hold",
        idempotencyKey: `dispute_hold:${d.id}`,
        purchaseId,
        stripeEventId: opts.stripeEventId ?? null,
        reason: `Dispute ${d.id} opened (${d.reason ?? "no reason given"})`,
        metadata: { disputeId: d.id, amount: d.amount },
      });
    }
    if (!inquiry) {
      purchase = await tx.purchase.update({
        where: { id: purchaseId },
        data: { status: "disputed", creditsHeld: { increment: held } },
      });
    }
    await writeAudit(
      {
        actor: { type: "system", label: "disputes" },
        action: "dispute.opened",
        targetType: "purchase",
        targetId: purchaseId,
        after: { disputeId: d.id, creditsHeld: held, inquiry },
      },
      tx,
    );
  }

  const alreadyClosed = CLOSED.has(row.status);
  if (CLOSED.has(d.status) && !alreadyClosed) {
    changed = true;
    row = await tx.dispute.update({
      where: { id: d.id },
      data: { status: d.status, closedAt: appNow() },
    });
    if (d.status === "lost") {
      purchase = await tx.purchase.update({
        where: { id: purchaseId },
        data: { status: "dispute_lost" },
      });
      await settleDisputedGrant(tx, purchaseId);
      await raiseAttention(
        {
          kind: "dispute_lost",
          dedupeKey: attentionKeys.disputeLost(d.id),
          title: `Dispute ${d.id} lost: ${d.amount} ${d.currency} taken back`,
          detail: `${row.creditsHeld} credits stay held on purchase ${purchaseId}. Consider the account's standing.`,
          userId: purchase.userId,
          purchaseId,
          checkoutSessionId: purchase.checkoutSessionId,
          stripeEventId: opts.stripeEventId ?? null,
          data: { disputeId: d.id, amount: d.amount, creditsHeld: row.creditsHeld },
        },
        tx,
      );
      await recomputeUserTier(tx, purchase.userId, {
        source: "dispute",
        sourceRef: d.id,
        reason: "Dispute lost",
      });
    } else {
      // Won (or an inquiry closed): give the held credits back.
      if (row.creditsHeld > 0) {
        const hold = await tx.ledgerEntry.findUnique({
          where: { idempotencyKey: `dispute_hold:${d.id}` },
          select: { id: true },
        });
        await postLedgerEntryInTx(tx, {
          userId: purchase.userId,
          delta: row.creditsHeld,
          kind: "dispute_release",
          idempotencyKey: `dispute_release:${d.id}`,
          purchaseId,
          stripeEventId: opts.stripeEventId ?? null,
          reversesId: hold?.id ?? null,
          reason: `Dispute ${d.id} ${d.status}`,
          metadata: { disputeId: d.id },
        });
      }
      const stillOpen = await tx.dispute.count({
        where: { purchaseId, id: { not: d.id }, status: { notIn: [...CLOSED] } },
      });
      const lostBefore = await tx.dispute.count({ where: { purchaseId, status: "lost" } });
      const status: PurchaseStatus =
        lostBefore > 0 ? "dispute_lost" : stillOpen > 0 ? "disputed" : baseStatus(purchase);
      purchase = await tx.purchase.update({
        where: { id: purchaseId },
        data: { status, creditsHeld: { decrement: row.creditsHeld } },
      });
    }
    await writeAudit(
      {
        actor: { type: "system", label: "disputes" },
        action: `dispute.${d.status}`,
        targetType: "purchase",
        targetId: purchaseId,
        after: { disputeId: d.id, creditsHeld: row.creditsHeld },
      },
      tx,
    );
  } else if (!CLOSED.has(d.status) && !alreadyClosed && row.status !== d.status) {
    row = await tx.dispute.update({ where: { id: d.id }, data: { status: d.status } });
  }
  const state: "open" | "won" | "lost" | "closed" = !CLOSED.has(row.status)
    ? "open"
    : row.status === "won"
      ? "won"
      : row.status === "lost"
        ? "lost"
        : "closed";
  return { purchase, dispute: row, changed, state };
}

/** Apply a dispute object from charge.dispute.created / charge.dispute.closed (or a later fetch). */
export async function applyDispute(
  dispute: Stripe.Dispute,
  opts: { via?: FulfillVia; stripeEventId?: string } = {},
): Promise<DisputeResult> {
  const ref = {
    chargeId: stripeId(dispute.charge as string | { id: string }),
    paymentIntentId: stripeId(dispute.payment_intent as string | { id: string } | null),
  };
  const purchase = await findOrFulfillPurchase(ref, {
    via: opts.via ?? "webhook",
    stripeEventId: opts.stripeEventId,
  });
  if (!purchase)
    return {
      outcome: "no_purchase",
      disputeId: dispute.id,
      detail: `No credited purchase for charge ${ref.chargeId}.`,
    };
  // The hold is what the refunds left, so every refund made before the dispute must be applied
  // first. Stripe refuses refunds while a dispute is open or lost: each refund it has now came
  // before this dispute (or after one that was won). One whose webhook is lost or still queued
  // would otherwise be clawed after the hold, each rounded down on its own, leaving the customer
  // credits they no longer paid for (found by the money proof, tests/proof/).
  if (
    ref.chargeId &&
    !(await getDb().dispute.findUnique({ where: { id: dispute.id }, select: { id: true } })) &&
    (await findMissingRefunds(purchase, ref.chargeId)).length > 0
  ) {
    await applyChargeRefunds(ref.chargeId, { via: opts.via ?? "webhook" });
  }
  const result = await getDb().$transaction(async (tx) => {
    if (!purchase.chargeId && ref.chargeId)
      await tx.purchase.update({ where: { id: purchase.id }, data: { chargeId: ref.chargeId } });
    return applyInTx(tx, purchase.id, dispute, { stripeEventId: opts.stripeEventId });
  });
  if (result.changed)
    logger.info(
      { disputeId: dispute.id, purchaseId: purchase.id, state: result.state },
      "dispute applied",
    );
  return { outcome: "applied", ...result };
}

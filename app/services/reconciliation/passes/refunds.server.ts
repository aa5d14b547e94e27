import type Stripe from "stripe";
import { logger } from "../../infra/logger.server";
import { applyChargeRefunds } from "../../refunds.server";
import { errorText, isRunFatal, stripeId, type ItemRow, type RunContext } from "../context.server";
import { paged } from "../pipeline.server";

/**
 * Pass 2: refunds Stripe has in the window and the ledger lacks go through applyChargeRefunds
 * (one page of refunds, one lookup of the known ones).
 */

export async function refundsPass(ctx: RunContext) {
  const gte = Math.floor(ctx.window.since.getTime() / 1000);
  const lte = Math.floor(ctx.window.until.getTime() / 1000);
  await paged(
    ctx,

    (after) =>
      ctx.stripe.refunds.list({
        created: { gte, lte },
        limit: ctx.tuning.pageSize,
        ...(after ? { starting_after: after } : {}),
      }),
    (page) => refundPage(ctx, page),
  );
}

async function refundPage(ctx: RunContext, page: Stripe.Refund[]) {
  const applicable = page.filter(
    (r) => (r.status === "succeeded" || r.status === "pending") && stripeId(r.charge),
  );
  if (applicable.length === 0) return;
  const known = await ctx.db.refund.findMany({
    where: { id: { in: applicable.map((r) => r.id) } },
    select: { id: true },
  });
  const seen = new Set(known.map((r) => r.id));
  const missing = applicable.filter((r) => !seen.has(r.id));
  if (missing.length === 0) return;

  const byCharge = new Map<string, Stripe.Refund[]>();
  for (const r of missing) {
    const charge = stripeId(r.charge) as string;
    byCharge.set(charge, [...(byCharge.get(charge) ?? []), r]);
  }
  const paymentIntents = missing
    .map((r) => stripeId(r.payment_intent))
    .filter((id): id is string => Boolean(id));
  const purchases = await ctx.db.purchase.findMany({
    where: {
      OR: [{ chargeId: { in: [...byCharge.keys()] } }, { paymentIntentId: { in: paymentIntents } }],
    },
  });
  const items: ItemRow[] = [];
  for (const [chargeId, refunds] of byCharge) {
    const pi = stripeId(refunds[0].payment_intent);
    const before =
      purchases.find((p) => p.chargeId === chargeId || (pi !== null && p.paymentIntentId === pi)) ??
      null;
    const amount = refunds.reduce((sum, r) => sum + r.amount, 0);
    const ids = refunds.map((r) => r.id).join(", ");
    if (ctx.dryRun) {
      // Without a purchase this refund is not a credit-pack payment (or its session is in pass 1's items).
      if (!before) continue;
      items.push({
        runId: ctx.run.id,
        checkoutSessionId: before.checkoutSessionId,
        outcome: "refund_missing",
        userId: before.userId,
        purchaseId: before.id,
        amountTotal: amount,
        currency: refunds[0].currency,
        sessionCreatedAt: before.stripeCreatedAt,
        detail: `Dry run: would apply ${refunds.length} refund(s) Stripe has and the ledger lacks (${ids}).`,
      });
      ctx.c.refundsApplied += refunds.length;
      continue;
    }
    try {
      const result = await ctx.gate.call(() =>
        applyChargeRefunds(chargeId, { via: "reconciliation" }),
      );
      if (result.outcome === "no_purchase" || result.applied.length === 0) continue;
      const p = result.purchase;
      if (!before) {
        // The refund's purchase was not credited either: the refund path fulfilled it first.
        items.push({
          runId: ctx.run.id,
          checkoutSessionId: p.checkoutSessionId,
          outcome: "credited_now",
          userId: p.userId,
          purchaseId: p.id,
          amountTotal: p.amountTotal,
          currency: p.currency,
          sessionCreatedAt: p.stripeCreatedAt,
          detail: `Credited ${p.credits} credits while applying its refund; neither webhook arrived.`,
        });
      }
      const clawed = result.applied.reduce((sum, a) => sum + a.creditsClawed, 0);
      items.push({
        runId: ctx.run.id,
        checkoutSessionId: p.checkoutSessionId,
        outcome: "refund_missing",
        userId: p.userId,
        purchaseId: p.id,
        amountTotal: result.applied.reduce((sum, a) => sum + a.amount, 0),
        currency: p.currency,
        sessionCreatedAt: p.stripeCreatedAt,
        detail: `Applied ${result.applied.length} refund(s) Stripe had and the ledger lacked (${result.applied.map((a) => a.refundId).join(", ")}): ${clawed} credits clawed back.`,
      });
      ctx.c.refundsApplied += result.applied.length;
    } catch (error) {
      if (isRunFatal(error)) {
        await ctx.flushItems(items);
        throw error;
      }
      const message = errorText(error);
      logger.error(
        { runId: ctx.run.id, chargeId, err: message },
        "reconciliation could not apply refunds",
      );
      if (!before) {
        ctx.c.errors += 1;
      } else {
        await ctx.raiseError(
          before.checkoutSessionId,
          `Refunds ${ids} could not be applied: ${message}`,
        );
        items.push({
          runId: ctx.run.id,
          checkoutSessionId: before.checkoutSessionId,
          outcome: "error",
          userId: before.userId,
          purchaseId: before.id,
          amountTotal: amount,
          currency: refunds[0].currency,
          sessionCreatedAt: before.stripeCreatedAt,
          detail: `Refunds ${ids} could not be applied: ${message}`,
        });
      }
    }
  }
  await ctx.flushItems(items);
}

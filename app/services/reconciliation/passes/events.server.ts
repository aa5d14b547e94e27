import type Stripe from "stripe";
import { needsAttention } from "../../fulfillment-result.server";
import { HANDLED_EVENT_TYPES, processStripeEvent } from "../../webhooks/handlers.server";
import type { ItemOutcome, ItemRow, RunContext } from "../context.server";
import { creditedSessionsAmong } from "../credited-batches.server";
import { paged } from "../pipeline.server";

/**
 * Pass 3: events Stripe could not deliver (delivery_success=false) go through
 * processStripeEvent, the webhook's own processor; their sessions outside the sessions window get
 * an item here.
 */

/** Stripe keeps events for 30 days; stay a little inside that. */
const EVENT_RETENTION_MS = 30 * 24 * 3600 * 1000 - 10 * 60_000;

export async function eventsPass(ctx: RunContext) {
  const now = ctx.window.until.getTime();
  const gte = Math.floor(Math.max(ctx.window.since.getTime(), now - EVENT_RETENTION_MS) / 1000);
  const lte = Math.floor(now / 1000);
  await paged(
    ctx,

    (after) =>
      ctx.stripe.events.list({
        delivery_success: false,
        types: [...HANDLED_EVENT_TYPES],
        created: { gte, lte },
        limit: ctx.tuning.pageSize,
        ...(after ? { starting_after: after } : {}),
      }),
    (page) => eventPage(ctx, page),
  );
}

async function eventPage(ctx: RunContext, page: Stripe.Event[]) {
  ctx.c.undeliveredEvents += page.length;
  if (ctx.dryRun) {
    await ctx.saveProgress();
    ctx.emit();
    return;
  }
  const sessionOf = (e: Stripe.Event) =>
    e.type.startsWith("checkout.session.") ? ((e.data.object as { id?: string }).id ?? null) : null;
  const sessionIds = [...new Set(page.map(sessionOf).filter((id): id is string => Boolean(id)))];
  const creditedBefore = new Set(
    sessionIds.length
      ? (
          await ctx.db.purchase.findMany({
            where: { checkoutSessionId: { in: sessionIds } },
            select: { checkoutSessionId: true },
          })
        ).map((p) => p.checkoutSessionId)
      : [],
  );
  const attention = new Map<
    string,
    { outcome: ItemOutcome; detail: string; event: Stripe.Event }
  >();
  // Oldest first, the order they happened in.
  const ordered = [...page].sort((a, b) => a.created - b.created);
  for (const event of ordered) {
    const result = await ctx.gate.call(() => processStripeEvent(event, "reconciliation"));
    if (result.status === "failed") ctx.c.errors += 1;
    const sessionId = sessionOf(event);
    if (sessionId && result.status === "needs_attention") {
      // The typed result says which attention outcome and why; anything else is an error item.
      const f = result.fulfillment;
      attention.set(
        sessionId,
        f && needsAttention(f)
          ? { outcome: f.outcome, detail: f.detail, event }
          : { outcome: "error", detail: result.detail ?? "", event },
      );
    }
  }
  if (sessionIds.length === 0) {
    await ctx.saveProgress();
    ctx.emit();
    return;
  }
  // Sessions pass 1 already recorded (inside the window) keep that item; the rest get one here.
  const recorded = await creditedSessionsAmong(ctx.run.id, sessionIds);
  for (const i of await ctx.db.reconciliationItem.findMany({
    where: { runId: ctx.run.id, checkoutSessionId: { in: sessionIds } },
    select: { checkoutSessionId: true },
  }))
    recorded.add(i.checkoutSessionId);
  const creditedNow = await ctx.db.purchase.findMany({
    where: {
      checkoutSessionId: {
        in: sessionIds.filter((id) => !creditedBefore.has(id) && !recorded.has(id)),
      },
    },
  });
  const items: ItemRow[] = creditedNow.map((p) => ({
    runId: ctx.run.id,
    checkoutSessionId: p.checkoutSessionId,
    outcome: "credited_now",
    userId: p.userId,
    purchaseId: p.id,
    amountTotal: p.amountTotal,
    currency: p.currency,
    sessionCreatedAt: p.stripeCreatedAt,
    detail: `Credited ${p.credits} credits from an event Stripe could not deliver (outside the sessions window).`,
  }));
  for (const [sessionId, a] of attention) {
    if (recorded.has(sessionId) || creditedNow.some((p) => p.checkoutSessionId === sessionId))
      continue;
    const s = a.event.data.object as Stripe.Checkout.Session;
    items.push({
      runId: ctx.run.id,
      checkoutSessionId: sessionId,
      outcome: a.outcome,
      amountTotal: s.amount_total ?? null,
      currency: s.currency ?? null,
      sessionCreatedAt: new Date((s.created ?? a.event.created) * 1000),
      detail: `${a.detail} (from undelivered event ${a.event.id}; see the attention queue)`,
    });
  }
  if (items.length > 0) {
    await ctx.flushItems(items);
  } else {
    await ctx.saveProgress();
    ctx.emit();
  }
}

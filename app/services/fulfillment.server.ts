import { randomUUID } from "node:crypto";
import Stripe from "stripe";
import {
  Prisma,
  type CreditPack,
  type LedgerEntry,
  type Purchase,
} from "~/generated/prisma/client";
import type { CreditedVia, UserResolvedBy } from "~/generated/prisma/enums";
import { isCheckoutSessionId } from "~/shared/ids";
import { attentionKeys, autoResolveAttentionSql, raiseAttention } from "./attention.server";
import { auditInsertFromSql, type Actor } from "./audit.server";
import { appNow } from "./infra/clock.server";
import { getDatabase, getDb } from "./infra/db.server";
import {
  IdempotencyConflictError,
  isUniqueViolation,
  NotFoundError,
  ValidationError,
} from "./errors.server";
import { postLedgerEntry, postLedgerEntryInTx } from "./ledger.server";
import { purchaseExpiry } from "./grants/expiry.server";
import { logger, scrubSecrets } from "./infra/logger.server";
import { findPacksByPriceIds, parseCreditsMetadata, syncPacks } from "./packs.server";
import { getStripe } from "./infra/stripe-client.server";
import { raiseUserTier } from "./tiers.server";
import { formatMoney } from "~/shared/format";

/**
 * The one code path that turns a paid Checkout Session into a purchase and credits
 * (docs/architecture.md, "Fulfillment, step by step"). Webhook, reconciliation, the success page and staff all call it;
 * it may run many times at once for one session and still credits once, because the database
 * refuses a second Purchase for the session (unique checkoutSessionId) and a second ledger entry
 * for `checkout:<session id>` (unique idempotency key).
 */

export type FulfillVia = CreditedVia;

export interface FulfillOptions {
  /** Staff assigning an unmatched session to this user (resolution rule "manual"). */
  assignUserId?: string;
  staffId?: string;
  /** Work out the outcome without writing anything (no purchase, no attention item, no pack sync). */
  dryRun?: boolean;
  /** The session, already retrieved with line_items (reconciliation lists them in bulk). */
  session?: Stripe.Checkout.Session;
  /** The event that triggered this run, linked from the ledger entry and attention items. */
  stripeEventId?: string;
  /**
   * The caller has just looked and found no purchase for the session (reconciliation's page
   * lookup): skip the cheap exit. The user-resolution query still sees a purchase made since.
   */
  checkedUncredited?: boolean;
}

export interface SessionFacts {
  id: string;
  paymentStatus: string;
  status: string | null;
  amountTotal: number;
  currency: string;
  createdAt: Date;
  livemode: boolean;
  customerId: string | null;
  email: string | null;
  paymentIntentId: string | null;
}

export interface PurchaseLine {
  priceId: string;
  packId: string | null;
  quantity: number;
  creditsPerUnit: number;
  credits: number;
  amountTotal: number;
  currency: string;
}

export type FulfillResult =
  | {
      outcome: "credited";
      purchase: Purchase;
      entry: LedgerEntry;
      resolvedBy: UserResolvedBy;
      userId: string;
      credits: number;
      session: SessionFacts;
    }
  | { outcome: "already_credited"; purchase: Purchase; session: SessionFacts | null }
  | { outcome: "not_paid"; paymentStatus: string; session: SessionFacts }
  | {
      outcome: "unmatched_user";
      attentionItemId: string | null;
      detail: string;
      session: SessionFacts;
    }
  | {
      outcome: "unknown_price";
      priceIds: string[];
      attentionItemId: string | null;
      detail: string;
      session: SessionFacts;
    }
  | {
      outcome: "amount_mismatch";
      attentionItemId: string | null;
      detail: string;
      session: SessionFacts;
    }
  /** A subscription-mode session whose prices carry no credits: the tier comes from subscription events. */
  | { outcome: "no_credits"; detail: string; session: SessionFacts };

export type FulfillOutcome = FulfillResult["outcome"];

/**
 * What a dry run found instead of crediting: nothing was written. Only a caller that asks for a
 * dry run can get it (the overloads of fulfillCheckoutSession), so the API and the dashboard's
 * fixes never see it. fulfillment-result.server.ts reads results of either kind.
 */
export interface WouldCredit {
  outcome: "would_credit";
  resolvedBy: UserResolvedBy;
  userId: string;
  credits: number;
  session: SessionFacts;
}

/** A result of a call that may have been a dry run. */
export type FulfillOrDryRunResult = FulfillResult | WouldCredit;

// A burst of deliveries can queue for a pooled connection; waiting beats failing with a 503.
const TX_OPTIONS = { maxWait: 10_000, timeout: 20_000 };
const MAX_CREDITS = 2_147_483_647;

function idOf(value: string | { id: string } | null | undefined): string | null {
  if (!value) return null;
  return typeof value === "string" ? value : value.id;
}

export function sessionFacts(s: Stripe.Checkout.Session): SessionFacts {
  return {
    id: s.id,
    paymentStatus: s.payment_status,
    status: s.status ?? null,
    amountTotal: s.amount_total ?? 0,
    currency: (s.currency ?? "").toLowerCase(),
    createdAt: new Date(s.created * 1000),
    livemode: s.livemode,
    customerId: idOf(s.customer as string | { id: string } | null),
    email: s.customer_details?.email ?? s.customer_email ?? null,
    paymentIntentId: idOf(s.payment_intent as string | { id: string } | null),
  };
}

/**
 * When Stripe took the money: the creation of the session's charge (a Checkout Session has no
 * completion time of its own; its charge is made as it completes). The charge comes expanded with
 * the session (retrieveSession, reconciliation's re-list); otherwise one PaymentIntent retrieve.
 * A session without a charge (100% discount) or a failed look-up falls back to the session's
 * creation, which is at most its 24-hour lifetime earlier.
 */
export async function paidAtOf(session: Stripe.Checkout.Session): Promise<Date> {
  const fallback = new Date(session.created * 1000);
  let pi = session.payment_intent;
  if (!pi) return fallback;
  if (typeof pi === "string") {
    try {
      pi = await getStripe().paymentIntents.retrieve(pi, { expand: ["latest_charge"] });
    } catch (error) {
      logger.warn(
        { sessionId: session.id, err: (error as Error).message },
        "paid_at: payment intent not readable; using the session's creation time",
      );
      return fallback;
    }
  }
  const charge = pi.latest_charge;
  if (charge && typeof charge === "object") return new Date(charge.created * 1000);
  return fallback;
}

async function retrieveSession(sessionId: string): Promise<Stripe.Checkout.Session> {
  try {
    return await getStripe().checkout.sessions.retrieve(sessionId, {
      expand: ["line_items", "line_items.data.price", "payment_intent.latest_charge"],
    });
  } catch (error) {
    if (error instanceof Stripe.errors.StripeInvalidRequestError && error.statusCode === 404) {
      throw new NotFoundError("Checkout Session", sessionId, "sessionId");
    }
    throw error;
  }
}

/** The expanded list holds the first page only; long carts are listed in full. */
async function allLineItems(session: Stripe.Checkout.Session): Promise<Stripe.LineItem[]> {
  const list = session.line_items;
  if (list && !list.has_more) return list.data;
  const items: Stripe.LineItem[] = [];
  for await (const item of getStripe().checkout.sessions.listLineItems(session.id, {
    limit: 100,
    expand: ["data.price"],
  })) {
    items.push(item);
  }
  return items;
}

interface ResolvedUser {
  userId: string;
  resolvedBy: UserResolvedBy;
  stripeCustomerId: string | null;
}

type Resolution =
  | { ok: true; user: ResolvedUser }
  | { ok: false; detail: string; data: Prisma.InputJsonValue }
  | { ok: "credited"; purchaseId: string };

/**
 * docs/architecture.md's order: client_reference_id → metadata.user_id → known customer → exactly one user
 * with the email (case-insensitive). One round trip fetches every candidate; the order is applied here.
 */
async function resolveUser(s: Stripe.Checkout.Session, facts: SessionFacts): Promise<Resolution> {
  const clientRef = s.client_reference_id?.trim() || null;
  const metaUser = s.metadata?.user_id?.trim() || null;
  const email = facts.email?.trim().toLowerCase() || null;
  // Rule 0 is not a user: it says the session is already credited (the webhook path skips the
  // separate check before the Stripe call and asks here, in the same round trip).
  // Every fulfilment runs this: through the raw pool on Postgres (text/int columns only).
  const query = Prisma.sql`
    (SELECT id, NULL::text AS stripe_customer_id, 0 AS rule FROM purchases WHERE checkout_session_id = ${s.id})
    UNION ALL (SELECT id, stripe_customer_id, 1 AS rule FROM users WHERE id = ${clientRef})
    UNION ALL (SELECT id, stripe_customer_id, 2 AS rule FROM users WHERE id = ${metaUser})
    UNION ALL (SELECT id, stripe_customer_id, 3 AS rule FROM users WHERE stripe_customer_id = ${facts.customerId})
    UNION ALL (SELECT id, stripe_customer_id, 4 AS rule FROM users WHERE email_normalized = ${email} LIMIT 2)`;
  const rows = await getDatabase().query<{
    id: string;
    stripe_customer_id: string | null;
    rule: number;
  }>(query.text, query.values, { prepare: true });
  const byRule = (rule: number) => rows.filter((r) => Number(r.rule) === rule);
  const credited = byRule(0)[0];
  if (credited) return { ok: "credited", purchaseId: credited.id };
  const rules: [number, UserResolvedBy][] = [
    [1, "client_reference_id"],
    [2, "metadata"],
    [3, "customer"],
  ];
  for (const [rule, resolvedBy] of rules) {
    const hit = byRule(rule)[0];
    if (hit)
      return {
        ok: true,
        user: { userId: hit.id, resolvedBy, stripeCustomerId: hit.stripe_customer_id },
      };
  }
  const emailHits = byRule(4);
  if (emailHits.length === 1) {
    return {
      ok: true,
      user: {
        userId: emailHits[0].id,
        resolvedBy: "email",
        stripeCustomerId: emailHits[0].stripe_customer_id,
      },
    };
  }
  const tried = [
    `client_reference_id=${clientRef ?? "(none)"}`,
    `metadata.user_id=${metaUser ?? "(none)"}`,
    `customer=${facts.customerId ?? "(none)"}`,
    `email=${email ?? "(none)"}${emailHits.length > 1 ? " (matches several users)" : ""}`,
  ];
  return {
    ok: false,
    detail: `No user matched: ${tried.join(", ")}.`,
    data: {
      clientReferenceId: clientRef,
      metadataUserId: metaUser,
      customerId: facts.customerId,
      email,
      emailMatches: emailHits.length,
    },
  };
}

type LineMapping =
  | { ok: true; lines: PurchaseLine[]; packs: CreditPack[] }
  | { ok: false; kind: "unknown_price"; priceIds: string[]; detail: string }
  | { ok: false; kind: "amount_mismatch"; detail: string }
  | { ok: false; kind: "no_credits"; detail: string };

/** Does the mirrored pack still say what Stripe's price says? (metadata is editable in Stripe.) */
function staleness(pack: CreditPack, price: Stripe.Price, currency: string): string | null {
  const credits = parseCreditsMetadata(price.metadata?.credits);
  if (credits !== null && credits !== pack.credits)
    return `price ${price.id} now grants ${credits} credits, the mirror says ${pack.credits}`;
  if (price.unit_amount !== null && price.unit_amount !== pack.unitAmount) {
    return `price ${price.id} costs ${price.unit_amount}, the mirror says ${pack.unitAmount}`;
  }
  const tier = price.metadata?.tier?.trim() || null;
  if (price.metadata?.credits !== undefined && tier !== pack.grantsTier) {
    return `price ${price.id} now grants tier ${tier ?? "(none)"}, the mirror says ${pack.grantsTier ?? "(none)"}`;
  }
  if (
    price.currency.toLowerCase() !== pack.currency.toLowerCase() ||
    (currency && currency !== pack.currency.toLowerCase())
  ) {
    return `price ${price.id} is in ${price.currency} (session ${currency}), the mirror says ${pack.currency}`;
  }
  return null;
}

function mapLines(
  items: Stripe.LineItem[],
  packs: Map<string, CreditPack>,
  facts: SessionFacts,
  dryRun: boolean,
  mode: string,
): LineMapping {
  const lines: PurchaseLine[] = [];
  const used: CreditPack[] = [];
  const unknown: string[] = [];
  const problems: string[] = [];
  for (const item of items) {
    const price = item.price;
    if (!price) {
      unknown.push(`(line ${item.id} has no price)`);
      continue;
    }
    const quantity = item.quantity ?? 1;
    const pack = packs.get(price.id);
    if (!pack) {
      const metaCredits = parseCreditsMetadata(price.metadata?.credits);
      // Subscription prices without credits only carry a tier; subscription events handle that.
      if (metaCredits === null && price.type === "recurring") continue;
      // A dry run may not sync packs, so it credits what the price itself declares.
      if (dryRun && metaCredits !== null && price.unit_amount !== null) {
        lines.push({
          priceId: price.id,
          packId: null,
          quantity,
          creditsPerUnit: metaCredits,
          credits: metaCredits * quantity,
          amountTotal: item.amount_total,
          currency: item.currency,
        });
        continue;
      }
      unknown.push(price.id);
      continue;
    }
    const stale = staleness(pack, price, facts.currency);
    if (stale) {
      problems.push(stale);
      continue;
    }
    used.push(pack);
    lines.push({
      priceId: price.id,
      packId: pack.id,
      quantity,
      creditsPerUnit: pack.credits,
      credits: pack.credits * quantity,
      amountTotal: item.amount_total,
      currency: item.currency,
    });
  }
  if (unknown.length > 0) {
    return {
      ok: false,
      kind: "unknown_price",
      priceIds: unknown,
      detail: `No credit pack for price ${unknown.join(", ")}.`,
    };
  }
  if (problems.length > 0)
    return { ok: false, kind: "amount_mismatch", detail: `${problems.join("; ")}.` };
  if (lines.length === 0) {
    return {
      ok: false,
      kind: "no_credits",
      detail:
        mode === "subscription"
          ? "Subscription session: its prices carry no credits."
          : "The session has no line items.",
    };
  }
  return { ok: true, lines, packs: used };
}

async function mapSessionLines(
  session: Stripe.Checkout.Session,
  facts: SessionFacts,
  dryRun: boolean,
): Promise<LineMapping> {
  const items = await allLineItems(session);
  const priceIds = [
    ...new Set(items.map((i) => i.price?.id).filter((id): id is string => Boolean(id))),
  ];
  let mapping = mapLines(items, await findPacksByPriceIds(priceIds), facts, dryRun, session.mode);
  // One sync before declaring a price unknown or the mirror wrong: the price may be new or edited.
  if (!mapping.ok && mapping.kind !== "no_credits" && !dryRun) {
    try {
      await syncPacks();
    } catch (error) {
      logger.warn(
        { err: scrubSecrets((error as Error).message), sessionId: session.id },
        "pack sync during fulfillment failed",
      );
      throw error;
    }
    mapping = mapLines(items, await findPacksByPriceIds(priceIds), facts, dryRun, session.mode);
  }
  return mapping;
}

async function findPurchase(sessionId: string): Promise<Purchase | null> {
  // Raw existence check first: on the hot path the answer is almost always "none".
  const hit = await getDatabase().query<{ id: string }>(
    "SELECT id FROM purchases WHERE checkout_session_id = $1",
    [sessionId],
    { prepare: true },
  );
  if (hit.length === 0) return null;
  return getDb().purchase.findUnique({ where: { id: hit[0].id } });
}

/** Best effort: remember the customer id so the next session resolves by it (the id is UNIQUE). */
async function rememberCustomer(user: ResolvedUser, customerId: string | null): Promise<void> {
  if (!customerId || user.stripeCustomerId || user.resolvedBy === "customer") return;
  try {
    await getDb().$executeRaw`
      UPDATE users SET stripe_customer_id = ${customerId}, updated_at = now()
      WHERE id = ${user.userId} AND stripe_customer_id IS NULL
        AND NOT EXISTS (SELECT 1 FROM users WHERE stripe_customer_id = ${customerId})`;
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    // Another user got this customer id at the same moment; the purchase is credited either way.
  }
}

/**
 * Fulfil one Checkout Session: retrieve it, check it is paid, resolve the user, map prices to
 * packs, then purchase + ledger entry + revenue rollup + tier + audit in one transaction.
 */
export async function fulfillCheckoutSession(
  sessionId: string,
  via: FulfillVia,
  opts?: FulfillOptions & { dryRun?: false },
): Promise<FulfillResult>;
export async function fulfillCheckoutSession(
  sessionId: string,
  via: FulfillVia,
  opts: FulfillOptions,
): Promise<FulfillOrDryRunResult>;
export async function fulfillCheckoutSession(
  sessionId: string,
  via: FulfillVia,
  opts: FulfillOptions = {},
): Promise<FulfillOrDryRunResult> {
  if (typeof sessionId !== "string" || !isCheckoutSessionId(sessionId)) {
    throw new ValidationError("sessionId must be a Checkout Session id (cs_…).", "sessionId");
  }
  if (opts.session && opts.session.id !== sessionId) {
    throw new ValidationError(
      `session ${opts.session.id} was passed for sessionId ${sessionId}.`,
      "session",
    );
  }
  const db = getDb();
  const dryRun = opts.dryRun === true;
  // Checked first so a bad assignment is reported as such whatever state the session is in.
  const assigned = opts.assignUserId
    ? await db.user.findUnique({
        where: { id: opts.assignUserId },
        select: { id: true, stripeCustomerId: true },
      })
    : null;
  if (opts.assignUserId && !assigned)
    throw new NotFoundError("User", opts.assignUserId, "assignUserId");

  // Cheap exit for the common repeat (success page after the webhook, staff, reconciliation)
  // before any Stripe call. A webhook is usually the first caller, so it asks in the
  // user-resolution query instead and saves a round trip.
  if ((via !== "webhook" && !opts.checkedUncredited) || assigned) {
    const existing = await findPurchase(sessionId);
    if (existing)
      return {
        outcome: "already_credited",
        purchase: existing,
        session: opts.session ? sessionFacts(opts.session) : null,
      };
  }

  const session = opts.session?.line_items ? opts.session : await retrieveSession(sessionId);
  const facts = sessionFacts(session);

  if (session.payment_status !== "paid" && session.payment_status !== "no_payment_required") {
    return { outcome: "not_paid", paymentStatus: session.payment_status, session: facts };
  }

  let user: ResolvedUser;
  if (assigned) {
    user = {
      userId: assigned.id,
      resolvedBy: "manual",
      stripeCustomerId: assigned.stripeCustomerId,
    };
  } else {
    const resolution = await resolveUser(session, facts);
    if (resolution.ok === "credited") {
      const purchase = await db.purchase.findUniqueOrThrow({
        where: { id: resolution.purchaseId },
      });
      return { outcome: "already_credited", purchase, session: facts };
    }
    if (!resolution.ok) {
      const attention = dryRun
        ? null
        : await raiseAttention({
            kind: "unmatched_user",
            dedupeKey: attentionKeys.unmatchedUser(sessionId),
            title: `Paid session ${sessionId} matches no user`,
            detail: `${resolution.detail} Amount ${formatMoney(facts.amountTotal, facts.currency)}. Assign it to a user to credit it.`,
            checkoutSessionId: sessionId,
            stripeEventId: opts.stripeEventId ?? null,
            data: resolution.data,
          });
      return {
        outcome: "unmatched_user",
        attentionItemId: attention?.id ?? null,
        detail: resolution.detail,
        session: facts,
      };
    }
    user = resolution.user;
  }

  const mapping = await mapSessionLines(session, facts, dryRun);
  if (!mapping.ok) {
    if (mapping.kind === "no_credits") {
      if (!dryRun) await rememberCustomer(user, facts.customerId);
      return { outcome: "no_credits", detail: mapping.detail, session: facts };
    }
    const attention = dryRun
      ? null
      : await raiseAttention({
          kind: mapping.kind,
          dedupeKey:
            mapping.kind === "unknown_price"
              ? attentionKeys.unknownPrice(sessionId)
              : attentionKeys.amountMismatch(sessionId),
          title:
            mapping.kind === "unknown_price"
              ? `Paid session ${sessionId} has a price that is not a credit pack`
              : `Paid session ${sessionId} does not match its credit pack`,
          detail: `${mapping.detail} Nothing was credited; fix the price in Stripe (metadata.credits) and re-run the session.`,
          checkoutSessionId: sessionId,
          stripeEventId: opts.stripeEventId ?? null,
          userId: user.userId,
          data:
            mapping.kind === "unknown_price"
              ? { priceIds: mapping.priceIds }
              : { detail: mapping.detail },
        });
    if (mapping.kind === "unknown_price") {
      return {
        outcome: "unknown_price",
        priceIds: mapping.priceIds,
        attentionItemId: attention?.id ?? null,
        detail: mapping.detail,
        session: facts,
      };
    }
    return {
      outcome: "amount_mismatch",
      attentionItemId: attention?.id ?? null,
      detail: mapping.detail,
      session: facts,
    };
  }

  const credits = mapping.lines.reduce((sum, l) => sum + l.credits, 0);
  const quantity = mapping.lines.reduce((sum, l) => sum + l.quantity, 0);
  if (credits > MAX_CREDITS)
    throw new ValidationError(
      `session ${sessionId} would grant ${credits} credits, more than one purchase can hold.`,
      "sessionId",
    );
  if (dryRun) {
    return {
      outcome: "would_credit",
      resolvedBy: user.resolvedBy,
      userId: user.userId,
      credits,
      session: facts,
    };
  }

  const actor: Actor = opts.staffId
    ? { type: "staff", id: opts.staffId }
    : { type: "system", label: `fulfillment:${via}` };
  const grantTier = mapping.packs.find((p) => p.grantsTier)?.grantsTier ?? null;
  const purchaseId = randomUUID();
  // When Stripe took the money (the finance figures' time) and when we credited it (the ledger's).
  const paidAt = await paidAtOf(session);
  // One clock for the purchase and its ledger entry (the entry's time decides its credits' rollup day).
  const at = appNow();
  const auditAfter = {
    checkoutSessionId: sessionId,
    userId: user.userId,
    credits,
    amountTotal: facts.amountTotal,
    currency: facts.currency,
    via,
    resolvedBy: user.resolvedBy,
  };
  const openKeys = [
    attentionKeys.unmatchedUser(sessionId),
    attentionKeys.unknownPrice(sessionId),
    attentionKeys.amountMismatch(sessionId),
  ];
  // The purchase, its audit record and the closing of the session's open attention items are
  // written by the ledger entry's own statement, only if the entry is inserted, with the revenue
  // rollup beside the credits rollup: every purchase runs this, so round trips count. A concurrent
  // fulfiller of the same session waits on the entry's unique key (`checkout:<session id>`) until
  // we commit, then finds it taken; the unique checkout_session_id stands behind it.
  const purchaseCtes = Prisma.sql`
    fulfil_purchase AS (
      INSERT INTO purchases (id, checkout_session_id, payment_intent_id, stripe_customer_id, user_id, pack_id, quantity,
        credits, amount_total, currency, status, credited_via, user_resolved_by, livemode, lines, stripe_created_at,
        paid_at, created_at, updated_at)
      SELECT ${purchaseId}, ${sessionId}, ${facts.paymentIntentId}, ${facts.customerId}, ${user.userId},
        ${mapping.lines[0].packId}, ${quantity}, ${credits}, ${facts.amountTotal}, ${facts.currency}, 'paid',
        ${via}::"CreditedVia", ${user.resolvedBy}::"UserResolvedBy", ${facts.livemode},
        ${JSON.stringify(mapping.lines)}::jsonb, ${facts.createdAt}, ${paidAt}, ${at}, ${at}
      FROM ledger_entry
      RETURNING id),
    fulfil_audit AS (${auditInsertFromSql(
      { actor, action: "purchase.credited", targetType: "purchase", after: auditAfter },
      Prisma.sql`fulfil_purchase`,
    )}),
    fulfil_resolved AS (${autoResolveAttentionSql(
      openKeys,
      `Credited via ${via} to user ${user.userId}.`,
      opts.staffId,
      Prisma.sql`EXISTS (SELECT 1 FROM fulfil_purchase)`,
    )})`;
  const entryInput = {
    userId: user.userId,
    delta: credits,
    kind: "purchase" as const,
    idempotencyKey: `checkout:${sessionId}`,
    purchaseId,
    staffId: opts.staffId ?? null,
    stripeEventId: opts.stripeEventId ?? null,
    reason: `Checkout Session ${sessionId}`,
    metadata: { via, resolvedBy: user.resolvedBy },
    at,
    // The purchase's own grant, valued at what was paid for it, expiring as its pack says.
    grant: {
      source: "purchase" as const,
      amountPaid: facts.amountTotal,
      currency: facts.currency,
      expiresAt: purchaseExpiry(mapping.packs, mapping.lines[0].packId, at),
    },
  };
  const entryExtras = {
    with: purchaseCtes,
    rollups: [
      {
        // Revenue belongs to the day the customer paid, whenever it was credited.
        at: paidAt,
        currency: facts.currency || "-",
        delta: { revenue: facts.amountTotal, purchases: 1 },
      },
    ],
  };
  let entry: LedgerEntry;
  try {
    // Without a tier to grant, the ledger's single statement is the whole transaction.
    const posted = grantTier
      ? await db.$transaction(async (tx) => {
          await raiseUserTier(tx, user.userId, grantTier, {
            source: "purchase",
            sourceRef: purchaseId,
            staffId: opts.staffId ?? null,
            reason: `Bought ${sessionId}`,
          });
          return postLedgerEntryInTx(tx, entryInput, entryExtras);
        }, TX_OPTIONS)
      : await postLedgerEntry(entryInput, entryExtras);
    // The key names a new purchase id, so an existing entry is never a replay of this request.
    if (!posted.created) throw new IdempotencyConflictError(entryInput.idempotencyKey);
    entry = posted.entry;
  } catch (error) {
    // Someone else credited the session: the entry's key is taken (or, behind it, the purchase's
    // unique session id). Read the winner outside the failed transaction.
    if (isUniqueViolation(error) || error instanceof IdempotencyConflictError) {
      const winner = await findPurchase(sessionId);
      if (winner) return { outcome: "already_credited", purchase: winner, session: facts };
    }
    throw error;
  }
  // The row as inserted above (no read back: it is exactly what we wrote).
  const purchase: Purchase = {
    id: purchaseId,
    checkoutSessionId: sessionId,
    paymentIntentId: facts.paymentIntentId,
    chargeId: null,
    stripeCustomerId: facts.customerId,
    userId: user.userId,
    packId: mapping.lines[0].packId,
    quantity,
    credits,
    amountTotal: facts.amountTotal,
    currency: facts.currency,
    status: "paid",
    creditedVia: via,
    userResolvedBy: user.resolvedBy,
    livemode: facts.livemode,
    amountRefunded: 0,
    creditsClawedBack: 0,
    creditsUnrecovered: 0,
    creditsHeld: 0,
    lines: mapping.lines as unknown as Prisma.JsonValue,
    stripeCreatedAt: facts.createdAt,
    paidAt,
    createdAt: at,
    updatedAt: at,
  };
  await rememberCustomer(user, facts.customerId);
  logger.info(
    { sessionId, userId: user.userId, credits, via, resolvedBy: user.resolvedBy },
    "checkout session credited",
  );
  return {
    outcome: "credited",
    purchase,
    entry,
    resolvedBy: user.resolvedBy,
    userId: user.userId,
    credits,
    session: facts,
  };
}

import Stripe from "stripe";
import { z } from "zod";
import { Prisma } from "~/generated/prisma/client";
import { getDb } from "../infra/db.server";
import { getStripe } from "../infra/stripe-client.server";
import { stripeFailureToDomainError } from "../stripe-failure.server";
import { DomainError } from "../errors.server";
import { STRIPE_ID } from "~/shared/ids";
import type { SearchKind } from "~/shared/search";

/**
 * The header's global search: whatever id or words support was given — an email or part of it
 * (any word of the name or address, not only a prefix), a user id, a name, a Stripe id (cus_, cs_,
 * pi_, ch_, re_, dp_, evt_, in_, sub_), a receipt number or a purchase id. One match → its page;
 * several → listed by kind. A Stripe id creditdesk does not know is looked up in Stripe
 * (read-only) and shown as "not in creditdesk yet" with the actions that fit.
 */

export const SEARCH_LIMIT = 20;
export const RECEIPT_NUMBER = /^\d{4}-\d{4}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Looks like a Stripe id (letters, underscore, more) but is none of the kinds we know. */
const ID_LIKE = /^[a-z]{2,5}_[A-Za-z0-9_]{3,}$/;
/** How many recent charges a receipt-number search reads (Stripe has no filter for it). */
export const RECEIPT_SCAN_LIMIT = 1000;

export const globalSearchSchema = z.object({
  q: z.preprocess(
    (v) => (typeof v === "string" ? v.trim() : ""),
    z.string().max(200, { error: "Keep the search under 200 characters." }),
  ),
});

export interface SearchHit {
  kind: SearchKind;
  id: string;
  label: string;
  detail: string | null;
  to: string;
}

/** A Stripe object creditdesk has no record of. */
export interface StripeOnly {
  id: string;
  object: string;
  livemode: boolean;
  summary: string;
  amount: number | null;
  currency: string | null;
  email: string | null;
  customerId: string | null;
  created: string | null;
  /** The creditdesk user it points to (by customer, reference or email), if any. */
  user: { id: string; email: string } | null;
  actions: { label: string; to: string }[];
}

export type SearchResult =
  | { kind: "empty" }
  | { kind: "redirect"; to: string }
  | { kind: "field_error"; message: string }
  | {
      kind: "results";
      hits: SearchHit[];
      stripe: StripeOnly | null;
      stripeError: string | null;
      notFound: boolean;
      note: string | null;
    };

const userTo = (id: string) => `/users/${encodeURIComponent(id)}`;

export async function globalSearch(q: string): Promise<SearchResult> {
  if (!q) return { kind: "empty" };
  const hits: SearchHit[] = [];
  let stripe: StripeOnly | null = null;
  let stripeError: string | null = null;
  let note: string | null = null;

  if (STRIPE_ID.test(q)) {
    hits.push(...(await localStripeHits(q)));
    if (hits.length === 0) {
      try {
        stripe = await lookUpInStripe(q);
      } catch (error) {
        if (error instanceof DomainError) stripeError = error.message;
        else throw error;
      }
    }
  } else if (RECEIPT_NUMBER.test(q)) {
    try {
      const charge = await chargeByReceiptNumber(q);
      if (charge) {
        hits.push(...(await localStripeHits(charge.id)));
        if (hits.length === 0) stripe = await lookUpInStripe(charge.id);
      } else {
        note = `No charge with receipt number ${q} among the newest ${RECEIPT_SCAN_LIMIT.toLocaleString("en-US")} in Stripe (Stripe cannot search by receipt number). Ask for the payment id (pi_… or ch_…) on the receipt page, or search by email.`;
      }
    } catch (error) {
      if (error instanceof DomainError) stripeError = error.message;
      else throw error;
    }
  } else {
    if (UUID.test(q)) hits.push(...(await purchaseHits({ id: q.toLowerCase() })));
    hits.push(...(await userHits(q)));
    if (hits.length === 0 && ID_LIKE.test(q)) {
      return {
        kind: "field_error",
        message: `“${q}” is not an id creditdesk knows: Stripe ids start with cus_, cs_, pi_, ch_, re_, dp_, evt_, in_ or sub_; a receipt number looks like 1234-5678.`,
      };
    }
  }

  const unique = dedupe(hits);
  if (unique.length === 1 && !stripe) return { kind: "redirect", to: unique[0].to };
  return {
    kind: "results",
    hits: unique,
    stripe,
    stripeError,
    notFound: unique.length === 0 && !stripe && !stripeError && !note,
    note,
  };
}

function dedupe(hits: SearchHit[]): SearchHit[] {
  const seen = new Set<string>();
  return hits.filter((h) => {
    const key = `${h.kind}:${h.id}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Users whose email or name contains every word of the query (case-insensitive, anywhere: a
 * surname finds "jane.doe@…" and "Jane Doe"), or whose id is the query. `%` and `_` are literal.
 */
async function userHits(q: string): Promise<SearchHit[]> {
  const words = q.split(/\s+/).filter(Boolean).slice(0, 6);
  const like = (w: string) => `%${w.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const conditions = words.map(
    (w) =>
      Prisma.sql`(email_normalized LIKE ${like(w)} OR lower(coalesce(name, '')) LIKE ${like(w)})`,
  );
  const rows = await getDb().$queryRaw<
    { id: string; email: string; name: string | null; balance: number }[]
  >`SELECT id, email, name, balance FROM users
    WHERE id = ${q} OR (${Prisma.join(conditions, " AND ")})
    ORDER BY (id = ${q}) DESC, email_normalized, id
    LIMIT ${SEARCH_LIMIT}`;
  return rows.map((u) => ({
    kind: "user" as const,
    id: u.id,
    label: u.email,
    detail: [u.name, `id ${u.id}`, `balance ${Number(u.balance).toLocaleString("en-US")}`]
      .filter(Boolean)
      .join(" · "),
    to: userTo(u.id),
  }));
}

async function purchaseHits(where: Prisma.PurchaseWhereInput): Promise<SearchHit[]> {
  const rows = await getDb().purchase.findMany({
    where,
    take: SEARCH_LIMIT,
    orderBy: { createdAt: "desc" },
    select: {
      id: true,
      checkoutSessionId: true,
      credits: true,
      user: { select: { email: true } },
    },
  });
  return rows.map((p) => ({
    kind: "purchase" as const,
    id: p.id,
    label: `Purchase of ${p.credits.toLocaleString("en-US")} credits by ${p.user.email}`,
    detail: p.checkoutSessionId,
    to: `/purchases/${p.id}`,
  }));
}

/** What creditdesk holds under a Stripe id. */
async function localStripeHits(id: string): Promise<SearchHit[]> {
  const db = getDb();
  const prefix = id.slice(0, id.indexOf("_"));
  switch (prefix) {
    case "cus": {
      const users = await db.user.findMany({
        where: { stripeCustomerId: id },
        select: { id: true, email: true },
      });
      const fromPurchases = await db.purchase.findMany({
        where: { stripeCustomerId: id },
        distinct: ["userId"],
        take: SEARCH_LIMIT,
        select: { user: { select: { id: true, email: true } } },
      });
      return [...users, ...fromPurchases.map((p) => p.user)].map((u) => ({
        kind: "user" as const,
        id: u.id,
        label: u.email,
        detail: `Stripe customer ${id}`,
        to: userTo(u.id),
      }));
    }
    case "cs": {
      const [purchases, items] = await Promise.all([
        purchaseHits({ checkoutSessionId: id }),
        db.attentionItem.findMany({
          where: { checkoutSessionId: id, status: "open" },
          select: { id: true, title: true },
        }),
      ]);
      return [
        ...purchases,
        ...items.map((a) => ({
          kind: "attention" as const,
          id: a.id,
          label: a.title,
          detail: "open attention item",
          to: `/attention/${a.id}`,
        })),
      ];
    }
    case "pi":
      return purchaseHits({ paymentIntentId: id });
    case "ch": {
      const local = await purchaseHits({ chargeId: id });
      if (local.length > 0) return local;
      // A purchase records its payment intent; the charge's is asked of Stripe (read-only). If
      // Stripe fails here, the lookup that follows reports it.
      try {
        const charge = await getStripe().charges.retrieve(id);
        const pi = idOf(charge.payment_intent as string | { id: string } | null);
        return pi ? purchaseHits({ paymentIntentId: pi }) : [];
      } catch {
        return [];
      }
    }
    case "re": {
      const refund = await db.refund.findUnique({
        where: { id },
        select: { purchaseId: true, amount: true, currency: true },
      });
      return refund
        ? [
            {
              kind: "refund" as const,
              id,
              label: `Refund ${id}`,
              detail: `of purchase ${refund.purchaseId}`,
              to: `/purchases/${refund.purchaseId}`,
            },
          ]
        : [];
    }
    case "dp": {
      const dispute = await db.dispute.findUnique({
        where: { id },
        select: { purchaseId: true, status: true },
      });
      return dispute
        ? [
            {
              kind: "dispute" as const,
              id,
              label: `Dispute ${id} (${dispute.status})`,
              detail: `of purchase ${dispute.purchaseId}`,
              to: `/purchases/${dispute.purchaseId}`,
            },
          ]
        : [];
    }
    case "evt": {
      const event = await db.stripeEvent.findUnique({
        where: { id },
        select: { type: true, status: true },
      });
      return event
        ? [
            {
              kind: "event" as const,
              id,
              label: `${event.type} (${event.status.replace(/_/g, " ")})`,
              detail: id,
              to: `/webhooks/events/${encodeURIComponent(id)}`,
            },
          ]
        : [];
    }
    case "sub": {
      const sub = await db.subscription.findUnique({
        where: { id },
        select: { status: true, user: { select: { id: true, email: true } } },
      });
      return sub
        ? [
            {
              kind: "subscription" as const,
              id,
              label: `Subscription ${id} (${sub.status}) of ${sub.user.email}`,
              detail: null,
              to: userTo(sub.user.id),
            },
          ]
        : [];
    }
    case "in": {
      const grants = await db.creditGrant.findMany({
        where: { invoiceId: id },
        take: 5,
        select: { user: { select: { id: true, email: true } } },
      });
      return grants.map((g) => ({
        kind: "invoice" as const,
        id,
        label: `Invoice ${id} of ${g.user.email}`,
        detail: "credits granted by this invoice",
        to: userTo(g.user.id),
      }));
    }
    default:
      return [];
  }
}

/** Stripe has no receipt-number filter: read the newest charges (bounded) and compare. */
async function chargeByReceiptNumber(receipt: string): Promise<Stripe.Charge | null> {
  try {
    let read = 0;
    for await (const charge of getStripe().charges.list({ limit: 100 })) {
      if (charge.receipt_number === receipt) return charge;
      read += 1;
      if (read >= RECEIPT_SCAN_LIMIT) break;
    }
    return null;
  } catch (error) {
    throw stripeFailureToDomainError(error, "for charges") ?? error;
  }
}

const idOf = (v: string | { id: string } | null | undefined) =>
  v ? (typeof v === "string" ? v : v.id) : null;

/** Read-only: what Stripe knows about an id creditdesk does not. Null when Stripe has no such id. */
async function lookUpInStripe(id: string): Promise<StripeOnly | null> {
  const stripe = getStripe();
  const prefix = id.slice(0, id.indexOf("_"));
  let obj: {
    object: string;
    livemode: boolean;
    amount?: number | null;
    currency?: string | null;
    email?: string | null;
    customer?: string | { id: string } | null;
    created?: number;
    summary: string;
    sessionRef?: string | null;
    userRef?: string | null;
  };
  try {
    switch (prefix) {
      case "cus": {
        const c = await stripe.customers.retrieve(id);
        if ("deleted" in c && c.deleted) {
          obj = { object: "customer", livemode: false, summary: "A deleted customer." };
        } else {
          const cus = c as Stripe.Customer;
          obj = {
            object: "customer",
            livemode: cus.livemode,
            email: cus.email,
            customer: cus.id,
            created: cus.created,
            summary: `Customer ${cus.name ?? cus.email ?? cus.id}`,
            userRef: cus.metadata?.user_id ?? null,
          };
        }
        break;
      }
      case "cs": {
        const s = await stripe.checkout.sessions.retrieve(id);
        obj = {
          object: "checkout.session",
          livemode: s.livemode,
          amount: s.amount_total,
          currency: s.currency,
          email: s.customer_details?.email ?? s.customer_email,
          customer: s.customer as string | null,
          created: s.created,
          summary: `Checkout Session, ${s.payment_status.replace(/_/g, " ")} (${s.status ?? "?"})`,
          sessionRef: s.id,
          userRef: s.client_reference_id ?? s.metadata?.user_id ?? null,
        };
        break;
      }
      case "pi": {
        const pi = await stripe.paymentIntents.retrieve(id);
        obj = {
          object: "payment_intent",
          livemode: pi.livemode,
          amount: pi.amount,
          currency: pi.currency,
          email: pi.receipt_email,
          customer: pi.customer as string | null,
          created: pi.created,
          summary: `Payment intent, ${pi.status.replace(/_/g, " ")}`,
          sessionRef: pi.id,
        };
        break;
      }
      case "ch": {
        const ch = await stripe.charges.retrieve(id);
        obj = {
          object: "charge",
          livemode: ch.livemode,
          amount: ch.amount,
          currency: ch.currency,
          email: ch.billing_details?.email ?? ch.receipt_email,
          customer: ch.customer as string | null,
          created: ch.created,
          summary: `Charge, ${ch.status}${ch.refunded ? ", refunded" : ""}${ch.receipt_number ? `, receipt ${ch.receipt_number}` : ""}`,
          sessionRef: ch.id,
        };
        break;
      }
      case "re": {
        const r = await stripe.refunds.retrieve(id);
        obj = {
          object: "refund",
          livemode: (r as unknown as { livemode?: boolean }).livemode ?? false,
          amount: r.amount,
          currency: r.currency,
          created: r.created,
          summary: `Refund, ${r.status ?? "?"}, of charge ${idOf(r.charge as string | null) ?? "?"}`,
        };
        break;
      }
      case "dp": {
        const d = await stripe.disputes.retrieve(id);
        obj = {
          object: "dispute",
          livemode: d.livemode,
          amount: d.amount,
          currency: d.currency,
          created: d.created,
          summary: `Dispute, ${d.status.replace(/_/g, " ")}, on charge ${idOf(d.charge as string | null) ?? "?"}`,
        };
        break;
      }
      case "evt": {
        const e = await stripe.events.retrieve(id);
        obj = {
          object: "event",
          livemode: e.livemode,
          created: e.created,
          summary: `Event ${e.type} — never received by creditdesk (replay it from Stripe, or run a reconciliation).`,
        };
        break;
      }
      case "in": {
        const inv = await stripe.invoices.retrieve(id);
        obj = {
          object: "invoice",
          livemode: inv.livemode,
          amount: inv.amount_paid,
          currency: inv.currency,
          email: inv.customer_email,
          customer: inv.customer as string | null,
          created: inv.created,
          summary: `Invoice, ${inv.status ?? "?"}`,
        };
        break;
      }
      case "sub": {
        const sub = await stripe.subscriptions.retrieve(id);
        obj = {
          object: "subscription",
          livemode: sub.livemode,
          customer: sub.customer as string | null,
          created: sub.created,
          summary: `Subscription, ${sub.status.replace(/_/g, " ")}`,
        };
        break;
      }
      default:
        return null;
    }
  } catch (error) {
    if (error instanceof Stripe.errors.StripeInvalidRequestError && error.statusCode === 404) {
      return null;
    }
    throw stripeFailureToDomainError(error, `about ${id}`) ?? error;
  }
  const customerId = idOf(obj.customer);
  const db = getDb();
  const user =
    (obj.userRef
      ? await db.user.findUnique({ where: { id: obj.userRef }, select: { id: true, email: true } })
      : null) ??
    (customerId
      ? await db.user.findUnique({
          where: { stripeCustomerId: customerId },
          select: { id: true, email: true },
        })
      : null) ??
    (obj.email
      ? await db.user
          .findMany({
            where: { emailNormalized: obj.email.toLowerCase() },
            take: 2,
            select: { id: true, email: true },
          })
          .then((rows) => (rows.length === 1 ? rows[0] : null))
      : null);
  const actions: { label: string; to: string }[] = [];
  if (user) {
    if (obj.sessionRef) {
      actions.push({
        label: `Credit it on ${user.email}'s page (preview first)`,
        to: `${userTo(user.id)}?credit=${encodeURIComponent(obj.sessionRef)}#credit-session-heading`,
      });
    }
    actions.push({ label: `Open ${user.email}`, to: userTo(user.id) });
  } else if (obj.email) {
    actions.push({
      label: `Find users like ${obj.email}`,
      to: `/search?q=${encodeURIComponent(obj.email)}`,
    });
  }
  if (obj.object === "event") {
    actions.push({ label: "Open the webhooks page", to: "/webhooks" });
  }
  return {
    id,
    object: obj.object,
    livemode: obj.livemode,
    summary: obj.summary,
    amount: obj.amount ?? null,
    currency: obj.currency ?? null,
    email: obj.email ?? null,
    customerId,
    created: obj.created ? new Date(obj.created * 1000).toISOString() : null,
    user,
    actions,
  };
}

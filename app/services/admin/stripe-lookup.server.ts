import type Stripe from "stripe";
import { z } from "zod";
import { DomainError, NotFoundError } from "../errors.server";
import { getDb } from "../infra/db.server";
import { getStripe } from "../infra/stripe-client.server";
import { stripeFailureToDomainError } from "../stripe-failure.server";

/**
 * "Check Stripe" on the user page: ask Stripe, live and read-only, for the Checkout Sessions of
 * this user — by their `cus_…` and by their email (`customer_details.email`) — and say for each
 * what creditdesk did with it. Stripe's email filter is an exact match (docs/emulator.md), so
 * every spelling we know is asked (as stored and lower-cased) and the results are merged.
 */

export const STRIPE_CHECK_PAGE_SIZE = 20;
export const STRIPE_CHECK_DAYS = [7, 30, 90, 365] as const;

export const stripeCheckSearchSchema = z.object({
  days: z.preprocess(
    (v) => (v === undefined || v === "" ? "90" : v),
    z.coerce
      .number()
      .int()
      .refine((n) => (STRIPE_CHECK_DAYS as readonly number[]).includes(n), {
        error: `days must be one of ${STRIPE_CHECK_DAYS.join(", ")}.`,
      }),
  ),
  /** Opaque cursor: where each source's list continues (Stripe's `starting_after`). */
  after: z.preprocess(
    (v) => (v === "" ? undefined : v),
    z
      .string()
      .max(2000)
      .regex(/^[A-Za-z0-9_-]+$/, { error: "The page link is not valid." })
      .optional(),
  ),
});

type Source = { key: string; params: Stripe.Checkout.SessionListParams };

export type StripeSessionVerdict =
  | {
      state: "credited";
      purchaseId: string;
      entrySeq: number | null;
      creditedToOther: string | null;
    }
  | {
      state: "not_credited";
      why:
        | "unmatched_user"
        | "unknown_price"
        | "amount_mismatch"
        | "event_failed"
        | "webhook_never_received"
        | "event_pending";
      attentionItemId: string | null;
      eventId: string | null;
      detail: string;
    }
  | { state: "not_paid"; paymentStatus: string; status: string | null };

export interface StripeSessionRow {
  id: string;
  created: string;
  amount: number;
  currency: string;
  paymentStatus: string;
  status: string | null;
  pack: string | null;
  email: string | null;
  customerId: string | null;
  paymentIntentId: string | null;
  livemode: boolean;
  foundBy: string[];
  verdict: StripeSessionVerdict;
}

function encodeCursor(value: Record<string, string>): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

function decodeCursor(value: string | undefined): Record<string, string> | null {
  if (!value) return null;
  try {
    const parsed = JSON.parse(Buffer.from(value, "base64url").toString("utf8")) as unknown;
    if (parsed && typeof parsed === "object") {
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(parsed)) if (typeof v === "string") out[k] = v;
      return out;
    }
  } catch {
    // fall through
  }
  throw new DomainError(400, "invalid_request", "The page link is not valid.", "after");
}

const idOf = (v: string | { id: string } | null | undefined) =>
  v ? (typeof v === "string" ? v : v.id) : null;

/** The user's Checkout Sessions in Stripe, newest first, each with what creditdesk did with it. */
export async function checkStripeForUser(
  userId: string,
  opts: z.output<typeof stripeCheckSearchSchema>,
) {
  const db = getDb();
  const user = await db.user.findUnique({
    where: { id: userId },
    select: { id: true, email: true, stripeCustomerId: true },
  });
  if (!user) throw new NotFoundError("User", userId);
  const since = Math.floor(Date.now() / 1000) - opts.days * 86_400;
  const common = {
    created: { gte: since },
    limit: STRIPE_CHECK_PAGE_SIZE,
    expand: ["data.line_items"],
  };
  const sources: Source[] = [];
  if (user.stripeCustomerId) {
    sources.push({ key: "customer", params: { ...common, customer: user.stripeCustomerId } });
  }
  const spellings = [...new Set([user.email, user.email.toLowerCase()])];
  spellings.forEach((email, i) =>
    sources.push({ key: `email${i}`, params: { ...common, customer_details: { email } } }),
  );

  const cursor = decodeCursor(opts.after);
  // On a later page, a source that had no more is not asked again.
  const active = cursor ? sources.filter((s) => cursor[s.key] !== undefined) : sources;
  const stripe = getStripe();
  let pages: { source: Source; list: Stripe.ApiList<Stripe.Checkout.Session> }[];
  try {
    pages = await Promise.all(
      active.map(async (source) => ({
        source,
        list: await stripe.checkout.sessions.list({
          ...source.params,
          ...(cursor?.[source.key] ? { starting_after: cursor[source.key] } : {}),
        }),
      })),
    );
  } catch (error) {
    throw stripeFailureToDomainError(error, "for this user's payments") ?? error;
  }

  const byId = new Map<string, { session: Stripe.Checkout.Session; foundBy: Set<string> }>();
  const next: Record<string, string> = {};
  for (const { source, list } of pages) {
    for (const session of list.data) {
      const hit = byId.get(session.id) ?? { session, foundBy: new Set<string>() };
      hit.foundBy.add(source.key === "customer" ? "customer" : "email");
      byId.set(session.id, hit);
    }
    const last = list.data[list.data.length - 1];
    if (list.has_more && last) next[source.key] = last.id;
  }
  const sessions = [...byId.values()].sort((a, b) => b.session.created - a.session.created);
  const rows = await explain(
    sessions.map((s) => s.session),
    userId,
  );
  return {
    days: opts.days,
    customerId: user.stripeCustomerId,
    emails: spellings,
    rows: sessions.map((s, i) => ({ ...rows[i], foundBy: [...s.foundBy] })),
    next: Object.keys(next).length > 0 ? encodeCursor(next) : null,
  };
}

/** What creditdesk did with each session: one query per table for the page. */
async function explain(
  sessions: Stripe.Checkout.Session[],
  userId: string,
): Promise<Omit<StripeSessionRow, "foundBy">[]> {
  const db = getDb();
  const ids = sessions.map((s) => s.id);
  const priceIds = sessions.flatMap((s) =>
    (s.line_items?.data ?? []).map((l) => idOf(l.price as string | { id: string } | null) ?? ""),
  );
  const [purchases, attention, events, packs] = await Promise.all([
    db.purchase.findMany({
      where: { checkoutSessionId: { in: ids } },
      select: { id: true, checkoutSessionId: true, userId: true },
    }),
    db.attentionItem.findMany({
      where: { checkoutSessionId: { in: ids } },
      orderBy: { createdAt: "desc" },
      select: { id: true, checkoutSessionId: true, kind: true, status: true, title: true },
    }),
    db.stripeEvent.findMany({
      where: { objectId: { in: ids } },
      orderBy: { receivedAt: "desc" },
      select: { id: true, objectId: true, status: true, lastError: true, type: true },
    }),
    db.creditPack.findMany({
      where: { stripePriceId: { in: priceIds.filter(Boolean) } },
      select: { stripePriceId: true, name: true },
    }),
  ]);
  const entries = await db.ledgerEntry.findMany({
    where: { idempotencyKey: { in: purchases.map((p) => `checkout:${p.checkoutSessionId}`) } },
    select: { idempotencyKey: true, seq: true },
  });
  const packName = new Map(packs.map((p) => [p.stripePriceId, p.name]));
  return sessions.map((s) => {
    const purchase = purchases.find((p) => p.checkoutSessionId === s.id);
    const firstLine = s.line_items?.data[0];
    const priceId = idOf(firstLine?.price as string | { id: string } | null);
    let verdict: StripeSessionVerdict;
    if (purchase) {
      verdict = {
        state: "credited",
        purchaseId: purchase.id,
        entrySeq: entries.find((e) => e.idempotencyKey === `checkout:${s.id}`)?.seq ?? null,
        creditedToOther: purchase.userId !== userId ? purchase.userId : null,
      };
    } else if (s.payment_status !== "paid" && s.payment_status !== "no_payment_required") {
      verdict = { state: "not_paid", paymentStatus: s.payment_status, status: s.status ?? null };
    } else {
      const item = attention.find((a) => a.checkoutSessionId === s.id);
      const event = events.find((e) => e.objectId === s.id);
      if (
        item &&
        (item.kind === "unmatched_user" ||
          item.kind === "unknown_price" ||
          item.kind === "amount_mismatch")
      ) {
        verdict = {
          state: "not_credited",
          why: item.kind,
          attentionItemId: item.id,
          eventId: event?.id ?? null,
          detail: item.title,
        };
      } else if (event && event.status === "failed") {
        verdict = {
          state: "not_credited",
          why: "event_failed",
          attentionItemId: item?.id ?? null,
          eventId: event.id,
          detail: event.lastError ?? "The event failed.",
        };
      } else if (event) {
        verdict = {
          state: "not_credited",
          why: "event_pending",
          attentionItemId: item?.id ?? null,
          eventId: event.id,
          detail: `The ${event.type} event is ${event.status.replace(/_/g, " ")}.`,
        };
      } else {
        verdict = {
          state: "not_credited",
          why: "webhook_never_received",
          attentionItemId: null,
          eventId: null,
          detail: "No webhook event for this session ever reached creditdesk.",
        };
      }
    }
    return {
      id: s.id,
      created: new Date(s.created * 1000).toISOString(),
      amount: s.amount_total ?? 0,
      currency: (s.currency ?? "usd").toLowerCase(),
      paymentStatus: s.payment_status,
      status: s.status ?? null,
      pack: (priceId ? packName.get(priceId) : undefined) ?? firstLine?.description ?? null,
      email: s.customer_details?.email ?? s.customer_email ?? null,
      customerId: idOf(s.customer as string | { id: string } | null),
      paymentIntentId: idOf(s.payment_intent as string | { id: string } | null),
      livemode: s.livemode,
      verdict,
    };
  });
}

export type StripeCheck = Awaited<ReturnType<typeof checkStripeForUser>>;

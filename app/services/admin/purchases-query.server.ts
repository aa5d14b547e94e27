import { z } from "zod";
import { Prisma } from "~/generated/prisma/client";
import type { CreditedVia, PurchaseStatus } from "~/generated/prisma/enums";
import { getDb } from "../db.server";
import { NotFoundError } from "../errors.server";
import { EXPORT_BATCH_SIZE, type CsvColumn } from "./csv.server";
import {
  cursorParam,
  dayAfter,
  dayStart,
  optionalDay,
  optionalEnum,
  optionalText,
} from "./forms.server";
import {
  finishPage,
  keysetQuery,
  prefetchPages,
  type Page,
  type PageRequest,
  type SortSpec,
} from "./keyset.server";
import { CREDITED_VIA, PURCHASE_STATUSES } from "./options";

export const PURCHASES_PAGE_SIZE = 50;
export const DEFAULT_RANGE_DAYS = 30;

export const purchaseFiltersSchema = z
  .object({
    from: optionalDay("From"),
    to: optionalDay("To"),
    status: optionalEnum(PURCHASE_STATUSES, "status"),
    pack: optionalText(64, "Pack"),
    currency: z.preprocess(
      (v) => (typeof v === "string" ? v.trim().toLowerCase() || undefined : v),
      z
        .string()
        .regex(/^[a-z]{3}$/, { error: "Currency is a three-letter code such as usd." })
        .optional(),
    ),
    via: optionalEnum(CREDITED_VIA, "credited-via value"),
    user: optionalText(255, "User id"),
    /** Exact Stripe id: Checkout Session, PaymentIntent or Charge. */
    ref: optionalText(255, "Stripe id"),
  })
  .refine((f) => !f.from || !f.to || f.from <= f.to, {
    path: ["to"],
    error: "“To” must not be before “From”.",
  });

export type PurchaseFilters = z.output<typeof purchaseFiltersSchema>;

export const purchasesSearchSchema = z.intersection(
  purchaseFiltersSchema,
  z.object({ after: cursorParam, before: cursorParam }),
);

/** The page opens on the last 30 days; an explicitly emptied "From" means all time. */
export function defaultFrom(now = new Date()): string {
  return new Date(now.getTime() - (DEFAULT_RANGE_DAYS - 1) * 86_400_000).toISOString().slice(0, 10);
}

function conditions(f: PurchaseFilters): Prisma.Sql {
  const c: Prisma.Sql[] = [Prisma.sql`TRUE`];
  if (f.from) c.push(Prisma.sql`p.created_at >= ${dayStart(f.from)}`);
  if (f.to) c.push(Prisma.sql`p.created_at < ${dayAfter(f.to)}`);
  if (f.status) c.push(Prisma.sql`p.status = ${f.status}::"PurchaseStatus"`);
  if (f.pack) c.push(Prisma.sql`p.pack_id = ${f.pack}`);
  if (f.currency) c.push(Prisma.sql`p.currency = ${f.currency}`);
  if (f.via) c.push(Prisma.sql`p.credited_via = ${f.via}::"CreditedVia"`);
  if (f.user) c.push(Prisma.sql`p.user_id = ${f.user}`);
  if (f.ref) {
    c.push(
      Prisma.sql`(p.checkout_session_id = ${f.ref} OR p.payment_intent_id = ${f.ref} OR p.charge_id = ${f.ref})`,
    );
  }
  return Prisma.join(c, " AND ");
}

const NEWEST_FIRST: SortSpec = {
  direction: "desc",
  columns: [
    { sql: Prisma.sql`p.created_at`, cast: "timestamptz" },
    { sql: Prisma.sql`p.id`, cast: "text" },
  ],
};
const OLDEST_FIRST: SortSpec = { ...NEWEST_FIRST, direction: "asc" };

export interface PurchaseRow {
  id: string;
  createdAt: Date;
  stripeCreatedAt: Date;
  checkoutSessionId: string;
  paymentIntentId: string | null;
  chargeId: string | null;
  userId: string;
  userEmail: string;
  packName: string | null;
  quantity: number;
  credits: number;
  amountTotal: number;
  amountRefunded: number;
  creditsClawedBack: number;
  currency: string;
  status: PurchaseStatus;
  creditedVia: CreditedVia;
  userResolvedBy: string;
  livemode: boolean;
}

async function selectPurchases(
  where: Prisma.Sql,
  boundary: Prisma.Sql,
  orderBy: Prisma.Sql,
  take: number,
) {
  return getDb().$queryRaw<PurchaseRow[]>`
    SELECT p.id, p.created_at AS "createdAt", p.stripe_created_at AS "stripeCreatedAt",
      p.checkout_session_id AS "checkoutSessionId", p.payment_intent_id AS "paymentIntentId",
      p.charge_id AS "chargeId", p.user_id AS "userId", u.email AS "userEmail", cp.name AS "packName",
      p.quantity, p.credits, p.amount_total AS "amountTotal", p.amount_refunded AS "amountRefunded",
      p.credits_clawed_back AS "creditsClawedBack", p.currency, p.status::text AS status,
      p.credited_via::text AS "creditedVia", p.user_resolved_by::text AS "userResolvedBy", p.livemode
    FROM purchases p
    JOIN users u ON u.id = p.user_id
    LEFT JOIN credit_packs cp ON cp.id = p.pack_id
    WHERE ${where}${boundary}
    ORDER BY ${orderBy}
    LIMIT ${take}`;
}

export async function listPurchases(
  filters: PurchaseFilters,
  page: { after?: string; before?: string },
): Promise<Page<PurchaseRow>> {
  const req: PageRequest = { ...page, limit: PURCHASES_PAGE_SIZE };
  const q = keysetQuery(NEWEST_FIRST, req);
  const rows = await selectPurchases(conditions(filters), q.boundary, q.orderBy, q.take);
  return finishPage(rows, req, q, (r) => [r.createdAt, r.id]);
}

export interface CurrencyTotals {
  currency: string;
  purchases: number;
  amountTotal: number;
  amountRefunded: number;
  credits: number;
}

/** One totals row per currency for everything matching the filters (not just the visible page). */
export async function purchaseTotals(filters: PurchaseFilters): Promise<CurrencyTotals[]> {
  const rows = await getDb().$queryRaw<
    {
      currency: string;
      purchases: bigint;
      amount_total: bigint;
      amount_refunded: bigint;
      credits: bigint;
    }[]
  >`
    SELECT p.currency, COUNT(*) AS purchases, COALESCE(SUM(p.amount_total), 0) AS amount_total,
      COALESCE(SUM(p.amount_refunded), 0) AS amount_refunded, COALESCE(SUM(p.credits), 0) AS credits
    FROM purchases p
    WHERE ${conditions(filters)}
    GROUP BY p.currency
    ORDER BY p.currency`;
  return rows.map((r) => ({
    currency: r.currency,
    purchases: Number(r.purchases),
    amountTotal: Number(r.amount_total),
    amountRefunded: Number(r.amount_refunded),
    credits: Number(r.credits),
  }));
}

/** One exported purchase, with times already as ISO-8601 UTC text (see `purchaseBatches`). */
export interface PurchaseExportRow {
  id: string;
  createdAt: string;
  stripeCreatedAt: string;
  checkoutSessionId: string;
  paymentIntentId: string | null;
  chargeId: string | null;
  userId: string;
  userEmail: string;
  packName: string | null;
  quantity: number;
  credits: number;
  currency: string;
  amountTotal: number;
  amountRefunded: number;
  creditsClawedBack: number;
  status: string;
  creditedVia: string;
  userResolvedBy: string;
  livemode: boolean;
}

type ExportTuple = [
  string,
  string,
  string,
  string,
  string | null,
  string | null,
  string,
  string,
  string | null,
  number,
  number,
  string,
  number,
  number,
  number,
  string,
  string,
  string,
  boolean,
];

const ISO_UTC = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;

/**
 * Every matching purchase, oldest first, in keyset batches. Rows created after the export started
 * are left out, so a long export is a consistent list rather than a moving target.
 *
 * Each batch comes back from Postgres as one JSON array of arrays: turning 1,000 rows of 19
 * columns into JavaScript values through the query engine row by row costs several times more
 * than one JSON.parse, and the export is all about rows per second.
 */
export async function* purchaseBatches(
  filters: PurchaseFilters,
  batchSize = EXPORT_BATCH_SIZE,
): AsyncGenerator<PurchaseExportRow[]> {
  const snapshot = new Date();
  const where = Prisma.sql`${conditions(filters)} AND p.created_at <= ${snapshot}`;
  const iso = Prisma.raw(ISO_UTC);
  yield* prefetchPages(async (after) => {
    const req: PageRequest = { after, limit: batchSize };
    const q = keysetQuery(OLDEST_FIRST, req);
    const [{ batch }] = await getDb().$queryRaw<{ batch: string | null }[]>`
      SELECT json_agg(json_build_array(q.id, to_char(q.created_at AT TIME ZONE 'UTC', ${iso}),
          to_char(q.stripe_created_at AT TIME ZONE 'UTC', ${iso}), q.checkout_session_id, q.payment_intent_id,
          q.charge_id, q.user_id, q.email, q.pack, q.quantity, q.credits, q.currency, q.amount_total,
          q.amount_refunded, q.credits_clawed_back, q.status, q.credited_via, q.user_resolved_by, q.livemode)
        ORDER BY q.created_at, q.id)::text AS batch
      FROM (
        SELECT p.id, p.created_at, p.stripe_created_at, p.checkout_session_id, p.payment_intent_id, p.charge_id,
          p.user_id, u.email, cp.name AS pack, p.quantity, p.credits, p.currency, p.amount_total, p.amount_refunded,
          p.credits_clawed_back, p.status::text AS status, p.credited_via::text AS credited_via,
          p.user_resolved_by::text AS user_resolved_by, p.livemode
        FROM purchases p
        JOIN users u ON u.id = p.user_id
        LEFT JOIN credit_packs cp ON cp.id = p.pack_id
        WHERE ${where}${q.boundary}
        ORDER BY ${q.orderBy}
        LIMIT ${q.take}
      ) q`;
    const tuples = batch ? (JSON.parse(batch) as ExportTuple[]) : [];
    const rows = tuples.map((t) => ({
      id: t[0],
      createdAt: t[1],
      stripeCreatedAt: t[2],
      checkoutSessionId: t[3],
      paymentIntentId: t[4],
      chargeId: t[5],
      userId: t[6],
      userEmail: t[7],
      packName: t[8],
      quantity: t[9],
      credits: t[10],
      currency: t[11],
      amountTotal: t[12],
      amountRefunded: t[13],
      creditsClawedBack: t[14],
      status: t[15],
      creditedVia: t[16],
      userResolvedBy: t[17],
      livemode: t[18],
    }));
    return finishPage(rows, req, q, (r) => [r.createdAt, r.id]);
  });
}

const digitsCache = new Map<string, number>();

function currencyDigits(currency: string): number {
  let digits = digitsCache.get(currency);
  if (digits === undefined) {
    try {
      digits =
        new Intl.NumberFormat("en-US", {
          style: "currency",
          currency: currency.toUpperCase(),
        }).resolvedOptions().maximumFractionDigits ?? 2;
    } catch {
      digits = 2;
    }
    digitsCache.set(currency, digits);
  }
  return digits;
}

/** Decimal amount in major units for the export ("12.50"), from integer minor units. */
export function minorToDecimal(minor: number, currency: string): string {
  const digits = currencyDigits(currency);
  if (digits === 0) return String(minor);
  const sign = minor < 0 ? "-" : "";
  const abs = Math.abs(minor)
    .toString()
    .padStart(digits + 1, "0");
  return `${sign}${abs.slice(0, -digits)}.${abs.slice(-digits)}`;
}

export const PURCHASE_CSV_COLUMNS: CsvColumn<PurchaseExportRow>[] = [
  { header: "purchase_id", value: (r) => r.id },
  { header: "created_at_utc", value: (r) => r.createdAt },
  { header: "stripe_created_at_utc", value: (r) => r.stripeCreatedAt },
  { header: "checkout_session_id", value: (r) => r.checkoutSessionId },
  { header: "payment_intent_id", value: (r) => r.paymentIntentId },
  { header: "charge_id", value: (r) => r.chargeId },
  { header: "user_id", value: (r) => r.userId },
  { header: "user_email", value: (r) => r.userEmail },
  { header: "pack", value: (r) => r.packName },
  { header: "quantity", value: (r) => r.quantity },
  { header: "credits", value: (r) => r.credits },
  { header: "currency", value: (r) => r.currency },
  { header: "amount_total_minor", value: (r) => r.amountTotal },
  { header: "amount_total", value: (r) => minorToDecimal(r.amountTotal, r.currency) },
  { header: "amount_refunded_minor", value: (r) => r.amountRefunded },
  { header: "credits_clawed_back", value: (r) => r.creditsClawedBack },
  { header: "status", value: (r) => r.status },
  { header: "credited_via", value: (r) => r.creditedVia },
  { header: "user_resolved_by", value: (r) => r.userResolvedBy },
  { header: "livemode", value: (r) => r.livemode },
];

export async function listPackOptions() {
  return getDb().creditPack.findMany({
    orderBy: [{ active: "desc" }, { name: "asc" }],
    select: { id: true, name: true, currency: true, active: true },
    take: 200,
  });
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
    purchase: { ...purchase, lines: purchase.lines as unknown },
    entries: entries.map((e) => ({ ...e, id: e.id.toString() })),
    events,
    attention,
  };
}

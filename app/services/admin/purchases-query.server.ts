import { z } from "zod";
import { DATE_RANGE_ISSUE, isDateRangeOrdered } from "~/shared/date-range";
import { Prisma } from "~/generated/prisma/client";
import type { CreditedVia, PurchaseStatus } from "~/generated/prisma/enums";
import { getDb } from "../infra/db.server";
import { zonedDay, zonedDayAfter, zonedDayStart } from "~/shared/report-time";
import { reportZone } from "../infra/env.server";
import { cursorParam, optionalDay, optionalEnum, optionalText } from "./forms.server";
import {
  finishPage,
  keysetQuery,
  type Page,
  type PageRequest,
  type SortSpec,
} from "./keyset.server";
import { CREDITED_VIA, PURCHASE_STATUSES } from "../../shared/options";

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
  .refine(isDateRangeOrdered, DATE_RANGE_ISSUE);

export type PurchaseFilters = z.output<typeof purchaseFiltersSchema>;

export const purchasesSearchSchema = z.intersection(
  purchaseFiltersSchema,
  z.object({ after: cursorParam, before: cursorParam }),
);

/** The page opens on the last 30 days (report zone); an explicitly emptied "From" means all time. */
export function defaultFrom(now = new Date()): string {
  return zonedDay(now.getTime() - (DEFAULT_RANGE_DAYS - 1) * 86_400_000, reportZone());
}

/** The WHERE clause of the purchases page, its totals and its CSV export (alias `p`). */
export function purchaseConditions(f: PurchaseFilters): Prisma.Sql {
  const c: Prisma.Sql[] = [Prisma.sql`TRUE`];
  // Finance's time is when the customer paid, in the report time zone (issue 21).
  const zone = reportZone();
  if (f.from) c.push(Prisma.sql`p.paid_at >= ${zonedDayStart(f.from, zone)}`);
  if (f.to) c.push(Prisma.sql`p.paid_at < ${zonedDayAfter(f.to, zone)}`);
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
    { sql: Prisma.sql`p.paid_at`, cast: "timestamptz" },
    { sql: Prisma.sql`p.id`, cast: "text" },
  ],
};

export interface PurchaseRow {
  id: string;
  createdAt: Date;
  paidAt: Date;
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
    SELECT p.id, p.created_at AS "createdAt", p.paid_at AS "paidAt", p.stripe_created_at AS "stripeCreatedAt",
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
  const rows = await selectPurchases(purchaseConditions(filters), q.boundary, q.orderBy, q.take);
  return finishPage(rows, req, q, (r) => [r.paidAt, r.id]);
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
    WHERE ${purchaseConditions(filters)}
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

export async function listPackOptions() {
  return getDb().creditPack.findMany({
    orderBy: [{ active: "desc" }, { name: "asc" }],
    select: { id: true, name: true, currency: true, active: true },
    take: 200,
  });
}

import { Prisma } from "~/generated/prisma/client";
import type { GrantSource, GrantStatus } from "~/generated/prisma/enums";
import { getDatabase } from "~/services/infra/db.server";

/** Grants shown on the user page: the spendable ones in burn order first, then the newest others. */
export const USER_GRANTS_LIMIT = 25;

export interface UserGrantRow {
  id: string;
  source: GrantSource;
  status: GrantStatus;
  granted: number;
  remaining: number;
  expiresAt: Date | null;
  priority: number;
  /** What was paid for the whole grant (minor units of currency); 0 and null when free. */
  amountPaid: number;
  currency: string | null;
  /**
   * Value of the credits left, minor units: amount paid − floor(used × amount paid / granted), the
   * rule of app/services/grants/liability.server.ts, so these add up to the liability.
   */
  remainingValue: number;
  purchaseId: string | null;
  invoiceId: string | null;
  createdAt: Date;
}

interface Row {
  id: string;
  source: GrantSource;
  status: GrantStatus;
  granted: number;
  remaining: number;
  expires_at: Date | string | null;
  priority: number;
  amount_paid: number;
  currency: string | null;
  remaining_value: string;
  purchase_id: string | null;
  invoice_id: string | null;
  created_at: Date | string;
  total: string;
}

/**
 * The user's grants for the user page (a presenter: reads only). Active and held grants come
 * first, in burn order (priority, soonest expiry, oldest) — the order debits take them — then
 * spent, expired and voided ones, newest first; at most `limit` rows (a user with a daily
 * allowance for years has thousands), with the total count.
 */
export async function getUserGrants(
  userId: string,
  limit = USER_GRANTS_LIMIT,
): Promise<{ rows: UserGrantRow[]; total: number }> {
  const sql = Prisma.sql`
    SELECT id::text AS id, source::text AS source, status::text AS status, granted, remaining,
      expires_at, priority, amount_paid, currency,
      (CASE WHEN granted > 0 THEN amount_paid::bigint - (granted - remaining)::bigint * amount_paid / granted
            ELSE 0 END)::text AS remaining_value,
      purchase_id, invoice_id, created_at, count(*) OVER ()::text AS total
    FROM credit_grants
    WHERE user_id = ${userId}
    ORDER BY (status IN ('active', 'held') AND remaining > 0) DESC,
      CASE WHEN status IN ('active', 'held') AND remaining > 0 THEN priority END,
      CASE WHEN status IN ('active', 'held') AND remaining > 0 THEN expires_at END NULLS LAST,
      CASE WHEN status IN ('active', 'held') AND remaining > 0 THEN id END,
      id DESC
    LIMIT ${limit}`;
  const rows = await getDatabase().query<Row>(sql.text, sql.values);
  return {
    total: rows.length > 0 ? Number(rows[0].total) : 0,
    rows: rows.map((r) => ({
      id: r.id,
      source: r.source,
      status: r.status,
      granted: Number(r.granted),
      remaining: Number(r.remaining),
      expiresAt: r.expires_at === null ? null : new Date(r.expires_at),
      priority: Number(r.priority),
      amountPaid: Number(r.amount_paid),
      currency: r.currency,
      remainingValue: Number(r.remaining_value),
      purchaseId: r.purchase_id,
      invoiceId: r.invoice_id,
      createdAt: new Date(r.created_at),
    })),
  };
}

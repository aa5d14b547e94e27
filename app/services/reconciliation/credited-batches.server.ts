import { getDatabase } from "../infra/db.server";

/**
 * Reading reconciliation_credited_batches: the sessions a run's lookups found already credited,
 * one row per lookup batch with the session and purchase ids in parallel arrays (the run writes
 * them in its lookup statement, run.server.ts). Each session is shown as an `already_credited`
 * item; the rest of the item's fields come from its purchase, which matched Stripe's amount and
 * currency when the run recorded it.
 */

/** Where a session is in the run's batches (keyset paging: batch id, then ordinal). */
export interface CreditedPosition {
  batchId: bigint;
  ordinal: number;
}

export interface CreditedSession {
  position: CreditedPosition;
  checkoutSessionId: string;
  purchaseId: string;
  userId: string | null;
  amountTotal: number | null;
  currency: string | null;
  sessionCreatedAt: Date;
  createdAt: Date;
}

/** How many sessions the run's lookups recorded as already credited. */
export async function creditedSessionCount(runId: string): Promise<number> {
  const rows = await getDatabase().query<{ n: number }>(
    `SELECT coalesce(sum(cardinality(checkout_session_ids)), 0)::int AS n
       FROM reconciliation_credited_batches WHERE run_id = $1`,
    [runId],
  );
  return rows[0]?.n ?? 0;
}

/** The run's already-credited sessions after `after` (batch id, then position in the batch). */
export async function listCreditedSessions(
  runId: string,
  after: CreditedPosition | null,
  limit: number,
): Promise<CreditedSession[]> {
  const rows = await getDatabase().query<{
    batch_id: string;
    ordinal: number;
    checkout_session_id: string;
    purchase_id: string;
    user_id: string | null;
    amount_total: number | null;
    currency: string | null;
    session_created_at: Date | string;
    created_at: Date | string;
  }>(
    `SELECT b.id::text AS batch_id, u.ordinal::int AS ordinal, u.session AS checkout_session_id,
            u.purchase AS purchase_id, p.user_id, p.amount_total, p.currency,
            coalesce(p.stripe_created_at, b.created_at) AS session_created_at, b.created_at
       FROM reconciliation_credited_batches b
       CROSS JOIN LATERAL unnest(b.checkout_session_ids, b.purchase_ids)
         WITH ORDINALITY AS u(session, purchase, ordinal)
       LEFT JOIN purchases p ON p.id = u.purchase
      WHERE b.run_id = $1 AND (b.id, u.ordinal) > ($2::bigint, $3::int)
      ORDER BY b.id, u.ordinal
      LIMIT $4`,
    [runId, String(after?.batchId ?? 0n), after?.ordinal ?? 0, limit],
  );
  return rows.map((r) => ({
    position: { batchId: BigInt(r.batch_id), ordinal: r.ordinal },
    checkoutSessionId: r.checkout_session_id,
    purchaseId: r.purchase_id,
    userId: r.user_id,
    amountTotal: r.amount_total,
    currency: r.currency,
    sessionCreatedAt: new Date(r.session_created_at),
    createdAt: new Date(r.created_at),
  }));
}

/** Which of `sessionIds` the run's lookups recorded as already credited. */
export async function creditedSessionsAmong(
  runId: string,
  sessionIds: string[],
): Promise<Set<string>> {
  if (sessionIds.length === 0) return new Set();
  const rows = await getDatabase().query<{ session: string }>(
    `SELECT DISTINCT s.session
       FROM reconciliation_credited_batches b
       CROSS JOIN LATERAL unnest(b.checkout_session_ids) AS s(session)
      WHERE b.run_id = $1 AND s.session = ANY($2::text[])`,
    [runId, sessionIds],
  );
  return new Set(rows.map((r) => r.session));
}

import type { Tx } from "./db.server";

/** Currency key used for rows that only count credits (credits have no currency). */
export const CREDITS_ROW = "-";

export interface RollupDelta {
  revenue?: number;
  refunded?: number;
  purchases?: number;
  refunds?: number;
  creditsIssued?: number;
  creditsConsumed?: number;
}

/**
 * Keep the per-day aggregates current in the same transaction as the write they summarise,
 * so the overview reads a few hundred rows instead of scanning the ledger.
 */
export async function bumpRollup(
  tx: Tx,
  at: Date,
  currency: string,
  d: RollupDelta,
): Promise<void> {
  const day = at.toISOString().slice(0, 10);
  await tx.$executeRaw`
    INSERT INTO daily_rollups (day, currency, revenue, refunded, purchases, refunds, credits_issued, credits_consumed)
    VALUES (${day}::date, ${currency}, ${d.revenue ?? 0}, ${d.refunded ?? 0}, ${d.purchases ?? 0},
            ${d.refunds ?? 0}, ${d.creditsIssued ?? 0}, ${d.creditsConsumed ?? 0})
    ON CONFLICT (day, currency) DO UPDATE SET
      revenue = daily_rollups.revenue + EXCLUDED.revenue,
      refunded = daily_rollups.refunded + EXCLUDED.refunded,
      purchases = daily_rollups.purchases + EXCLUDED.purchases,
      refunds = daily_rollups.refunds + EXCLUDED.refunds,
      credits_issued = daily_rollups.credits_issued + EXCLUDED.credits_issued,
      credits_consumed = daily_rollups.credits_consumed + EXCLUDED.credits_consumed`;
}

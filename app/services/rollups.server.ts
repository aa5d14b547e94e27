import { Prisma } from "~/generated/prisma/client";
import { zonedDay } from "~/shared/report-time";
import type { Tx } from "./infra/db.server";
import { getEnv } from "./infra/env.server";

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

export interface RollupBump {
  at: Date;
  currency: string;
  delta: RollupDelta;
}

/**
 * How many rows each (day, currency) is spread over. A writer bumps the slot of its database
 * connection (`pg_backend_pid() % ROLLUP_SLOTS`): one connection runs one transaction at a time, so
 * two concurrent writers meet on a rollup row only when their connections' pids share a slot,
 * instead of every ledger write of the day queueing on one row until the previous commit is
 * flushed (issue 19: 85 debits/s for 500 users and for one user alike). Readers sum the slots.
 */
export const ROLLUP_SLOTS = 64;

/**
 * One `INSERT … ON CONFLICT DO UPDATE` bumping several day rows, usable as a CTE of a larger
 * statement (`when` gates it on another CTE's rows). Bumps of the same row are summed first (a
 * statement may not update a row twice), and rows are locked in one fixed order — the credits
 * row first, then by day and currency — so two transactions never wait for each other in a cycle.
 * The slot is computed by the database, so the statement's text stays one of a few shapes.
 */
export function rollupUpsertSql(bumps: RollupBump[], when: Prisma.Sql = Prisma.sql`TRUE`) {
  const zone = getEnv().REPORT_TZ;
  const rows = bumps.map(
    ({ at, currency, delta: d }) =>
      Prisma.sql`(${zonedDay(at, zone)}::date, ${currency}::text, ${d.revenue ?? 0}::int,
        ${d.refunded ?? 0}::int, ${d.purchases ?? 0}::int, ${d.refunds ?? 0}::int,
        ${d.creditsIssued ?? 0}::int, ${d.creditsConsumed ?? 0}::int)`,
  );
  return Prisma.sql`
    INSERT INTO daily_rollups (day, currency, slot, revenue, refunded, purchases, refunds, credits_issued, credits_consumed)
    SELECT day, currency, (pg_backend_pid() % ${Prisma.raw(String(ROLLUP_SLOTS))})::smallint, sum(revenue), sum(refunded),
      sum(purchases), sum(refunds), sum(credits_issued), sum(credits_consumed)
    FROM (VALUES ${Prisma.join(rows)}) AS v(day, currency, revenue, refunded, purchases, refunds, credits_issued, credits_consumed)
    WHERE ${when}
    GROUP BY day, currency
    ORDER BY currency <> ${CREDITS_ROW}, day, currency
    ON CONFLICT (day, currency, slot) DO UPDATE SET
      revenue = daily_rollups.revenue + EXCLUDED.revenue,
      refunded = daily_rollups.refunded + EXCLUDED.refunded,
      purchases = daily_rollups.purchases + EXCLUDED.purchases,
      refunds = daily_rollups.refunds + EXCLUDED.refunds,
      credits_issued = daily_rollups.credits_issued + EXCLUDED.credits_issued,
      credits_consumed = daily_rollups.credits_consumed + EXCLUDED.credits_consumed`;
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
  await tx.$executeRaw(rollupUpsertSql([{ at, currency, delta: d }]));
}

export interface DailyRollupRow {
  /** YYYY-MM-DD */
  day: string;
  currency: string;
  revenue: number;
  refunded: number;
  purchases: number;
  refunds: number;
  creditsIssued: number;
  creditsConsumed: number;
}

/** The day rows from `since` (YYYY-MM-DD) on, their slots summed: what the overview shows. */
export async function readDailyRollups(
  client: Pick<Tx, "$queryRaw">,
  since: string,
): Promise<DailyRollupRow[]> {
  const rows = await client.$queryRaw<Record<string, string | number | bigint>[]>`
    SELECT to_char(day, 'YYYY-MM-DD') AS day, currency, sum(revenue) AS revenue, sum(refunded) AS refunded,
      sum(purchases) AS purchases, sum(refunds) AS refunds, sum(credits_issued) AS credits_issued,
      sum(credits_consumed) AS credits_consumed
    FROM daily_rollups WHERE day >= ${since}::date GROUP BY day, currency ORDER BY day, currency`;
  return rows.map((r) => ({
    day: String(r.day),
    currency: String(r.currency),
    revenue: Number(r.revenue),
    refunded: Number(r.refunded),
    purchases: Number(r.purchases),
    refunds: Number(r.refunds),
    creditsIssued: Number(r.credits_issued),
    creditsConsumed: Number(r.credits_consumed),
  }));
}

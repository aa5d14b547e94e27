import { liabilityByCurrency } from "~/services/grants/liability.server";
import { remember } from "~/lib/remember";
import { z } from "zod";
import { getDatabase, getDb } from "~/services/infra/db.server";
import { getEnv } from "~/services/infra/env.server";
import { zonedDay } from "~/shared/report-time";
import { CREDITS_ROW } from "~/services/rollups.server";
import { stripeMode } from "~/services/system-status.server";
import { queueBacklog } from "~/services/webhooks/queue.server";

/**
 * The overview page's read model (app/routes/_app._index). Money and credit totals come from `daily_rollups` (a few hundred rows,
 * kept current by the ledger and purchase writes, each day's slots summed here: rollups.server.ts), webhook health from the deliveries of the last
 * 24 hours (indexed on received_at), never from scanning purchases or the ledger.
 */

export const CHART_RANGES = [30, 90] as const;
export type ChartRange = (typeof CHART_RANGES)[number];

export const overviewSearchSchema = z.object({
  range: z.preprocess(
    (v) => (v === undefined || v === "" ? undefined : Number(v)),
    z
      .union([z.literal(30), z.literal(90)], { error: "The chart range is 30 or 90 days." })
      .optional(),
  ),
});

const DAY_MS = 86_400_000;

export function utcDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

function daysBack(today: string, n: number): string {
  return utcDay(new Date(Date.parse(`${today}T00:00:00Z`) - n * DAY_MS));
}

function dayList(from: string, to: string): string[] {
  const days: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += DAY_MS)
    days.push(utcDay(new Date(t)));
  return days;
}

interface RollupRow {
  day: string;
  currency: string;
  revenue: number;
  refunded: number;
  purchases: number;
  refunds: number;
  credits_issued: number;
  credits_consumed: number;
}

export interface MoneyWindow {
  currency: string;
  today: number;
  last7: number;
  last30: number;
  refunded30: number;
}

export async function getOverview(range: ChartRange = 30, now = new Date()) {
  const db = getDb();
  // Rollup days are report-zone days (rollups.server.ts), and so is "today".
  const zone = getEnv().REPORT_TZ;
  const today = zonedDay(now, zone);
  const rangeStart = daysBack(today, range - 1);
  const since = daysBack(today, Math.max(range, 30) - 1);
  const hourStart = new Date(Math.floor(now.getTime() / 3_600_000) * 3_600_000 - 23 * 3_600_000);

  const [rollups, outstanding, deliveries, lastValid, lastDelivery, attention, lastRun, queue] =
    await Promise.all([
      db.$queryRaw<RollupRow[]>`
      SELECT to_char(day, 'YYYY-MM-DD') AS day, currency, sum(revenue) AS revenue,
        sum(refunded) AS refunded, sum(purchases) AS purchases, sum(refunds) AS refunds,
        sum(credits_issued) AS credits_issued, sum(credits_consumed) AS credits_consumed
      FROM daily_rollups WHERE day >= ${since}::date GROUP BY day, currency ORDER BY day`,
      outstandingCredits(now),
      db.$queryRaw<{ hour: Date; outcome: string; n: bigint }[]>`
      SELECT date_trunc('hour', received_at) AS hour, outcome, COUNT(*) AS n
      FROM webhook_deliveries WHERE received_at >= ${hourStart}
      GROUP BY 1, 2 ORDER BY 1`,
      db.webhookDelivery.findFirst({
        where: { signatureStatus: "valid" },
        orderBy: { receivedAt: "desc" },
        select: { receivedAt: true, eventType: true, outcome: true },
      }),
      db.webhookDelivery.findFirst({
        orderBy: { receivedAt: "desc" },
        select: { receivedAt: true, outcome: true },
      }),
      db.$queryRaw<{ kind: string; n: bigint }[]>`
      SELECT kind, COUNT(*) AS n FROM attention_items WHERE status = 'open' GROUP BY kind ORDER BY kind`,
      db.reconciliationRun.findFirst({
        orderBy: { startedAt: "desc" },
        select: {
          id: true,
          trigger: true,
          dryRun: true,
          status: true,
          windowSince: true,
          windowUntil: true,
          scanned: true,
          creditedNow: true,
          alreadyCredited: true,
          needsAttention: true,
          errors: true,
          error: true,
          startedAt: true,
          finishedAt: true,
        },
      }),
      queueBacklog(),
    ]);

  // Money per currency over today / 7 / 30 days.
  const start7 = daysBack(today, 6);
  const start30 = daysBack(today, 29);
  const money = new Map<string, MoneyWindow>();
  let purchases30 = 0;
  let refunds30 = 0;
  let creditsIssued30 = 0;
  let creditsConsumed30 = 0;
  for (const r of rollups) {
    const revenue = Number(r.revenue);
    if (r.currency === CREDITS_ROW) {
      if (r.day >= start30) {
        creditsIssued30 += Number(r.credits_issued);
        creditsConsumed30 += Number(r.credits_consumed);
      }
      continue;
    }
    const m = money.get(r.currency) ?? {
      currency: r.currency,
      today: 0,
      last7: 0,
      last30: 0,
      refunded30: 0,
    };
    if (r.day === today) m.today += revenue;
    if (r.day >= start7) m.last7 += revenue;
    if (r.day >= start30) {
      m.last30 += revenue;
      m.refunded30 += Number(r.refunded);
      purchases30 += Number(r.purchases);
      refunds30 += Number(r.refunds);
    }
    money.set(r.currency, m);
  }

  // Chart series: one point per day of the range, zeros where nothing happened.
  const days = dayList(rangeStart, today);
  const currencies = [...money.keys()].sort();
  const revenueByDay = new Map(
    days.map((d) => [
      d,
      Object.fromEntries(currencies.map((c) => [c, 0])) as Record<string, number>,
    ]),
  );
  const creditsByDay = new Map(days.map((d) => [d, { issued: 0, consumed: 0 }]));
  for (const r of rollups) {
    if (r.day < rangeStart) continue;
    if (r.currency === CREDITS_ROW) {
      const c = creditsByDay.get(r.day);
      if (c) {
        c.issued += Number(r.credits_issued);
        c.consumed += Number(r.credits_consumed);
      }
    } else {
      const point = revenueByDay.get(r.day);
      if (point) point[r.currency] = (point[r.currency] ?? 0) + Number(r.revenue);
    }
  }

  const hours: string[] = [];
  for (let i = 0; i < 24; i++)
    hours.push(new Date(hourStart.getTime() + i * 3_600_000).toISOString());
  const outcomes = [...new Set(deliveries.map((d) => d.outcome))].sort();
  const perHour = new Map(
    hours.map((h) => [
      h,
      Object.fromEntries(outcomes.map((o) => [o, 0])) as Record<string, number>,
    ]),
  );
  const byOutcome: Record<string, number> = {};
  for (const d of deliveries) {
    const n = Number(d.n);
    byOutcome[d.outcome] = (byOutcome[d.outcome] ?? 0) + n;
    const bucket = perHour.get(new Date(d.hour).toISOString());
    if (bucket) bucket[d.outcome] = n;
  }

  const openAttention = attention.map((a) => ({ kind: a.kind, count: Number(a.n) }));
  return {
    today,
    zone,
    range,
    money: currencies.map((c) => money.get(c)!),
    purchases30,
    refunds30,
    refundRate30: purchases30 > 0 ? refunds30 / purchases30 : null,
    credits: {
      issued30: creditsIssued30,
      consumed30: creditsConsumed30,
      outstanding: outstanding.total,
      liability: outstanding.liability,
      holders: outstanding.holders,
      outstandingAsOf: outstanding.at,
    },
    charts: {
      currencies,
      revenue: days.map((day) => ({ day, ...revenueByDay.get(day)! })),
      credits: days.map((day) => ({ day, ...creditsByDay.get(day)! })),
      outcomes,
      webhooks: hours.map((hour) => ({ hour, ...perHour.get(hour)! })),
    },
    webhooks: {
      last24h: byOutcome,
      total24h: Object.values(byOutcome).reduce((a, b) => a + b, 0),
      lastValid,
      lastDelivery,
      queue,
      openAttention,
      openAttentionTotal: openAttention.reduce((a, b) => a + b.count, 0),
    },
    lastRun,
    installation: installationFacts(),
  };
}

/**
 * Credits outstanding is the sum of every balance: the one figure no rollup holds, and a scan of
 * the users table (about 100 ms at a million users). It is computed at most once a minute per
 * process, concurrent requests share the computation, and the page says how old it is.
 */
export const OUTSTANDING_TTL_MS = 60_000;
const outstandingHolder = remember(
  "outstanding",
  (): {
    __creditdeskOutstanding?: {
      at: Date;
      value: Promise<{
        total: number;
        holders: number;
        liability: { currency: string; value: number; credits: number }[];
      }>;
      db: unknown;
    };
  } => ({}),
);

async function outstandingCredits(now: Date): Promise<{
  total: number;
  holders: number;
  liability: { currency: string; value: number; credits: number }[];
  at: Date;
}> {
  const db = getDb();
  let cached = outstandingHolder.__creditdeskOutstanding;
  if (!cached || cached.db !== db || now.getTime() - cached.at.getTime() > OUTSTANDING_TTL_MS) {
    const value = Promise.all([
      db.$queryRaw<{ total: bigint | null; holders: bigint }[]>`
        SELECT SUM(balance) AS total, COUNT(*) FILTER (WHERE balance > 0) AS holders FROM users`,
      // The value of unused credits (deferred revenue), from the grants (grants/liability.server.ts).
      liabilityByCurrency(db),
    ]).then(([rows, liability]) => ({
      total: Number(rows[0]?.total ?? 0),
      holders: Number(rows[0]?.holders ?? 0),
      liability,
    }));
    cached = { at: now, value, db };
    outstandingHolder.__creditdeskOutstanding = cached;
    // A failed query is not remembered: the next request tries again.
    value.catch(() => {
      if (outstandingHolder.__creditdeskOutstanding === cached)
        outstandingHolder.__creditdeskOutstanding = undefined;
    });
  }
  return { ...(await cached.value), at: cached.at };
}

/** What an operator needs to know about this installation (no secrets, no table scans). */
export function installationFacts() {
  const env = getEnv();
  return {
    database: getDatabase().description,
    stripeMode: stripeMode(),
    webhookUrl: `${env.appUrl}/webhooks/stripe`,
    webhookSecretsConfigured: env.webhookSecrets.length,
    scheduler: env.SCHEDULER,
    reconcileCron: env.RECONCILE_CRON,
    reconcileTz: env.RECONCILE_TZ,
    approvalThreshold: env.ADJUSTMENT_APPROVAL_THRESHOLD,
  };
}

export type Overview = Awaited<ReturnType<typeof getOverview>>;

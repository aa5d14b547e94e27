import { shiftMonth, zonedMonth } from "~/shared/report-time";
import { reportZone } from "~/services/infra/env.server";
import { monthClose, type MonthClose, type SalesRow } from "~/services/finance/month-close.server";
import { compareWithStripe } from "~/services/finance/stripe-compare.server";

/**
 * The month-close page's read model (app/routes/_app.finance.close): the month's report, the
 * previous month's beside it with the change per currency and per roll-forward line, and the
 * links to last month / this month / the neighbours.
 */

export interface CurrencyChange {
  currency: string;
  current: SalesRow | null;
  previous: SalesRow | null;
  /** current.net − previous.net (a missing month counts as 0). */
  netChange: number;
}

export async function getFinanceClose(
  month: string | undefined,
  opts: { compare?: boolean; now?: Date } = {},
) {
  const now = opts.now ?? new Date();
  const zone = reportZone();
  const thisMonth = zonedMonth(now, zone);
  const lastMonth = shiftMonth(thisMonth, -1);
  const selected = month ?? lastMonth;
  const previousMonth = shiftMonth(selected, -1);
  const [report, previous, stripe] = await Promise.all([
    monthClose(selected, zone),
    monthClose(previousMonth, zone),
    opts.compare ? compareWithStripe(selected, zone) : null,
  ]);
  return {
    report,
    previous,
    stripe,
    changes: currencyChanges(report, previous),
    links: {
      lastMonth,
      thisMonth,
      previous: previousMonth,
      next: shiftMonth(selected, 1),
      future: selected > thisMonth,
    },
  };
}

function currencyChanges(report: MonthClose, previous: MonthClose): CurrencyChange[] {
  const codes = [
    ...new Set([...report.currencies, ...previous.currencies].map((c) => c.currency)),
  ].sort();
  return codes.map((currency) => {
    const current = report.currencies.find((c) => c.currency === currency) ?? null;
    const before = previous.currencies.find((c) => c.currency === currency) ?? null;
    return {
      currency,
      current,
      previous: before,
      netChange: (current?.net ?? 0) - (before?.net ?? 0),
    };
  });
}

export type FinanceClose = Awaited<ReturnType<typeof getFinanceClose>>;

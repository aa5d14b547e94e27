import type { MetaFunction } from "@remix-run/node";
import { data } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { EmptyState } from "~/components/empty-state";
import { TextField } from "~/components/field";
import { FilterForm } from "~/components/filter-form";
import { formatCredits, formatMoney } from "~/components/format";
import { staffLoader } from "~/lib/route-builders";
import { getFinanceClose } from "~/presenters/finance-close.server";
import { monthCloseSearchSchema } from "~/services/finance/month-close.server";
import { reportZone } from "~/services/infra/env.server";
import { ACCESS, can } from "~/shared/permissions";
import {
  DisputesTable,
  LateCreditedTable,
  RefundsTable,
  RollForwardTable,
  SalesTable,
} from "./tables";
import { StripeComparisonView } from "./stripe-comparison";

export const meta: MetaFunction = () => [{ title: "Month close · creditdesk" }];

export const loader = staffLoader(
  { roles: ACCESS.financeClose, filters: monthCloseSearchSchema },
  async ({ staff, filters }) => {
    const canExport = can(staff.role, "exports");
    if (!filters.ok) {
      return data(
        {
          ok: false as const,
          values: filters.values,
          errors: filters.fieldErrors,
          zone: reportZone(),
          canExport,
        },
        { status: 400 },
      );
    }
    const close = await getFinanceClose(filters.data.month, {
      compare: filters.data.compare === "1",
    });
    return data({
      ok: true as const,
      values: { month: close.report.month },
      errors: {} as Record<string, string>,
      zone: close.report.zone,
      canExport,
      close,
    });
  },
);

export default function FinanceClose() {
  const page = useLoaderData<typeof loader>();
  return (
    <>
      <div className="section-head">
        <h1>Month close{page.ok ? ` · ${page.close.report.month}` : ""}</h1>
        {page.ok && page.canExport ? (
          <a
            className="button"
            href={`/finance/close/export.csv?month=${page.close.report.month}`}
            data-testid="export-close"
          >
            Month close CSV
          </a>
        ) : null}
        {page.ok && page.canExport ? (
          <>
            <a
              className="button"
              href={`/finance/refunds/export.csv?month=${page.close.report.month}`}
            >
              Refunds CSV
            </a>
            <a
              className="button"
              href={`/finance/disputes/export.csv?month=${page.close.report.month}`}
            >
              Disputes CSV
            </a>
          </>
        ) : null}
      </div>
      <p className="muted small" data-testid="report-zone">
        Months start at midnight in {page.zone} (REPORT_TZ). Sales are dated by when the customer
        paid, refunds and disputes by their own dates, credits by the ledger entry&apos;s time.
      </p>
      <FilterForm path="/finance/close" label="Choose a month">
        <TextField
          label="Month (YYYY-MM)"
          name="month"
          defaultValue={page.values.month ?? ""}
          error={page.errors.month}
          size={8}
        />
      </FilterForm>
      {page.ok ? <Report close={page.close} /> : null}
    </>
  );
}

type Close = Extract<ReturnType<typeof useLoaderData<typeof loader>>, { ok: true }>["close"];

function Report({ close }: { close: Close }) {
  const { report, previous, changes, links, stripe } = close;
  const r = report.rollForward;
  const tiesOut = r.closing === r.balancesAtEnd;
  return (
    <>
      <nav className="row gap" aria-label="Months">
        <Link to={`?month=${links.previous}`}>← {links.previous}</Link>
        <Link to={`?month=${links.lastMonth}`}>Last month</Link>
        <Link to={`?month=${links.thisMonth}`}>This month (so far)</Link>
        <Link to={`?month=${links.next}`}>{links.next} →</Link>
        <Link to={`?month=${report.month}&compare=1`} data-testid="compare-stripe">
          Compare with Stripe
        </Link>
      </nav>
      {stripe ? <StripeComparisonView comparison={stripe} /> : null}
      {report.empty ? (
        <EmptyState title={`No activity in ${report.month}.`}>
          Nothing was paid, refunded, disputed or written to the ledger between {report.month}-01
          and the end of the month ({report.zone}).
          {links.future ? " That month has not happened yet." : ""}
        </EmptyState>
      ) : null}

      <section aria-labelledby="sales-heading">
        <h2 id="sales-heading">Sales by currency</h2>
        {report.currencies.length === 0 ? (
          <p className="muted">No sales, refunds or lost disputes in {report.month}.</p>
        ) : (
          <SalesTable
            rows={report.currencies}
            testId="close-currencies"
            caption="Sales by currency"
          />
        )}
        {changes.length > 0 ? (
          <table data-testid="close-changes">
            <caption>Net against {previous.month}</caption>
            <thead>
              <tr>
                <th scope="col">Currency</th>
                <th scope="col" className="num">
                  {report.month}
                </th>
                <th scope="col" className="num">
                  {previous.month}
                </th>
                <th scope="col" className="num">
                  Change
                </th>
              </tr>
            </thead>
            <tbody>
              {changes.map((c) => (
                <tr key={c.currency}>
                  <th scope="row">{c.currency.toUpperCase()}</th>
                  <td className="num">{formatMoney(c.current?.net ?? 0, c.currency)}</td>
                  <td className="num">{formatMoney(c.previous?.net ?? 0, c.currency)}</td>
                  <td className="num">{formatMoney(c.netChange, c.currency)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
        {report.packs.length > 0 ? (
          <>
            <h3>By pack and currency</h3>
            <SalesTable
              rows={report.packs}
              testId="close-packs"
              caption="Sales by pack and currency"
            />
          </>
        ) : null}
      </section>

      <section aria-labelledby="refunds-heading">
        <h2 id="refunds-heading">Refunds issued ({report.refunds.length})</h2>
        {report.refunds.length === 0 ? (
          <p className="muted">No refunds were issued in {report.month}.</p>
        ) : (
          <RefundsTable rows={report.refunds} />
        )}
      </section>

      <section aria-labelledby="disputes-heading">
        <h2 id="disputes-heading">Disputes ({report.disputes.length})</h2>
        {report.disputes.length === 0 ? (
          <p className="muted">No disputes were opened or closed in {report.month}.</p>
        ) : (
          <DisputesTable rows={report.disputes} />
        )}
      </section>

      <section aria-labelledby="late-heading">
        <h2 id="late-heading">Credited late ({report.lateCredited.length})</h2>
        <p className="muted small">
          Paid in {report.month}, credited after it: in this month&apos;s sales, in the next
          month&apos;s credits.
        </p>
        {report.lateCredited.length === 0 ? (
          <p className="muted">None.</p>
        ) : (
          <>
            <ul data-testid="close-late-totals">
              {report.lateCreditedTotals.map((t) => (
                <li key={t.currency}>
                  {t.count} purchase{t.count === 1 ? "" : "s"}, {formatMoney(t.amount, t.currency)}
                </li>
              ))}
            </ul>
            <LateCreditedTable rows={report.lateCredited} />
          </>
        )}
      </section>

      <section aria-labelledby="roll-heading">
        <h2 id="roll-heading">Credits roll-forward</h2>
        <RollForwardTable current={r} previous={previous.rollForward} />
        <p data-testid="close-check" className={tiesOut ? "ok" : "error"}>
          {tiesOut ? "✓" : "✗"} Closing outstanding {formatCredits(r.closing)} credits{" "}
          {tiesOut ? "equals" : "differs from"} the sum of user balances at the month&apos;s end
          from the ledger ({formatCredits(r.balancesAtEnd)}).
        </p>
        <p className="muted small" data-testid="close-money-note">
          In credits only: the money value of outstanding credits per currency needs the credit
          grants&apos; value (amount paid per credit), which this page does not read yet.
        </p>
      </section>
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from "~/components/route-error-boundary";

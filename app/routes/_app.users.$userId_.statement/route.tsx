import type { MetaFunction } from "@remix-run/node";
import { data } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { EmptyState } from "~/components/empty-state";
import { DateRangeFields, ExportButtons, FilterForm, FixFilters } from "~/components/filter-form";
import { Pager } from "~/components/pager";
import { StatementSummary, StatementTable } from "~/components/statement-table";
import { Time } from "~/components/time";
import { filterQuery } from "~/lib/filter-query";
import { staffLoader } from "~/lib/route-builders";
import { getUserStatement, statementPageSchema } from "~/presenters/user-statement.server";
import { statementPeriodSchema } from "~/services/statements.server";
import { ACCESS, can } from "~/shared/permissions";

export const meta: MetaFunction<typeof loader> = ({ data: d }) => [
  { title: `Statement · ${d?.email ?? "User"} · creditdesk` },
];

const FILTER_KEYS = ["from", "to"] as const;

// Who may: everyone who may read the ledger; the CSV needs the export role like the other exports.
export const loader = staffLoader(
  {
    roles: ACCESS.ledger,
    params: z.object({ userId: z.string() }),
    search: statementPageSchema,
    filters: statementPeriodSchema,
  },
  async ({ staff, params, search, filters }) => {
    const base = {
      userId: params.userId,
      values: filters.values,
      exportQuery: filterQuery(filters.values, FILTER_KEYS, { keepEmpty: false }),
      canExport: can(staff.role, "exports"),
      canOpenUser: can(staff.role, "users"),
      canOpenPurchases: can(staff.role, "purchaseDetail"),
    };
    const { user, statement } = await getUserStatement(
      params.userId,
      filters.ok ? filters.data : null,
      search,
    );
    const errors: Record<string, string> = filters.ok ? {} : filters.fieldErrors;
    return data(
      { ...base, email: user.email, errors, statement },
      { status: filters.ok ? 200 : 400 },
    );
  },
);

export default function UserStatementPage() {
  const {
    userId,
    email,
    values,
    errors,
    exportQuery,
    canExport,
    canOpenUser,
    canOpenPurchases,
    statement,
  } = useLoaderData<typeof loader>();
  const userPath = `/users/${encodeURIComponent(userId)}`;
  return (
    <>
      <p className="breadcrumb">
        {canOpenUser ? <Link to={userPath}>{email}</Link> : email} / Statement
      </p>
      <div className="section-head">
        <h1>Statement</h1>
        {canExport && statement ? (
          <ExportButtons
            href={`${userPath}/statement.csv`}
            query={exportQuery}
            testId="statement-export"
          />
        ) : null}
      </div>
      <FilterForm
        path={`${userPath}/statement`}
        label="Statement period"
        note="Days are UTC. Opening is the balance before the first day; closing is the balance at the end of the last day (or now)."
      >
        <DateRangeFields values={values} errors={errors} />
      </FilterForm>

      {statement === null ? (
        <FixFilters what="the statement" />
      ) : (
        <>
          <p className="muted small">
            {statement.start ? (
              <>
                From <Time value={statement.start} />
              </>
            ) : (
              "Since the first entry"
            )}{" "}
            until <Time value={statement.end} />.
          </p>
          <StatementSummary
            opening={statement.opening.balance}
            closing={statement.closing.balance}
            creditsIn={statement.totals.creditsIn}
            creditsOut={statement.totals.creditsOut}
            entries={statement.totals.entries}
          />
          <section aria-labelledby="statement-entries-heading">
            <h2 id="statement-entries-heading">Entries</h2>
            {statement.entries.length === 0 ? (
              <EmptyState title="No ledger entries in this period.">
                The balance did not change: opening and closing are the same.
              </EmptyState>
            ) : (
              <>
                <StatementTable rows={statement.entries} canOpenPurchases={canOpenPurchases} />
                <Pager
                  next={statement.next}
                  prev={statement.prev}
                  nextLabel="Later entries"
                  prevLabel="Earlier entries"
                  label="Statement pages"
                />
              </>
            )}
          </section>
        </>
      )}
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from "~/components/route-error-boundary";

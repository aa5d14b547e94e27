import type { MetaFunction } from "@remix-run/node";
import { data } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { EmptyState } from "~/components/empty-state";
import {
  DateRangeFields,
  ExportButtons,
  FilterForm,
  FilterSelect,
  FilterText,
  FixFilters,
} from "~/components/filter-form";
import { Pager } from "~/components/pager";
import { PurchasesTable } from "~/components/purchases-table";
import { filterQuery } from "~/lib/filter-query";
import { staffLoader } from "~/lib/route-builders";
import {
  defaultFrom,
  listPackOptions,
  listPurchases,
  purchaseTotals,
  purchasesSearchSchema,
} from "~/services/admin/purchases-query.server";
import { reportZone } from "~/services/infra/env.server";
import { CREDITED_VIA, PURCHASE_STATUSES } from "~/shared/options";
import { ACCESS, can } from "~/shared/permissions";
import { TotalsTable } from "./totals-table";

export const meta: MetaFunction = () => [{ title: "Purchases · creditdesk" }];

const FILTER_KEYS = ["from", "to", "status", "pack", "currency", "via", "user", "ref"] as const;

export const loader = staffLoader(
  {
    roles: ACCESS.purchases,
    filters: purchasesSearchSchema,
    // The page opens on the last 30 days; a "From" that is present but empty means all time.
    filterDefaults: { from: () => defaultFrom() },
  },
  async ({ staff, filters }) => {
    const { values } = filters;
    const base = {
      values,
      packs: await listPackOptions(),
      canExport: can(staff.role, "exports"),
      zone: reportZone(),
      exportQuery: filterQuery(values, FILTER_KEYS, { keepEmpty: true }),
    };
    if (!filters.ok) {
      return data(
        { ...base, errors: filters.fieldErrors, page: null, totals: [] },
        { status: 400 },
      );
    }
    const { after, before, ...where } = filters.data;
    const [page, totals] = await Promise.all([
      listPurchases(where, { after, before }),
      purchaseTotals(where),
    ]);
    return data({ ...base, errors: {} as Record<string, string>, page, totals });
  },
);

export default function Purchases() {
  const { values, packs, canExport, exportQuery, errors, page, totals, zone } =
    useLoaderData<typeof loader>();
  const filters = { values, errors };
  return (
    <>
      <div className="section-head">
        <h1>Purchases</h1>
        {canExport && page ? (
          <ExportButtons
            href="/purchases/export.csv"
            query={exportQuery}
            testId="export-purchases"
          />
        ) : null}
      </div>
      <FilterForm
        path="/purchases"
        label="Filter purchases"
        note={`Dates are days in ${zone} (REPORT_TZ) and select purchases by when the customer paid. Empty “From” means all time. The export contains every matching purchase, not just this page.`}
      >
        <DateRangeFields values={values} errors={errors} />
        <FilterSelect
          label="Status"
          name="status"
          any="Any status"
          choices={PURCHASE_STATUSES}
          filters={filters}
        />
        <FilterSelect
          label="Pack"
          name="pack"
          any="Any pack"
          choices={packs.map((p) => ({
            value: p.id,
            label: `${p.name} (${p.currency.toUpperCase()})${p.active ? "" : " – inactive"}`,
          }))}
          filters={filters}
        />
        <FilterText label="Currency (e.g. usd)" name="currency" filters={filters} size={5} />
        <FilterSelect
          label="Credited via"
          name="via"
          any="Any"
          choices={CREDITED_VIA}
          filters={filters}
        />
        <FilterText label="User id" name="user" filters={filters} autoComplete="off" />
        <FilterText
          label="Stripe id (cs_, pi_ or ch_)"
          name="ref"
          filters={filters}
          autoComplete="off"
        />
      </FilterForm>

      {page === null ? (
        <FixFilters what="purchases" />
      ) : (
        <>
          {totals.length > 0 ? <TotalsTable totals={totals} /> : null}
          {page.rows.length === 0 ? (
            <EmptyState title="No purchases match.">
              Widen the date range or clear filters. Purchases are recorded when Stripe reports a
              paid Checkout Session (webhook or nightly reconciliation).
            </EmptyState>
          ) : (
            <>
              <PurchasesTable
                variant="list"
                rows={page.rows}
                canOpen
                testId="purchases"
                caption="Purchases, most recently paid first"
              />
              <Pager next={page.next} prev={page.prev} label="Purchase pages" />
            </>
          )}
        </>
      )}
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from "~/components/route-error-boundary";

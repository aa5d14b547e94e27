import type { MetaFunction } from "@remix-run/node";
import { data } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { EmptyState } from "~/components/empty-state";
import { SelectField, TextField } from "~/components/field";
import { DateRangeFields, ExportButtons, FilterForm, FixFilters } from "~/components/filter-form";
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
import { humanize } from "~/shared/labels";
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
        <SelectField
          label="Status"
          name="status"
          defaultValue={values.status ?? ""}
          error={errors.status}
          options={[
            { value: "", label: "Any status" },
            ...PURCHASE_STATUSES.map((s) => ({ value: s, label: humanize(s) })),
          ]}
        />
        <SelectField
          label="Pack"
          name="pack"
          defaultValue={values.pack ?? ""}
          error={errors.pack}
          options={[
            { value: "", label: "Any pack" },
            ...packs.map((p) => ({
              value: p.id,
              label: `${p.name} (${p.currency.toUpperCase()})${p.active ? "" : " – inactive"}`,
            })),
          ]}
        />
        <TextField
          label="Currency (e.g. usd)"
          name="currency"
          defaultValue={values.currency ?? ""}
          error={errors.currency}
          size={5}
        />
        <SelectField
          label="Credited via"
          name="via"
          defaultValue={values.via ?? ""}
          error={errors.via}
          options={[
            { value: "", label: "Any" },
            ...CREDITED_VIA.map((v) => ({ value: v, label: humanize(v) })),
          ]}
        />
        <TextField
          label="User id"
          name="user"
          defaultValue={values.user ?? ""}
          error={errors.user}
          autoComplete="off"
        />
        <TextField
          label="Stripe id (cs_, pi_ or ch_)"
          name="ref"
          defaultValue={values.ref ?? ""}
          error={errors.ref}
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

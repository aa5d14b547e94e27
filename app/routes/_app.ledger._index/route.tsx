import type { MetaFunction } from "@remix-run/node";
import { data } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { EmptyState } from "~/components/empty-state";
import { SelectField, TextField } from "~/components/field";
import { DateRangeFields, ExportButtons, FilterForm, FixFilters } from "~/components/filter-form";
import { LedgerTable } from "~/components/ledger-table";
import { Pager } from "~/components/pager";
import { staffLoader } from "~/lib/route-builders";
import { filterQuery } from "~/lib/filter-query";
import {
  ledgerSearchSchema,
  listActorOptions,
  listLedger,
} from "~/services/admin/ledger-query.server";
import { humanize } from "~/shared/labels";
import { LEDGER_KIND_OPTIONS } from "~/shared/options";
import { ACCESS, can } from "~/shared/permissions";

export const meta: MetaFunction = () => [{ title: "Ledger · creditdesk" }];

const FILTER_KEYS = ["kind", "from", "to", "actor", "user"] as const;

export const loader = staffLoader(
  { roles: ACCESS.ledger, filters: ledgerSearchSchema },
  async ({ staff, filters }) => {
    const base = {
      values: filters.values,
      actors: await listActorOptions(),
      exportQuery: filterQuery(filters.values, FILTER_KEYS, { keepEmpty: false }),
      canExport: can(staff.role, "exports"),
      canOpenUsers: can(staff.role, "users"),
      canOpenPurchases: can(staff.role, "purchaseDetail"),
    };
    if (!filters.ok) {
      return data({ ...base, errors: filters.fieldErrors, page: null }, { status: 400 });
    }
    const { after, before, ...where } = filters.data;
    const page = await listLedger(where, { after, before });
    return data({ ...base, errors: {} as Record<string, string>, page });
  },
);

export default function Ledger() {
  const { values, actors, exportQuery, canExport, canOpenUsers, canOpenPurchases, errors, page } =
    useLoaderData<typeof loader>();
  return (
    <>
      <div className="section-head">
        <h1>Ledger</h1>
        {canExport && page ? <ExportButtons href="/ledger/export.csv" query={exportQuery} /> : null}
      </div>
      <FilterForm path="/ledger" label="Filter ledger entries">
        <SelectField
          label="Kind"
          name="kind"
          defaultValue={values.kind ?? ""}
          error={errors.kind}
          options={[
            { value: "", label: "Any kind" },
            ...LEDGER_KIND_OPTIONS.map((k) => ({ value: k, label: humanize(k) })),
          ]}
        />
        <DateRangeFields values={values} errors={errors} />
        <SelectField
          label="Actor"
          name="actor"
          defaultValue={values.actor ?? ""}
          error={errors.actor}
          options={[
            { value: "", label: "Anyone" },
            { value: "system", label: "System (Stripe, jobs)" },
            { value: "api", label: "API keys (main app)" },
            ...actors.map((a) => ({
              value: a.id,
              label: a.name ? `${a.name} (${a.email})` : a.email,
            })),
          ]}
        />
        <TextField
          className="grow"
          label="User (id or email)"
          name="user"
          defaultValue={values.user ?? ""}
          error={errors.user}
          autoComplete="off"
        />
      </FilterForm>

      {page === null ? (
        <FixFilters what="entries" />
      ) : page.rows.length === 0 ? (
        <EmptyState title="No ledger entries match.">
          Widen the filters. Entries are written by purchases, usage from the main app, refunds,
          disputes and adjustments.
        </EmptyState>
      ) : (
        <>
          <LedgerTable
            variant="explorer"
            rows={page.rows.map((e) => ({
              ...e,
              staff: e.staffEmail ? { name: e.staffName, email: e.staffEmail } : null,
            }))}
            canOpenUsers={canOpenUsers}
            canOpenPurchases={canOpenPurchases}
            testId="ledger-entries"
            caption="Ledger entries, newest first"
          />
          <Pager
            next={page.next}
            prev={page.prev}
            nextLabel="Older entries"
            prevLabel="Newer entries"
            label="Ledger pages"
          />
        </>
      )}
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from "~/components/route-error-boundary";

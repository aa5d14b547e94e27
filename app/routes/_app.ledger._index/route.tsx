import type { MetaFunction } from "@remix-run/node";
import { data } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import {
  DateRangeFields,
  ExportButtons,
  FilteredRows,
  FilterForm,
  FilterSelect,
  FilterText,
} from "~/components/filter-form";
import { LedgerTable } from "~/components/ledger-table";
import { Pager } from "~/components/pager";
import { staffLoader } from "~/lib/route-builders";
import { filterQuery } from "~/lib/filter-query";
import {
  ledgerSearchSchema,
  listActorOptions,
  listLedger,
} from "~/services/admin/ledger-query.server";
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

const EMPTY: [string, string] = [
  "No ledger entries match.",
  "Widen the filters. Entries are written by purchases, usage from the main app, refunds, disputes and adjustments.",
];

export default function Ledger() {
  const { values, actors, exportQuery, canExport, canOpenUsers, canOpenPurchases, errors, page } =
    useLoaderData<typeof loader>();
  const filters = { values, errors };
  return (
    <>
      <div className="section-head">
        <h1>Ledger</h1>
        {canExport && page ? <ExportButtons href="/ledger/export.csv" query={exportQuery} /> : null}
      </div>
      <FilterForm path="/ledger" label="Filter ledger entries">
        <FilterSelect
          label="Kind"
          name="kind"
          any="Any kind"
          choices={LEDGER_KIND_OPTIONS}
          filters={filters}
        />
        <DateRangeFields values={values} errors={errors} />
        <FilterSelect
          label="Actor"
          name="actor"
          any="Anyone"
          choices={[
            { value: "system", label: "System (Stripe, jobs)" },
            { value: "api", label: "API keys (main app)" },
            ...actors.map((a) => ({
              value: a.id,
              label: a.name ? `${a.name} (${a.email})` : a.email,
            })),
          ]}
          filters={filters}
        />
        <FilterText
          className="grow"
          label="User (id or email)"
          name="user"
          filters={filters}
          autoComplete="off"
        />
      </FilterForm>

      <FilteredRows page={page} what="entries" filtered empty={{ filtered: EMPTY, none: EMPTY }}>
        {(page) => (
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
      </FilteredRows>
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from "~/components/route-error-boundary";

import type { MetaFunction } from "@remix-run/node";
import { data } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { EmptyState } from "~/components/empty-state";
import { SelectField, TextField } from "~/components/field";
import { DateRangeFields, FilterForm, FixFilters } from "~/components/filter-form";
import { humanize } from "~/components/format";
import { Pager } from "~/components/pager";
import { staffLoader } from "~/lib/route-builders";
import { listClosedItems } from "~/presenters/attention-history.server";
import { historyFilterSchema, QUEUE_KINDS } from "~/services/admin/attention-queue.server";
import { OPS_ACCESS } from "~/shared/ops-permissions";
import { ClosedItemsTable } from "./closed-items-table";

export const meta: MetaFunction = () => [{ title: "Resolved items · Attention · creditdesk" }];

export const loader = staffLoader(
  { roles: OPS_ACCESS.attention, filters: historyFilterSchema },
  async ({ filters }) => {
    const kinds = QUEUE_KINDS as string[];
    if (!filters.ok)
      return data(
        { values: filters.values, errors: filters.fieldErrors, page: null, kinds },
        { status: 400 },
      );
    const page = await listClosedItems(filters.data);
    return { values: filters.values, errors: {} as Record<string, string>, page, kinds };
  },
);

export default function AttentionHistory() {
  const { values, errors, page, kinds } = useLoaderData<typeof loader>();
  const filtered = Boolean(values.status || values.kind || values.by || values.from || values.to);
  return (
    <>
      <p className="breadcrumb">
        <Link to="/attention">Attention queue</Link> / history
      </p>
      <h1>Resolved and dismissed items</h1>
      <FilterForm path="/attention/history" label="Filter closed items">
        <SelectField
          label="Status"
          name="status"
          defaultValue={values.status ?? ""}
          error={errors.status}
          options={[
            { value: "", label: "Resolved or dismissed" },
            { value: "resolved", label: "Resolved" },
            { value: "dismissed", label: "Dismissed" },
          ]}
        />
        <SelectField
          label="Kind"
          name="kind"
          defaultValue={values.kind ?? ""}
          error={errors.kind}
          options={[
            { value: "", label: "Any kind" },
            ...kinds.map((k) => ({ value: k, label: humanize(k) })),
          ]}
        />
        <TextField
          label="Closed by (email starts with)"
          name="by"
          defaultValue={values.by ?? ""}
          error={errors.by}
          autoComplete="off"
        />
        <DateRangeFields values={values} errors={errors} />
      </FilterForm>
      {page === null ? (
        <FixFilters what="closed items" />
      ) : page.rows.length === 0 ? (
        <EmptyState
          title={filtered ? "No closed items match these filters." : "No item has been closed yet."}
        >
          {filtered
            ? "Widen the filters."
            : "Items closed from the queue, or by the system when it fixed the cause, are listed here."}
        </EmptyState>
      ) : (
        <>
          <ClosedItemsTable rows={page.rows} />
          <Pager
            next={page.next}
            prev={page.prev}
            nextLabel="Older"
            prevLabel="Newer"
            label="History pages"
          />
        </>
      )}
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from "~/components/route-error-boundary";

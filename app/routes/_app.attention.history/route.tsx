import type { MetaFunction } from "@remix-run/node";
import { data } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import {
  DateRangeFields,
  FilteredRows,
  FilterForm,
  FilterSelect,
  FilterText,
} from "~/components/filter-form";
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
  const filters = { values, errors };
  const filtered = Boolean(values.status || values.kind || values.by || values.from || values.to);
  return (
    <>
      <p className="breadcrumb">
        <Link to="/attention">Attention queue</Link> / history
      </p>
      <h1>Resolved and dismissed items</h1>
      <FilterForm path="/attention/history" label="Filter closed items">
        <FilterSelect
          label="Status"
          name="status"
          any="Resolved or dismissed"
          choices={["resolved", "dismissed"]}
          filters={filters}
        />
        <FilterSelect label="Kind" name="kind" any="Any kind" choices={kinds} filters={filters} />
        <FilterText
          label="Closed by (email starts with)"
          name="by"
          filters={filters}
          autoComplete="off"
        />
        <DateRangeFields values={values} errors={errors} />
      </FilterForm>
      <FilteredRows
        page={page}
        what="closed items"
        filtered={filtered}
        empty={{
          filtered: ["No closed items match these filters.", "Widen the filters."],
          none: [
            "No item has been closed yet.",
            "Items closed from the queue, or by the system when it fixed the cause, are listed here.",
          ],
        }}
      >
        {({ rows, next, prev }) => (
          <>
            <ClosedItemsTable rows={rows} />
            <Pager
              next={next}
              prev={prev}
              nextLabel="Older"
              prevLabel="Newer"
              label="History pages"
            />
          </>
        )}
      </FilteredRows>
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from "~/components/route-error-boundary";

import type { MetaFunction } from "@remix-run/node";
import { data } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import {
  DateRangeFields,
  FilteredRows,
  FilterForm,
  FilterSelect,
  FilterText,
} from "~/components/filter-form";
import { Pager } from "~/components/pager";
import { staffLoader } from "~/lib/route-builders";
import { auditFilterSchema, listAudit } from "~/presenters/audit-log.server";
import { ACTOR_TYPES, KNOWN_ACTIONS, TARGET_TYPES } from "~/shared/ops-labels";
import { OPS_ACCESS } from "~/shared/ops-permissions";
import { AuditTable } from "./audit-table";

export const meta: MetaFunction = () => [{ title: "Audit log · creditdesk" }];

export const loader = staffLoader(
  { roles: OPS_ACCESS.audit, filters: auditFilterSchema },
  async ({ filters }) => {
    if (!filters.ok)
      return data(
        { values: filters.values, errors: filters.fieldErrors, page: null },
        { status: 400 },
      );
    const page = await listAudit(filters.data);
    return { values: filters.values, errors: {} as Record<string, string>, page };
  },
);

export default function AuditLog() {
  const { values, errors, page } = useLoaderData<typeof loader>();
  const filtered = Object.entries(values).some(([k, v]) => k !== "after" && k !== "before" && v);
  const filters = { values, errors };
  return (
    <>
      <h1>Audit log</h1>
      <p className="muted">
        Every change made by staff, API keys, the CLI and the system. Entries cannot be edited or
        deleted.
      </p>
      <FilterForm
        path="/audit"
        label="Filter the audit log"
        note="Type an action such as staff.disable, or a prefix ending in a dot (attention.) for a whole family."
      >
        <FilterSelect
          label="Actor type"
          name="actorType"
          any="Anyone"
          choices={ACTOR_TYPES}
          filters={filters}
        />
        <FilterText
          label="Actor (email, key name or id)"
          name="actor"
          filters={filters}
          autoComplete="off"
        />
        <FilterText
          label="Action"
          name="action"
          list="audit-actions"
          filters={filters}
          autoComplete="off"
        />
        <datalist id="audit-actions">
          {KNOWN_ACTIONS.map((a) => (
            <option key={a} value={a} />
          ))}
        </datalist>
        <FilterSelect
          label="Target type"
          name="targetType"
          any="Any target"
          choices={TARGET_TYPES}
          filters={filters}
        />
        <FilterText label="Target id" name="targetId" filters={filters} autoComplete="off" />
        <DateRangeFields values={values} errors={errors} />
      </FilterForm>
      <FilteredRows
        page={page}
        what="the audit log"
        filtered={filtered}
        empty={{
          filtered: ["No audit entries match these filters.", "Widen the filters or clear them."],
          none: ["The audit log is empty.", "Entries appear as soon as anyone changes anything."],
        }}
      >
        {({ rows, next, prev }) => (
          <>
            <AuditTable rows={rows} />
            <Pager
              next={next}
              prev={prev}
              nextLabel="Older"
              prevLabel="Newer"
              label="Audit pages"
            />
          </>
        )}
      </FilteredRows>
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from "~/components/route-error-boundary";

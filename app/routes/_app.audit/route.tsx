import type { MetaFunction } from "@remix-run/node";
import { data } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { EmptyState } from "~/components/empty-state";
import { SelectField, TextField } from "~/components/field";
import { DateRangeFields, FilterForm, FixFilters } from "~/components/filter-form";
import { humanize } from "~/components/format";
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
        <SelectField
          label="Actor type"
          name="actorType"
          defaultValue={values.actorType ?? ""}
          error={errors.actorType}
          options={[
            { value: "", label: "Anyone" },
            ...ACTOR_TYPES.map((t) => ({ value: t, label: humanize(t) })),
          ]}
        />
        <TextField
          label="Actor (email, key name or id)"
          name="actor"
          defaultValue={values.actor ?? ""}
          error={errors.actor}
          autoComplete="off"
        />
        <TextField
          label="Action"
          name="action"
          list="audit-actions"
          defaultValue={values.action ?? ""}
          error={errors.action}
          autoComplete="off"
        />
        <datalist id="audit-actions">
          {KNOWN_ACTIONS.map((a) => (
            <option key={a} value={a} />
          ))}
        </datalist>
        <SelectField
          label="Target type"
          name="targetType"
          defaultValue={values.targetType ?? ""}
          error={errors.targetType}
          options={[
            { value: "", label: "Any target" },
            ...TARGET_TYPES.map((t) => ({ value: t, label: humanize(t) })),
          ]}
        />
        <TextField
          label="Target id"
          name="targetId"
          defaultValue={values.targetId ?? ""}
          error={errors.targetId}
          autoComplete="off"
        />
        <DateRangeFields values={values} errors={errors} />
      </FilterForm>
      {page === null ? (
        <FixFilters what="the audit log" />
      ) : page.rows.length === 0 ? (
        <EmptyState
          title={filtered ? "No audit entries match these filters." : "The audit log is empty."}
        >
          {filtered
            ? "Widen the filters or clear them."
            : "Entries appear as soon as anyone changes anything."}
        </EmptyState>
      ) : (
        <>
          <AuditTable rows={page.rows} />
          <Pager
            next={page.next}
            prev={page.prev}
            nextLabel="Older"
            prevLabel="Newer"
            label="Audit pages"
          />
        </>
      )}
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from "~/components/route-error-boundary";

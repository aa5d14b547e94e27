import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data } from "@remix-run/node";
import { Form, Link, useLoaderData, useNavigation } from "@remix-run/react";
import { EmptyState } from "~/components/empty-state";
import { SelectField, TextField } from "~/components/field";
import { humanize } from "~/components/format";
import { Pager } from "~/components/pager";
import { TargetLink } from "~/components/target-link";
import { Time } from "~/components/time";
import { auditFilterSchema, listAudit } from "~/presenters/audit-log.server";
import { ACTOR_TYPES, KNOWN_ACTIONS, TARGET_TYPES } from "~/services/admin/ops-labels";
import { parseSearch } from "~/services/admin/forms.server";
import { orHttpError } from "~/services/admin/http.server";
import { OPS_ACCESS } from "~/services/admin/ops-permissions";
import { requireStaff } from "~/services/auth/session.server";

export const meta: MetaFunction = () => [{ title: "Audit log · creditdesk" }];

export async function loader({ request }: LoaderFunctionArgs) {
  await requireStaff(request, { roles: OPS_ACCESS.audit });
  const parsed = parseSearch(request, auditFilterSchema);
  if (!parsed.ok)
    return data({ values: parsed.values, errors: parsed.fieldErrors, page: null }, { status: 400 });
  const page = await orHttpError(() => listAudit(parsed.data));
  return { values: parsed.values, errors: {} as Record<string, string>, page };
}

function Change({ before, after }: { before: unknown; after: unknown }) {
  if (before === null && after === null) return <span className="muted">–</span>;
  return (
    <details>
      <summary>Show</summary>
      {before !== null ? (
        <>
          <div className="muted small">Before</div>
          <pre className="payload small">{JSON.stringify(before, null, 2)}</pre>
        </>
      ) : null}
      {after !== null ? (
        <>
          <div className="muted small">After</div>
          <pre className="payload small">{JSON.stringify(after, null, 2)}</pre>
        </>
      ) : null}
    </details>
  );
}

export default function AuditLog() {
  const { values, errors, page } = useLoaderData<typeof loader>();
  const navigation = useNavigation();
  const loading = navigation.state === "loading" && navigation.location.pathname === "/audit";
  const filtered = Object.entries(values).some(([k, v]) => k !== "after" && k !== "before" && v);
  return (
    <>
      <h1>Audit log</h1>
      <p className="muted">
        Every change made by staff, API keys, the CLI and the system. Entries cannot be edited or
        deleted.
      </p>
      <Form method="get" className="card filters" role="search" aria-label="Filter the audit log">
        <div className="inline-form">
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
          <TextField
            label="From"
            name="from"
            type="date"
            defaultValue={values.from ?? ""}
            error={errors.from}
          />
          <TextField
            label="To"
            name="to"
            type="date"
            defaultValue={values.to ?? ""}
            error={errors.to}
          />
          <div className="field">
            <button type="submit" disabled={loading}>
              {loading ? "Filtering…" : "Filter"}
            </button>
          </div>
          {filtered ? (
            <div className="field">
              <Link to="/audit" className="button secondary">
                Clear filters
              </Link>
            </div>
          ) : null}
        </div>
        <p className="muted small">
          Type an action such as staff.disable, or a prefix ending in a dot (attention.) for a whole
          family.
        </p>
      </Form>
      {page === null ? (
        <div className="alert error" role="alert">
          Fix the highlighted filters to see the audit log.
        </div>
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
          <div className="table-wrap">
            <table>
              <caption className="sr-only">Audit entries, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Actor</th>
                  <th scope="col">Action</th>
                  <th scope="col">Target</th>
                  <th scope="col">Reason</th>
                  <th scope="col">Change</th>
                </tr>
              </thead>
              <tbody>
                {page.rows.map((r) => (
                  <tr key={r.id} data-testid="audit-row" data-action={r.action}>
                    <td>
                      <Time value={r.createdAt} />
                    </td>
                    <td>
                      {r.actorLabel ?? r.actorId ?? humanize(r.actorType)}
                      <div className="muted small">
                        {humanize(r.actorType)}
                        {r.ip ? ` · ${r.ip}` : ""}
                      </div>
                    </td>
                    <td className="mono">{r.action}</td>
                    <td>
                      <TargetLink type={r.targetType} id={r.targetId} />
                    </td>
                    <td className="wrap">{r.reason ?? <span className="muted">–</span>}</td>
                    <td>
                      <Change before={r.before} after={r.after} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
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

import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data } from "@remix-run/node";
import { Form, Link, useLoaderData } from "@remix-run/react";
import { listClosedItems } from "~/presenters/attention-history.server";
import { EmptyState } from "~/components/empty-state";
import { SelectField, TextField } from "~/components/field";
import { humanize } from "~/components/format";
import { Pager } from "~/components/pager";
import { StatusBadge } from "~/components/status-badge";
import { Time } from "~/components/time";
import { historyFilterSchema, QUEUE_KINDS } from "~/services/admin/attention-queue.server";
import { KIND_LABELS } from "~/services/admin/ops-labels";
import { parseSearch } from "~/services/admin/forms.server";
import { orHttpError } from "~/services/admin/http.server";
import { OPS_ACCESS } from "~/services/admin/ops-permissions";
import { requireStaff } from "~/services/auth/session.server";

export const meta: MetaFunction = () => [{ title: "Resolved items · Attention · creditdesk" }];

export async function loader({ request }: LoaderFunctionArgs) {
  await requireStaff(request, { roles: OPS_ACCESS.attention });
  const parsed = parseSearch(request, historyFilterSchema);
  const kinds = QUEUE_KINDS as string[];
  if (!parsed.ok)
    return data(
      { values: parsed.values, errors: parsed.fieldErrors, page: null, kinds },
      { status: 400 },
    );
  const page = await orHttpError(() => listClosedItems(parsed.data));
  return { values: parsed.values, errors: {} as Record<string, string>, page, kinds };
}

export default function AttentionHistory() {
  const { values, errors, page, kinds } = useLoaderData<typeof loader>();
  const filtered = Boolean(values.status || values.kind || values.by || values.from || values.to);
  return (
    <>
      <p className="breadcrumb">
        <Link to="/attention">Attention queue</Link> / history
      </p>
      <h1>Resolved and dismissed items</h1>
      <Form method="get" className="card filters" role="search" aria-label="Filter closed items">
        <div className="inline-form">
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
            <button type="submit">Filter</button>
          </div>
        </div>
      </Form>
      {page === null ? (
        <div className="alert error" role="alert">
          Fix the highlighted filters to see closed items.
        </div>
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
          <div className="table-wrap">
            <table>
              <caption className="sr-only">
                Closed attention items, most recently closed first
              </caption>
              <thead>
                <tr>
                  <th scope="col">Closed</th>
                  <th scope="col">Status</th>
                  <th scope="col">Item</th>
                  <th scope="col">By</th>
                  <th scope="col">How</th>
                </tr>
              </thead>
              <tbody>
                {page.rows.map((item) => (
                  <tr key={item.id} data-testid="closed-item">
                    <td>
                      <Time value={item.resolvedAt} />
                    </td>
                    <td>
                      <StatusBadge status={item.status} />
                    </td>
                    <td>
                      <Link to={`/attention/${item.id}`}>{item.title}</Link>
                      <div className="muted small">
                        {KIND_LABELS[item.kind]?.title ?? humanize(item.kind)}
                      </div>
                    </td>
                    <td>{item.resolvedBy?.email ?? <span className="muted">the system</span>}</td>
                    <td className="wrap">{item.resolution}</td>
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
            label="History pages"
          />
        </>
      )}
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from "~/components/route-error-boundary";

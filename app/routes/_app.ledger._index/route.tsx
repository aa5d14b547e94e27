import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data } from "@remix-run/node";
import { Form, Link, useLoaderData, useNavigation } from "@remix-run/react";
import { EmptyState } from "~/components/empty-state";
import { SelectField, TextField } from "~/components/field";
import { formatCredits, formatDelta, humanize } from "~/components/format";
import { Pager } from "~/components/pager";
import { Time } from "~/components/time";
import { parseValues, toValues } from "~/services/admin/forms.server";
import { orHttpError } from "~/services/admin/http.server";
import {
  ledgerSearchSchema,
  listActorOptions,
  listLedger,
} from "~/services/admin/ledger-query.server";
import { LEDGER_KIND_OPTIONS } from "~/services/admin/options";
import { ACCESS, can } from "~/services/admin/permissions";
import { requireStaff } from "~/services/auth/session.server";

export const meta: MetaFunction = () => [{ title: "Ledger · creditdesk" }];

const FILTER_KEYS = ["kind", "from", "to", "actor", "user"] as const;

export async function loader({ request }: LoaderFunctionArgs) {
  const staff = await requireStaff(request, { roles: ACCESS.ledger });
  const values = toValues(new URL(request.url).searchParams);
  const parsed = parseValues(ledgerSearchSchema, values);
  const actors = await listActorOptions();
  const exportQuery = new URLSearchParams(
    FILTER_KEYS.flatMap((k) => (values[k] ? [[k, values[k]] as [string, string]] : [])),
  ).toString();
  const base = {
    values,
    actors,
    exportQuery,
    canExport: can(staff.role, "exports"),
    canOpenUsers: can(staff.role, "users"),
    canOpenPurchases: can(staff.role, "purchaseDetail"),
  };
  if (!parsed.ok) return data({ ...base, errors: parsed.fieldErrors, page: null }, { status: 400 });
  const { after, before, ...filters } = parsed.data;
  const page = await orHttpError(() => listLedger(filters, { after, before }));
  return { ...base, errors: {} as Record<string, string>, page };
}

export default function Ledger() {
  const { values, actors, exportQuery, canExport, canOpenUsers, canOpenPurchases, errors, page } =
    useLoaderData<typeof loader>();
  const navigation = useNavigation();
  const loading = navigation.state === "loading" && navigation.location.pathname === "/ledger";
  return (
    <>
      <div className="section-head">
        <h1>Ledger</h1>
        {canExport && page ? (
          <div className="button-row">
            <a
              className="button"
              href={`/ledger/export.csv${exportQuery ? `?${exportQuery}` : ""}`}
              download
            >
              Export CSV
            </a>
            <a
              className="button secondary"
              href={`/ledger/export.csv?${exportQuery}${exportQuery ? "&" : ""}bom=1`}
              download
            >
              CSV for Excel
            </a>
          </div>
        ) : null}
      </div>
      <Form method="get" className="card filters" aria-label="Filter ledger entries">
        <div className="inline-form">
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
          <TextField
            label="From (UTC day)"
            name="from"
            type="date"
            defaultValue={values.from ?? ""}
            error={errors.from}
          />
          <TextField
            label="To (UTC day)"
            name="to"
            type="date"
            defaultValue={values.to ?? ""}
            error={errors.to}
          />
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
          <div className="field button-row">
            <button type="submit" disabled={loading}>
              {loading ? "Loading…" : "Apply"}
            </button>
            <Link className="button secondary" to="/ledger">
              Reset
            </Link>
          </div>
        </div>
      </Form>

      {page === null ? (
        <div className="alert error" role="alert">
          Fix the highlighted filters to see entries.
        </div>
      ) : page.rows.length === 0 ? (
        <EmptyState title="No ledger entries match.">
          Widen the filters. Entries are written by purchases, usage from the main app, refunds,
          disputes and adjustments.
        </EmptyState>
      ) : (
        <>
          <div className="table-wrap">
            <table data-testid="ledger-entries">
              <caption className="sr-only">Ledger entries, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">User</th>
                  <th scope="col">Kind</th>
                  <th scope="col" className="num">
                    Change
                  </th>
                  <th scope="col" className="num">
                    Balance after
                  </th>
                  <th scope="col">Reason</th>
                  <th scope="col">By</th>
                  <th scope="col">Purchase</th>
                </tr>
              </thead>
              <tbody>
                {page.rows.map((e) => (
                  <tr key={e.id}>
                    <td>
                      <Time value={e.createdAt} />
                    </td>
                    <td>
                      {canOpenUsers ? (
                        <Link to={`/users/${encodeURIComponent(e.userId)}`}>{e.userEmail}</Link>
                      ) : (
                        e.userEmail
                      )}
                      <div className="muted small">#{e.seq}</div>
                    </td>
                    <td>{humanize(e.kind)}</td>
                    <td className={`num ${e.delta < 0 ? "negative" : "positive"}`}>
                      {formatDelta(e.delta)}
                    </td>
                    <td className="num">{formatCredits(e.balanceAfter)}</td>
                    <td className="reason">{e.reason ?? <span className="muted">–</span>}</td>
                    <td>
                      {e.staffEmail ?? (e.apiKeyName ? `API key “${e.apiKeyName}”` : "System")}
                    </td>
                    <td>
                      {e.purchaseId ? (
                        canOpenPurchases ? (
                          <Link to={`/purchases/${e.purchaseId}`}>open</Link>
                        ) : (
                          <span className="mono small">{e.purchaseId}</span>
                        )
                      ) : (
                        <span className="muted">–</span>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
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

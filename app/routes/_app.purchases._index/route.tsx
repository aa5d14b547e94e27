import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data } from "@remix-run/node";
import { Form, Link, useLoaderData, useNavigation } from "@remix-run/react";
import { EmptyState } from "~/components/empty-state";
import { SelectField, TextField } from "~/components/field";
import { formatCredits, formatMoney, humanize } from "~/components/format";
import { Pager } from "~/components/pager";
import { StatusBadge } from "~/components/status-badge";
import { Time } from "~/components/time";
import { parseValues, toValues } from "~/services/admin/forms.server";
import { orHttpError } from "~/services/admin/http.server";
import { ACCESS, can } from "~/services/admin/permissions";
import { CREDITED_VIA, PURCHASE_STATUSES } from "~/services/admin/options";
import {
  defaultFrom,
  listPackOptions,
  listPurchases,
  purchaseTotals,
  purchasesSearchSchema,
} from "~/services/admin/purchases-query.server";
import { requireStaff } from "~/services/auth/session.server";

export const meta: MetaFunction = () => [{ title: "Purchases · creditdesk" }];

const FILTER_KEYS = ["from", "to", "status", "pack", "currency", "via", "user", "ref"] as const;

export async function loader({ request }: LoaderFunctionArgs) {
  const staff = await requireStaff(request, { roles: ACCESS.purchases });
  const url = new URL(request.url);
  const values = toValues(url.searchParams);
  // The page opens on the last 30 days; a "From" that is present but empty means all time.
  if (!url.searchParams.has("from")) values.from = defaultFrom();
  const parsed = parseValues(purchasesSearchSchema, values);
  const packs = await listPackOptions();
  const exportQuery = new URLSearchParams(
    FILTER_KEYS.flatMap((k) =>
      values[k] !== undefined ? [[k, values[k]] as [string, string]] : [],
    ),
  ).toString();
  const base = { values, packs, canExport: can(staff.role, "exports"), exportQuery };
  if (!parsed.ok)
    return data({ ...base, errors: parsed.fieldErrors, page: null, totals: [] }, { status: 400 });
  const { after, before, ...filters } = parsed.data;
  const [page, totals] = await orHttpError(() =>
    Promise.all([listPurchases(filters, { after, before }), purchaseTotals(filters)]),
  );
  return { ...base, errors: {} as Record<string, string>, page, totals };
}

export default function Purchases() {
  const { values, packs, canExport, exportQuery, errors, page, totals } =
    useLoaderData<typeof loader>();
  const navigation = useNavigation();
  const loading = navigation.state === "loading" && navigation.location.pathname === "/purchases";
  return (
    <>
      <div className="section-head">
        <h1>Purchases</h1>
        {canExport && page ? (
          <div className="button-row">
            <a
              className="button"
              href={`/purchases/export.csv?${exportQuery}`}
              download
              data-testid="export-purchases"
            >
              Export CSV
            </a>
            <a
              className="button secondary"
              href={`/purchases/export.csv?${exportQuery}${exportQuery ? "&" : ""}bom=1`}
              download
            >
              CSV for Excel
            </a>
          </div>
        ) : null}
      </div>
      <Form method="get" className="card filters" aria-label="Filter purchases">
        <div className="inline-form">
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
          <div className="field button-row">
            <button type="submit" disabled={loading}>
              {loading ? "Loading…" : "Apply"}
            </button>
            <Link className="button secondary" to="/purchases">
              Reset
            </Link>
          </div>
        </div>
        <p className="muted small">
          Empty “From” means all time. The export contains every matching purchase, not just this
          page.
        </p>
      </Form>

      {page === null ? (
        <div className="alert error" role="alert">
          Fix the highlighted filters to see purchases.
        </div>
      ) : (
        <>
          {totals.length > 0 ? (
            <div className="table-wrap">
              <table data-testid="purchase-totals">
                <caption>Totals for all matching purchases</caption>
                <thead>
                  <tr>
                    <th scope="col">Currency</th>
                    <th scope="col" className="num">
                      Purchases
                    </th>
                    <th scope="col" className="num">
                      Gross
                    </th>
                    <th scope="col" className="num">
                      Refunded
                    </th>
                    <th scope="col" className="num">
                      Net
                    </th>
                    <th scope="col" className="num">
                      Credits
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {totals.map((t) => (
                    <tr key={t.currency}>
                      <th scope="row">{t.currency.toUpperCase()}</th>
                      <td className="num">{formatCredits(t.purchases)}</td>
                      <td className="num">{formatMoney(t.amountTotal, t.currency)}</td>
                      <td className="num">{formatMoney(t.amountRefunded, t.currency)}</td>
                      <td className="num">
                        {formatMoney(t.amountTotal - t.amountRefunded, t.currency)}
                      </td>
                      <td className="num">{formatCredits(t.credits)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : null}
          {page.rows.length === 0 ? (
            <EmptyState title="No purchases match.">
              Widen the date range or clear filters. Purchases are recorded when Stripe reports a
              paid Checkout Session (webhook or nightly reconciliation).
            </EmptyState>
          ) : (
            <>
              <div className="table-wrap">
                <table data-testid="purchases">
                  <caption className="sr-only">Purchases, newest first</caption>
                  <thead>
                    <tr>
                      <th scope="col">Created</th>
                      <th scope="col">Checkout Session</th>
                      <th scope="col">User</th>
                      <th scope="col">Pack</th>
                      <th scope="col" className="num">
                        Credits
                      </th>
                      <th scope="col" className="num">
                        Amount
                      </th>
                      <th scope="col">Status</th>
                      <th scope="col">Via</th>
                    </tr>
                  </thead>
                  <tbody>
                    {page.rows.map((p) => (
                      <tr key={p.id}>
                        <td>
                          <Time value={p.createdAt} />
                        </td>
                        <td className="mono">
                          <Link to={`/purchases/${p.id}`}>{p.checkoutSessionId}</Link>
                        </td>
                        <td>{p.userEmail}</td>
                        <td>{p.packName ?? "–"}</td>
                        <td className="num">{formatCredits(p.credits)}</td>
                        <td className="num">
                          {formatMoney(p.amountTotal, p.currency)}
                          {p.amountRefunded > 0 ? (
                            <div className="muted small">
                              refunded {formatMoney(p.amountRefunded, p.currency)}
                            </div>
                          ) : null}
                        </td>
                        <td>
                          <StatusBadge status={p.status} />
                        </td>
                        <td>{humanize(p.creditedVia)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              <Pager next={page.next} prev={page.prev} label="Purchase pages" />
            </>
          )}
        </>
      )}
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from "~/components/route-error-boundary";

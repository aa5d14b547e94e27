import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, Link, useLoaderData } from "@remix-run/react";
import { getRunDetailPage } from "~/presenters/reconciliation.server";
import { EmptyState } from "~/components/empty-state";
import { SelectField } from "~/components/field";
import { formatCredits, formatMoney, humanize } from "~/components/format";
import { Pager } from "~/components/pager";
import { RunProgress } from "~/components/run-progress";
import { StatusBadge } from "~/components/status-badge";
import { Time } from "~/components/time";
import { parseSearch } from "~/services/admin/forms.server";
import { orHttpError } from "~/services/admin/http.server";
import { OPS_ACCESS } from "~/shared/ops-permissions";
import { ITEM_OUTCOME_HELP } from "~/shared/ops-labels";
import { ITEM_OUTCOMES, runItemsSearchSchema } from "~/services/admin/reconciliation-admin.server";
import { requireStaff } from "~/services/auth/session.server";

export const meta: MetaFunction = () => [{ title: "Reconciliation run · creditdesk" }];

export async function loader({ request, params }: LoaderFunctionArgs) {
  await requireStaff(request, { roles: OPS_ACCESS.reconciliation });
  const parsed = parseSearch(request, runItemsSearchSchema);
  if (!parsed.ok)
    throw new Response(Object.values(parsed.fieldErrors)[0] ?? "This page link is not valid.", {
      status: 400,
    });
  const detail = await orHttpError(() => getRunDetailPage(params.runId ?? "", parsed.data));
  return {
    ...detail,
    outcomes: [...ITEM_OUTCOMES] as string[],
    outcome: parsed.data.outcome ?? null,
    paged: Boolean(parsed.data.after),
  };
}

export default function RunDetailPage() {
  const { run, startedBy, items, nextCursor, outcomes, outcome, paged } =
    useLoaderData<typeof loader>();
  const counts = run.outcomes as Record<string, number>;
  const help = ITEM_OUTCOME_HELP as Record<string, string>;
  const outcomeCounts = outcomes.filter((o) => (counts[o] ?? 0) > 0);
  return (
    <>
      <p className="breadcrumb">
        <Link to="/reconciliation">Reconciliation</Link> / run{" "}
        <span className="mono">{run.id.slice(0, 8)}</span>
      </p>
      <h1>
        Run of <Time value={run.startedAt} /> <StatusBadge status={run.status} />
      </h1>
      <dl className="facts card">
        <dt>Trigger</dt>
        <dd>
          {humanize(run.trigger)}
          {startedBy ? ` by ${startedBy}` : ""}
          {run.dryRun ? " · dry run (nothing was changed)" : ""}
        </dd>
        <dt>Window</dt>
        <dd>
          <Time value={run.windowSince} /> → <Time value={run.windowUntil} />
        </dd>
        <dt>Finished</dt>
        <dd>
          <Time value={run.finishedAt} />
        </dd>
        {run.highWaterMark ? (
          <>
            <dt>Reconciled up to</dt>
            <dd>
              <Time value={run.highWaterMark} />
            </dd>
          </>
        ) : null}
        {run.alertStatus ? (
          <>
            <dt>Webhook-gap alert</dt>
            <dd>{humanize(run.alertStatus)}</dd>
          </>
        ) : null}
      </dl>
      {run.error ? (
        <div className="alert error" role="alert">
          <strong>The run stopped early:</strong> {run.error}
        </div>
      ) : null}
      {run.status !== "running" && !run.dryRun && run.creditedNow > 0 ? (
        <div className="alert warn" role="status">
          This run credited {formatCredits(run.creditedNow)} purchase
          {run.creditedNow === 1 ? "" : "s"} the webhooks never delivered. Check the{" "}
          <Link to="/webhooks">webhook checks</Link>.
        </div>
      ) : null}

      <RunProgress run={run} />

      {run.doctor && run.doctor.findings.length > 0 ? (
        <section className="card" aria-labelledby="run-doctor">
          <h2 id="run-doctor">Webhook checks from this run</h2>
          <ul className="findings">
            {run.doctor.findings.map((f, i) => (
              <li key={i} className={`finding ${f.severity}`}>
                <strong>{f.title}</strong>
                <div>{f.detail}</div>
                <div className="finding-fix">{f.fix}</div>
              </li>
            ))}
          </ul>
        </section>
      ) : null}

      <h2 id="sessions-heading">Sessions</h2>
      <Form method="get" className="inline-form filters" aria-labelledby="sessions-heading">
        <SelectField
          label="Outcome"
          name="outcome"
          defaultValue={outcome ?? ""}
          options={[
            { value: "", label: "Every outcome" },
            ...outcomes.map((o) => ({
              value: o,
              label: `${humanize(o)} (${formatCredits(counts[o] ?? 0)})`,
            })),
          ]}
        />
        <div className="field">
          <button type="submit">Show</button>
        </div>
      </Form>
      {outcomeCounts.length > 0 ? (
        <ul className="chips">
          {outcomeCounts.map((o) => (
            <li key={o}>
              <Link to={`?outcome=${o}`} title={help[o]}>
                <StatusBadge status={o} /> {formatCredits(counts[o] ?? 0)}
              </Link>
            </li>
          ))}
        </ul>
      ) : null}
      {outcome ? <p className="muted small">{help[outcome]}</p> : null}
      {items.length === 0 ? (
        <EmptyState
          title={
            outcome
              ? "No session had this outcome."
              : run.status === "running"
                ? "No session checked yet."
                : "Stripe had no completed session in this window."
          }
        >
          {outcome ? "Choose another outcome." : null}
        </EmptyState>
      ) : (
        <div className="table-wrap">
          <table>
            <caption className="sr-only">Outcome of every session in the run</caption>
            <thead>
              <tr>
                <th scope="col">Session</th>
                <th scope="col">Outcome</th>
                <th scope="col">User</th>
                <th scope="col" className="num">
                  Amount
                </th>
                <th scope="col">Created</th>
                <th scope="col">Detail</th>
              </tr>
            </thead>
            <tbody>
              {items.map((i) => (
                <tr
                  key={i.id}
                  data-testid="run-item"
                  data-session={i.checkoutSessionId}
                  data-outcome={i.outcome}
                >
                  <td className="mono">
                    {i.purchaseId ? (
                      <Link to={`/purchases/${i.purchaseId}`}>{i.checkoutSessionId}</Link>
                    ) : (
                      i.checkoutSessionId
                    )}
                  </td>
                  <td>
                    <StatusBadge status={i.outcome} />
                  </td>
                  <td>
                    {i.user ? (
                      <>
                        <Link to={`/users/${encodeURIComponent(i.user.id)}`}>{i.user.email}</Link>
                        <div className="muted small" data-testid="user-balance">
                          balance {formatCredits(i.user.balance)}
                        </div>
                      </>
                    ) : i.userId ? (
                      <span className="mono">{i.userId}</span>
                    ) : (
                      <span className="muted">–</span>
                    )}
                  </td>
                  <td className="num">
                    {i.amountTotal !== null && i.currency
                      ? formatMoney(i.amountTotal, i.currency)
                      : "–"}
                  </td>
                  <td>
                    <Time value={i.sessionCreatedAt} />
                  </td>
                  <td className="wrap">
                    {i.detail ?? ""}
                    {i.attention ? (
                      <div>
                        <Link to={`/attention/${i.attention.id}`}>Attention item</Link>{" "}
                        <StatusBadge status={i.attention.status} />
                      </div>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {paged ? (
        <p>
          <Link to={outcome ? `?outcome=${outcome}` : "?"}>← First sessions</Link>
        </p>
      ) : null}
      <Pager next={nextCursor} prev={null} nextLabel="More sessions" label="Session pages" />
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from "~/components/route-error-boundary";

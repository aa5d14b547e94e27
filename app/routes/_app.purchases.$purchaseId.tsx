import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { EmptyState } from "~/components/empty-state";
import { formatCredits, formatDelta, formatMoney, humanize } from "~/components/format";
import { StatusBadge } from "~/components/status-badge";
import { Time } from "~/components/time";
import { orHttpError } from "~/services/admin/http.server";
import { canOps } from "~/services/admin/ops-permissions";
import { ACCESS, can } from "~/services/admin/permissions";
import { getPurchaseDetail } from "~/services/admin/purchases-query.server";
import { requireStaff } from "~/services/auth/session.server";

export const meta: MetaFunction<typeof loader> = ({ data: d }) => [
  { title: `${d?.purchase.checkoutSessionId ?? "Purchase"} · creditdesk` },
];

export async function loader({ request, params }: LoaderFunctionArgs) {
  const staff = await requireStaff(request, { roles: ACCESS.purchaseDetail });
  const detail = await orHttpError(() => getPurchaseDetail(params.purchaseId ?? ""));
  return {
    ...detail,
    canOpenUsers: can(staff.role, "users"),
    canListPurchases: can(staff.role, "purchases"),
    canOpenEvents: canOps(staff.role, "webhooks"),
  };
}

interface Line {
  priceId: string;
  quantity: number;
  creditsPerUnit: number;
  credits: number;
  amountTotal: number;
  currency: string;
}

function linesOf(value: unknown): Line[] {
  return Array.isArray(value)
    ? (value as Line[]).filter((l) => l && typeof l.priceId === "string")
    : [];
}

export default function PurchaseDetail() {
  const {
    purchase: p,
    entries,
    events,
    attention,
    canOpenUsers,
    canListPurchases,
    canOpenEvents,
  } = useLoaderData<typeof loader>();
  const lines = linesOf(p.lines);
  return (
    <>
      <p className="breadcrumb">
        {canListPurchases ? <Link to="/purchases">Purchases</Link> : "Purchases"} /{" "}
        <span className="mono">{p.checkoutSessionId}</span>
      </p>
      <h1>
        Purchase {formatMoney(p.amountTotal, p.currency)} · {formatCredits(p.credits)} credits{" "}
        <StatusBadge status={p.status} />
      </h1>
      <div className="grid">
        <div className="card">
          <h2>Customer</h2>
          <dl className="facts">
            <dt>User</dt>
            <dd>
              {canOpenUsers ? (
                <Link to={`/users/${encodeURIComponent(p.user.id)}`}>{p.user.email}</Link>
              ) : (
                p.user.email
              )}
              <div className="mono small">{p.user.id}</div>
            </dd>
            <dt>Matched by</dt>
            <dd>{humanize(p.userResolvedBy)}</dd>
            <dt>Credited via</dt>
            <dd>{humanize(p.creditedVia)}</dd>
            <dt>Created</dt>
            <dd>
              <Time value={p.createdAt} />{" "}
              <span className="muted small">
                (Stripe: <Time value={p.stripeCreatedAt} />)
              </span>
            </dd>
          </dl>
        </div>
        <div className="card">
          <h2>Stripe</h2>
          <dl className="facts">
            <dt>Checkout Session</dt>
            <dd className="mono">{p.checkoutSessionId}</dd>
            <dt>PaymentIntent</dt>
            <dd className="mono">{p.paymentIntentId ?? "–"}</dd>
            <dt>Charge</dt>
            <dd className="mono">{p.chargeId ?? "–"}</dd>
            <dt>Customer</dt>
            <dd className="mono">{p.stripeCustomerId ?? "–"}</dd>
            <dt>Mode</dt>
            <dd>{p.livemode ? "live" : "test"}</dd>
          </dl>
        </div>
        <div className="card">
          <h2>Money and credits</h2>
          <dl className="facts">
            <dt>Charged</dt>
            <dd>{formatMoney(p.amountTotal, p.currency)}</dd>
            <dt>Refunded</dt>
            <dd>{formatMoney(p.amountRefunded, p.currency)}</dd>
            <dt>Credits granted</dt>
            <dd>{formatCredits(p.credits)}</dd>
            <dt>Clawed back</dt>
            <dd>{formatCredits(p.creditsClawedBack)}</dd>
            <dt>Not recoverable</dt>
            <dd>{formatCredits(p.creditsUnrecovered)}</dd>
            <dt>Held (dispute)</dt>
            <dd>{formatCredits(p.creditsHeld)}</dd>
          </dl>
        </div>
      </div>

      <h2>Line items</h2>
      {lines.length === 0 ? (
        <EmptyState title="No line details were stored." />
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Price</th>
                <th scope="col" className="num">
                  Quantity
                </th>
                <th scope="col" className="num">
                  Credits each
                </th>
                <th scope="col" className="num">
                  Credits
                </th>
                <th scope="col" className="num">
                  Amount
                </th>
              </tr>
            </thead>
            <tbody>
              {lines.map((l, i) => (
                <tr key={`${l.priceId}-${i}`}>
                  <td className="mono">
                    {l.priceId}
                    {p.pack && p.pack.stripePriceId === l.priceId ? (
                      <div className="small">{p.pack.name}</div>
                    ) : null}
                  </td>
                  <td className="num">{l.quantity}</td>
                  <td className="num">{formatCredits(l.creditsPerUnit)}</td>
                  <td className="num">{formatCredits(l.credits)}</td>
                  <td className="num">{formatMoney(l.amountTotal, l.currency)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      <h2>Ledger entries</h2>
      {entries.length === 0 ? (
        <EmptyState title="No ledger entries reference this purchase." />
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Kind</th>
                <th scope="col" className="num">
                  Change
                </th>
                <th scope="col" className="num">
                  Balance after
                </th>
                <th scope="col">Reason</th>
                <th scope="col">Event</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => (
                <tr key={e.id}>
                  <td>
                    <Time value={e.createdAt} />
                  </td>
                  <td>{humanize(e.kind)}</td>
                  <td className={`num ${e.delta < 0 ? "negative" : "positive"}`}>
                    {formatDelta(e.delta)}
                  </td>
                  <td className="num">{formatCredits(e.balanceAfter)}</td>
                  <td className="reason">{e.reason ?? "–"}</td>
                  <td className="mono small">
                    {e.stripeEventId && canOpenEvents ? (
                      <Link to={`/webhooks/events/${encodeURIComponent(e.stripeEventId)}`}>
                        {e.stripeEventId}
                      </Link>
                    ) : (
                      (e.stripeEventId ?? "–")
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      <h2>Refunds</h2>
      {p.refunds.length === 0 ? (
        <EmptyState title="No refunds." />
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Refund</th>
                <th scope="col">Created in Stripe</th>
                <th scope="col" className="num">
                  Amount
                </th>
                <th scope="col" className="num">
                  Credits clawed back
                </th>
                <th scope="col" className="num">
                  Not recovered
                </th>
              </tr>
            </thead>
            <tbody>
              {p.refunds.map((r) => (
                <tr key={r.id}>
                  <td className="mono">{r.id}</td>
                  <td>
                    <Time value={r.stripeCreated} />
                  </td>
                  <td className="num">{formatMoney(r.amount, r.currency)}</td>
                  <td className="num">{formatCredits(r.creditsClawed)}</td>
                  <td className="num">{formatCredits(r.unrecovered)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      <h2>Disputes</h2>
      {p.disputes.length === 0 ? (
        <EmptyState title="No disputes." />
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Dispute</th>
                <th scope="col">Status</th>
                <th scope="col">Reason</th>
                <th scope="col" className="num">
                  Amount
                </th>
                <th scope="col" className="num">
                  Credits held
                </th>
                <th scope="col">Opened</th>
                <th scope="col">Closed</th>
              </tr>
            </thead>
            <tbody>
              {p.disputes.map((d) => (
                <tr key={d.id}>
                  <td className="mono">{d.id}</td>
                  <td>
                    <StatusBadge status={d.status} />
                  </td>
                  <td>{d.reason ? humanize(d.reason) : "–"}</td>
                  <td className="num">{formatMoney(d.amount, d.currency)}</td>
                  <td className="num">{formatCredits(d.creditsHeld)}</td>
                  <td>
                    <Time value={d.openedAt} />
                  </td>
                  <td>
                    <Time value={d.closedAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      <h2>Stripe events</h2>
      {events.length === 0 ? (
        <EmptyState title="No stored Stripe events mention this purchase." />
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Received</th>
                <th scope="col">Event</th>
                <th scope="col">Type</th>
                <th scope="col">Source</th>
                <th scope="col">Status</th>
                <th scope="col">Last error</th>
              </tr>
            </thead>
            <tbody>
              {events.map((ev) => (
                <tr key={ev.id}>
                  <td>
                    <Time value={ev.receivedAt} />
                  </td>
                  <td className="mono">
                    {canOpenEvents ? (
                      <Link to={`/webhooks/events/${encodeURIComponent(ev.id)}`}>{ev.id}</Link>
                    ) : (
                      ev.id
                    )}
                  </td>
                  <td>{ev.type}</td>
                  <td>{humanize(ev.source)}</td>
                  <td>
                    <StatusBadge status={ev.status} />
                  </td>
                  <td>{ev.lastError ?? "–"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      {attention.length > 0 ? (
        <>
          <h2>Attention items</h2>
          <ul className="plain-list">
            {attention.map((a) => (
              <li key={a.id}>
                <StatusBadge status={a.status} /> {a.title}
                {a.resolution ? <span className="muted small"> · {a.resolution}</span> : null}
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from "~/components/route-error-boundary";

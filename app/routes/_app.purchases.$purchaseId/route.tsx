import type { MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { EmptyState } from "~/components/empty-state";
import { formatCredits, formatMoney } from "~/components/format";
import { StatusBadge } from "~/components/status-badge";
import { StripeEventsTable } from "~/components/stripe-events-table";
import { Time } from "~/components/time";
import { staffLoader } from "~/lib/route-builders";
import { getPurchaseDetail } from "~/presenters/purchase-detail.server";
import { canOps } from "~/shared/ops-permissions";
import { humanize } from "~/shared/labels";
import { ACCESS, can } from "~/shared/permissions";
import { DisputesTable, EntriesTable, LinesTable, RefundsTable } from "./sections";

export const meta: MetaFunction<typeof loader> = ({ data: d }) => [
  { title: `${d?.purchase.checkoutSessionId ?? "Purchase"} · creditdesk` },
];

export const loader = staffLoader(
  { roles: ACCESS.purchaseDetail, params: z.object({ purchaseId: z.string() }) },
  async ({ staff, params }) => ({
    ...(await getPurchaseDetail(params.purchaseId)),
    canOpenUsers: can(staff.role, "users"),
    canListPurchases: can(staff.role, "purchases"),
    canOpenEvents: canOps(staff.role, "webhooks"),
  }),
);

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
      {p.lines.length === 0 ? (
        <EmptyState title="No line details were stored." />
      ) : (
        <LinesTable lines={p.lines} pack={p.pack} />
      )}

      <h2>Ledger entries</h2>
      {entries.length === 0 ? (
        <EmptyState title="No ledger entries reference this purchase." />
      ) : (
        <EntriesTable rows={entries} canOpenEvents={canOpenEvents} />
      )}

      <h2>Refunds</h2>
      {p.refunds.length === 0 ? (
        <EmptyState title="No refunds." />
      ) : (
        <RefundsTable rows={p.refunds} />
      )}

      <h2>Disputes</h2>
      {p.disputes.length === 0 ? (
        <EmptyState title="No disputes." />
      ) : (
        <DisputesTable rows={p.disputes} />
      )}

      <h2>Stripe events</h2>
      {events.length === 0 ? (
        <EmptyState title="No stored Stripe events mention this purchase." />
      ) : (
        <StripeEventsTable variant="purchase" rows={events} canOpen={canOpenEvents} />
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

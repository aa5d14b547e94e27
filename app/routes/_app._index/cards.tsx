import { Link } from "@remix-run/react";
import { EmptyState } from "~/components/empty-state";
import { formatCredits, formatMoney, formatPercent } from "~/components/format";
import { StatusBadge } from "~/components/status-badge";
import { Time } from "~/components/time";
import type { OverviewView as Overview } from "./route";
import { humanize } from "~/shared/labels";

/** The overview's cards, each a function of the overview read model. */

export function RevenueCard({ o }: { o: Overview }) {
  const hasMoney = o.money.length > 0;
  return (
    <div className="card wide">
      <h2 id="money-heading">Revenue</h2>
      {hasMoney ? (
        <div className="table-wrap plain">
          <table>
            <caption className="sr-only">Gross revenue per currency</caption>
            <thead>
              <tr>
                <th scope="col">Currency</th>
                <th scope="col" className="num">
                  Today
                </th>
                <th scope="col" className="num">
                  7 days
                </th>
                <th scope="col" className="num">
                  30 days
                </th>
              </tr>
            </thead>
            <tbody>
              {o.money.map((m) => (
                <tr key={m.currency}>
                  <th scope="row">{m.currency.toUpperCase()}</th>
                  <td className="num">{formatMoney(m.today, m.currency)}</td>
                  <td className="num">{formatMoney(m.last7, m.currency)}</td>
                  <td className="num">{formatMoney(m.last30, m.currency)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <EmptyState title="No revenue in the last 30 days.">
          Purchases appear here when Stripe delivers <code>checkout.session.completed</code> to{" "}
          <code>{o.installation.webhookUrl}</code>. If customers have paid, check the webhook
          endpoint in Stripe (URL, enabled events, signing secret).
        </EmptyState>
      )}
      <p className="muted small">UTC days; gross amounts before refunds.</p>
    </div>
  );
}

export function CreditsCard({ o }: { o: Overview }) {
  return (
    <div className="card">
      <h2>Credits</h2>
      <dl className="stats">
        <div>
          <dt>Issued, 30 days</dt>
          <dd>{formatCredits(o.credits.issued30)}</dd>
        </div>
        <div>
          <dt>Consumed, 30 days</dt>
          <dd>{formatCredits(o.credits.consumed30)}</dd>
        </div>
        <div>
          <dt>Outstanding (all balances)</dt>
          <dd>{formatCredits(o.credits.outstanding)}</dd>
        </div>
        <div>
          <dt>Users holding credits</dt>
          <dd>{formatCredits(o.credits.holders)}</dd>
        </div>
        <div>
          <dt>Unused credits&apos; value (liability)</dt>
          <dd data-testid="credit-liability">
            {o.credits.liability.length === 0
              ? formatMoney(0, "usd")
              : o.credits.liability.map((l) => (
                  <div key={l.currency}>{formatMoney(l.value, l.currency)}</div>
                ))}
          </dd>
        </div>
      </dl>
      <p className="muted small">
        Issued counts purchases, grants and manual credits; consumed counts usage. The liability is
        what was paid for the credits still unused in paid grants (docs/credits.md, &ldquo;Value and
        liability&rdquo;). Outstanding as of <Time value={o.credits.outstandingAsOf} /> (refreshed
        at most once a minute).
      </p>
    </div>
  );
}

export function PurchasesCard({ o }: { o: Overview }) {
  return (
    <div className="card">
      <h2>Purchases and refunds, 30 days</h2>
      <dl className="stats">
        <div>
          <dt>Purchases</dt>
          <dd>{formatCredits(o.purchases30)}</dd>
        </div>
        <div>
          <dt>Refunds</dt>
          <dd>{formatCredits(o.refunds30)}</dd>
        </div>
        <div>
          <dt>Refund rate</dt>
          <dd>{formatPercent(o.refundRate30)}</dd>
        </div>
      </dl>
      {o.money.some((m) => m.refunded30 > 0) ? (
        <p className="small">
          Refunded:{" "}
          {o.money
            .filter((m) => m.refunded30 > 0)
            .map((m) => formatMoney(m.refunded30, m.currency))
            .join(", ")}
        </p>
      ) : null}
      <p className="small">
        <Link to="/purchases">Review purchases →</Link>
      </p>
    </div>
  );
}

export function WebhookHealthCard({ o }: { o: Overview }) {
  const deliveryOutcomes = Object.entries(o.webhooks.last24h).sort((a, b) => b[1] - a[1]);
  return (
    <div className="card">
      <h2>Webhook health</h2>
      {o.webhooks.total24h > 0 ? (
        <ul className="plain-list">
          {deliveryOutcomes.map(([outcome, n]) => (
            <li key={outcome}>
              <StatusBadge status={outcome} /> {formatCredits(n)}
            </li>
          ))}
        </ul>
      ) : (
        <EmptyState title="No webhook deliveries in the last 24 hours.">
          If customers are buying, Stripe is not reaching <code>{o.installation.webhookUrl}</code>:
          check the endpoint in Stripe (URL, enabled events, signing secret). For local development
          run <code>stripe listen --forward-to {o.installation.webhookUrl}</code>.
        </EmptyState>
      )}
      <dl className="facts">
        <dt>Last valid delivery</dt>
        <dd>
          {o.webhooks.lastValid ? (
            <>
              <Time value={o.webhooks.lastValid.receivedAt} /> (
              {o.webhooks.lastValid.eventType ?? "unknown type"})
            </>
          ) : (
            "never"
          )}
        </dd>
        <dt>Event queue</dt>
        <dd data-testid="event-queue">
          {o.webhooks.queue.waiting === 0
            ? "empty: every stored event has been acted on"
            : `${o.webhooks.queue.waiting} event${o.webhooks.queue.waiting === 1 ? "" : "s"} waiting, oldest received ${o.webhooks.queue.oldestSeconds ?? 0} s ago`}
        </dd>
        <dt>Open attention items</dt>
        <dd>
          {o.webhooks.openAttentionTotal === 0
            ? "none"
            : o.webhooks.openAttention.map((a) => `${humanize(a.kind)}: ${a.count}`).join(", ")}
        </dd>
      </dl>
    </div>
  );
}

export function LastRunCard({ o }: { o: Overview }) {
  return (
    <div className="card">
      <h2>Last reconciliation</h2>
      {o.lastRun ? (
        <dl className="facts">
          <dt>Status</dt>
          <dd>
            <StatusBadge status={o.lastRun.status} /> {o.lastRun.dryRun ? "(dry run)" : null} ·{" "}
            {o.lastRun.trigger}
          </dd>
          <dt>Started</dt>
          <dd>
            <Time value={o.lastRun.startedAt} />
          </dd>
          <dt>Window</dt>
          <dd>
            <Time value={o.lastRun.windowSince} /> – <Time value={o.lastRun.windowUntil} />
          </dd>
          <dt>Sessions</dt>
          <dd>
            {formatCredits(o.lastRun.scanned)} scanned, {formatCredits(o.lastRun.creditedNow)}{" "}
            credited now, {formatCredits(o.lastRun.alreadyCredited)} already credited,{" "}
            {formatCredits(o.lastRun.needsAttention)} need attention,{" "}
            {formatCredits(o.lastRun.errors)} errors
          </dd>
          {o.lastRun.error ? (
            <>
              <dt>Error</dt>
              <dd>{o.lastRun.error}</dd>
            </>
          ) : null}
        </dl>
      ) : (
        <EmptyState title="No reconciliation has run yet.">
          {o.installation.scheduler === "on"
            ? `It runs on the schedule "${o.installation.reconcileCron}" (${o.installation.reconcileTz}) and credits any paid session whose webhook went missing.`
            : "The scheduler is off (SCHEDULER=off), so the nightly run will not start in this process; run the worker or turn the scheduler on."}
        </EmptyState>
      )}
    </div>
  );
}

import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { redirect } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { CreditsChart, RevenueChart, WebhookChart } from "~/components/charts";
import { EmptyState } from "~/components/empty-state";
import { formatCredits, formatMoney, formatPercent, humanize } from "~/components/format";
import { navFor } from "~/components/nav-items";
import { StatusBadge } from "~/components/status-badge";
import { Time } from "~/components/time";
import { parseSearch } from "~/services/admin/forms.server";
import { getOverview, overviewSearchSchema } from "~/services/admin/overview.server";
import { ACCESS, can } from "~/services/admin/permissions";
import { requireStaff } from "~/services/auth/session.server";

export const meta: MetaFunction = () => [{ title: "Overview · creditdesk" }];

export async function loader({ request }: LoaderFunctionArgs) {
  const staff = await requireStaff(request);
  // "/" is everyone's landing page; support has no overview, so it starts on its first page.
  if (!can(staff.role, "overview")) throw redirect(navFor(staff.role)[0]?.to ?? "/users");
  await requireStaff(request, { roles: ACCESS.overview });
  const parsed = parseSearch(request, overviewSearchSchema);
  const range = parsed.ok ? (parsed.data.range ?? 30) : 30;
  return getOverview(range);
}

export default function Overview() {
  const o = useLoaderData<typeof loader>();
  const hasMoney = o.money.length > 0;
  const deliveryOutcomes = Object.entries(o.webhooks.last24h).sort((a, b) => b[1] - a[1]);
  return (
    <>
      <h1>Overview</h1>
      <section aria-labelledby="money-heading" className="grid">
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
          </dl>
          <p className="muted small">
            Issued counts purchases, grants and manual credits; consumed counts usage. Outstanding
            as of <Time value={o.credits.outstandingAsOf} /> (refreshed at most once a minute).
          </p>
        </div>

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
              If customers are buying, Stripe is not reaching{" "}
              <code>{o.installation.webhookUrl}</code>: check the endpoint in Stripe (URL, enabled
              events, signing secret). For local development run{" "}
              <code>stripe listen --forward-to {o.installation.webhookUrl}</code>.
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
      </section>

      <section aria-labelledby="charts-heading">
        <div className="section-head">
          <h2 id="charts-heading">Trends</h2>
          <nav className="segmented" aria-label="Chart range">
            {[30, 90].map((r) => (
              <Link
                key={r}
                to={`?range=${r}`}
                aria-current={o.range === r ? "page" : undefined}
                preventScrollReset
              >
                {r} days
              </Link>
            ))}
          </nav>
        </div>
        <div className="chart-grid">
          {o.charts.currencies.length > 0 ? (
            <RevenueChart data={o.charts.revenue} currencies={o.charts.currencies} />
          ) : (
            <div className="card">
              <EmptyState title="No revenue to chart yet.">
                The chart fills in with the first purchase.
              </EmptyState>
            </div>
          )}
          {o.charts.credits.some((d) => d.issued > 0 || d.consumed > 0) ? (
            <CreditsChart data={o.charts.credits} />
          ) : (
            <div className="card">
              <EmptyState title="No credits issued or consumed in this range.">
                Purchases, grants and adjustments issue credits; the main app’s usage consumes them.
              </EmptyState>
            </div>
          )}
          {o.charts.outcomes.length > 0 ? (
            <WebhookChart data={o.charts.webhooks} outcomes={o.charts.outcomes} />
          ) : (
            <div className="card">
              <EmptyState title="No webhook deliveries to chart.">
                Deliveries from the last 24 hours appear here by outcome.
              </EmptyState>
            </div>
          )}
        </div>
      </section>

      <section aria-labelledby="install-heading" className="card">
        <h2 id="install-heading">Installation</h2>
        <dl className="facts">
          <dt>Database</dt>
          <dd>{o.installation.database}</dd>
          <dt>Stripe</dt>
          <dd>
            {o.installation.stripeMode === "demo"
              ? "Demo mode (built-in emulator)"
              : `${o.installation.stripeMode} mode`}
          </dd>
          <dt>Webhook endpoint to configure in Stripe</dt>
          <dd>
            <code>{o.installation.webhookUrl}</code>
          </dd>
          <dt>Webhook signing secrets configured</dt>
          <dd>{o.installation.webhookSecretsConfigured}</dd>
          <dt>Scheduler</dt>
          <dd>
            {o.installation.scheduler} (reconciliation: <code>{o.installation.reconcileCron}</code>{" "}
            {o.installation.reconcileTz})
          </dd>
          <dt>Adjustments needing approval</dt>
          <dd>above {formatCredits(o.installation.approvalThreshold)} credits</dd>
        </dl>
      </section>
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from "~/components/route-error-boundary";

import { Link } from "@remix-run/react";
import { CreditsChart, RevenueChart, WebhookChart } from "~/components/charts";
import { EmptyState } from "~/components/empty-state";
import { formatCredits } from "~/components/format";
import type { OverviewView as Overview } from "./route";

export function Trends({ o }: { o: Overview }) {
  return (
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
  );
}

export function Installation({ o }: { o: Overview }) {
  return (
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
  );
}

import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { requireStaff } from "~/services/auth/session.server";
import { systemStatus } from "~/services/system-status.server";

export const meta: MetaFunction = () => [{ title: "Home · creditdesk" }];

export async function loader({ request }: LoaderFunctionArgs) {
  await requireStaff(request);
  return systemStatus();
}

export default function Home() {
  const s = useLoaderData<typeof loader>();
  return (
    <>
      <h1>creditdesk</h1>
      <div className="grid">
        <div className="card stat"><div className="label">Users</div><div className="value">{s.counts.users.toLocaleString()}</div></div>
        <div className="card stat"><div className="label">Purchases</div><div className="value">{s.counts.purchases.toLocaleString()}</div></div>
        <div className="card stat"><div className="label">Active staff</div><div className="value">{s.counts.staff}</div></div>
      </div>
      <h2>Installation</h2>
      <div className="card">
        <dl>
          <dt>Database</dt><dd>{s.database}</dd>
          <dt>Stripe</dt>
          <dd>{s.stripeMode === "demo" ? "Demo mode (built-in emulator)" : `${s.stripeMode} mode`}</dd>
          <dt>Webhook endpoint to configure in Stripe</dt><dd><code>{s.webhookUrl}</code></dd>
          <dt>Webhook signing secrets configured</dt><dd>{s.webhookSecretsConfigured}</dd>
          <dt>Scheduler</dt><dd>{s.scheduler}</dd>
        </dl>
      </div>
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from "~/components/route-error-boundary";

import type { MetaFunction } from "@remix-run/node";
import { redirect } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { navFor } from "~/components/nav-items";
import { staffLoader } from "~/lib/route-builders";
import { getOverview, overviewSearchSchema } from "~/presenters/overview.server";
import { can } from "~/shared/permissions";
import { CreditsCard, LastRunCard, PurchasesCard, RevenueCard, WebhookHealthCard } from "./cards";
import { Installation, Trends } from "./sections";

export const meta: MetaFunction = () => [{ title: "Overview · creditdesk" }];

// Any staff member may load "/", everyone's landing page; support has no overview, so it starts
// on its first page. A bad ?range falls back to 30 days (filters are not thrown).
export const loader = staffLoader({ filters: overviewSearchSchema }, ({ staff, filters }) => {
  if (!can(staff.role, "overview")) throw redirect(navFor(staff.role)[0]?.to ?? "/users");
  return getOverview(filters.ok ? (filters.data.range ?? 30) : 30);
});

/** The overview as the page receives it (dates serialized). */
export type OverviewView = ReturnType<typeof useLoaderData<typeof loader>>;

export default function OverviewPage() {
  const o = useLoaderData<typeof loader>();
  return (
    <>
      <h1>Overview</h1>
      <p className="muted small" data-testid="report-zone">
        Days in {o.zone} (REPORT_TZ); revenue is dated by when the customer paid.
      </p>
      <section aria-labelledby="money-heading" className="grid">
        <RevenueCard o={o} />
        <CreditsCard o={o} />
        <PurchasesCard o={o} />
        <WebhookHealthCard o={o} />
        <LastRunCard o={o} />
      </section>
      <Trends o={o} />
      <Installation o={o} />
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from "~/components/route-error-boundary";

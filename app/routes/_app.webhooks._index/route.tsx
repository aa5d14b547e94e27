import type { MetaFunction } from "@remix-run/node";
import { data } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { DeliveriesTable } from "~/components/deliveries-table";
import { FilteredRows, FilterForm, FilterSelect } from "~/components/filter-form";
import { formatCredits } from "~/components/format";
import { Pager } from "~/components/pager";
import { StatusBadge } from "~/components/status-badge";
import { WebhookDoctorPanel } from "~/components/webhook-doctor";
import { staffLoader } from "~/lib/route-builders";
import { deliveryFilterSchema, presentWebhooks } from "~/presenters/webhooks.server";
import { OPS_ACCESS } from "~/shared/ops-permissions";
import { DELIVERY_OUTCOMES, OUTCOME_HELP } from "~/shared/ops-labels";

export const meta: MetaFunction = () => [{ title: "Webhooks · creditdesk" }];

export const loader = staffLoader(
  { roles: OPS_ACCESS.webhooks, filters: deliveryFilterSchema },
  async ({ request, filters }) => {
    const fresh = new URL(request.url).searchParams.get("doctor") === "now";
    const view = await presentWebhooks(filters.ok ? filters.data : null, { fresh });
    if (!filters.ok)
      return data(
        { ...view, values: filters.values, errors: filters.fieldErrors },
        { status: 400 },
      );
    return { ...view, values: filters.values, errors: {} as Record<string, string> };
  },
);

export default function WebhooksPage() {
  const { values, errors, page, counts, doctor, eventTypes } = useLoaderData<typeof loader>();
  const filtered = Boolean(values.outcome || values.type);
  const filters = { values, errors };
  const countEntries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  return (
    <>
      <h1>Webhooks</h1>
      <WebhookDoctorPanel doctor={doctor} />

      <section aria-labelledby="deliveries-24h" className="card">
        <h2 id="deliveries-24h">Deliveries in the last 24 hours</h2>
        {countEntries.length === 0 ? (
          <p className="muted">No requests reached /webhooks/stripe in the last 24 hours.</p>
        ) : (
          <ul className="chips">
            {countEntries.map(([outcome, n]) => (
              <li key={outcome}>
                <Link to={`/webhooks?outcome=${encodeURIComponent(outcome)}`}>
                  <StatusBadge status={outcome} /> {formatCredits(n)}
                </Link>
              </li>
            ))}
          </ul>
        )}
      </section>

      <FilterForm
        path="/webhooks"
        label="Filter deliveries"
        note={
          values.outcome && values.outcome in OUTCOME_HELP
            ? OUTCOME_HELP[values.outcome as keyof typeof OUTCOME_HELP]
            : null
        }
      >
        <FilterSelect
          label="Outcome"
          name="outcome"
          any="Any outcome"
          choices={DELIVERY_OUTCOMES}
          filters={filters}
        />
        <FilterSelect
          label="Event type"
          name="type"
          any="Any type"
          choices={[
            ...eventTypes.map((t) => ({ value: t, label: t })),
            ...(values.type && !eventTypes.includes(values.type)
              ? [{ value: values.type, label: values.type }]
              : []),
          ]}
          filters={filters}
        />
      </FilterForm>

      <FilteredRows
        page={page}
        what="deliveries"
        filtered={filtered}
        empty={{
          filtered: [
            "No deliveries match these filters.",
            "Clear the filters to see every delivery.",
          ],
          none: [
            "No webhook deliveries yet.",
            "Nothing has reached /webhooks/stripe. Check the endpoint URL and enabled events in Stripe (see the checks above), or forward events locally with the Stripe CLI.",
          ],
        }}
      >
        {({ rows, next, prev }) => (
          <>
            <DeliveriesTable rows={rows} caption="Webhook deliveries, newest first" />
            <Pager
              next={next}
              prev={prev}
              nextLabel="Older"
              prevLabel="Newer"
              label="Delivery pages"
            />
          </>
        )}
      </FilteredRows>
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from "~/components/route-error-boundary";

import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data } from "@remix-run/node";
import { Form, Link, useLoaderData, useNavigation } from "@remix-run/react";
import { EmptyState } from "~/components/empty-state";
import { SelectField } from "~/components/field";
import { formatCredits, humanize } from "~/components/format";
import { Pager } from "~/components/pager";
import { StatusBadge } from "~/components/status-badge";
import { Time } from "~/components/time";
import { WebhookDoctorPanel } from "~/components/webhook-doctor";
import { parseSearch } from "~/services/admin/forms.server";
import { orHttpError } from "~/services/admin/http.server";
import { OPS_ACCESS } from "~/services/admin/ops-permissions";
import { DELIVERY_OUTCOMES, OUTCOME_HELP } from "~/services/admin/ops-labels";
import {
  deliveryCounts24h,
  deliveryFilterSchema,
  EVENT_TYPE_CHOICES,
  listDeliveries,
} from "~/presenters/webhooks.server";
import { getDoctorReport } from "~/services/admin/webhook-doctor.server";
import { requireStaff } from "~/services/auth/session.server";

export const meta: MetaFunction = () => [{ title: "Webhooks · creditdesk" }];

export async function loader({ request }: LoaderFunctionArgs) {
  await requireStaff(request, { roles: OPS_ACCESS.webhooks });
  const parsed = parseSearch(request, deliveryFilterSchema);
  const url = new URL(request.url);
  const [counts, doctor] = await Promise.all([
    deliveryCounts24h(),
    getDoctorReport({ fresh: url.searchParams.get("doctor") === "now" }),
  ]);
  if (!parsed.ok) {
    return data(
      {
        values: parsed.values,
        errors: parsed.fieldErrors,
        page: null,
        counts,
        doctor,
        eventTypes: [...EVENT_TYPE_CHOICES] as string[],
      },
      { status: 400 },
    );
  }
  const page = await orHttpError(() => listDeliveries(parsed.data));
  return {
    values: parsed.values,
    errors: {} as Record<string, string>,
    page,
    counts,
    doctor,
    eventTypes: [...EVENT_TYPE_CHOICES] as string[],
  };
}

export default function WebhooksPage() {
  const { values, errors, page, counts, doctor, eventTypes } = useLoaderData<typeof loader>();
  const navigation = useNavigation();
  const loading = navigation.state === "loading" && navigation.location.pathname === "/webhooks";
  const filtered = Boolean(values.outcome || values.type);
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

      <Form method="get" className="card filters" role="search" aria-label="Filter deliveries">
        <div className="inline-form">
          <SelectField
            label="Outcome"
            name="outcome"
            defaultValue={values.outcome ?? ""}
            error={errors.outcome}
            options={[
              { value: "", label: "Any outcome" },
              ...DELIVERY_OUTCOMES.map((o) => ({ value: o, label: humanize(o) })),
            ]}
          />
          <SelectField
            label="Event type"
            name="type"
            defaultValue={values.type ?? ""}
            error={errors.type}
            options={[
              { value: "", label: "Any type" },
              ...eventTypes.map((t) => ({ value: t, label: t })),
              ...(values.type && !eventTypes.includes(values.type)
                ? [{ value: values.type, label: values.type }]
                : []),
            ]}
          />
          <div className="field">
            <button type="submit" disabled={loading}>
              {loading ? "Filtering…" : "Filter"}
            </button>
          </div>
          {filtered ? (
            <div className="field">
              <Link to="/webhooks" className="button secondary">
                Clear filters
              </Link>
            </div>
          ) : null}
        </div>
        {values.outcome && values.outcome in OUTCOME_HELP ? (
          <p className="muted small">{OUTCOME_HELP[values.outcome as keyof typeof OUTCOME_HELP]}</p>
        ) : null}
      </Form>

      {page === null ? (
        <div className="alert error" role="alert">
          Fix the highlighted filters to see deliveries.
        </div>
      ) : page.rows.length === 0 ? (
        <EmptyState
          title={filtered ? "No deliveries match these filters." : "No webhook deliveries yet."}
        >
          {filtered
            ? "Clear the filters to see every delivery."
            : "Nothing has reached /webhooks/stripe. Check the endpoint URL and enabled events in Stripe (see the checks above), or forward events locally with the Stripe CLI."}
        </EmptyState>
      ) : (
        <>
          <div className="table-wrap">
            <table>
              <caption className="sr-only">Webhook deliveries, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Received</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">Event</th>
                  <th scope="col">Type</th>
                  <th scope="col">Signature</th>
                  <th scope="col" className="num">
                    Response
                  </th>
                  <th scope="col" className="num">
                    Time
                  </th>
                  <th scope="col">Error</th>
                </tr>
              </thead>
              <tbody>
                {page.rows.map((d) => (
                  <tr key={d.id} data-testid="delivery-row" data-outcome={d.outcome}>
                    <td>
                      <Time value={d.receivedAt} />
                    </td>
                    <td>
                      <StatusBadge status={d.outcome} />
                      {d.eventStatus && d.eventStatus !== d.outcome && d.outcome !== "duplicate" ? (
                        <div className="muted small">now {humanize(d.eventStatus)}</div>
                      ) : null}
                    </td>
                    <td className="mono">
                      {d.eventId ? (
                        <Link to={`/webhooks/events/${encodeURIComponent(d.eventId)}`}>
                          {d.eventId}
                        </Link>
                      ) : (
                        <span className="muted">not stored</span>
                      )}
                    </td>
                    <td className="mono">{d.eventType ?? <span className="muted">–</span>}</td>
                    <td>{humanize(d.signatureStatus)}</td>
                    <td className="num">{d.responseStatus}</td>
                    <td className="num">{d.durationMs} ms</td>
                    <td className="wrap">{d.error ?? <span className="muted">–</span>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager
            next={page.next}
            prev={page.prev}
            nextLabel="Older"
            prevLabel="Newer"
            label="Delivery pages"
          />
        </>
      )}
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from "~/components/route-error-boundary";

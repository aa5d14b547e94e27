import type { HeadersFunction, MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { DataTable } from "~/components/data-table";
import { EmptyState } from "~/components/empty-state";
import { EndpointStatus } from "~/components/endpoint-status";
import { FormError, TextField } from "~/components/field";
import { useIntentForm } from "~/components/intent-form";
import { Time } from "~/components/time";
import { intent, staffAction, staffLoader } from "~/lib/route-builders";
import { getOutboundList } from "~/presenters/outbound.server";
import { createEndpoint } from "~/services/outbound/endpoints.server";
import type { ActionReply } from "~/shared/action-reply";
import { OPS_ACCESS } from "~/shared/ops-permissions";
import {
  DEFAULT_OUTBOUND_EVENT_TYPES,
  OUTBOUND_EVENT_LABELS,
  OUTBOUND_EVENT_TYPES,
} from "~/shared/outbound";
import { createEndpointSchema } from "~/shared/outbound-forms";

export const meta: MetaFunction = () => [{ title: "Outbound events · creditdesk" }];

// The response that carries a new signing secret must never be cached.
const noStore = { "Cache-Control": "no-store" };
export const headers: HeadersFunction = () => noStore;

export const loader = staffLoader({ roles: OPS_ACCESS.outbound }, async () => getOutboundList());

export type EndpointView = ReturnType<typeof useLoaderData<typeof loader>>["endpoints"][number];

export const action = staffAction({
  roles: OPS_ACCESS.outbound,
  headers: noStore,
  multiValues: ["eventTypes"],
  intents: {
    create: intent({
      schema: createEndpointSchema,
      run: (input, { actor }) =>
        createEndpoint(
          {
            url: input.url,
            eventTypes: input.eventTypes.split(",").filter((t) => t !== ""),
            description: input.description,
          },
          { type: "staff", id: actor.id, label: actor.email, ip: actor.ip },
        ),
      // The secret, in this one response only.
      ok: (created) => ({
        outcome: { id: created.id, url: created.url, secret: created.secret },
        toast: `Created the endpoint ${created.url}. Copy its signing secret now: it is not shown again.`,
      }),
    }),
  },
});

export default function OutboundPage() {
  const { endpoints } = useLoaderData<typeof loader>();
  const reply = useActionData<typeof action>();
  const created = reply?.outcome;
  return (
    <>
      <h1>Outbound events</h1>
      <p className="muted">
        Endpoints that receive the product&apos;s events (credits granted, balance low, refunds…),
        signed with Standard Webhooks headers. See docs/api.md “Events”.
      </p>
      {created ? (
        <div className="alert success secret-once" role="alert" data-testid="secret-once">
          <p>
            New endpoint <Link to={`/outbound/${created.id}`}>{created.url}</Link>. Copy its signing
            secret into the receiver now; it cannot be shown again:
          </p>
          <code className="secret" data-testid="new-endpoint-secret">
            {created.secret}
          </code>
        </div>
      ) : null}
      <CreateEndpointForm reply={reply && reply.outcome === undefined ? reply : undefined} />
      <h2>Endpoints</h2>
      {endpoints.length === 0 ? (
        <EmptyState title="No endpoints yet.">Create one above.</EmptyState>
      ) : (
        <EndpointsTable endpoints={endpoints} />
      )}
    </>
  );
}

function CreateEndpointForm({ reply }: { reply: ActionReply<string, unknown> | undefined }) {
  const f = useIntentForm("create", reply);
  const typed = f.value("eventTypes");
  const ticked = typed ? typed.split(",") : DEFAULT_OUTBOUND_EVENT_TYPES;
  return (
    <section className="card" aria-labelledby="create-endpoint">
      <h2 id="create-endpoint">Add an endpoint</h2>
      <Form method="post" noValidate>
        <div className="inline-form">
          <TextField
            label="URL"
            name="url"
            required
            maxLength={2000}
            placeholder="https://example.com/creditdesk-events"
            defaultValue={f.value("url")}
            error={f.error("url")}
            autoComplete="off"
          />
          <TextField
            label="Description (optional)"
            name="description"
            maxLength={200}
            defaultValue={f.value("description")}
            error={f.error("description")}
            autoComplete="off"
          />
        </div>
        <fieldset className="choices">
          <legend>Event types (at least one)</legend>
          {OUTBOUND_EVENT_TYPES.map((type) => (
            <label key={type} className="choice">
              <input
                type="checkbox"
                name="eventTypes"
                value={type}
                defaultChecked={(ticked as readonly string[]).includes(type)}
              />{" "}
              <span>
                <span className="mono">{type}</span>{" "}
                <span className="muted small">{OUTBOUND_EVENT_LABELS[type]}</span>
              </span>
            </label>
          ))}
        </fieldset>
        {f.error("eventTypes") ? (
          <div className="field-error" role="alert">
            {f.error("eventTypes")}
          </div>
        ) : null}
        <button type="submit" name="intent" value="create" disabled={f.pending}>
          {f.pending ? "Creating…" : "Add endpoint"}
        </button>
      </Form>
      <FormError message={f.error("form")} />
    </section>
  );
}

function EndpointsTable({ endpoints }: { endpoints: readonly EndpointView[] }) {
  return (
    <DataTable
      rows={endpoints}
      rowKey={(e) => e.id}
      rowProps={(e) => ({
        "data-testid": "endpoint-row",
        className: e.enabled ? undefined : "inactive",
      })}
      caption="Outbound endpoints, oldest first"
      columns={[
        {
          header: "URL",
          cell: (e) => (
            <>
              <Link to={`/outbound/${e.id}`} className="mono">
                {e.url}
              </Link>
              {e.demo ? <span className="badge">demo</span> : null}
              {e.description ? <div className="muted small">{e.description}</div> : null}
            </>
          ),
        },
        {
          header: "Types",
          className: "small",
          cell: (e) =>
            e.eventTypes.map((t) => (
              <div key={t} className="mono">
                {t}
              </div>
            )),
        },
        { header: "Status", cell: (e) => <EndpointStatus e={e} /> },
        {
          header: "Success (24 h)",
          cell: (e) =>
            e.successRate24h === null ? (
              <span className="muted">no attempts</span>
            ) : (
              <>
                {e.successRate24h}%{" "}
                <span className="muted small">
                  ({e.succeeded24h} of {e.attempts24h})
                </span>
              </>
            ),
        },
        {
          header: "Last error",
          className: "small",
          cell: (e) =>
            e.lastError ? (
              <>
                {e.lastError}
                {e.lastErrorAt ? (
                  <div className="muted">
                    <Time value={e.lastErrorAt} />
                  </div>
                ) : null}
              </>
            ) : (
              <span className="muted">none</span>
            ),
        },
      ]}
    />
  );
}

export { RouteErrorBoundary as ErrorBoundary } from "~/components/route-error-boundary";

import type { HeadersFunction, MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { ConfirmButton } from "~/components/confirm-button";
import { DataTable } from "~/components/data-table";
import { EmptyState } from "~/components/empty-state";
import { EndpointStatus } from "~/components/endpoint-status";
import { FormError, TextField } from "~/components/field";
import { Pager } from "~/components/pager";
import { Time } from "~/components/time";
import { intent, staffAction, staffLoader } from "~/lib/route-builders";
import { getOutboundDetail } from "~/presenters/outbound.server";
import {
  replayDelivery,
  replayFailed,
  rotateEndpointSecret,
  sendTestEvent,
  setEndpointEnabled,
} from "~/services/outbound/endpoints.server";
import { dayAfter, dayStart } from "~/shared/date-range";
import { OPS_ACCESS } from "~/shared/ops-permissions";
import { replayDeliverySchema, replayFailedSchema } from "~/shared/outbound-forms";

export const meta: MetaFunction = () => [{ title: "Outbound endpoint · creditdesk" }];

// A rotation's answer carries the new secret: never cached.
const noStore = { "Cache-Control": "no-store" };
export const headers: HeadersFunction = () => noStore;

export const loader = staffLoader(
  {
    roles: OPS_ACCESS.outbound,
    params: z.object({ endpointId: z.string() }),
    search: z.object({
      before: z
        .string()
        .regex(/^\d{1,18}$/, { error: "before must be a delivery number." })
        .optional(),
    }),
  },
  async ({ params, search }) => {
    const detail = await getOutboundDetail(params.endpointId, search.before);
    if (!detail) throw new Response("No such endpoint.", { status: 404 });
    return detail;
  },
);

type DeliveryView = ReturnType<typeof useLoaderData<typeof loader>>["deliveries"][number];

const staffActor = (actor: { id: string; email: string; ip: string }) => ({
  type: "staff" as const,
  id: actor.id,
  label: actor.email,
  ip: actor.ip,
});

const none = z.object({});

export const action = staffAction({
  roles: OPS_ACCESS.outbound,
  headers: noStore,
  intents: {
    rotate: intent({
      schema: none,
      run: (_input, { actor, params }) =>
        rotateEndpointSecret(params.endpointId, staffActor(actor)),
      ok: ({ secret, previousExpireAt }) => ({
        outcome: { secret, previousExpireAt: previousExpireAt.toISOString() },
        toast: "Rotated the signing secret. Copy the new one now: it is not shown again.",
      }),
    }),
    disable: intent({
      schema: none,
      run: (_input, { actor, params }) =>
        setEndpointEnabled(params.endpointId, false, staffActor(actor)),
      ok: () => ({ toast: "Disabled the endpoint: no events are sent to it now." }),
    }),
    enable: intent({
      schema: none,
      run: (_input, { actor, params }) =>
        setEndpointEnabled(params.endpointId, true, staffActor(actor)),
      ok: () => ({ toast: "Enabled the endpoint." }),
    }),
    test: intent({
      schema: none,
      run: (_input, { actor, params }) => sendTestEvent(params.endpointId, staffActor(actor)),
      ok: ({ eventId }) => ({ toast: `Queued test event ${eventId}.` }),
    }),
    replay: intent({
      schema: replayDeliverySchema,
      run: (input, { actor }) => replayDelivery(input.deliveryId, staffActor(actor)),
      ok: (_r, input) => ({ toast: `Delivery ${input.deliveryId} is queued again.` }),
    }),
    replayFailed: intent({
      schema: replayFailedSchema,
      run: (input, { actor, params }) =>
        replayFailed(
          {
            since: dayStart(input.from!),
            until: input.to ? dayAfter(input.to) : undefined,
            endpointId: params.endpointId,
          },
          staffActor(actor),
        ),
      ok: ({ replayed }) => ({ toast: `Queued ${replayed} failed deliveries again.` }),
      fieldMap: { since: "from", until: "to" },
    }),
  },
});

export default function OutboundEndpointPage() {
  const { endpoint, deliveries, older, paged } = useLoaderData<typeof loader>();
  const reply = useActionData<typeof action>();
  const rotated = reply?.intent === "rotate" ? reply.outcome : undefined;
  const error =
    reply && reply.outcome === undefined && "fieldErrors" in reply
      ? (reply.fieldErrors as Record<string, string | undefined>)
      : {};
  return (
    <>
      <p>
        <Link to="/outbound">← Outbound events</Link>
      </p>
      <h1 className="mono">{endpoint.url}</h1>
      {endpoint.description ? <p className="muted">{endpoint.description}</p> : null}
      {rotated ? (
        <div className="alert success secret-once" role="alert" data-testid="secret-once">
          <p>
            New signing secret. Copy it into the receiver now; it cannot be shown again. The
            previous one keeps signing until <Time value={rotated.previousExpireAt} />.
          </p>
          <code className="secret" data-testid="new-endpoint-secret">
            {rotated.secret}
          </code>
        </div>
      ) : null}
      <FormError message={error.form ?? error.endpointId ?? error.enabled} />
      <section className="card">
        <dl className="facts">
          <dt>Status</dt>
          <dd>
            <EndpointStatus e={endpoint} />
          </dd>
          <dt>Types</dt>
          <dd className="mono small">{endpoint.eventTypes.join(", ")}</dd>
          <dt>Signing secrets</dt>
          <dd className="mono small">
            {endpoint.secrets.map((s) => (
              <div key={s.hint}>
                {s.hint}
                {s.expiresAt ? (
                  <span className="muted">
                    {" "}
                    (until <Time value={s.expiresAt} />)
                  </span>
                ) : null}
              </div>
            ))}
          </dd>
          <dt>Success (24 h)</dt>
          <dd>
            {endpoint.successRate24h === null
              ? "no attempts"
              : `${endpoint.successRate24h}% (${endpoint.succeeded24h} of ${endpoint.attempts24h})`}
          </dd>
          <dt>Pending / failed</dt>
          <dd>
            {endpoint.pending} / {endpoint.failed}
          </dd>
          <dt>Last error</dt>
          <dd>
            {endpoint.lastError ?? "none"}
            {endpoint.lastErrorAt ? (
              <>
                {" "}
                <Time value={endpoint.lastErrorAt} />
              </>
            ) : null}
          </dd>
        </dl>
        <Form method="post" className="inline-form">
          <button type="submit" name="intent" value="test" disabled={!endpoint.enabled}>
            Send test event
          </button>
          <ConfirmButton
            intent="rotate"
            title="Rotate the signing secret?"
            confirmLabel="Rotate secret"
            describe={() => (
              <p>
                A new secret signs from now on; the current one keeps signing for 24 hours so the
                receiver can switch over.
              </p>
            )}
          >
            Rotate secret
          </ConfirmButton>
          {endpoint.enabled ? (
            <ConfirmButton
              intent="disable"
              title="Disable this endpoint?"
              confirmLabel="Disable"
              danger
              describe={() => <p>No events are sent to it until it is enabled again.</p>}
            >
              Disable
            </ConfirmButton>
          ) : (
            <button type="submit" name="intent" value="enable">
              Enable
            </button>
          )}
        </Form>
      </section>

      <section className="card" aria-labelledby="replay-failed">
        <h2 id="replay-failed">Replay all failed</h2>
        <Form method="post" className="inline-form" noValidate>
          <TextField label="From" name="from" type="date" required error={error.from} />
          <TextField label="To (optional)" name="to" type="date" error={error.to} />
          <ConfirmButton
            intent="replayFailed"
            title="Replay every failed delivery in this range?"
            confirmLabel="Replay failed"
            describe={() => (
              <p>
                Every failed delivery to this endpoint whose event was made in the range is sent
                again, with a new 3-day window of retries.
              </p>
            )}
          >
            Replay all failed
          </ConfirmButton>
        </Form>
      </section>

      <h2>Deliveries</h2>
      {deliveries.length === 0 ? (
        <EmptyState title="No deliveries yet.">Send a test event above.</EmptyState>
      ) : (
        <DeliveriesLog deliveries={deliveries} />
      )}
      {paged ? (
        <p>
          <Link to={`/outbound/${endpoint.id}`}>Newest deliveries</Link>
        </p>
      ) : null}
      <Pager next={older} prev={null} nextParam="before" prevParam="after" nextLabel="Older" />
    </>
  );
}

function DeliveriesLog({ deliveries }: { deliveries: readonly DeliveryView[] }) {
  return (
    <DataTable
      rows={deliveries}
      rowKey={(d) => d.id}
      rowProps={() => ({ "data-testid": "delivery-row" })}
      caption="Deliveries, newest first"
      columns={[
        { header: "Delivery", className: "mono small", cell: (d) => `${d.id} (${d.webhookId})` },
        { header: "Event type", className: "mono", cell: (d) => d.type },
        { header: "Made", cell: (d) => <Time value={d.createdAt} /> },
        { header: "Status", cell: (d) => d.status },
        { header: "Attempts", cell: (d) => d.attempts },
        {
          header: "Last answer",
          className: "small",
          cell: (d) => (
            <>
              {d.lastStatus !== null ? `HTTP ${d.lastStatus}` : null}
              {d.lastError ? <div>{d.lastError}</div> : null}
              {d.lastDurationMs !== null ? (
                <div className="muted">{d.lastDurationMs} ms</div>
              ) : null}
              {d.lastBody ? <div className="mono muted">{d.lastBody.slice(0, 200)}</div> : null}
              {d.nextAttemptAt ? (
                <div className="muted">
                  next try <Time value={d.nextAttemptAt} />
                </div>
              ) : null}
            </>
          ),
        },
        {
          header: "Actions",
          cell: (d) =>
            d.status === "pending" ? null : (
              <Form method="post">
                <input type="hidden" name="deliveryId" value={d.id} />
                <ConfirmButton
                  intent="replay"
                  title={`Replay delivery ${d.id}?`}
                  confirmLabel="Replay"
                  describe={() => <p>The event is sent to this endpoint again now.</p>}
                >
                  Replay
                </ConfirmButton>
              </Form>
            ),
        },
      ]}
    />
  );
}

export { RouteErrorBoundary as ErrorBoundary } from "~/components/route-error-boundary";

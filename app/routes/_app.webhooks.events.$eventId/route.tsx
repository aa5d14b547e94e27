import type { MetaFunction } from "@remix-run/node";
import { Link, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { z } from "zod";
import { DeliveriesTable } from "~/components/deliveries-table";
import { EmptyState } from "~/components/empty-state";
import { humanize } from "~/components/format";
import { StatusBadge } from "~/components/status-badge";
import { intent, staffAction, staffLoader } from "~/lib/route-builders";
import { presentWebhookEvent } from "~/presenters/webhook-event.server";
import { canOps, OPS_ACCESS } from "~/shared/ops-permissions";
import { replayEvent } from "~/services/admin/webhook-events.server";
import { DomainError } from "~/services/errors.server";
import { EventFacts, EventLinks } from "./event-facts";
import { ReplayPanel, type ReplayView } from "./replay-panel";

export const meta: MetaFunction<typeof loader> = ({ data: d }) => [
  { title: `${d?.detail.event.id ?? "Event"} · Webhooks · creditdesk` },
];

export const loader = staffLoader(
  { roles: OPS_ACCESS.webhooks, params: z.object({ eventId: z.string() }) },
  async ({ staff, params }) => ({
    detail: await presentWebhookEvent(params.eventId),
    canReplay: canOps(staff.role, "replay"),
  }),
);

type Replayed = { view: ReplayView; eventId: string } | { unfinished: string };

export const action = staffAction({
  roles: OPS_ACCESS.replay,
  // A replay may credit: only the confirmed button (intent "replay") starts one.
  intentRequired: true,
  intents: {
    replay: intent({
      schema: z.object({}),
      run: async (_input, { params, actor }): Promise<Replayed> => {
        const eventId = params.eventId ?? "";
        try {
          const r = await replayEvent(eventId, actor);
          const view = {
            status: r.status,
            detail: r.detail,
            userId: r.userId,
            purchaseId: r.purchaseId,
          };
          return { view, eventId };
        } catch (error) {
          if (error instanceof DomainError) throw error;
          // Transient: Stripe or the database did not answer. The event keeps its state; try again later.
          return {
            unfinished: `The replay could not finish: ${(error as Error).message}. Nothing was changed twice; try again in a minute.`,
          };
        }
      },
      ok: (r) => {
        if ("unfinished" in r)
          return { outcome: null, status: 503, fieldErrors: { form: r.unfinished } };
        const { view, eventId } = r;
        const good = view.status === "processed" || view.status === "ignored";
        return {
          outcome: view,
          kind: good ? "success" : "error",
          toast: `Replayed ${eventId}: ${humanize(view.status)}${view.detail ? ` — ${view.detail}` : ""}.`,
        };
      },
    }),
  },
});

export default function EventDetailPage() {
  const { detail, canReplay } = useLoaderData<typeof loader>();
  const reply = useActionData<typeof action>();
  const navigation = useNavigation();
  const replaying =
    navigation.state === "submitting" && navigation.formData?.get("intent") === "replay";
  const { event, deliveries, purchase, user, attention, replays } = detail;
  return (
    <>
      <p className="breadcrumb">
        <Link to="/webhooks">Webhooks</Link> / <span className="mono">{event.id}</span>
      </p>
      <h1 className="wrap">
        <span className="mono">{event.type}</span> <StatusBadge status={event.status} />
      </h1>

      <div className="grid">
        <EventFacts event={event} />
        <EventLinks user={user} purchase={purchase} attention={attention} />
      </div>

      {event.lastError ? (
        <div className="alert error" role="alert" data-testid="processing-error">
          <strong>Processing error:</strong> {event.lastError}
        </div>
      ) : null}

      <ReplayPanel
        event={event}
        canReplay={canReplay}
        pending={replaying}
        error={reply?.fieldErrors.form}
        result={reply?.outcome ?? undefined}
        replays={replays}
      />

      <section aria-labelledby="deliveries-heading">
        <h2 id="deliveries-heading">Delivery attempts</h2>
        {deliveries.length === 0 ? (
          <EmptyState title="No webhook delivery of this event was recorded.">
            It reached creditdesk another way ({humanize(event.source)}), e.g. found by the
            reconciliation among events Stripe could not deliver.
          </EmptyState>
        ) : (
          <DeliveriesTable
            rows={deliveries}
            ofEvent
            caption="Every HTTP delivery of this event, newest first"
          />
        )}
        {detail.moreDeliveries ? (
          <p className="muted small">Showing the newest 100 deliveries.</p>
        ) : null}
      </section>

      <section aria-labelledby="payload-heading">
        <h2 id="payload-heading">Payload</h2>
        <pre className="payload" tabIndex={0} aria-label="Event payload (JSON)">
          {event.payload}
        </pre>
      </section>
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from "~/components/route-error-boundary";

import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { ConfirmButton } from "~/components/confirm-button";
import { EmptyState } from "~/components/empty-state";
import { FormError } from "~/components/field";
import { formatCredits, formatMoney, humanize } from "~/components/format";
import { StatusBadge } from "~/components/status-badge";
import { Time } from "~/components/time";
import { toastCookie } from "~/services/admin/flash.server";
import { orHttpError } from "~/services/admin/http.server";
import { canOps, OPS_ACCESS } from "~/shared/ops-permissions";
import { presentWebhookEvent as getEventDetail } from "~/presenters/webhook-event.server";
import { replayEvent } from "~/services/admin/webhook-events.server";
import { requireStaff } from "~/services/auth/session.server";
import { DomainError } from "~/services/errors.server";
import { clientIp } from "~/services/infra/request.server";

export const meta: MetaFunction<typeof loader> = ({ data: d }) => [
  { title: `${d?.detail.event.id ?? "Event"} · Webhooks · creditdesk` },
];

export async function loader({ request, params }: LoaderFunctionArgs) {
  const staff = await requireStaff(request, { roles: OPS_ACCESS.webhooks });
  const detail = await orHttpError(() => getEventDetail(params.eventId ?? ""));
  return { detail, canReplay: canOps(staff.role, "replay") };
}

type ReplayView = {
  status: string;
  detail: string | null;
  userId: string | null;
  purchaseId: string | null;
};
type ActionResult = { ok: true; result: ReplayView } | { ok: false; error: string };

export async function action({ request, params, context }: ActionFunctionArgs) {
  const staff = await requireStaff(request, { roles: OPS_ACCESS.replay });
  const form = await request.formData();
  if (form.get("intent") !== "replay") {
    return data<ActionResult>(
      { ok: false, error: "Unknown action: reload the page and try again." },
      { status: 400 },
    );
  }
  const eventId = params.eventId ?? "";
  try {
    const r = await replayEvent(eventId, {
      id: staff.id,
      email: staff.email,
      ip: clientIp(context),
    });
    const result: ReplayView = {
      status: r.status,
      detail: r.detail,
      userId: r.userId,
      purchaseId: r.purchaseId,
    };
    const good = r.status === "processed" || r.status === "ignored";
    const message = `Replayed ${eventId}: ${humanize(r.status)}${r.detail ? ` — ${r.detail}` : ""}.`;
    return data<ActionResult>(
      { ok: true, result },
      { headers: { "Set-Cookie": await toastCookie(good ? "success" : "error", message) } },
    );
  } catch (error) {
    if (error instanceof DomainError && error.status === 404)
      throw new Response(error.message, { status: 404 });
    if (error instanceof DomainError)
      return data<ActionResult>({ ok: false, error: error.message }, { status: error.status });
    // Transient: Stripe or the database did not answer. The event keeps its state; try again later.
    return data<ActionResult>(
      {
        ok: false,
        error: `The replay could not finish: ${(error as Error).message}. Nothing was changed twice; try again in a minute.`,
      },
      { status: 503 },
    );
  }
}

export default function EventDetailPage() {
  const { detail, canReplay } = useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>();
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
        <section className="card" aria-labelledby="event-facts">
          <h2 id="event-facts">Event</h2>
          <dl className="facts">
            <dt>Event id</dt>
            <dd className="mono">{event.id}</dd>
            <dt>Status</dt>
            <dd>
              <StatusBadge status={event.status} /> after {event.attempts} attempt
              {event.attempts === 1 ? "" : "s"}
            </dd>
            <dt>Object</dt>
            <dd className="mono">{event.objectId ?? "–"}</dd>
            <dt>Created at Stripe</dt>
            <dd>
              <Time value={event.stripeCreatedAt} />
            </dd>
            <dt>First received</dt>
            <dd>
              <Time value={event.receivedAt} /> via {humanize(event.source)}
            </dd>
            <dt>Last processed</dt>
            <dd>
              <Time value={event.processedAt} />
            </dd>
            {event.nextAttemptAt ? (
              <>
                <dt>Queued</dt>
                <dd data-testid="next-attempt">
                  next attempt <Time value={event.nextAttemptAt} />
                </dd>
              </>
            ) : null}
            <dt>Mode</dt>
            <dd>{event.livemode ? "Live" : "Test"}</dd>
            <dt>API version</dt>
            <dd className="mono">{event.apiVersion ?? "–"}</dd>
          </dl>
        </section>
        <section className="card" aria-labelledby="event-links">
          <h2 id="event-links">About</h2>
          <dl className="facts">
            <dt>User</dt>
            <dd>
              {user ? (
                <>
                  <Link to={`/users/${encodeURIComponent(user.id)}`}>{user.email}</Link> · balance{" "}
                  {formatCredits(user.balance)}
                </>
              ) : (
                <span className="muted">not linked</span>
              )}
            </dd>
            <dt>Purchase</dt>
            <dd>
              {purchase ? (
                <>
                  <Link to={`/purchases/${encodeURIComponent(purchase.id)}`}>
                    {purchase.checkoutSessionId}
                  </Link>{" "}
                  · {formatCredits(purchase.credits)} credits ·{" "}
                  {formatMoney(purchase.amountTotal, purchase.currency)} ·{" "}
                  <StatusBadge status={purchase.status} />
                </>
              ) : (
                <span className="muted">none</span>
              )}
            </dd>
          </dl>
          {attention.length > 0 ? (
            <>
              <h3>Attention items</h3>
              <ul>
                {attention.map((a) => (
                  <li key={a.id}>
                    <Link to={`/attention/${a.id}`}>{a.title}</Link>{" "}
                    <StatusBadge status={a.status} />
                  </li>
                ))}
              </ul>
            </>
          ) : null}
        </section>
      </div>

      {event.lastError ? (
        <div className="alert error" role="alert" data-testid="processing-error">
          <strong>Processing error:</strong> {event.lastError}
        </div>
      ) : null}

      <section className="card" aria-labelledby="replay-heading">
        <h2 id="replay-heading">Replay</h2>
        <p className="muted">
          Runs the stored event through the same handler as the webhook. Handlers are idempotent: a
          purchase already credited is not credited again.
        </p>
        {actionData && !actionData.ok ? <FormError message={actionData.error} /> : null}
        {actionData?.ok ? (
          <div
            className={`alert ${actionData.result.status === "failed" ? "error" : actionData.result.status === "needs_attention" ? "warn" : "success"}`}
            role="status"
            data-testid="replay-result"
          >
            Replay result: <StatusBadge status={actionData.result.status} />{" "}
            {actionData.result.detail}
            {actionData.result.userId ? (
              <>
                {" "}
                ·{" "}
                <Link to={`/users/${encodeURIComponent(actionData.result.userId)}`}>
                  open the user
                </Link>
              </>
            ) : null}
          </div>
        ) : null}
        {canReplay ? (
          <Form method="post">
            <ConfirmButton
              intent="replay"
              title="Replay this event?"
              confirmLabel="Replay event"
              pending={replaying}
              pendingLabel="Replaying…"
              describe={() => (
                <p>
                  <span className="mono">{event.type}</span>{" "}
                  <span className="mono">{event.id}</span> will be processed again. If it credits a
                  purchase that has not been credited yet, the user&apos;s balance changes; anything
                  already applied stays as it is.
                </p>
              )}
            >
              Replay event
            </ConfirmButton>
          </Form>
        ) : (
          <p className="muted">Only an admin can replay events.</p>
        )}
        {replays.length > 0 ? (
          <>
            <h3>Earlier replays</h3>
            <ul>
              {replays.map((r) => {
                const after = (r.after ?? {}) as { status?: string; detail?: string };
                return (
                  <li key={r.id}>
                    <Time value={r.createdAt} /> by {r.actorLabel ?? "staff"}:{" "}
                    {after.status ? <StatusBadge status={after.status} /> : null}{" "}
                    {after.detail ?? ""}
                  </li>
                );
              })}
            </ul>
          </>
        ) : null}
      </section>

      <section aria-labelledby="deliveries-heading">
        <h2 id="deliveries-heading">Delivery attempts</h2>
        {deliveries.length === 0 ? (
          <EmptyState title="No webhook delivery of this event was recorded.">
            It reached creditdesk another way ({humanize(event.source)}), e.g. found by the
            reconciliation among events Stripe could not deliver.
          </EmptyState>
        ) : (
          <div className="table-wrap">
            <table>
              <caption className="sr-only">Every HTTP delivery of this event, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Received</th>
                  <th scope="col">Outcome</th>
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
                {deliveries.map((d) => (
                  <tr key={d.id}>
                    <td>
                      <Time value={d.receivedAt} />
                    </td>
                    <td>
                      <StatusBadge status={d.outcome} />
                    </td>
                    <td className="num">{d.responseStatus}</td>
                    <td className="num">{d.durationMs} ms</td>
                    <td className="wrap">{d.error ?? <span className="muted">–</span>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
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

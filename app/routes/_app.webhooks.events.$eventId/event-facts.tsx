import type { SerializeFrom } from "@remix-run/node";
import { Link } from "@remix-run/react";
import { formatCredits, formatMoney, humanize } from "~/components/format";
import { StatusBadge } from "~/components/status-badge";
import { Time } from "~/components/time";
import type { presentWebhookEvent } from "~/presenters/webhook-event.server";

type Detail = SerializeFrom<Awaited<ReturnType<typeof presentWebhookEvent>>>;

/** The event as stored: ids, status and attempts, when it was created, received and processed. */
export function EventFacts({ event }: { event: Detail["event"] }) {
  return (
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
  );
}

/** What the event is about: its user and purchase, and the attention items it raised. */
export function EventLinks({
  user,
  purchase,
  attention,
}: Pick<Detail, "user" | "purchase" | "attention">) {
  return (
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
                <Link to={`/attention/${a.id}`}>{a.title}</Link> <StatusBadge status={a.status} />
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </section>
  );
}

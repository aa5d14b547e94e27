import { Link } from "@remix-run/react";
import { formatCredits, humanize } from "~/components/format";
import { Time } from "~/components/time";
import type { presentAttentionItem } from "~/presenters/attention-item.server";
import type { SerializeFrom } from "@remix-run/node";

type Detail = SerializeFrom<Awaited<ReturnType<typeof presentAttentionItem>>>;

/** The item's facts: kind, when raised, what it is linked to, and how it was closed. */
export function ItemFacts({ item, purchase }: Pick<Detail, "item" | "purchase">) {
  return (
    <dl className="facts">
      <dt>Kind</dt>
      <dd>{humanize(item.kind)}</dd>
      <dt>Raised</dt>
      <dd>
        <Time value={item.createdAt} />
        {item.occurrences > 1 ? ` · seen ${formatCredits(item.occurrences)} times` : ""}
      </dd>
      {item.checkoutSessionId ? (
        <>
          <dt>Checkout Session</dt>
          <dd className="mono">{item.checkoutSessionId}</dd>
        </>
      ) : null}
      {item.stripeEventId ? (
        <>
          <dt>Stripe event</dt>
          <dd>
            <Link
              to={`/webhooks/events/${encodeURIComponent(item.stripeEventId)}`}
              className="mono"
            >
              {item.stripeEventId}
            </Link>
          </dd>
        </>
      ) : null}
      {item.user ? (
        <>
          <dt>User</dt>
          <dd>
            <Link to={`/users/${encodeURIComponent(item.user.id)}`}>{item.user.email}</Link>
          </dd>
        </>
      ) : null}
      {purchase ? (
        <>
          <dt>Purchase</dt>
          <dd>
            <Link to={`/purchases/${purchase.id}`}>{purchase.checkoutSessionId}</Link> ·{" "}
            {formatCredits(purchase.credits)} credits
          </dd>
        </>
      ) : null}
      {item.runId ? (
        <>
          <dt>Reconciliation run</dt>
          <dd>
            <Link to={`/reconciliation/${item.runId}`}>Open the run</Link>
          </dd>
        </>
      ) : null}
      {item.status !== "open" ? (
        <>
          <dt>{item.status === "dismissed" ? "Dismissed" : "Resolved"}</dt>
          <dd>
            <Time value={item.resolvedAt} /> by {item.resolvedBy?.email ?? "the system"}
          </dd>
          <dt>How</dt>
          <dd data-testid="resolution">{item.resolution}</dd>
        </>
      ) : null}
    </dl>
  );
}

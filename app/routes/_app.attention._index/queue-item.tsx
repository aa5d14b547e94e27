import { Link } from "@remix-run/react";
import { AttentionFixes, type FixFeedback } from "~/components/attention-fixes";
import { formatCredits } from "~/components/format";
import { Time } from "~/components/time";

interface Item {
  id: string;
  kind: string;
  title: string;
  detail: string | null;
  checkoutSessionId: string | null;
  stripeEventId: string | null;
  runId: string | null;
  occurrences: number;
  createdAt: string | Date;
  updatedAt: string | Date;
  user: { id: string; email: string } | null;
}

/** One open item in the queue: what happened, what it is linked to, and its fix beside it. */
export function QueueItem({
  item,
  feedback,
  canReplay,
}: {
  item: Item;
  feedback?: FixFeedback;
  canReplay: boolean;
}) {
  return (
    <li className="card attention-item" data-testid="attention-item" data-kind={item.kind}>
      <div className="attention-summary">
        <Link to={`/attention/${item.id}`}>
          <strong>{item.title}</strong>
        </Link>
        {item.detail ? <p>{item.detail}</p> : null}
        <p className="muted small">
          Raised <Time value={item.createdAt} />
          {item.occurrences > 1 ? ` · seen ${formatCredits(item.occurrences)} times, last ` : null}
          {item.occurrences > 1 ? <Time value={item.updatedAt} /> : null}
          {item.user ? (
            <>
              {" "}
              · user{" "}
              <Link to={`/users/${encodeURIComponent(item.user.id)}`}>{item.user.email}</Link>
            </>
          ) : null}
          {item.stripeEventId ? (
            <>
              {" "}
              · event{" "}
              <Link to={`/webhooks/events/${encodeURIComponent(item.stripeEventId)}`}>
                {item.stripeEventId}
              </Link>
            </>
          ) : null}
          {item.runId ? (
            <>
              {" "}
              · <Link to={`/reconciliation/${item.runId}`}>reconciliation run</Link>
            </>
          ) : null}
        </p>
      </div>
      <AttentionFixes item={item} feedback={feedback} canReplay={canReplay} />
    </li>
  );
}

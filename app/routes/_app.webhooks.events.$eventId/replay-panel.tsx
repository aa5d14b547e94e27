import { Form, Link } from "@remix-run/react";
import { ConfirmButton } from "~/components/confirm-button";
import { FormError } from "~/components/field";
import { StatusBadge } from "~/components/status-badge";
import { Time } from "~/components/time";

export interface ReplayView {
  status: string;
  detail: string | null;
  userId: string | null;
  purchaseId: string | null;
}

interface EarlierReplay {
  id: string;
  actorLabel: string | null;
  createdAt: string | Date;
  after: unknown;
}

/** Replay the stored event through the webhook's handler (admins), its result, earlier replays. */
export function ReplayPanel({
  event,
  canReplay,
  pending,
  error,
  result,
  replays,
}: {
  event: { id: string; type: string };
  canReplay: boolean;
  pending: boolean;
  error?: string;
  result?: ReplayView;
  replays: readonly EarlierReplay[];
}) {
  return (
    <section className="card" aria-labelledby="replay-heading">
      <h2 id="replay-heading">Replay</h2>
      <p className="muted">
        Runs the stored event through the same handler as the webhook. Handlers are idempotent: a
        purchase already credited is not credited again.
      </p>
      <FormError message={error} />
      {result ? (
        <div
          className={`alert ${result.status === "failed" ? "error" : result.status === "needs_attention" ? "warn" : "success"}`}
          role="status"
          data-testid="replay-result"
        >
          Replay result: <StatusBadge status={result.status} /> {result.detail}
          {result.userId ? (
            <>
              {" "}
              · <Link to={`/users/${encodeURIComponent(result.userId)}`}>open the user</Link>
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
            pending={pending}
            pendingLabel="Replaying…"
            describe={() => (
              <p>
                <span className="mono">{event.type}</span> <span className="mono">{event.id}</span>{" "}
                will be processed again. If it credits a purchase that has not been credited yet,
                the user&apos;s balance changes; anything already applied stays as it is.
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
                  {after.status ? <StatusBadge status={after.status} /> : null} {after.detail ?? ""}
                </li>
              );
            })}
          </ul>
        </>
      ) : null}
    </section>
  );
}

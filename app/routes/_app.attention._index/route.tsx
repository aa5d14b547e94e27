import type { MetaFunction } from "@remix-run/node";
import { Link, useActionData, useLoaderData } from "@remix-run/react";
import { FixOutcomeAlert } from "~/components/attention-fixes";
import { EmptyState } from "~/components/empty-state";
import { formatCredits, humanize } from "~/components/format";
import { Pager } from "~/components/pager";
import { staffLoader } from "~/lib/route-builders";
import { presentAttentionQueue } from "~/presenters/attention-queue.server";
import { queueFilterSchema } from "~/services/admin/attention-queue.server";
import { KIND_LABELS } from "~/shared/ops-labels";
import { canOps, OPS_ACCESS } from "~/shared/ops-permissions";
import { queueFixAction } from "./fix-intents.server";
import { QueueItem } from "./queue-item";

export const meta: MetaFunction = () => [{ title: "Attention queue · creditdesk" }];

export const loader = staffLoader(
  { roles: OPS_ACCESS.attention, search: queueFilterSchema },
  async ({ staff, search }) => ({
    ...(await presentAttentionQueue(search)),
    canReplay: canOps(staff.role, "replay"),
  }),
);

export const action = queueFixAction;

export default function AttentionQueue() {
  const { page, counts, kinds, kind, canReplay } = useLoaderData<typeof loader>();
  const reply = useActionData<typeof action>();
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const groups = new Map<string, typeof page.rows>();
  for (const item of page.rows) groups.set(item.kind, [...(groups.get(item.kind) ?? []), item]);
  return (
    <>
      <h1>Attention queue</h1>
      <p className="muted">
        What the system could not do on its own. Each item has its fix beside it;{" "}
        <Link to="/attention/history">resolved and dismissed items</Link> keep who closed them, when
        and how.
      </p>
      <nav aria-label="Kinds" className="card">
        <ul className="chips">
          <li>
            <Link to="/attention" aria-current={kind === null ? "page" : undefined}>
              All open <span className="badge">{formatCredits(total)}</span>
            </Link>
          </li>
          {kinds
            .filter((k) => counts[k])
            .map((k) => (
              <li key={k}>
                <Link to={`/attention?kind=${k}`} aria-current={kind === k ? "page" : undefined}>
                  {KIND_LABELS[k]?.title ?? humanize(k)}{" "}
                  <span className="badge warn">{formatCredits(counts[k] ?? 0)}</span>
                </Link>
              </li>
            ))}
        </ul>
      </nav>

      <FixOutcomeAlert outcome={reply?.outcome} />

      {page.rows.length === 0 ? (
        <EmptyState title={kind ? "No open items of this kind." : "Nothing needs attention."}>
          Items appear here when a paid session cannot be matched to a user or a pack, an event
          fails, or reconciliation finds a webhook gap.
        </EmptyState>
      ) : (
        [...groups.entries()].map(([k, items]) => {
          const label = KIND_LABELS[k] ?? { title: k, help: "" };
          return (
            <section key={k} aria-labelledby={`kind-${k}`} className="attention-group">
              <h2 id={`kind-${k}`}>
                {label.title}{" "}
                <span className="badge warn">{formatCredits(counts[k] ?? items.length)}</span>
              </h2>
              {label.help ? <p className="muted small">{label.help}</p> : null}
              <ul className="attention-list">
                {items.map((item) => (
                  <QueueItem
                    key={item.id}
                    item={item}
                    canReplay={canReplay}
                    feedback={
                      reply && !reply.outcome && reply.values.itemId === item.id ? reply : undefined
                    }
                  />
                ))}
              </ul>
            </section>
          );
        })
      )}
      <Pager next={page.next} prev={page.prev} label="Queue pages" />
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from "~/components/route-error-boundary";

import type { MetaFunction } from "@remix-run/node";
import { Link, useActionData, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { AttentionFixes, FixOutcomeAlert } from "~/components/attention-fixes";
import { humanize } from "~/components/format";
import { StatusBadge } from "~/components/status-badge";
import { Time } from "~/components/time";
import { staffLoader } from "~/lib/route-builders";
import { presentAttentionItem } from "~/presenters/attention-item.server";
import { KIND_LABELS } from "~/shared/ops-labels";
import { canOps, OPS_ACCESS } from "~/shared/ops-permissions";
import { itemFixAction } from "../_app.attention._index/fix-intents.server";
import { ItemFacts } from "./item-facts";

export const meta: MetaFunction<typeof loader> = ({ data: d }) => [
  { title: `${d?.detail.item.title ?? "Attention item"} · creditdesk` },
];

export const loader = staffLoader(
  { roles: OPS_ACCESS.attention, params: z.object({ itemId: z.string() }) },
  async ({ staff, params }) => ({
    detail: await presentAttentionItem(params.itemId),
    canReplay: canOps(staff.role, "replay"),
  }),
);

// The same fixes as the queue; a fix that worked comes back to this item's page.
export const action = itemFixAction;

export default function AttentionItemPage() {
  const { detail, canReplay } = useLoaderData<typeof loader>();
  const reply = useActionData<typeof action>();
  const { item, purchase, history } = detail;
  const label = KIND_LABELS[item.kind];
  const feedback = reply && !reply.outcome ? reply : undefined;
  return (
    <>
      <p className="breadcrumb">
        <Link to="/attention">Attention queue</Link> / {label?.title ?? humanize(item.kind)}
      </p>
      <h1>
        {item.title} <StatusBadge status={item.status} />
      </h1>
      <FixOutcomeAlert outcome={reply?.outcome} />
      <div className="grid">
        <section className="card" aria-labelledby="item-facts">
          <h2 id="item-facts">Details</h2>
          {item.detail ? <p>{item.detail}</p> : null}
          {label ? <p className="muted small">{label.help}</p> : null}
          <ItemFacts item={item} purchase={purchase} />
        </section>
        {item.status === "open" ? (
          <section className="card" aria-labelledby="item-fix">
            <h2 id="item-fix">Fix</h2>
            <AttentionFixes item={item} feedback={feedback} canReplay={canReplay} />
          </section>
        ) : null}
      </div>
      {item.data ? (
        <section aria-labelledby="item-data">
          <h2 id="item-data">What was known</h2>
          <pre className="payload" tabIndex={0}>
            {JSON.stringify(item.data, null, 2)}
          </pre>
        </section>
      ) : null}
      <section aria-labelledby="item-history">
        <h2 id="item-history">History</h2>
        {history.length === 0 ? (
          <p className="muted">No staff action on this item yet.</p>
        ) : (
          <ul>
            {history.map((h) => (
              <li key={h.id}>
                <Time value={h.createdAt} /> · {h.actorLabel ?? h.actorId ?? "system"} ·{" "}
                <span className="mono">{h.action}</span>
                {h.reason ? ` — ${h.reason}` : ""}
              </li>
            ))}
          </ul>
        )}
      </section>
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from "~/components/route-error-boundary";

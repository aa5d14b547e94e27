import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data } from "@remix-run/node";
import { Link, useActionData, useLoaderData } from "@remix-run/react";
import { listOpenItems, openCountsByKind } from "~/presenters/attention-queue.server";
import { AttentionFixes } from "~/components/attention-fixes";
import { EmptyState } from "~/components/empty-state";
import { formatCredits, humanize } from "~/components/format";
import { Pager } from "~/components/pager";
import { Time } from "~/components/time";
import {
  QUEUE_KINDS,
  queueFilterSchema,
  runAttentionAction,
} from "~/services/admin/attention-queue.server";
import { KIND_LABELS } from "~/shared/ops-labels";
import { redirectWithToast } from "~/services/admin/flash.server";
import { parseSearch, toValues } from "~/services/admin/forms.server";
import { orHttpError } from "~/services/admin/http.server";
import { canOps, OPS_ACCESS } from "~/shared/ops-permissions";
import { requireStaff } from "~/services/auth/session.server";
import { clientIp } from "~/services/infra/request.server";

export const meta: MetaFunction = () => [{ title: "Attention queue · creditdesk" }];

export async function loader({ request }: LoaderFunctionArgs) {
  const staff = await requireStaff(request, { roles: OPS_ACCESS.attention });
  const parsed = parseSearch(request, queueFilterSchema);
  if (!parsed.ok)
    throw new Response(Object.values(parsed.fieldErrors)[0] ?? "This page link is not valid.", {
      status: 400,
    });
  const [page, counts] = await Promise.all([
    orHttpError(() => listOpenItems(parsed.data)),
    openCountsByKind(),
  ]);
  return {
    page,
    counts,
    kinds: QUEUE_KINDS as string[],
    kind: parsed.data.kind ?? null,
    canReplay: canOps(staff.role, "replay"),
  };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const staff = await requireStaff(request, { roles: OPS_ACCESS.attention });
  const values = toValues(await request.formData());
  const result = await runAttentionAction(
    values,
    { id: staff.id, email: staff.email, ip: clientIp(context) },
    { canReplay: canOps(staff.role, "replay") },
  );
  if (!result.ok) return data(result, { status: result.status });
  if (result.outcome.tone === "error") return data(result, { status: 200 });
  // Back to the same view of the queue (filters and page kept), with the outcome as a toast.
  const url = new URL(request.url);
  url.searchParams.delete("index");
  return redirectWithToast(
    `${url.pathname}${url.search}`,
    result.outcome.tone,
    result.outcome.message,
  );
}

export default function AttentionQueue() {
  const { page, counts, kinds, kind, canReplay } = useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>();
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

      {actionData && "outcome" in actionData && actionData.ok ? (
        <div
          className={`alert ${actionData.outcome.tone === "error" ? "error" : "success"}`}
          role="alert"
        >
          {actionData.outcome.message}
        </div>
      ) : null}

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
                {items.map((item) => {
                  const feedback =
                    actionData && actionData.itemId === item.id && !actionData.ok
                      ? actionData
                      : undefined;
                  return (
                    <li
                      key={item.id}
                      className="card attention-item"
                      data-testid="attention-item"
                      data-kind={item.kind}
                    >
                      <div className="attention-summary">
                        <Link to={`/attention/${item.id}`}>
                          <strong>{item.title}</strong>
                        </Link>
                        {item.detail ? <p>{item.detail}</p> : null}
                        <p className="muted small">
                          Raised <Time value={item.createdAt} />
                          {item.occurrences > 1
                            ? ` · seen ${formatCredits(item.occurrences)} times, last `
                            : null}
                          {item.occurrences > 1 ? <Time value={item.updatedAt} /> : null}
                          {item.user ? (
                            <>
                              {" "}
                              · user{" "}
                              <Link to={`/users/${encodeURIComponent(item.user.id)}`}>
                                {item.user.email}
                              </Link>
                            </>
                          ) : null}
                          {item.stripeEventId ? (
                            <>
                              {" "}
                              · event{" "}
                              <Link
                                to={`/webhooks/events/${encodeURIComponent(item.stripeEventId)}`}
                              >
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
                })}
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

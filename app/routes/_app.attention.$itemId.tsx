import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data } from "@remix-run/node";
import { Link, useActionData, useLoaderData } from "@remix-run/react";
import { AttentionFixes } from "~/components/attention-fixes";
import { formatCredits, humanize } from "~/components/format";
import { StatusBadge } from "~/components/status-badge";
import { Time } from "~/components/time";
import { presentAttentionItem as getAttentionItem } from "~/presenters/attention-item.server";
import { runAttentionAction } from "~/services/admin/attention-queue.server";
import { KIND_LABELS } from "~/shared/ops-labels";
import { redirectWithToast } from "~/services/admin/flash.server";
import { toValues } from "~/services/admin/forms.server";
import { orHttpError } from "~/services/admin/http.server";
import { canOps, OPS_ACCESS } from "~/shared/ops-permissions";
import { requireStaff } from "~/services/auth/session.server";
import { clientIp } from "~/services/infra/request.server";

export const meta: MetaFunction<typeof loader> = ({ data: d }) => [
  { title: `${d?.detail.item.title ?? "Attention item"} · creditdesk` },
];

export async function loader({ request, params }: LoaderFunctionArgs) {
  const staff = await requireStaff(request, { roles: OPS_ACCESS.attention });
  const detail = await orHttpError(() => getAttentionItem(params.itemId ?? ""));
  return { detail, canReplay: canOps(staff.role, "replay") };
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  const staff = await requireStaff(request, { roles: OPS_ACCESS.attention });
  const values = { ...toValues(await request.formData()), itemId: params.itemId ?? "" };
  const result = await runAttentionAction(
    values,
    { id: staff.id, email: staff.email, ip: clientIp(context) },
    { canReplay: canOps(staff.role, "replay") },
  );
  if (!result.ok) return data(result, { status: result.status });
  if (result.outcome.tone === "error") return data(result, { status: 200 });
  return redirectWithToast(
    `/attention/${params.itemId}`,
    result.outcome.tone,
    result.outcome.message,
  );
}

export default function AttentionItemPage() {
  const { detail, canReplay } = useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>();
  const { item, purchase, history } = detail;
  const label = KIND_LABELS[item.kind];
  const feedback = actionData && !actionData.ok ? actionData : undefined;
  return (
    <>
      <p className="breadcrumb">
        <Link to="/attention">Attention queue</Link> / {label?.title ?? humanize(item.kind)}
      </p>
      <h1>
        {item.title} <StatusBadge status={item.status} />
      </h1>
      {actionData?.ok ? (
        <div
          className={`alert ${actionData.outcome.tone === "error" ? "error" : "success"}`}
          role="alert"
        >
          {actionData.outcome.message}
        </div>
      ) : null}
      <div className="grid">
        <section className="card" aria-labelledby="item-facts">
          <h2 id="item-facts">Details</h2>
          {item.detail ? <p>{item.detail}</p> : null}
          {label ? <p className="muted small">{label.help}</p> : null}
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

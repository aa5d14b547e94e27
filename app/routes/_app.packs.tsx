import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data } from "@remix-run/node";
import { Form, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { presentPacks as getPacksAndTiers } from "~/presenters/packs.server";
import { EmptyState } from "~/components/empty-state";
import { FormError } from "~/components/field";
import { formatCredits, formatMoney } from "~/components/format";
import { Time } from "~/components/time";
import { toastCookie } from "~/services/admin/flash.server";
import { canOps, OPS_ACCESS } from "~/shared/ops-permissions";
import { syncPacksAsStaff, type PackSyncView } from "~/services/admin/packs-tiers.server";
import { requireStaff } from "~/services/auth/session.server";
import { DomainError } from "~/services/errors.server";
import { clientIp } from "~/services/infra/request.server";

export const meta: MetaFunction = () => [{ title: "Packs & tiers · creditdesk" }];

export async function loader({ request }: LoaderFunctionArgs) {
  const staff = await requireStaff(request, { roles: OPS_ACCESS.packs });
  return { ...(await getPacksAndTiers()), canSync: canOps(staff.role, "packsSync") };
}

type ActionResult = { ok: true; report: PackSyncView } | { ok: false; error: string };

export async function action({ request, context }: ActionFunctionArgs) {
  const staff = await requireStaff(request, { roles: OPS_ACCESS.packsSync });
  const form = await request.formData();
  if (form.get("intent") !== "sync")
    return data<ActionResult>(
      { ok: false, error: "Unknown action: reload the page and try again." },
      { status: 400 },
    );
  try {
    const report = await syncPacksAsStaff({
      id: staff.id,
      email: staff.email,
      ip: clientIp(context),
    });
    const changed = report.created.length + report.updated.length + report.deactivated.length;
    const message = changed
      ? `Packs synced: ${report.created.length} new, ${report.updated.length} updated, ${report.deactivated.length} deactivated.`
      : `Packs synced: no change (${report.pricesSeen} prices checked).`;
    return data<ActionResult>(
      { ok: true, report },
      {
        headers: {
          "Set-Cookie": await toastCookie(report.errors.length ? "info" : "success", message),
        },
      },
    );
  } catch (error) {
    if (error instanceof DomainError)
      return data<ActionResult>({ ok: false, error: error.message }, { status: error.status });
    throw error;
  }
}

function PriceList({ label, ids }: { label: string; ids: string[] }) {
  if (ids.length === 0) return null;
  return (
    <li>
      {label}: <span className="mono">{ids.join(", ")}</span>
    </li>
  );
}

export default function PacksPage() {
  const { packs, morePacks, lastSyncedAt, tiers, canSync } = useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>();
  const navigation = useNavigation();
  const syncing =
    navigation.state === "submitting" && navigation.formData?.get("intent") === "sync";
  return (
    <>
      <h1>Packs &amp; tiers</h1>
      <section className="card" aria-labelledby="sync-heading">
        <h2 id="sync-heading">Credit packs</h2>
        <p>
          Packs mirror the Stripe prices that carry <span className="mono">metadata.credits</span>{" "}
          (and optionally <span className="mono">metadata.tier</span>
          ). Last synced: <Time value={lastSyncedAt} />.
        </p>
        {canSync ? (
          <Form method="post">
            <button type="submit" name="intent" value="sync" disabled={syncing}>
              {syncing ? "Syncing from Stripe…" : "Sync packs from Stripe"}
            </button>
          </Form>
        ) : null}
        {actionData && !actionData.ok ? <FormError message={actionData.error} /> : null}
        {actionData?.ok ? (
          <div className="sync-report" role="status" data-testid="sync-report">
            <strong>Sync report:</strong> {actionData.report.pricesSeen} prices checked,{" "}
            {actionData.report.unchanged} unchanged.
            <ul>
              <PriceList label="New packs" ids={actionData.report.created} />
              <PriceList label="Updated" ids={actionData.report.updated} />
              <PriceList label="Deactivated" ids={actionData.report.deactivated} />
            </ul>
            {actionData.report.errors.length > 0 ? (
              <div className="alert warn">
                Prices that could not be mirrored:
                <ul>
                  {actionData.report.errors.map((e) => (
                    <li key={e.priceId}>
                      <span className="mono">{e.priceId}</span>: {e.error}
                    </li>
                  ))}
                </ul>
              </div>
            ) : null}
          </div>
        ) : null}
      </section>

      {packs.length === 0 ? (
        <EmptyState title="No credit packs yet.">
          Create a price in Stripe with <span className="mono">metadata.credits</span> set to the
          credits one unit grants, then sync.
        </EmptyState>
      ) : (
        <div className="table-wrap">
          <table>
            <caption className="sr-only">Credit packs, active first</caption>
            <thead>
              <tr>
                <th scope="col">Pack</th>
                <th scope="col">Stripe price</th>
                <th scope="col" className="num">
                  Credits
                </th>
                <th scope="col" className="num">
                  Price
                </th>
                <th scope="col">Kind</th>
                <th scope="col">Grants tier</th>
                <th scope="col" className="num">
                  Purchases
                </th>
                <th scope="col">Status</th>
                <th scope="col">Synced</th>
              </tr>
            </thead>
            <tbody>
              {packs.map((p) => (
                <tr key={p.id} className={p.active ? undefined : "inactive"} data-testid="pack-row">
                  <td>{p.name}</td>
                  <td className="mono">{p.stripePriceId}</td>
                  <td className="num">{formatCredits(p.credits)}</td>
                  <td className="num">{formatMoney(p.unitAmount, p.currency)}</td>
                  <td>{p.priceType === "recurring" ? "Subscription" : "One-time"}</td>
                  <td>{p.grantsTier ?? <span className="muted">–</span>}</td>
                  <td className="num">{formatCredits(p.purchases)}</td>
                  <td>
                    {p.active ? (
                      <span className="badge ok">Active</span>
                    ) : (
                      <span className="badge">Inactive</span>
                    )}
                  </td>
                  <td>
                    <Time value={p.lastSyncedAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {morePacks > 0 ? (
        <p className="muted small">{morePacks} more packs (inactive or dearer) are not shown.</p>
      ) : null}

      <h2>Tiers</h2>
      <div className="table-wrap">
        <table>
          <caption className="sr-only">Tiers, lowest rank first, with what grants each</caption>
          <thead>
            <tr>
              <th scope="col">Tier</th>
              <th scope="col" className="num">
                Rank
              </th>
              <th scope="col" className="num">
                Users
              </th>
              <th scope="col">Granted by</th>
            </tr>
          </thead>
          <tbody>
            {tiers.map((t) => (
              <tr key={t.code} data-testid="tier-row">
                <td>
                  {t.name} <span className="mono muted">{t.code}</span>
                </td>
                <td className="num">{t.rank}</td>
                <td className="num">{formatCredits(t.users)}</td>
                <td>
                  <ul className="plain-list">
                    {t.isDefault ? <li>Everyone without a higher tier (default)</li> : null}
                    {t.grantedBy.packs.map((p) => (
                      <li key={p.id} className={p.active ? undefined : "muted"}>
                        Buying “{p.name}”{p.active ? "" : " (inactive)"}
                      </li>
                    ))}
                    {t.grantedBy.subscriptions.map((p) => (
                      <li key={p.id} className={p.active ? undefined : "muted"}>
                        Subscribing to “{p.name}”{p.active ? "" : " (inactive)"}
                      </li>
                    ))}
                    {t.subscriptionPrices.map((s) => (
                      <li key={s.priceId ?? "none"}>
                        Subscription price <span className="mono">{s.priceId ?? "(unknown)"}</span>:{" "}
                        {formatCredits(s.active)} active
                      </li>
                    ))}
                    {!t.isDefault ? (
                      <li className="muted">A manual change by staff (with a reason)</li>
                    ) : null}
                  </ul>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p className="muted small">
        The effective tier is the highest-ranked of: active subscriptions&apos; tiers, tiers of
        packs bought in purchases still in good standing, and the default tier. A refund in full or
        a lost dispute removes that purchase&apos;s grant.
      </p>
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from "~/components/route-error-boundary";

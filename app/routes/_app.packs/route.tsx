import type { MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { z } from "zod";
import { EmptyState } from "~/components/empty-state";
import { FormError } from "~/components/field";
import { Time } from "~/components/time";
import { intent, staffAction, staffLoader } from "~/lib/route-builders";
import { presentPacks } from "~/presenters/packs.server";
import { syncPacksAsStaff } from "~/services/admin/packs-tiers.server";
import { canOps, OPS_ACCESS } from "~/shared/ops-permissions";
import { PacksTable } from "./packs-table";
import { SyncReport } from "./sync-report";
import { TiersTable } from "./tiers-table";

export const meta: MetaFunction = () => [{ title: "Packs & tiers · creditdesk" }];

export const loader = staffLoader({ roles: OPS_ACCESS.packs }, async ({ staff }) => ({
  ...(await presentPacks()),
  canSync: canOps(staff.role, "packsSync"),
}));

export const action = staffAction({
  roles: OPS_ACCESS.packsSync,
  // A sync calls Stripe: only the button (intent "sync") starts one.
  intentRequired: true,
  intents: {
    sync: intent({
      schema: z.object({}),
      run: (_input, { actor }) => syncPacksAsStaff(actor),
      // The report stays on the page (what changed, what could not be mirrored) with a toast.
      ok: (report) => {
        const changed = report.created.length + report.updated.length + report.deactivated.length;
        return {
          outcome: report,
          kind: report.errors.length ? "info" : "success",
          toast: changed
            ? `Packs synced: ${report.created.length} new, ${report.updated.length} updated, ${report.deactivated.length} deactivated.`
            : `Packs synced: no change (${report.pricesSeen} prices checked).`,
        };
      },
    }),
  },
});

export default function PacksPage() {
  const { packs, morePacks, lastSyncedAt, tiers, canSync } = useLoaderData<typeof loader>();
  const reply = useActionData<typeof action>();
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
        <FormError message={reply?.fieldErrors.form} />
        {reply?.outcome ? <SyncReport report={reply.outcome} /> : null}
      </section>

      {packs.length === 0 ? (
        <EmptyState title="No credit packs yet.">
          Create a price in Stripe with <span className="mono">metadata.credits</span> set to the
          credits one unit grants, then sync.
        </EmptyState>
      ) : (
        <PacksTable packs={packs} />
      )}
      {morePacks > 0 ? (
        <p className="muted small">{morePacks} more packs (inactive or dearer) are not shown.</p>
      ) : null}

      <h2>Tiers</h2>
      <TiersTable tiers={tiers} />
      <p className="muted small">
        The effective tier is the highest-ranked of: active subscriptions&apos; tiers, tiers of
        packs bought in purchases still in good standing, and the default tier. A refund in full or
        a lost dispute removes that purchase&apos;s grant.
      </p>
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from "~/components/route-error-boundary";

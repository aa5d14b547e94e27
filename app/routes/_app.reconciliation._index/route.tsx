import type { MetaFunction } from "@remix-run/node";
import { Link, useActionData, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { EmptyState } from "~/components/empty-state";
import { humanize } from "~/components/format";
import { Pager } from "~/components/pager";
import { RunProgress } from "~/components/run-progress";
import { Time } from "~/components/time";
import { intent, staffAction, staffLoader, type IntentOk } from "~/lib/route-builders";
import { listRunsPage } from "~/presenters/reconciliation.server";
import {
  runNowSchema,
  runsSearchSchema,
  startRunAsStaff,
  type StartOutcome,
} from "~/services/admin/reconciliation-admin.server";
import { canOps, OPS_ACCESS } from "~/shared/ops-permissions";
import { RunNowForm } from "./run-now-form";
import { RunsTable } from "./runs-table";

export const meta: MetaFunction = () => [{ title: "Reconciliation · creditdesk" }];

export const loader = staffLoader(
  {
    roles: OPS_ACCESS.reconciliation,
    search: runsSearchSchema,
    searchError: "This page link is not valid.",
  },
  async ({ staff, search }) => ({
    ...(await listRunsPage(search.before)),
    canRun: canOps(staff.role, "reconciliationRun"),
    first: !search.before,
  }),
);

/** "Run now" and "Dry run" post the same fields; the button decides `dryRun`. */
const startIntent = (dryRun: boolean) =>
  intent({
    schema: z.preprocess((v) => ({ ...(v as object), dryRun: String(dryRun) }), runNowSchema),
    run: (input, { staff }) => startRunAsStaff(input, staff.id),
    ok: (r: StartOutcome): IntentOk<{ runningRunId: string | null }> =>
      r.started
        ? {
            to: `/reconciliation/${r.runId}`,
            toast: dryRun
              ? "Dry run started: nothing will be credited or changed."
              : "Reconciliation started.",
          }
        : // The lock said no: a run is in progress (here or in another process); link to it.
          {
            outcome: { runningRunId: r.runningRunId },
            status: 409,
            fieldErrors: { form: r.message },
          },
  });

export const action = staffAction({
  roles: OPS_ACCESS.reconciliationRun,
  intents: { run: startIntent(false), "dry-run": startIntent(true) },
});

export default function ReconciliationRuns() {
  const { runs, nextCursor, running, canRun, first } = useLoaderData<typeof loader>();
  const reply = useActionData<typeof action>();
  return (
    <>
      <h1>Reconciliation</h1>
      <p className="muted">
        Every night creditdesk asks Stripe for completed Checkout Sessions and credits any paid one
        the webhooks missed, exactly once. A run that had to credit anything means the webhooks are
        broken: check the <Link to="/webhooks">webhook checks</Link>.
      </p>

      {running ? (
        <>
          <div className="alert warn" role="status">
            A run is in progress (started <Time value={running.startedAt} />,{" "}
            {humanize(running.trigger)}). <Link to={`/reconciliation/${running.id}`}>Open it</Link>
          </div>
          <RunProgress run={running} />
        </>
      ) : null}

      {canRun ? (
        <RunNowForm
          values={reply?.values ?? {}}
          errors={reply?.fieldErrors ?? {}}
          runningRunId={reply?.outcome?.runningRunId}
        />
      ) : null}

      <h2>Runs</h2>
      {runs.length === 0 ? (
        <EmptyState title={first ? "No reconciliation has run yet." : "No older runs."}>
          {first ? "The scheduler runs it every night; an admin can start one now." : null}
        </EmptyState>
      ) : (
        <RunsTable runs={runs} />
      )}
      {!first ? (
        <p>
          <Link to="/reconciliation">← Newest runs</Link>
        </p>
      ) : null}
      <Pager
        next={nextCursor}
        prev={null}
        nextParam="before"
        nextLabel="Older runs"
        label="Run pages"
      />
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from "~/components/route-error-boundary";

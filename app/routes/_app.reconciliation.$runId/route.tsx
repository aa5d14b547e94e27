import type { MetaFunction } from "@remix-run/node";
import { Form, Link, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { EmptyState } from "~/components/empty-state";
import { SelectField } from "~/components/field";
import { formatCredits, humanize } from "~/components/format";
import { Pager } from "~/components/pager";
import { RunProgress } from "~/components/run-progress";
import { StatusBadge } from "~/components/status-badge";
import { Time } from "~/components/time";
import { staffLoader } from "~/lib/route-builders";
import { getRunDetailPage } from "~/presenters/reconciliation.server";
import { ITEM_OUTCOMES, runItemsSearchSchema } from "~/services/admin/reconciliation-admin.server";
import { ITEM_OUTCOME_HELP } from "~/shared/ops-labels";
import { OPS_ACCESS } from "~/shared/ops-permissions";
import { RunItemsTable } from "./run-items-table";
import { RunDoctorFindings, RunFacts } from "./run-facts";

export const meta: MetaFunction = () => [{ title: "Reconciliation run · creditdesk" }];

export const loader = staffLoader(
  {
    roles: OPS_ACCESS.reconciliation,
    params: z.object({ runId: z.string() }),
    search: runItemsSearchSchema,
  },
  async ({ params, search }) => ({
    ...(await getRunDetailPage(params.runId, search)),
    outcomes: [...ITEM_OUTCOMES] as string[],
    outcome: search.outcome ?? null,
    paged: Boolean(search.after),
  }),
);

export default function RunDetailPage() {
  const { run, startedBy, items, nextCursor, outcomes, outcome, paged } =
    useLoaderData<typeof loader>();
  const counts = run.outcomes as Record<string, number>;
  const help = ITEM_OUTCOME_HELP as Record<string, string>;
  const outcomeCounts = outcomes.filter((o) => (counts[o] ?? 0) > 0);
  return (
    <>
      <p className="breadcrumb">
        <Link to="/reconciliation">Reconciliation</Link> / run{" "}
        <span className="mono">{run.id.slice(0, 8)}</span>
      </p>
      <h1>
        Run of <Time value={run.startedAt} /> <StatusBadge status={run.status} />
      </h1>
      <RunFacts run={run} startedBy={startedBy} />
      <RunProgress run={run} />
      <RunDoctorFindings doctor={run.doctor} />

      <h2 id="sessions-heading">Sessions</h2>
      <Form method="get" className="inline-form filters" aria-labelledby="sessions-heading">
        <SelectField
          label="Outcome"
          name="outcome"
          defaultValue={outcome ?? ""}
          options={[
            { value: "", label: "Every outcome" },
            ...outcomes.map((o) => ({
              value: o,
              label: `${humanize(o)} (${formatCredits(counts[o] ?? 0)})`,
            })),
          ]}
        />
        <div className="field">
          <button type="submit">Show</button>
        </div>
      </Form>
      {outcomeCounts.length > 0 ? (
        <ul className="chips">
          {outcomeCounts.map((o) => (
            <li key={o}>
              <Link to={`?outcome=${o}`} title={help[o]}>
                <StatusBadge status={o} /> {formatCredits(counts[o] ?? 0)}
              </Link>
            </li>
          ))}
        </ul>
      ) : null}
      {outcome ? <p className="muted small">{help[outcome]}</p> : null}
      {items.length === 0 ? (
        <EmptyState
          title={
            outcome
              ? "No session had this outcome."
              : run.status === "running"
                ? "No session checked yet."
                : "Stripe had no completed session in this window."
          }
        >
          {outcome ? "Choose another outcome." : null}
        </EmptyState>
      ) : (
        <RunItemsTable items={items} />
      )}
      {paged ? (
        <p>
          <Link to={outcome ? `?outcome=${outcome}` : "?"}>← First sessions</Link>
        </p>
      ) : null}
      <Pager next={nextCursor} prev={null} nextLabel="More sessions" label="Session pages" />
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from "~/components/route-error-boundary";

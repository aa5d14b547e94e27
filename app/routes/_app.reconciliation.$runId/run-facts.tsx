import type { SerializeFrom } from "@remix-run/node";
import { Link } from "@remix-run/react";
import { formatCredits, humanize } from "~/components/format";
import { Time } from "~/components/time";
import type { getRunDetailPage } from "~/presenters/reconciliation.server";

type Detail = SerializeFrom<Awaited<ReturnType<typeof getRunDetailPage>>>;

/** Who started the run and on which window, how far it got, and what a person should look at. */
export function RunFacts({ run, startedBy }: Pick<Detail, "run" | "startedBy">) {
  return (
    <>
      <dl className="facts card">
        <dt>Trigger</dt>
        <dd>
          {humanize(run.trigger)}
          {startedBy ? ` by ${startedBy}` : ""}
          {run.dryRun ? " · dry run (nothing was changed)" : ""}
        </dd>
        <dt>Window</dt>
        <dd>
          <Time value={run.windowSince} /> → <Time value={run.windowUntil} />
        </dd>
        <dt>Finished</dt>
        <dd>
          <Time value={run.finishedAt} />
        </dd>
        {run.highWaterMark ? (
          <>
            <dt>Reconciled up to</dt>
            <dd>
              <Time value={run.highWaterMark} />
            </dd>
          </>
        ) : null}
        {run.alertStatus ? (
          <>
            <dt>Webhook-gap alert</dt>
            <dd>{humanize(run.alertStatus)}</dd>
          </>
        ) : null}
      </dl>
      {run.error ? (
        <div className="alert error" role="alert">
          <strong>The run stopped early:</strong> {run.error}
        </div>
      ) : null}
      {run.status !== "running" && !run.dryRun && run.creditedNow > 0 ? (
        <div className="alert warn" role="status">
          This run credited {formatCredits(run.creditedNow)} purchase
          {run.creditedNow === 1 ? "" : "s"} the webhooks never delivered. Check the{" "}
          <Link to="/webhooks">webhook checks</Link>.
        </div>
      ) : null}
    </>
  );
}

/** The webhook doctor's findings as this run recorded them. */
export function RunDoctorFindings({ doctor }: Pick<Detail["run"], "doctor">) {
  if (!doctor || doctor.findings.length === 0) return null;
  return (
    <section className="card" aria-labelledby="run-doctor">
      <h2 id="run-doctor">Webhook checks from this run</h2>
      <ul className="findings">
        {doctor.findings.map((f, i) => (
          <li key={i} className={`finding ${f.severity}`}>
            <strong>{f.title}</strong>
            <div>{f.detail}</div>
            <div className="finding-fix">{f.fix}</div>
          </li>
        ))}
      </ul>
    </section>
  );
}

import { useFetcher, useRevalidator } from "@remix-run/react";
import { useEffect, useRef } from "react";
import { formatCredits } from "./format";
import { StatusBadge } from "./status-badge";

export interface RunCountersView {
  id: string;
  status: string;
  dryRun: boolean;
  scanned: number;
  creditedNow: number;
  alreadyCredited: number;
  needsAttention: number;
  undeliveredEvents: number;
  errors: number;
  pages: number;
  stripeRequests: number;
  elapsedMs: number;
}

const POLL_MS = 1000;

function seconds(ms: number) {
  return ms < 60_000
    ? `${Math.round(ms / 1000)} s`
    : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/**
 * Live counters of a run. While it is running, the progress resource is polled every second; when
 * it finishes the page's loaders are revalidated so the items and final counts appear.
 */
export function RunProgress({ run }: { run: RunCountersView }) {
  const poll = useFetcher<{ run: RunCountersView | null; running: boolean }>();
  const revalidator = useRevalidator();
  // The polled counters while the run goes; once the page's own data says it has finished, that
  // (revalidated) data is the newest there is.
  const latest =
    run.status === "running" && poll.data?.run && poll.data.run.id === run.id ? poll.data.run : run;
  const running = latest.status === "running";
  const finishedSeen = useRef(false);

  useEffect(() => {
    if (!running) return;
    const timer = setInterval(() => {
      if (poll.state === "idle") poll.load(`/reconciliation/progress?run=${run.id}`);
    }, POLL_MS);
    return () => clearInterval(timer);
    // poll is stable enough for this purpose; the effect restarts when the run id or state changes.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [run.id, running]);

  useEffect(() => {
    if (
      run.status === "running" &&
      !running &&
      !finishedSeen.current &&
      revalidator.state === "idle"
    ) {
      finishedSeen.current = true;
      revalidator.revalidate();
    }
  }, [run.status, running, revalidator]);

  const stat = (label: string, value: number, testId?: string) => (
    <div className="stat" data-testid={testId}>
      <div className="label">{label}</div>
      <div className="value">{formatCredits(value)}</div>
    </div>
  );
  return (
    <section
      className="card run-progress"
      aria-labelledby={`progress-${run.id}`}
      aria-live="polite"
      aria-busy={running}
    >
      <h2 id={`progress-${run.id}`}>
        {running ? "Running" : "Result"} <StatusBadge status={latest.status} />{" "}
        {latest.dryRun ? <span className="badge">Dry run</span> : null}
      </h2>
      {running ? (
        <div
          className="progress-bar"
          role="progressbar"
          aria-label="Reconciliation in progress"
          aria-valuetext={`${latest.scanned} sessions checked`}
        >
          <span />
        </div>
      ) : null}
      <div className="grid stats">
        {stat("Sessions checked", latest.scanned, "count-scanned")}
        {stat(
          latest.dryRun ? "Would be credited" : "Credited now",
          latest.creditedNow,
          "count-credited-now",
        )}
        {stat("Already credited", latest.alreadyCredited)}
        {stat("Need attention", latest.needsAttention)}
        {stat("Undelivered events", latest.undeliveredEvents)}
        {stat("Errors", latest.errors)}
      </div>
      <p className="muted small">
        {formatCredits(latest.pages)} pages · {formatCredits(latest.stripeRequests)} Stripe requests
        · {seconds(latest.elapsedMs)}
      </p>
    </section>
  );
}

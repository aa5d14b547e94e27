import { Link } from "@remix-run/react";
import { DataTable } from "~/components/data-table";
import { formatCredits, humanize } from "~/components/format";
import { StatusBadge } from "~/components/status-badge";
import { Time } from "~/components/time";

interface RunRow {
  id: string;
  startedAt: string | Date;
  status: string;
  dryRun: boolean;
  trigger: string;
  windowSince: string | Date | null;
  windowUntil: string | Date | null;
  scanned: number;
  creditedNow: number;
  alreadyCredited: number;
  needsAttention: number;
  errors: number;
}

/** Reconciliation runs, newest first, with what each found. */
export function RunsTable({ runs }: { runs: readonly RunRow[] }) {
  return (
    <DataTable
      rows={runs}
      rowKey={(r) => r.id}
      caption="Reconciliation runs, newest first"
      rowProps={() => ({ "data-testid": "run-row" })}
      columns={[
        {
          header: "Started",
          cell: (r) => (
            <Link to={`/reconciliation/${r.id}`}>
              <Time value={r.startedAt} />
            </Link>
          ),
        },
        {
          header: "Status",
          cell: (r) => (
            <>
              <StatusBadge status={r.status} />{" "}
              {r.dryRun ? <span className="badge">Dry run</span> : null}
            </>
          ),
        },
        { header: "Trigger", cell: (r) => humanize(r.trigger) },
        {
          header: "Window",
          cell: (r) => (
            <>
              <Time value={r.windowSince} /> → <Time value={r.windowUntil} />
            </>
          ),
        },
        { header: "Checked", num: true, cell: (r) => formatCredits(r.scanned) },
        {
          header: "Credited now",
          num: true,
          cell: (r) => (r.creditedNow > 0 ? <strong>{formatCredits(r.creditedNow)}</strong> : "0"),
        },
        { header: "Already", num: true, cell: (r) => formatCredits(r.alreadyCredited) },
        { header: "Attention", num: true, cell: (r) => formatCredits(r.needsAttention) },
        { header: "Errors", num: true, cell: (r) => formatCredits(r.errors) },
      ]}
    />
  );
}

import { DataTable } from "~/components/data-table";
import { humanize } from "~/components/format";
import { TargetLink } from "~/components/target-link";
import { Time } from "~/components/time";
import type { AuditRow } from "~/presenters/audit-log.server";

type Row = Omit<AuditRow, "createdAt"> & { createdAt: string | Date };

function Change({ before, after }: { before: unknown; after: unknown }) {
  if (before === null && after === null) return <span className="muted">–</span>;
  return (
    <details>
      <summary>Show</summary>
      {before !== null ? (
        <>
          <div className="muted small">Before</div>
          <pre className="payload small">{JSON.stringify(before, null, 2)}</pre>
        </>
      ) : null}
      {after !== null ? (
        <>
          <div className="muted small">After</div>
          <pre className="payload small">{JSON.stringify(after, null, 2)}</pre>
        </>
      ) : null}
    </details>
  );
}

/** Audit entries, newest first: who, what, on which target, why, and the change itself. */
export function AuditTable({ rows }: { rows: readonly Row[] }) {
  return (
    <DataTable
      rows={rows}
      rowKey={(r) => r.id}
      caption="Audit entries, newest first"
      rowProps={(r) => ({ "data-testid": "audit-row", "data-action": r.action })}
      columns={[
        { header: "When", cell: (r) => <Time value={r.createdAt} /> },
        {
          header: "Actor",
          cell: (r) => (
            <>
              {r.actorLabel ?? r.actorId ?? humanize(r.actorType)}
              <div className="muted small">
                {humanize(r.actorType)}
                {r.ip ? ` · ${r.ip}` : ""}
              </div>
            </>
          ),
        },
        { header: "Action", className: "mono", cell: (r) => r.action },
        { header: "Target", cell: (r) => <TargetLink type={r.targetType} id={r.targetId} /> },
        {
          header: "Reason",
          className: "wrap",
          cell: (r) => r.reason ?? <span className="muted">–</span>,
        },
        { header: "Change", cell: (r) => <Change before={r.before} after={r.after} /> },
      ]}
    />
  );
}

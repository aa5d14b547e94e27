import { Link } from "@remix-run/react";
import { DataTable } from "~/components/data-table";
import { humanize } from "~/components/format";
import { StatusBadge } from "~/components/status-badge";
import { Time } from "~/components/time";
import { KIND_LABELS } from "~/shared/ops-labels";

interface ClosedItem {
  id: string;
  kind: string;
  status: string;
  title: string;
  resolvedAt: string | Date | null;
  resolution: string | null;
  resolvedBy: { email: string } | null;
}

/** Closed attention items, most recently closed first: when, how, by whom. */
export function ClosedItemsTable({ rows }: { rows: readonly ClosedItem[] }) {
  return (
    <DataTable
      rows={rows}
      rowKey={(item) => item.id}
      caption="Closed attention items, most recently closed first"
      rowProps={() => ({ "data-testid": "closed-item" })}
      columns={[
        { header: "Closed", cell: (item) => <Time value={item.resolvedAt} /> },
        { header: "Status", cell: (item) => <StatusBadge status={item.status} /> },
        {
          header: "Item",
          cell: (item) => (
            <>
              <Link to={`/attention/${item.id}`}>{item.title}</Link>
              <div className="muted small">
                {KIND_LABELS[item.kind]?.title ?? humanize(item.kind)}
              </div>
            </>
          ),
        },
        {
          header: "By",
          cell: (item) => item.resolvedBy?.email ?? <span className="muted">the system</span>,
        },
        { header: "How", className: "wrap", cell: (item) => item.resolution },
      ]}
    />
  );
}

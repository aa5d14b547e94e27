import { Link } from "@remix-run/react";
import { humanize } from "~/shared/labels";
import { DataTable, None } from "./data-table";
import { formatCredits, formatMoney } from "./format";
import { StatusBadge } from "./status-badge";
import { Time } from "./time";

/** One credit grant (app/presenters/user-grants.server.ts). */
export interface GrantsTableRow {
  id: string;
  source: string;
  status: string;
  granted: number;
  remaining: number;
  expiresAt: Date | string | null;
  amountPaid: number;
  currency: string | null;
  remainingValue: number;
  purchaseId: string | null;
  createdAt: Date | string;
}

/**
 * A user's grants: where each came from, how many were granted and are left, when they expire,
 * what the unused ones are worth (what was paid for them) and the grant's status.
 */
export function GrantsTable({
  rows,
  canOpenPurchases,
}: {
  rows: readonly GrantsTableRow[];
  canOpenPurchases: boolean;
}) {
  return (
    <DataTable
      rows={rows}
      rowKey={(g) => g.id}
      testId="grants"
      caption="Credit grants: spendable ones in the order they are spent, then the rest"
      rowProps={(g) => ({ "data-grant": g.id })}
      columns={[
        {
          header: "Source",
          cell: (g) => (
            <>
              {humanize(g.source)}
              {g.purchaseId ? (
                <div className="small">
                  {canOpenPurchases ? (
                    <Link to={`/purchases/${encodeURIComponent(g.purchaseId)}`}>purchase</Link>
                  ) : (
                    <span className="mono">{g.purchaseId}</span>
                  )}
                </div>
              ) : null}
            </>
          ),
        },
        { header: "Granted", num: true, cell: (g) => formatCredits(g.granted) },
        { header: "Remaining", num: true, cell: (g) => formatCredits(g.remaining) },
        {
          header: "Expires",
          cell: (g) => (g.expiresAt === null ? "never" : <Time value={g.expiresAt} />),
        },
        {
          header: "Value left",
          num: true,
          cell: (g) =>
            g.currency && g.amountPaid > 0 ? (
              <span title={`${formatMoney(g.amountPaid, g.currency)} paid for the grant`}>
                {formatMoney(g.remainingValue, g.currency)}
              </span>
            ) : (
              <None />
            ),
        },
        { header: "Status", cell: (g) => <StatusBadge status={g.status} /> },
        { header: "Since", cell: (g) => <Time value={g.createdAt} /> },
      ]}
    />
  );
}

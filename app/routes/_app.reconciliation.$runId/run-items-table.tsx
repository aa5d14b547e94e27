import { Link } from "@remix-run/react";
import { DataTable, None } from "~/components/data-table";
import { formatCredits, formatMoney } from "~/components/format";
import { StatusBadge } from "~/components/status-badge";
import { Time } from "~/components/time";

interface RunItem {
  id: string;
  checkoutSessionId: string;
  outcome: string;
  userId: string | null;
  user: { id: string; email: string; balance: number } | null;
  purchaseId: string | null;
  amountTotal: number | null;
  currency: string | null;
  detail: string | null;
  sessionCreatedAt: string | Date | null;
  attention: { id: string; status: string } | null;
}

/** Every session the run checked, with its outcome, its user and what was done. */
export function RunItemsTable({ items }: { items: readonly RunItem[] }) {
  return (
    <DataTable
      rows={items}
      rowKey={(i) => i.id}
      caption="Outcome of every session in the run"
      rowProps={(i) => ({
        "data-testid": "run-item",
        "data-session": i.checkoutSessionId,
        "data-outcome": i.outcome,
      })}
      columns={[
        {
          header: "Session",
          className: "mono",
          cell: (i) =>
            i.purchaseId ? (
              <Link to={`/purchases/${i.purchaseId}`}>{i.checkoutSessionId}</Link>
            ) : (
              i.checkoutSessionId
            ),
        },
        { header: "Outcome", cell: (i) => <StatusBadge status={i.outcome} /> },
        {
          header: "User",
          cell: (i) =>
            i.user ? (
              <>
                <Link to={`/users/${encodeURIComponent(i.user.id)}`}>{i.user.email}</Link>
                <div className="muted small" data-testid="user-balance">
                  balance {formatCredits(i.user.balance)}
                </div>
              </>
            ) : i.userId ? (
              <span className="mono">{i.userId}</span>
            ) : (
              <None />
            ),
        },
        {
          header: "Amount",
          num: true,
          cell: (i) =>
            i.amountTotal !== null && i.currency ? formatMoney(i.amountTotal, i.currency) : "–",
        },
        { header: "Created", cell: (i) => <Time value={i.sessionCreatedAt} /> },
        {
          header: "Detail",
          className: "wrap",
          cell: (i) => (
            <>
              {i.detail ?? ""}
              {i.attention ? (
                <div>
                  <Link to={`/attention/${i.attention.id}`}>Attention item</Link>{" "}
                  <StatusBadge status={i.attention.status} />
                </div>
              ) : null}
            </>
          ),
        },
      ]}
    />
  );
}

import { Link } from "@remix-run/react";
import { humanize } from "~/shared/labels";
import { DataTable, type Column } from "./data-table";
import { formatCredits, formatMoney } from "./format";
import { StatusBadge } from "./status-badge";
import { Time } from "./time";

/** Purchases, on the purchases list (with the user) and on a user's page (with how it was matched). */
export interface PurchasesTableRow {
  id: string;
  createdAt: Date | string;
  checkoutSessionId: string;
  credits: number;
  amountTotal: number;
  amountRefunded: number;
  currency: string;
  status: string;
  creditedVia: string;
  packName?: string | null;
  userEmail?: string;
  userResolvedBy?: string;
}

export function PurchasesTable<R extends PurchasesTableRow>({
  rows,
  variant,
  canOpen,
  testId,
  caption,
}: {
  rows: readonly R[];
  variant: "list" | "user";
  canOpen: boolean;
  testId?: string;
  caption?: string;
}) {
  const list = variant === "list";
  const columns: (Column<R> | false)[] = [
    { header: list ? "Created" : "When", cell: (p) => <Time value={p.createdAt} /> },
    {
      header: "Checkout Session",
      className: "mono",
      cell: (p) =>
        canOpen ? (
          <Link to={`/purchases/${p.id}`}>{p.checkoutSessionId}</Link>
        ) : (
          p.checkoutSessionId
        ),
    },
    list && { header: "User", cell: (p) => p.userEmail },
    { header: "Pack", cell: (p) => p.packName ?? "–" },
    { header: "Credits", num: true, cell: (p) => formatCredits(p.credits) },
    {
      header: "Amount",
      num: true,
      cell: (p) => (
        <>
          {formatMoney(p.amountTotal, p.currency)}
          {p.amountRefunded > 0 ? (
            <div className="muted small">refunded {formatMoney(p.amountRefunded, p.currency)}</div>
          ) : null}
        </>
      ),
    },
    { header: "Status", cell: (p) => <StatusBadge status={p.status} /> },
    list
      ? { header: "Via", cell: (p) => humanize(p.creditedVia) }
      : {
          header: "Credited via",
          cell: (p) => (
            <>
              {humanize(p.creditedVia)}{" "}
              <span className="muted small">
                (user by {humanize(p.userResolvedBy ?? "").toLowerCase()})
              </span>
            </>
          ),
        },
  ];
  return (
    <DataTable
      rows={rows}
      columns={columns}
      rowKey={(p) => p.id}
      testId={testId}
      caption={caption}
    />
  );
}

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
  /** When Stripe took the money; `createdAt` is when creditdesk credited it. */
  paidAt?: Date | string;
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

/** Credited this long after payment or more: shown beside the paid time (reconciliation, late webhooks). */
const CREDITED_LATE_MS = 10 * 60_000;

function PaidCell({ row }: { row: PurchasesTableRow }) {
  const paid = row.paidAt ?? row.createdAt;
  const lag = new Date(row.createdAt).getTime() - new Date(paid).getTime();
  return (
    <>
      <Time value={paid} />
      {lag >= CREDITED_LATE_MS ? (
        <div className="muted small">
          credited <Time value={row.createdAt} />
        </div>
      ) : null}
    </>
  );
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
    { header: list ? "Paid" : "Paid", cell: (p) => <PaidCell row={p} /> },
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

import { DataTable, None } from "~/components/data-table";
import { formatCredits, formatMoney } from "~/components/format";
import { Time } from "~/components/time";
import { NEGATIVE_ROLL_LINES, rollLineLabels } from "~/shared/finance-close";

/** The month close's tables (dates arrive serialized, as strings). */

export interface SalesView {
  currency: string;
  pack: string | null;
  count: number;
  gross: number;
  refunds: number;
  disputesLost: number;
  net: number;
}

export function SalesTable({
  rows,
  testId,
  caption,
}: {
  rows: readonly SalesView[];
  testId: string;
  caption: string;
}) {
  return (
    <DataTable
      rows={rows}
      testId={testId}
      caption={caption}
      rowKey={(r) => `${r.currency}:${r.pack ?? ""}`}
      rowProps={(r) => ({ "data-currency": r.currency, "data-pack": r.pack ?? "" })}
      columns={[
        { header: "Currency", cell: (r) => r.currency.toUpperCase() },
        rows.some((r) => r.pack !== null) && { header: "Pack", cell: (r) => r.pack },
        { header: "Sales", num: true, cell: (r) => formatCredits(r.count) },
        { header: "Gross", num: true, cell: (r) => formatMoney(r.gross, r.currency) },
        { header: "Refunds", num: true, cell: (r) => formatMoney(-r.refunds, r.currency) },
        {
          header: "Disputes lost",
          num: true,
          cell: (r) => formatMoney(-r.disputesLost, r.currency),
        },
        { header: "Net", num: true, cell: (r) => formatMoney(r.net, r.currency) },
      ]}
    />
  );
}

export interface RefundView {
  id: string;
  createdAt: Date | string;
  purchaseId: string;
  checkoutSessionId: string;
  paidAt: Date | string;
  userEmail: string;
  amount: number;
  currency: string;
  creditsClawed: number;
}

export function RefundsTable({ rows }: { rows: readonly RefundView[] }) {
  return (
    <DataTable
      rows={rows}
      testId="close-refunds"
      caption="Refunds issued in the month"
      rowKey={(r) => r.id}
      columns={[
        { header: "Refunded", cell: (r) => <Time value={r.createdAt} /> },
        { header: "Refund", className: "mono", cell: (r) => r.id },
        {
          header: "Purchase (paid)",
          cell: (r) => (
            <>
              <a href={`/purchases/${r.purchaseId}`} className="mono">
                {r.checkoutSessionId}
              </a>{" "}
              <span className="muted small">
                <Time value={r.paidAt} format="date" />
              </span>
            </>
          ),
        },
        { header: "User", cell: (r) => r.userEmail },
        { header: "Amount", num: true, cell: (r) => formatMoney(r.amount, r.currency) },
        { header: "Credits clawed back", num: true, cell: (r) => formatCredits(r.creditsClawed) },
      ]}
    />
  );
}

export interface DisputeView {
  id: string;
  purchaseId: string;
  checkoutSessionId: string;
  amount: number;
  currency: string;
  reason: string | null;
  status: string;
  openedAt: Date | string;
  closedAt: Date | string | null;
  evidenceDueBy: Date | string | null;
  openedInMonth: boolean;
  closedInMonth: boolean;
}

export function DisputesTable({ rows }: { rows: readonly DisputeView[] }) {
  return (
    <DataTable
      rows={rows}
      testId="close-disputes"
      caption="Disputes opened or closed in the month"
      rowKey={(r) => r.id}
      rowProps={(r) => ({ "data-status": r.status })}
      columns={[
        { header: "Dispute", className: "mono", cell: (r) => r.id },
        {
          header: "Purchase",
          cell: (r) => (
            <a href={`/purchases/${r.purchaseId}`} className="mono">
              {r.checkoutSessionId}
            </a>
          ),
        },
        { header: "Amount", num: true, cell: (r) => formatMoney(r.amount, r.currency) },
        { header: "Reason", cell: (r) => r.reason ?? <None /> },
        {
          header: "In this month",
          cell: (r) =>
            [r.openedInMonth ? "opened" : null, r.closedInMonth ? r.status : null]
              .filter(Boolean)
              .join(", "),
        },
        { header: "Status", cell: (r) => r.status },
        { header: "Opened", cell: (r) => <Time value={r.openedAt} /> },
        { header: "Evidence due", cell: (r) => <Time value={r.evidenceDueBy} /> },
        { header: "Closed", cell: (r) => <Time value={r.closedAt} /> },
      ]}
    />
  );
}

export interface LateView {
  id: string;
  checkoutSessionId: string;
  paidAt: Date | string;
  creditedAt: Date | string;
  creditedVia: string;
  amountTotal: number;
  currency: string;
  credits: number;
}

export function LateCreditedTable({ rows }: { rows: readonly LateView[] }) {
  return (
    <DataTable
      rows={rows}
      testId="close-late"
      caption="Paid in the month, credited after it"
      rowKey={(r) => r.id}
      columns={[
        {
          header: "Purchase",
          cell: (r) => (
            <a href={`/purchases/${r.id}`} className="mono">
              {r.checkoutSessionId}
            </a>
          ),
        },
        { header: "Paid", cell: (r) => <Time value={r.paidAt} /> },
        { header: "Credited", cell: (r) => <Time value={r.creditedAt} /> },
        { header: "Via", cell: (r) => r.creditedVia },
        { header: "Amount", num: true, cell: (r) => formatMoney(r.amountTotal, r.currency) },
        { header: "Credits", num: true, cell: (r) => formatCredits(r.credits) },
      ]}
    />
  );
}

export interface RollView {
  opening: number;
  grantedPurchases: number;
  grantedSubscriptions: number;
  grantedManual: number;
  consumed: number;
  expired: number;
  clawedBack: number;
  adjustments: number;
  closing: number;
  balancesAtEnd: number;
}

/** The roll-forward's lines, signed as they move the balance. */
export function rollLines(r: RollView): { key: string; label: string; value: number }[] {
  return rollLineLabels.map(([key, label]) => ({
    key,
    label,
    value: NEGATIVE_ROLL_LINES.has(key) ? 0 - r[key] : r[key],
  }));
}

export function RollForwardTable({ current, previous }: { current: RollView; previous: RollView }) {
  const prev = new Map(rollLines(previous).map((l) => [l.key, l.value]));
  return (
    <DataTable
      rows={rollLines(current)}
      testId="close-rollforward"
      caption="Credits roll-forward"
      rowKey={(l) => l.key}
      rowProps={(l) => ({ "data-line": l.key })}
      columns={[
        { header: "Credits", cell: (l) => l.label },
        { header: "This month", num: true, cell: (l) => formatCredits(l.value) },
        { header: "Previous month", num: true, cell: (l) => formatCredits(prev.get(l.key) ?? 0) },
        {
          header: "Change",
          num: true,
          cell: (l) => formatCredits(l.value - (prev.get(l.key) ?? 0)),
        },
      ]}
    />
  );
}

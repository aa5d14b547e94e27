import { Link } from "@remix-run/react";
import { DataTable } from "~/components/data-table";
import { formatCredits, formatDelta, formatMoney } from "~/components/format";
import { StatusBadge } from "~/components/status-badge";
import { Time } from "~/components/time";
import type { PurchaseLine } from "~/presenters/purchase-detail.server";
import { humanize } from "~/shared/labels";

/** The purchase page's tables: its lines, ledger entries, refunds, disputes and Stripe events. */

export function LinesTable({
  lines,
  pack,
}: {
  lines: readonly PurchaseLine[];
  pack: { stripePriceId: string | null; name: string } | null;
}) {
  return (
    <DataTable
      rows={lines.map((l, i) => ({ ...l, key: `${l.priceId}-${i}` }))}
      rowKey={(l) => l.key}
      columns={[
        {
          header: "Price",
          className: "mono",
          cell: (l) => (
            <>
              {l.priceId}
              {pack && pack.stripePriceId === l.priceId ? (
                <div className="small">{pack.name}</div>
              ) : null}
            </>
          ),
        },
        { header: "Quantity", num: true, cell: (l) => l.quantity },
        { header: "Credits each", num: true, cell: (l) => formatCredits(l.creditsPerUnit) },
        { header: "Credits", num: true, cell: (l) => formatCredits(l.credits) },
        { header: "Amount", num: true, cell: (l) => formatMoney(l.amountTotal, l.currency) },
      ]}
    />
  );
}

interface Entry {
  id: string;
  createdAt: Date | string;
  kind: string;
  delta: number;
  balanceAfter: number;
  reason: string | null;
  stripeEventId: string | null;
}

export function EntriesTable({
  rows,
  canOpenEvents,
}: {
  rows: readonly Entry[];
  canOpenEvents: boolean;
}) {
  return (
    <DataTable
      rows={rows}
      rowKey={(e) => e.id}
      columns={[
        { header: "When", cell: (e) => <Time value={e.createdAt} /> },
        { header: "Kind", cell: (e) => humanize(e.kind) },
        {
          header: "Change",
          num: true,
          className: (e) => (e.delta < 0 ? "negative" : "positive"),
          cell: (e) => formatDelta(e.delta),
        },
        { header: "Balance after", num: true, cell: (e) => formatCredits(e.balanceAfter) },
        { header: "Reason", className: "reason", cell: (e) => e.reason ?? "–" },
        {
          header: "Event",
          className: "mono small",
          cell: (e) =>
            e.stripeEventId && canOpenEvents ? (
              <Link to={`/webhooks/events/${encodeURIComponent(e.stripeEventId)}`}>
                {e.stripeEventId}
              </Link>
            ) : (
              (e.stripeEventId ?? "–")
            ),
        },
      ]}
    />
  );
}

interface Refund {
  id: string;
  stripeCreated: Date | string;
  amount: number;
  currency: string;
  creditsClawed: number;
  unrecovered: number;
}

export function RefundsTable({ rows }: { rows: readonly Refund[] }) {
  return (
    <DataTable
      rows={rows}
      rowKey={(r) => r.id}
      columns={[
        { header: "Refund", className: "mono", cell: (r) => r.id },
        { header: "Created in Stripe", cell: (r) => <Time value={r.stripeCreated} /> },
        { header: "Amount", num: true, cell: (r) => formatMoney(r.amount, r.currency) },
        { header: "Credits clawed back", num: true, cell: (r) => formatCredits(r.creditsClawed) },
        { header: "Not recovered", num: true, cell: (r) => formatCredits(r.unrecovered) },
      ]}
    />
  );
}

interface Dispute {
  id: string;
  status: string;
  reason: string | null;
  amount: number;
  currency: string;
  creditsHeld: number;
  openedAt: Date | string;
  closedAt: Date | string | null;
}

export function DisputesTable({ rows }: { rows: readonly Dispute[] }) {
  return (
    <DataTable
      rows={rows}
      rowKey={(d) => d.id}
      columns={[
        { header: "Dispute", className: "mono", cell: (d) => d.id },
        { header: "Status", cell: (d) => <StatusBadge status={d.status} /> },
        { header: "Reason", cell: (d) => (d.reason ? humanize(d.reason) : "–") },
        { header: "Amount", num: true, cell: (d) => formatMoney(d.amount, d.currency) },
        { header: "Credits held", num: true, cell: (d) => formatCredits(d.creditsHeld) },
        { header: "Opened", cell: (d) => <Time value={d.openedAt} /> },
        { header: "Closed", cell: (d) => <Time value={d.closedAt} /> },
      ]}
    />
  );
}

import { Link } from "@remix-run/react";
import { humanize, kindLabel } from "~/shared/labels";
import { DataTable, None } from "./data-table";
import { formatCredits, formatDelta } from "./format";
import { Time } from "./time";

/** One entry of a user's statement (app/services/statements.server.ts), oldest first. */
export interface StatementTableRow {
  id: string;
  seq: number;
  createdAt: Date | string;
  kind: string;
  delta: number;
  balanceAfter: number;
  reason: string | null;
  purchaseId: string | null;
  /** How the entry moved credits across grants (grantId null: debt). */
  allocations: readonly { grantId: string | null; source: string | null; delta: number }[];
}

export function StatementTable({
  rows,
  canOpenPurchases,
}: {
  rows: readonly StatementTableRow[];
  canOpenPurchases: boolean;
}) {
  return (
    <DataTable
      rows={rows}
      rowKey={(e) => e.id}
      testId="statement-entries"
      caption="The period's ledger entries, oldest first, with the running balance"
      columns={[
        { header: "When", cell: (e) => <Time value={e.createdAt} /> },
        { header: "#", num: true, cell: (e) => e.seq },
        { header: "Kind", cell: (e) => kindLabel(e.kind) },
        {
          header: "Change",
          num: true,
          className: (e) => (e.delta < 0 ? "negative" : "positive"),
          cell: (e) => formatDelta(e.delta),
        },
        { header: "Balance", num: true, cell: (e) => formatCredits(e.balanceAfter) },
        { header: "Reason", className: "reason", cell: (e) => e.reason ?? <None /> },
        {
          header: "Grants",
          cell: (e) =>
            e.allocations.length === 0 ? (
              <None />
            ) : (
              <ul className="plain-list small" data-testid="allocations">
                {e.allocations.map((a, i) => (
                  <li key={`${a.grantId ?? "debt"}-${i}`}>
                    {a.grantId === null ? (
                      "debt"
                    ) : (
                      <>
                        <span className="mono">#{a.grantId}</span>{" "}
                        {a.source ? humanize(a.source).toLowerCase() : null}
                      </>
                    )}{" "}
                    {formatDelta(a.delta)}
                  </li>
                ))}
              </ul>
            ),
        },
        {
          header: "Purchase",
          cell: (e) =>
            e.purchaseId === null ? (
              <None />
            ) : canOpenPurchases ? (
              <Link to={`/purchases/${encodeURIComponent(e.purchaseId)}`}>purchase</Link>
            ) : (
              <span className="mono small">{e.purchaseId}</span>
            ),
        },
      ]}
    />
  );
}

/** Opening balance, the period's credits in and out, closing balance. */
export function StatementSummary({
  opening,
  closing,
  creditsIn,
  creditsOut,
  entries,
}: {
  opening: number;
  closing: number;
  creditsIn: number;
  creditsOut: number;
  entries: number;
}) {
  return (
    <div className="grid summary" data-testid="statement-summary">
      <div className="card stat">
        <div className="label">Opening balance</div>
        <div className="value" data-testid="statement-opening">
          {formatCredits(opening)}
        </div>
      </div>
      <div className="card stat">
        <div className="label">Credits in</div>
        <div className="value positive">{formatDelta(creditsIn)}</div>
      </div>
      <div className="card stat">
        <div className="label">Credits out</div>
        <div className="value negative">{formatDelta(-creditsOut)}</div>
      </div>
      <div className="card stat">
        <div className="label">Closing balance</div>
        <div className="value" data-testid="statement-closing">
          {formatCredits(closing)}
        </div>
        <div className="muted small">{formatCredits(entries)} entries in the period</div>
      </div>
    </div>
  );
}

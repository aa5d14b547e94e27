import { Link } from "@remix-run/react";
import { actorLabel, kindLabel, type LedgerActor } from "~/shared/labels";
import { DataTable, None, type Column } from "./data-table";
import { formatCredits, formatDelta } from "./format";
import { Time } from "./time";

/**
 * Ledger entries, for a user's page (with #seq and links to the purchase and Stripe event) and
 * for the ledger explorer (with the user). "By" is `actorLabel`, the same rule on both pages.
 */
export interface LedgerTableRow extends LedgerActor {
  id: string;
  createdAt: Date | string;
  seq: number;
  kind: string;
  delta: number;
  balanceAfter: number;
  reason: string | null;
  purchaseId: string | null;
  stripeEventId?: string | null;
  userId?: string;
  userEmail?: string;
  /** The entry this reversal undoes (its #seq), and the reversal that undid this one. */
  reversesSeq?: number | null;
  reversedBySeq?: number | null;
}

export function LedgerTable<R extends LedgerTableRow>({
  rows,
  variant,
  canOpenUsers = false,
  canOpenPurchases,
  eventLink,
  testId,
  caption,
  rowAction,
}: {
  rows: readonly R[];
  /** "user": one user's entries; "explorer": everyone's, with the user column. */
  variant: "user" | "explorer";
  canOpenUsers?: boolean;
  canOpenPurchases: boolean;
  /** How the user page links an entry's Stripe event (the explorer does not show it). */
  eventLink?: (stripeEventId: string) => React.ReactNode;
  testId: string;
  caption: string;
  /** A per-row action on the user page (e.g. "Reverse…" on a manual entry). */
  rowAction?: (row: R) => React.ReactNode;
}) {
  const user = variant === "user";
  const columns: (Column<R> | false)[] = [
    { header: "When", cell: (e) => <Time value={e.createdAt} /> },
    user && { header: "#", num: true, cell: (e) => e.seq },
    !user && {
      header: "User",
      cell: (e) => (
        <>
          {canOpenUsers && e.userId ? (
            <Link to={`/users/${encodeURIComponent(e.userId)}`}>{e.userEmail}</Link>
          ) : (
            e.userEmail
          )}
          <div className="muted small">#{e.seq}</div>
        </>
      ),
    },
    { header: "Kind", cell: (e) => kindLabel(e.kind) },
    {
      header: "Change",
      num: true,
      className: (e) => (e.delta < 0 ? "negative" : "positive"),
      cell: (e) => formatDelta(e.delta),
    },
    {
      header: user ? "Balance" : "Balance after",
      num: true,
      cell: (e) => formatCredits(e.balanceAfter),
    },
    {
      header: "Reason",
      className: "reason",
      cell: (e) => (
        <>
          {e.reason ?? <None />}
          {e.reversesSeq ? <div className="muted small">reverses #{e.reversesSeq}</div> : null}
          {e.reversedBySeq ? (
            <div className="small" data-testid="reversed-by">
              reversed by #{e.reversedBySeq}
            </div>
          ) : null}
        </>
      ),
    },
    { header: "By", cell: (e) => actorLabel(e) },
    user
      ? {
          header: "Links",
          className: "links",
          cell: (e) => (
            <>
              {e.purchaseId ? <PurchaseLink id={e.purchaseId} open={canOpenPurchases} /> : null}
              {e.stripeEventId ? eventLink?.(e.stripeEventId) : null}
              {rowAction?.(e)}
            </>
          ),
        }
      : {
          header: "Purchase",
          cell: (e) =>
            e.purchaseId ? (
              canOpenPurchases ? (
                <Link to={`/purchases/${e.purchaseId}`}>open</Link>
              ) : (
                <span className="mono small">{e.purchaseId}</span>
              )
            ) : (
              <None />
            ),
        },
  ];
  return (
    <DataTable
      rows={rows}
      columns={columns}
      rowKey={(e) => e.id}
      testId={testId}
      caption={caption}
    />
  );
}

function PurchaseLink({ id, open }: { id: string; open: boolean }) {
  return open ? <Link to={`/purchases/${id}`}>purchase</Link> : <span className="mono">{id}</span>;
}

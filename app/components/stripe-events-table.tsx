import { Link } from "@remix-run/react";
import { DataTable, None } from "./data-table";
import { StatusBadge } from "./status-badge";
import { Time } from "./time";

/** Stripe events (as stored in `stripe_events`), linking to the event page for those who may open it. */
export interface StripeEventsTableRow {
  id: string;
  receivedAt: Date | string;
  type: string;
  status: string;
  attempts: number;
  objectId: string | null;
  lastError: string | null;
}

export function StripeEventsTable<R extends StripeEventsTableRow>({
  rows,
  canOpen,
  testId,
}: {
  rows: readonly R[];
  canOpen: boolean;
  testId?: string;
}) {
  return (
    <DataTable
      rows={rows}
      rowKey={(ev) => ev.id}
      rowId={(ev) => `event-${ev.id}`}
      testId={testId}
      columns={[
        { header: "Received", cell: (ev) => <Time value={ev.receivedAt} /> },
        {
          header: "Event",
          className: "mono",
          cell: (ev) =>
            canOpen ? (
              <Link to={`/webhooks/events/${encodeURIComponent(ev.id)}`}>{ev.id}</Link>
            ) : (
              ev.id
            ),
        },
        { header: "Type", cell: (ev) => ev.type },
        {
          header: "Status",
          cell: (ev) => (
            <>
              <StatusBadge status={ev.status} />
              {ev.attempts > 1 ? (
                <span className="muted small"> ({ev.attempts} attempts)</span>
              ) : null}
            </>
          ),
        },
        { header: "Object", className: "mono", cell: (ev) => ev.objectId ?? "–" },
        { header: "Last error", cell: (ev) => ev.lastError ?? <None /> },
      ]}
    />
  );
}

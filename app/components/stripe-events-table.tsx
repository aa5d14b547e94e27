import { Link } from "@remix-run/react";
import { humanize } from "~/shared/labels";
import { DataTable, None } from "./data-table";
import { StatusBadge } from "./status-badge";
import { Time } from "./time";

/** Stripe events (as stored in `stripe_events`), linking to the event page for those who may open it. */
export interface StripeEventsTableRow {
  id: string;
  receivedAt: Date | string;
  type: string;
  status: string;
  attempts?: number;
  objectId?: string | null;
  /** How the event reached us (webhook, reconciliation); shown in the "purchase" variant. */
  source?: string;
  lastError: string | null;
}

export function StripeEventsTable<R extends StripeEventsTableRow>({
  rows,
  canOpen,
  testId,
  variant = "user",
}: {
  rows: readonly R[];
  canOpen: boolean;
  testId?: string;
  /** "user": with attempts and the object; "purchase": with the source. */
  variant?: "user" | "purchase";
}) {
  const user = variant === "user";
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
        !user && { header: "Source", cell: (ev) => humanize(ev.source ?? "") },
        {
          header: "Status",
          cell: (ev) => (
            <>
              <StatusBadge status={ev.status} />
              {(ev.attempts ?? 0) > 1 ? (
                <span className="muted small"> ({ev.attempts} attempts)</span>
              ) : null}
            </>
          ),
        },
        user && { header: "Object", className: "mono", cell: (ev) => ev.objectId ?? "–" },
        { header: "Last error", cell: (ev) => ev.lastError ?? (user ? <None /> : "–") },
      ]}
    />
  );
}

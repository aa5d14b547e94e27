import { Link } from "@remix-run/react";
import { DataTable, None } from "./data-table";
import { humanize } from "./format";
import { StatusBadge } from "./status-badge";
import { Time } from "./time";

/** One HTTP request to /webhooks/stripe (a `webhook_deliveries` row). */
export interface DeliveryTableRow {
  id: string;
  receivedAt: string | Date;
  outcome: string;
  eventId: string | null;
  eventType: string | null;
  eventStatus: string | null;
  signatureStatus: string;
  responseStatus: number;
  durationMs: number;
  error: string | null;
}

/**
 * Webhook deliveries, newest first. The webhooks page shows every column; an event's page leaves
 * out what the event already says (`ofEvent`: its id, type and signature).
 */
export function DeliveriesTable({
  rows,
  caption,
  ofEvent = false,
}: {
  rows: readonly DeliveryTableRow[];
  caption: string;
  ofEvent?: boolean;
}) {
  return (
    <DataTable
      rows={rows}
      rowKey={(d) => d.id}
      caption={caption}
      rowProps={
        ofEvent ? undefined : (d) => ({ "data-testid": "delivery-row", "data-outcome": d.outcome })
      }
      columns={[
        { header: "Received", cell: (d) => <Time value={d.receivedAt} /> },
        {
          header: "Outcome",
          cell: (d) => (
            <>
              <StatusBadge status={d.outcome} />
              {!ofEvent &&
              d.eventStatus &&
              d.eventStatus !== d.outcome &&
              d.outcome !== "duplicate" ? (
                <div className="muted small">now {humanize(d.eventStatus)}</div>
              ) : null}
            </>
          ),
        },
        !ofEvent && {
          header: "Event",
          className: "mono",
          cell: (d) =>
            d.eventId ? (
              <Link to={`/webhooks/events/${encodeURIComponent(d.eventId)}`}>{d.eventId}</Link>
            ) : (
              <span className="muted">not stored</span>
            ),
        },
        !ofEvent && { header: "Type", className: "mono", cell: (d) => d.eventType ?? <None /> },
        !ofEvent && { header: "Signature", cell: (d) => humanize(d.signatureStatus) },
        { header: "Response", num: true, cell: (d) => d.responseStatus },
        { header: "Time", num: true, cell: (d) => `${d.durationMs} ms` },
        { header: "Error", className: "wrap", cell: (d) => d.error ?? <None /> },
      ]}
    />
  );
}

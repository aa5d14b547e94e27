import type { PackSyncView } from "~/services/admin/packs-tiers.server";

function PriceList({ label, ids }: { label: string; ids: string[] }) {
  if (ids.length === 0) return null;
  return (
    <li>
      {label}: <span className="mono">{ids.join(", ")}</span>
    </li>
  );
}

/** What one sync from Stripe did, shown under the button after it ran. */
export function SyncReport({ report }: { report: PackSyncView }) {
  return (
    <div className="sync-report" role="status" data-testid="sync-report">
      <strong>Sync report:</strong> {report.pricesSeen} prices checked, {report.unchanged}{" "}
      unchanged.
      <ul>
        <PriceList label="New packs" ids={report.created} />
        <PriceList label="Updated" ids={report.updated} />
        <PriceList label="Deactivated" ids={report.deactivated} />
      </ul>
      {report.errors.length > 0 ? (
        <div className="alert warn">
          Prices that could not be mirrored:
          <ul>
            {report.errors.map((e) => (
              <li key={e.priceId}>
                <span className="mono">{e.priceId}</span>: {e.error}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
    </div>
  );
}

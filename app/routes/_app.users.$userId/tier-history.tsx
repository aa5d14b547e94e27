import { DataTable, None } from "~/components/data-table";
import { EmptyState } from "~/components/empty-state";
import { Time } from "~/components/time";
import { humanize, staffLabel } from "~/shared/labels";

interface TierChange {
  id: string;
  createdAt: Date | string;
  fromTier: string | null;
  toTier: string;
  source: string;
  reason: string | null;
  staff: { name: string | null; email: string } | null;
}

export function TierHistory({ rows, tierName }: { rows: readonly TierChange[]; tierName: string }) {
  return (
    <section aria-labelledby="tier-history-heading">
      <h2 id="tier-history-heading">Tier history</h2>
      {rows.length === 0 ? (
        <EmptyState title={`On ${tierName} since the account was created.`} />
      ) : (
        <DataTable
          rows={rows}
          rowKey={(t) => t.id}
          columns={[
            { header: "When", cell: (t) => <Time value={t.createdAt} /> },
            {
              header: "Change",
              cell: (t) => (
                <>
                  {t.fromTier ?? "–"} → <strong>{t.toTier}</strong>
                </>
              ),
            },
            { header: "Source", cell: (t) => humanize(t.source) },
            {
              header: "By",
              cell: (t) =>
                t.staff ? staffLabel(t.staff) : <span className="muted">automatic</span>,
            },
            { header: "Reason", cell: (t) => t.reason ?? <None /> },
          ]}
        />
      )}
    </section>
  );
}

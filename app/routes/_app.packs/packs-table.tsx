import { DataTable, None } from "~/components/data-table";
import { formatCredits, formatMoney } from "~/components/format";
import { Time } from "~/components/time";

interface PackRow {
  id: string;
  name: string;
  stripePriceId: string;
  credits: number;
  unitAmount: number;
  currency: string;
  priceType: string;
  grantsTier: string | null;
  creditsExpireDays: number | null;
  expiryProblem: string | null;
  creditsRollover: boolean;
  purchases: number;
  active: boolean;
  lastSyncedAt: string | Date | null;
}

/** The mirrored Stripe prices, active first; inactive ones greyed. */
export function PacksTable({ packs }: { packs: readonly PackRow[] }) {
  return (
    <DataTable
      rows={packs}
      rowKey={(p) => p.id}
      caption="Credit packs, active first"
      rowProps={(p) => ({
        className: p.active ? undefined : "inactive",
        "data-testid": "pack-row",
      })}
      columns={[
        { header: "Pack", cell: (p) => p.name },
        { header: "Stripe price", className: "mono", cell: (p) => p.stripePriceId },
        { header: "Credits", num: true, cell: (p) => formatCredits(p.credits) },
        { header: "Price", num: true, cell: (p) => formatMoney(p.unitAmount, p.currency) },
        {
          header: "Kind",
          cell: (p) => (p.priceType === "recurring" ? "Subscription" : "One-time"),
        },
        { header: "Grants tier", cell: (p) => p.grantsTier ?? <None /> },
        { header: "Credits expire", cell: (p) => <PackExpiry pack={p} /> },
        { header: "Purchases", num: true, cell: (p) => formatCredits(p.purchases) },
        {
          header: "Status",
          cell: (p) =>
            p.active ? (
              <span className="badge ok">Active</span>
            ) : (
              <span className="badge">Inactive</span>
            ),
        },
        { header: "Synced", cell: (p) => <Time value={p.lastSyncedAt} /> },
      ]}
    />
  );
}

/** metadata.credits_expire_days as the pack uses it; a bad value is flagged, never applied. */
function PackExpiry({ pack }: { pack: PackRow }) {
  if (pack.expiryProblem)
    return (
      <span className="badge warn" data-testid="pack-expiry-problem" title={pack.expiryProblem}>
        Never (bad metadata: {pack.expiryProblem})
      </span>
    );
  if (pack.priceType === "recurring")
    return <>{pack.creditsRollover ? "Roll over" : "At period end"}</>;
  if (pack.creditsExpireDays === null) return <>Never</>;
  return <>After {pack.creditsExpireDays} days</>;
}

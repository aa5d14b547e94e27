import { DataTable } from "~/components/data-table";
import { formatCredits } from "~/components/format";

interface TierRow {
  code: string;
  name: string;
  rank: number;
  isDefault: boolean;
  users: number;
  grantedBy: {
    packs: { id: string; name: string; active: boolean }[];
    subscriptions: { id: string; name: string; active: boolean }[];
  };
  subscriptionPrices: { priceId: string | null; active: number }[];
}

function GrantedBy({ t }: { t: TierRow }) {
  return (
    <ul className="plain-list">
      {t.isDefault ? <li>Everyone without a higher tier (default)</li> : null}
      {t.grantedBy.packs.map((p) => (
        <li key={p.id} className={p.active ? undefined : "muted"}>
          Buying “{p.name}”{p.active ? "" : " (inactive)"}
        </li>
      ))}
      {t.grantedBy.subscriptions.map((p) => (
        <li key={p.id} className={p.active ? undefined : "muted"}>
          Subscribing to “{p.name}”{p.active ? "" : " (inactive)"}
        </li>
      ))}
      {t.subscriptionPrices.map((s) => (
        <li key={s.priceId ?? "none"}>
          Subscription price <span className="mono">{s.priceId ?? "(unknown)"}</span>:{" "}
          {formatCredits(s.active)} active
        </li>
      ))}
      {!t.isDefault ? <li className="muted">A manual change by staff (with a reason)</li> : null}
    </ul>
  );
}

/** Tiers, lowest rank first, with how many users hold each and what grants it. */
export function TiersTable({ tiers }: { tiers: readonly TierRow[] }) {
  return (
    <DataTable
      rows={tiers}
      rowKey={(t) => t.code}
      caption="Tiers, lowest rank first, with what grants each"
      rowProps={() => ({ "data-testid": "tier-row" })}
      columns={[
        {
          header: "Tier",
          cell: (t) => (
            <>
              {t.name} <span className="mono muted">{t.code}</span>
            </>
          ),
        },
        { header: "Rank", num: true, cell: (t) => t.rank },
        { header: "Users", num: true, cell: (t) => formatCredits(t.users) },
        { header: "Granted by", cell: (t) => <GrantedBy t={t} /> },
      ]}
    />
  );
}

import { EmptyState } from "~/components/empty-state";
import { GrantsTable, type GrantsTableRow } from "~/components/grants-table";
import { formatCredits } from "~/components/format";

/** The user page's grants: which credits the balance is made of (docs/credits.md, "Grants"). */
export function GrantsSection({
  rows,
  total,
  canOpenPurchases,
}: {
  rows: readonly GrantsTableRow[];
  total: number;
  canOpenPurchases: boolean;
}) {
  return (
    <section aria-labelledby="grants-heading">
      <h2 id="grants-heading">Credit grants</h2>
      {rows.length === 0 ? (
        <EmptyState title="No grants.">
          Purchases, allowances and manual credits each become a grant.
        </EmptyState>
      ) : (
        <>
          <GrantsTable rows={rows} canOpenPurchases={canOpenPurchases} />
          {total > rows.length ? (
            <p className="muted small">
              Showing {rows.length} of {formatCredits(total)} grants: every spendable one first, in
              the order debits take them.
            </p>
          ) : null}
        </>
      )}
    </section>
  );
}

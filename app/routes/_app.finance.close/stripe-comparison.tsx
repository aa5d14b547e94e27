import { DataTable, None } from "~/components/data-table";
import { formatMoney } from "~/components/format";
import { humanize } from "~/shared/labels";

interface Difference {
  kind: string;
  id: string;
  problem: string;
  stripeAmount: number | null;
  ourAmount: number | null;
  currency: string;
  detail: string;
}

type Comparison =
  | {
      ok: true;
      month: string;
      sessions: { stripe: number; here: number };
      refunds: { stripe: number; here: number };
      differences: Difference[];
    }
  | { ok: false; month: string; error: string };

/** The "compare with Stripe" answer: counts, then every difference item by item. */
export function StripeComparisonView({ comparison: c }: { comparison: Comparison }) {
  if (!c.ok) {
    return (
      <div role="alert" className="alert error" data-testid="compare-error">
        {c.error}
      </div>
    );
  }
  return (
    <section aria-labelledby="compare-heading" data-testid="compare-result">
      <h2 id="compare-heading">Compared with Stripe</h2>
      <p>
        Paid Checkout Sessions: {c.sessions.stripe} in Stripe, {c.sessions.here} here. Refunds:{" "}
        {c.refunds.stripe} in Stripe, {c.refunds.here} here.{" "}
        {c.differences.length === 0
          ? "No differences."
          : `${c.differences.length} difference${c.differences.length === 1 ? "" : "s"}:`}
      </p>
      {c.differences.length > 0 ? (
        <DataTable
          rows={c.differences}
          testId="compare-differences"
          caption="Differences with Stripe"
          rowKey={(d) => `${d.kind}:${d.id}`}
          rowProps={(d) => ({ "data-problem": d.problem, "data-id": d.id })}
          columns={[
            { header: "What", cell: (d) => humanize(d.kind) },
            { header: "Stripe id", className: "mono", cell: (d) => d.id },
            { header: "Difference", cell: (d) => humanize(d.problem) },
            {
              header: "Stripe",
              num: true,
              cell: (d) =>
                d.stripeAmount === null ? <None /> : formatMoney(d.stripeAmount, d.currency),
            },
            {
              header: "Here",
              num: true,
              cell: (d) => (d.ourAmount === null ? <None /> : formatMoney(d.ourAmount, d.currency)),
            },
            { header: "Detail", cell: (d) => d.detail },
          ]}
        />
      ) : null}
    </section>
  );
}

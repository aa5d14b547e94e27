import { formatCredits, formatMoney } from "~/components/format";

interface Totals {
  currency: string;
  purchases: number;
  amountTotal: number;
  amountRefunded: number;
  credits: number;
}

/** One row per currency over every matching purchase (a visible caption, row headers). */
export function TotalsTable({ totals }: { totals: readonly Totals[] }) {
  return (
    <div className="table-wrap">
      <table data-testid="purchase-totals">
        <caption>Totals for all matching purchases</caption>
        <thead>
          <tr>
            <th scope="col">Currency</th>
            {["Purchases", "Gross", "Refunded", "Net", "Credits"].map((h) => (
              <th key={h} scope="col" className="num">
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {totals.map((t) => (
            <tr key={t.currency}>
              <th scope="row">{t.currency.toUpperCase()}</th>
              <td className="num">{formatCredits(t.purchases)}</td>
              <td className="num">{formatMoney(t.amountTotal, t.currency)}</td>
              <td className="num">{formatMoney(t.amountRefunded, t.currency)}</td>
              <td className="num">{formatMoney(t.amountTotal - t.amountRefunded, t.currency)}</td>
              <td className="num">{formatCredits(t.credits)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

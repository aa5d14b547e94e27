import { lazy, Suspense, useEffect, useState, type ReactNode } from "react";
import { formatCredits, formatMoney, toMajor } from "./format";

const Drawings = {
  Revenue: lazy(() =>
    import("./charts-drawing.client").then((m) => ({ default: m.RevenueDrawing })),
  ),
  Credits: lazy(() =>
    import("./charts-drawing.client").then((m) => ({ default: m.CreditsDrawing })),
  ),
  Webhook: lazy(() =>
    import("./charts-drawing.client").then((m) => ({ default: m.WebhookDrawing })),
  ),
};

/**
 * Charts render in the browser only: recharts measures the DOM, so the server (and the first
 * client render, for hydration) draws a same-sized "loading" box, and recharts itself is loaded
 * after mount (charts-drawing.client.tsx, which the server build leaves empty). Each chart also offers its numbers
 * as a table for screen readers and for anyone who wants exact values.
 */

const HEIGHT = 260;

function useMounted() {
  const [mounted, setMounted] = useState(false);
  useEffect(() => setMounted(true), []);
  return mounted;
}

function ChartLoading() {
  return <div className="chart-loading">Loading chart…</div>;
}

function ChartFrame({
  title,
  children,
  table,
}: {
  title: string;
  children: ReactNode;
  table: ReactNode;
}) {
  const mounted = useMounted();
  const [showTable, setShowTable] = useState(false);
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <div className="chart-area" style={{ height: HEIGHT }} aria-hidden="true">
        {mounted ? <Suspense fallback={<ChartLoading />}>{children}</Suspense> : <ChartLoading />}
      </div>
      {/* The table is rendered when opened: a 90-day range would otherwise add 180 hidden rows. */}
      <details className="chart-table" onToggle={(e) => setShowTable(e.currentTarget.open)}>
        <summary>Show the numbers</summary>
        {showTable ? <div className="table-wrap">{table}</div> : null}
      </details>
    </figure>
  );
}

const shortHour = (iso: string) => `${iso.slice(11, 13)}:00`;

export function RevenueChart({
  data,
  currencies,
}: {
  data: ({ day: string } & Record<string, number | string>)[];
  currencies: string[];
}) {
  const points = data.map((d) => {
    const p: Record<string, number | string> = { day: d.day };
    for (const c of currencies) p[c] = toMajor(Number(d[c] ?? 0), c);
    return p;
  });
  return (
    <ChartFrame
      title="Revenue per day (UTC days, major units per currency)"
      table={
        <table>
          <thead>
            <tr>
              <th scope="col">Day</th>
              {currencies.map((c) => (
                <th key={c} scope="col" className="num">
                  {c.toUpperCase()}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {data.map((d) => (
              <tr key={d.day}>
                <td>{d.day}</td>
                {currencies.map((c) => (
                  <td key={c} className="num">
                    {formatMoney(Number(d[c] ?? 0), c)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      }
    >
      <Drawings.Revenue points={points} currencies={currencies} />
    </ChartFrame>
  );
}

export function CreditsChart({
  data,
}: {
  data: { day: string; issued: number; consumed: number }[];
}) {
  return (
    <ChartFrame
      title="Credits issued vs consumed per day"
      table={
        <table>
          <thead>
            <tr>
              <th scope="col">Day</th>
              <th scope="col" className="num">
                Issued
              </th>
              <th scope="col" className="num">
                Consumed
              </th>
            </tr>
          </thead>
          <tbody>
            {data.map((d) => (
              <tr key={d.day}>
                <td>{d.day}</td>
                <td className="num">{formatCredits(d.issued)}</td>
                <td className="num">{formatCredits(d.consumed)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      }
    >
      <Drawings.Credits data={data} />
    </ChartFrame>
  );
}

export function WebhookChart({
  data,
  outcomes,
}: {
  data: ({ hour: string } & Record<string, number | string>)[];
  outcomes: string[];
}) {
  return (
    <ChartFrame
      title="Webhook deliveries per hour by outcome (last 24 hours, UTC)"
      table={
        <table>
          <thead>
            <tr>
              <th scope="col">Hour (UTC)</th>
              {outcomes.map((o) => (
                <th key={o} scope="col" className="num">
                  {o}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {data.map((d) => (
              <tr key={d.hour}>
                <td>{`${d.hour.slice(0, 10)} ${shortHour(d.hour)}`}</td>
                {outcomes.map((o) => (
                  <td key={o} className="num">
                    {formatCredits(Number(d[o] ?? 0))}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      }
    >
      <Drawings.Webhook data={data} outcomes={outcomes} />
    </ChartFrame>
  );
}

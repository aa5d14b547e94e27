import { useEffect, useState, type ReactNode } from "react";
import {
  Bar,
  BarChart,
  CartesianGrid,
  Legend,
  Line,
  LineChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";
import { currencyDigits, formatCredits, formatMoney, toMajor } from "./format";

/**
 * Charts render in the browser only: recharts measures the DOM, so the server (and the first
 * client render, for hydration) draws a same-sized "loading" box. Each chart also offers its numbers
 * as a table for screen readers and for anyone who wants exact values.
 */

const HEIGHT = 260;
const PALETTE = [
  "#2952cc",
  "#067647",
  "#b42318",
  "#9a6700",
  "#7a2ecc",
  "#0e7490",
  "#be185d",
  "#4b5563",
];

function useMounted() {
  const [mounted, setMounted] = useState(false);
  useEffect(() => setMounted(true), []);
  return mounted;
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
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <div className="chart-area" style={{ height: HEIGHT }} aria-hidden="true">
        {mounted ? (
          <ResponsiveContainer width="100%" height={HEIGHT}>
            {children as React.ReactElement}
          </ResponsiveContainer>
        ) : (
          <div className="chart-loading">Loading chart…</div>
        )}
      </div>
      <details className="chart-table">
        <summary>Show the numbers</summary>
        <div className="table-wrap">{table}</div>
      </details>
    </figure>
  );
}

const shortDay = (day: string) => day.slice(5);
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
      <LineChart data={points} margin={{ top: 8, right: 16, bottom: 0, left: 0 }}>
        <CartesianGrid strokeDasharray="3 3" />
        <XAxis dataKey="day" tickFormatter={shortDay} minTickGap={16} />
        <YAxis width={64} />
        <Tooltip
          formatter={(value, name) => {
            const currency = String(name);
            return [
              formatMoney(Math.round(Number(value) * 10 ** currencyDigits(currency)), currency),
              currency.toUpperCase(),
            ];
          }}
        />
        <Legend />
        {currencies.map((c, i) => (
          <Line
            key={c}
            type="monotone"
            dataKey={c}
            name={c}
            stroke={PALETTE[i % PALETTE.length]}
            dot={false}
            isAnimationActive={false}
          />
        ))}
      </LineChart>
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
      <BarChart data={data} margin={{ top: 8, right: 16, bottom: 0, left: 0 }}>
        <CartesianGrid strokeDasharray="3 3" />
        <XAxis dataKey="day" tickFormatter={shortDay} minTickGap={16} />
        <YAxis width={64} tickFormatter={(v: number) => formatCredits(v)} />
        <Tooltip formatter={(value) => formatCredits(Number(value))} />
        <Legend />
        <Bar dataKey="issued" name="Issued" fill={PALETTE[0]} isAnimationActive={false} />
        <Bar dataKey="consumed" name="Consumed" fill={PALETTE[3]} isAnimationActive={false} />
      </BarChart>
    </ChartFrame>
  );
}

const OUTCOME_COLORS: Record<string, string> = {
  processed: "#067647",
  duplicate: "#4b5563",
  ignored: "#9ca3af",
  needs_attention: "#9a6700",
  failed: "#b42318",
  invalid_signature: "#be185d",
  stale: "#7a2ecc",
  livemode_mismatch: "#0e7490",
};

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
      <BarChart data={data} margin={{ top: 8, right: 16, bottom: 0, left: 0 }}>
        <CartesianGrid strokeDasharray="3 3" />
        <XAxis dataKey="hour" tickFormatter={shortHour} minTickGap={12} />
        <YAxis width={48} allowDecimals={false} />
        <Tooltip
          labelFormatter={(label) =>
            `${String(label).slice(0, 10)} ${shortHour(String(label))} UTC`
          }
        />
        <Legend />
        {outcomes.map((o, i) => (
          <Bar
            key={o}
            dataKey={o}
            stackId="deliveries"
            fill={OUTCOME_COLORS[o] ?? PALETTE[i % PALETTE.length]}
            isAnimationActive={false}
          />
        ))}
      </BarChart>
    </ChartFrame>
  );
}

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
import { currencyDigits, formatCredits, formatMoney } from "./format";

/**
 * The recharts drawings behind charts.tsx, loaded with a dynamic import after mount. As a
 * `.client` module the server build leaves it empty, so the server (which never draws charts)
 * does not load recharts at all, and pages without charts do not download it.
 */

export const CHART_HEIGHT = 260;
export const PALETTE = [
  "#2952cc",
  "#067647",
  "#b42318",
  "#9a6700",
  "#7a2ecc",
  "#0e7490",
  "#be185d",
  "#4b5563",
];

const shortDay = (day: string) => day.slice(5);
export const shortHour = (iso: string) => `${iso.slice(11, 13)}:00`;

const OUTCOME_COLORS: Record<string, string> = {
  accepted: "#067647",
  processed: "#15803d",
  duplicate: "#4b5563",
  ignored: "#9ca3af",
  needs_attention: "#9a6700",
  failed: "#b42318",
  invalid_signature: "#be185d",
  stale: "#7a2ecc",
  livemode_mismatch: "#0e7490",
};

export function RevenueDrawing({
  points,
  currencies,
}: {
  points: Record<string, number | string>[];
  currencies: string[];
}) {
  return (
    <ResponsiveContainer width="100%" height={CHART_HEIGHT}>
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
    </ResponsiveContainer>
  );
}

export function CreditsDrawing({
  data,
}: {
  data: { day: string; issued: number; consumed: number }[];
}) {
  return (
    <ResponsiveContainer width="100%" height={CHART_HEIGHT}>
      <BarChart data={data} margin={{ top: 8, right: 16, bottom: 0, left: 0 }}>
        <CartesianGrid strokeDasharray="3 3" />
        <XAxis dataKey="day" tickFormatter={shortDay} minTickGap={16} />
        <YAxis width={64} tickFormatter={(v: number) => formatCredits(v)} />
        <Tooltip formatter={(value) => formatCredits(Number(value))} />
        <Legend />
        <Bar dataKey="issued" name="Issued" fill={PALETTE[0]} isAnimationActive={false} />
        <Bar dataKey="consumed" name="Consumed" fill={PALETTE[3]} isAnimationActive={false} />
      </BarChart>
    </ResponsiveContainer>
  );
}

export function WebhookDrawing({
  data,
  outcomes,
}: {
  data: ({ hour: string } & Record<string, number | string>)[];
  outcomes: string[];
}) {
  return (
    <ResponsiveContainer width="100%" height={CHART_HEIGHT}>
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
    </ResponsiveContainer>
  );
}

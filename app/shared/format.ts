/**
 * The one formatter of money ("$14.99"), credits ("1,500") and times for every page and message.
 * Number, money and date formatting shared by server and client. The locale is fixed (en-US) so the
 * server's HTML and the browser's first render agree (no hydration mismatch); times are shown in
 * the viewer's zone by <Time>, which formats after mount.
 */

const LOCALE = "en-US";

const integer = new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 0 });
const moneyFormats = new Map<string, Intl.NumberFormat>();

function moneyFormat(currency: string): Intl.NumberFormat {
  const code = currency.toUpperCase();
  let f = moneyFormats.get(code);
  if (!f) {
    try {
      f = new Intl.NumberFormat(LOCALE, { style: "currency", currency: code });
    } catch {
      // Not an ISO 4217 code (should not happen with Stripe data): show the code beside the number.
      f = new Intl.NumberFormat(LOCALE, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    }
    moneyFormats.set(code, f);
  }
  return f;
}

/** Digits after the decimal point for a currency (2 for usd/eur, 0 for jpy, 3 for kwd). */
export function currencyDigits(currency: string): number {
  return moneyFormat(currency).resolvedOptions().maximumFractionDigits ?? 2;
}

/** Integer minor units → major units, for display and charts only (never stored). */
export function toMajor(minor: number, currency: string): number {
  return minor / 10 ** currencyDigits(currency);
}

/** 123456 usd → "$1,234.56"; amounts are always integers in minor units. */
export function formatMoney(minor: number, currency: string): string {
  const f = moneyFormat(currency);
  const text = f.format(toMajor(minor, currency));
  return f.resolvedOptions().style === "currency" ? text : `${text} ${currency.toUpperCase()}`;
}

export function formatCredits(n: number): string {
  return integer.format(n);
}

/** "+500" / "−200" for ledger deltas (a real minus sign reads better than a hyphen). */
export function formatDelta(n: number): string {
  return n > 0 ? `+${integer.format(n)}` : n < 0 ? `−${integer.format(-n)}` : "0";
}

export function formatPercent(ratio: number | null): string {
  if (ratio === null || !Number.isFinite(ratio)) return "–";
  return `${(ratio * 100).toFixed(ratio < 0.1 ? 1 : 0)}%`;
}

export function toIso(value: Date | string): string {
  return typeof value === "string" ? new Date(value).toISOString() : value.toISOString();
}

/** "2026-11-22 08:12 UTC": the server's rendering, and the hover text everywhere. */
export function formatUtc(value: Date | string): string {
  const iso = toIso(value);
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

// One label rule for codes: ./labels.
export { humanize } from "./labels";

/** "3 minutes ago", "2 days ago": for warnings computed in the browser when a dialog opens. */
export function formatAgo(value: Date | string, now: Date = new Date()): string {
  const seconds = Math.max(0, Math.round((now.getTime() - new Date(value).getTime()) / 1000));
  const units: [number, string][] = [
    [86_400, "day"],
    [3_600, "hour"],
    [60, "minute"],
  ];
  for (const [size, unit] of units) {
    if (seconds >= size) {
      const n = Math.floor(seconds / size);
      return `${n} ${unit}${n === 1 ? "" : "s"} ago`;
    }
  }
  return "just now";
}

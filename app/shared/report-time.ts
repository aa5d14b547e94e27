/**
 * The report time zone's calendar (REPORT_TZ, an IANA zone such as Europe/Berlin): which day and
 * month an instant falls in, and the instants where a day or month starts. Every finance figure,
 * filter, chart and export cuts days and months here, so "November" is one set of purchases on
 * every page. Client-safe (Intl only): the browser's previews use the same rules.
 */

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const MONTH = /^\d{4}-\d{2}$/;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formatters.set(zone, f);
  }
  return f;
}

/** True when `zone` is a time zone this runtime knows (REPORT_TZ's validation). */
export function isTimeZone(zone: string): boolean {
  try {
    formatter(zone);
    return true;
  } catch {
    return false;
  }
}

interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function wallClock(ms: number, zone: string): WallClock {
  const parts: Record<string, number> = {};
  for (const p of formatter(zone).formatToParts(new Date(ms)))
    if (p.type !== "literal") parts[p.type] = Number(p.value);
  return {
    year: parts.year,
    month: parts.month,
    day: parts.day,
    hour: parts.hour,
    minute: parts.minute,
    second: parts.second,
  };
}

/** The zone's offset from UTC at instant `ms`, in milliseconds (UTC+2 → 7,200,000). */
export function zoneOffsetMs(ms: number, zone: string): number {
  const w = wallClock(ms, zone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** The calendar day (YYYY-MM-DD) of an instant in the zone. */
export function zonedDay(at: Date | number, zone: string): string {
  // The usual zone skips Intl (every ledger write names its rollup day).
  if (zone === "UTC") return new Date(at).toISOString().slice(0, 10);
  const w = wallClock(typeof at === "number" ? at : at.getTime(), zone);
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}`;
}

/** The month (YYYY-MM) of an instant in the zone. */
export function zonedMonth(at: Date | number, zone: string): string {
  return zonedDay(at, zone).slice(0, 7);
}

/** The first instant of a local wall-clock midnight (a day that starts in a DST gap starts at the gap's end). */
function localMidnight(year: number, month: number, day: number, zone: string): Date {
  const guess = Date.UTC(year, month - 1, day);
  // Two passes settle the offset, also across a DST change on that day.
  let t = guess - zoneOffsetMs(guess, zone);
  t = guess - zoneOffsetMs(t, zone);
  return new Date(t);
}

/** The first instant of a day (YYYY-MM-DD) in the zone. */
export function zonedDayStart(day: string, zone: string): Date {
  if (!DAY.test(day)) throw new Error(`not a day: ${day}`);
  const [y, m, d] = day.split("-").map(Number);
  return localMidnight(y, m, d, zone);
}

/** The first instant after a day in the zone: days are `[zonedDayStart, zonedDayAfter)`. */
export function zonedDayAfter(day: string, zone: string): Date {
  const [y, m, d] = day.split("-").map(Number);
  const next = new Date(Date.UTC(y, m - 1, d + 1));
  return localMidnight(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate(), zone);
}

/** A month's instants in the zone: `[start, end)`. */
export function monthRange(month: string, zone: string): { start: Date; end: Date } {
  if (!MONTH.test(month)) throw new Error(`not a month: ${month}`);
  const [y, m] = month.split("-").map(Number);
  return { start: localMidnight(y, m, 1, zone), end: localMidnight(y, m + 1, 1, zone) };
}

/** The month before / after (YYYY-MM). */
export function shiftMonth(month: string, by: number): string {
  const [y, m] = month.split("-").map(Number);
  const d = new Date(Date.UTC(y, m - 1 + by, 1));
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}`;
}

/** Every day (YYYY-MM-DD) of a month. */
export function daysOfMonth(month: string): string[] {
  const [y, m] = month.split("-").map(Number);
  const n = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return Array.from({ length: n }, (_, i) => `${month}-${pad(i + 1)}`);
}

/** "Europe/Berlin" → "europe-berlin", "UTC" → "utc": for file names. */
export function zoneSlug(zone: string): string {
  return zone
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
}

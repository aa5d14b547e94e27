import { useEffect, useState } from "react";
import { formatUtc, toIso } from "./format";

const localFormats = {
  datetime: { dateStyle: "medium", timeStyle: "short" },
  date: { dateStyle: "medium" },
} as const satisfies Record<string, Intl.DateTimeFormatOptions>;

/**
 * A point in time, shown in the viewer's time zone with the UTC time on hover. The server does not
 * know the viewer's zone, so it renders UTC; the browser's first render does the same (so hydration
 * matches) and switches to local time after mount.
 */
export function Time({
  value,
  format = "datetime",
}: {
  value: Date | string | null | undefined;
  format?: keyof typeof localFormats;
}) {
  const iso = value ? toIso(value) : null;
  const [local, setLocal] = useState<string | null>(null);
  useEffect(() => {
    if (iso)
      setLocal(new Intl.DateTimeFormat(undefined, localFormats[format]).format(new Date(iso)));
  }, [iso, format]);
  if (!iso) return <span className="muted">–</span>;
  const utc = formatUtc(iso);
  return (
    <time dateTime={iso} title={utc}>
      {local ?? (format === "date" ? iso.slice(0, 10) : utc)}
    </time>
  );
}

/** One line saying which zone the times are in (known only in the browser). */
export function TimeZoneNote() {
  const [zone, setZone] = useState<string | null>(null);
  useEffect(() => setZone(Intl.DateTimeFormat().resolvedOptions().timeZone), []);
  return (
    <p className="tz-note muted">
      {zone ? `Times are in your time zone (${zone}); hover a time for UTC.` : "Times are in UTC."}
    </p>
  );
}

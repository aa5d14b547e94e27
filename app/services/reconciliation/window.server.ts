import { getDb } from "../infra/db.server";
import { ValidationError } from "../errors.server";

/**
 * Which Checkout Sessions a run looks at, by their `created` time.
 *
 * Automatic window: from the last completed run's high-water mark minus the overlap (a session is
 * listed by its creation time but may complete later, so the overlap looks again at the newest
 * ones) to now; with no completed run, RECONCILE_LOOKBACK_DAYS back.
 *
 * Resume: when a run after that ended partial or failed, it recorded a checkpoint — everything
 * from the checkpoint to its window's end was processed (by it, or by the run it resumed). The
 * next run skips that stretch (minus the overlap at its newer end) and lists two segments instead.
 *
 * Explicit since/until: exactly that window, no resume, and completing it does not move the
 * high-water mark (an ad-hoc look at March must not make tonight's run start in March).
 */

export interface WindowSegment {
  since: Date;
  until: Date;
}

export interface RunWindow {
  since: Date;
  until: Date;
  /** Newest first, the order sessions are listed in. */
  segments: WindowSegment[];
  /** Only automatic windows set the high-water mark when they complete. */
  automatic: boolean;
  resumedFromRunId: string | null;
}

export interface WindowInput {
  now: Date;
  since?: Date;
  until?: Date;
  lookbackDays: number;
  overlapMinutes: number;
}

const DAY_MS = 24 * 3600 * 1000;

/**
 * Parse a window bound from the CLI or a form: a date (`2026-11-01`, UTC midnight) or a date-time
 * with seconds optional; without an offset it is read as UTC. Returns null when it is not one.
 */
export function parseWindowBound(text: string): Date | null {
  const match =
    /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2})(:\d{2}(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i.exec(
      text.trim(),
    );
  if (!match) return null;
  const [, date, hm, sec, zone] = match;
  const iso = hm ? `${date}T${hm}${sec ?? ":00"}${zone ?? "Z"}` : `${date}T00:00:00Z`;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return null;
  // Date.parse rolls 2026-02-31 over to March; a real calendar date round-trips.
  const back = new Date(Date.parse(`${date}T00:00:00Z`)).toISOString().slice(0, 10);
  return back === date ? new Date(ms) : null;
}

export async function planRunWindow(input: WindowInput): Promise<RunWindow> {
  const { now } = input;
  const overlapMs = input.overlapMinutes * 60_000;
  if (input.since || input.until) {
    const until = input.until ?? now;
    const since = input.since ?? (await automaticSince(now, input.lookbackDays, overlapMs)).since;
    if (since.getTime() >= until.getTime()) {
      throw new ValidationError(
        `since (${since.toISOString()}) must be before until (${until.toISOString()}).`,
        "since",
      );
    }
    return { since, until, segments: [{ since, until }], automatic: false, resumedFromRunId: null };
  }

  const base = await automaticSince(now, input.lookbackDays, overlapMs);
  const single: RunWindow = {
    since: base.since,
    until: now,
    segments: [{ since: base.since, until: now }],
    automatic: true,
    resumedFromRunId: null,
  };
  const previous = await getDb().reconciliationRun.findFirst({
    where: {
      dryRun: false,
      status: { in: ["partial", "failed"] },
      checkpoint: { not: null },
      ...(base.lastCompletedStartedAt ? { startedAt: { gt: base.lastCompletedStartedAt } } : {}),
    },
    orderBy: { startedAt: "desc" },
    select: { id: true, checkpoint: true, windowUntil: true },
  });
  if (!previous?.checkpoint) return single;
  // (skipFrom, skipTo) was processed; the newest part of it is looked at again (the overlap).
  const skipFrom = previous.checkpoint.getTime();
  const skipTo = previous.windowUntil.getTime() - overlapMs;
  const sinceMs = base.since.getTime();
  const nowMs = now.getTime();
  if (skipTo <= skipFrom || skipTo <= sinceMs || skipFrom >= nowMs) return single;
  const segments: WindowSegment[] = [];
  if (skipTo < nowMs) segments.push({ since: new Date(Math.max(skipTo, sinceMs)), until: now });
  if (skipFrom > sinceMs)
    segments.push({ since: base.since, until: new Date(Math.min(skipFrom, nowMs)) });
  return { ...single, segments, resumedFromRunId: previous.id };
}

async function automaticSince(now: Date, lookbackDays: number, overlapMs: number) {
  const last = await lastCompletedAutomaticRun();
  if (!last?.highWaterMark) {
    return { since: new Date(now.getTime() - lookbackDays * DAY_MS), lastCompletedStartedAt: null };
  }
  return {
    since: new Date(last.highWaterMark.getTime() - overlapMs),
    lastCompletedStartedAt: last.startedAt,
  };
}

/** The last run that completed an automatic window (the one whose high-water mark counts). */
export function lastCompletedAutomaticRun() {
  return getDb().reconciliationRun.findFirst({
    where: { status: "completed", dryRun: false, highWaterMark: { not: null } },
    orderBy: { highWaterMark: "desc" },
    select: { id: true, highWaterMark: true, startedAt: true, finishedAt: true },
  });
}

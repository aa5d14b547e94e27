import { z } from "zod";

/**
 * The date-range rule of every dashboard filter, defined once for the loaders and the browser's
 * forms: days are calendar days in UTC (YYYY-MM-DD, as a date input sends them), a range is
 * inclusive of both ends, and "To" must not be before "From". Client-safe: imports only zod.
 */

export const DATE_RANGE_ERROR = "The end date must not be before the start date.";

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const MIN_DAY = "1970-01-01";
const MAX_DAY = "9999-12-31";

const blankToUndefined = (v: unknown) => (typeof v === "string" && v.trim() === "" ? undefined : v);

/** True when `s` is a day that exists (Date.parse accepts 2026-02-30 as 2 March; the round trip does not). */
export function isRealDay(s: string): boolean {
  if (!DAY.test(s)) return false;
  const day = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(day.getTime()) && day.toISOString().slice(0, 10) === s;
}

/** A calendar day (YYYY-MM-DD, UTC) from a date input; blank means "not given". */
export const optionalDay = (label: string) =>
  z.preprocess(
    blankToUndefined,
    z
      .string()
      .regex(DAY, { error: `${label} must be a date (YYYY-MM-DD).` })
      .refine(isRealDay, { error: `${label} is not a real date.` })
      // A year 0000 is no Postgres date (500 in the query); nothing here predates 1970.
      .refine((s) => s >= MIN_DAY && s <= MAX_DAY, {
        error: `${label} must be between ${MIN_DAY} and ${MAX_DAY}.`,
      })
      .optional(),
  );

export interface DateRange {
  from?: string | undefined;
  to?: string | undefined;
}

/** The rule itself: an open end is always in order; YYYY-MM-DD strings compare as days. */
export function isDateRangeOrdered(range: DateRange): boolean {
  return !range.from || !range.to || range.from <= range.to;
}

/** The `from`/`to` fields of a filter schema, labelled as the forms show them. */
export const dateRangeFields = () => ({ from: optionalDay("From"), to: optionalDay("To") });

/** Where the rule's message goes: beside "To". Use as `.refine(isDateRangeOrdered, DATE_RANGE_ISSUE)`. */
export const DATE_RANGE_ISSUE = { path: ["to"], error: DATE_RANGE_ERROR };

/** Add the rule to an object schema that has `from` and `to`. */
export function refineDateRange<S extends z.ZodType<DateRange>>(schema: S): S {
  return schema.refine(isDateRangeOrdered, DATE_RANGE_ISSUE) as S;
}

/** The first instant of a day (UTC). */
export function dayStart(day: string): Date {
  return new Date(`${day}T00:00:00.000Z`);
}

/** The first instant after a day (UTC): ranges are `[dayStart(from), dayAfter(to))`. */
export function dayAfter(day: string): Date {
  return new Date(dayStart(day).getTime() + 24 * 60 * 60 * 1000);
}

import { z } from "zod";

/**
 * Field schemas the dashboard's forms share between the browser (a confirm dialog's preview) and
 * the server (the action that decides). Client-safe: imports only zod. Empty inputs arrive as ""
 * and mean "not given".
 */

export const blankToUndefined = (v: unknown) =>
  typeof v === "string" && v.trim() === "" ? undefined : v;

export const optionalText = (max: number, label: string) =>
  z.preprocess(
    blankToUndefined,
    z
      .string()
      .trim()
      .max(max, { error: `${label} must be at most ${max} characters.` })
      .optional(),
  );

/** The largest magnitude a Postgres `integer` holds (and every credit column is one). */
export const MAX_WHOLE_NUMBER = 2_147_483_647;

/** A whole number typed by a person: "1,500", "+20", "-300" (separators are ignored). */
export const wholeNumber = (label: string) =>
  z.preprocess(
    (v) => (typeof v === "string" ? v.replace(/[\s,_]/g, "") : v),
    z
      .string({ error: `Enter ${label}.` })
      .min(1, { error: `Enter ${label}.` })
      .regex(/^[+-]?\d{1,12}$/, {
        error: `${capitalise(label)} must be a whole number, e.g. 500 or -200.`,
      })
      .transform((s) => Number(s))
      // Balances and amounts are 4-byte integer columns: a larger number would fail in the query.
      .refine((n) => Math.abs(n) <= MAX_WHOLE_NUMBER, {
        error: `${capitalise(label)} must be between -${MAX_WHOLE_NUMBER.toLocaleString("en-US")} and ${MAX_WHOLE_NUMBER.toLocaleString("en-US")}.`,
      }),
  );

export const optionalWholeNumber = (label: string) =>
  z.preprocess(blankToUndefined, wholeNumber(label).optional());

export const optionalEnum = <T extends readonly [string, ...string[]]>(values: T, label: string) =>
  z.preprocess(blankToUndefined, z.enum(values, { error: `Choose a valid ${label}.` }).optional());

function capitalise(s: string) {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

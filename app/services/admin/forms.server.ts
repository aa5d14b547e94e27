import { z } from "zod";
import { type DomainError } from "../errors.server";

/**
 * Form and query-string parsing shared by the dashboard's loaders and actions: zod validates,
 * the first message per field goes back beside that field, and the submitted values go back so
 * the form keeps what was typed.
 */

export type FieldErrors = Record<string, string>;
export type FormValues = Record<string, string>;

export type Parsed<T> =
  | { ok: true; data: T; values: FormValues }
  | { ok: false; fieldErrors: FieldErrors; values: FormValues };

/** FormData or URLSearchParams → plain strings (files are ignored; the dashboard has none). */
export function toValues(source: FormData | URLSearchParams): FormValues {
  const values: FormValues = {};
  for (const [key, value] of source.entries()) {
    if (typeof value === "string" && !(key in values)) values[key] = value;
  }
  return values;
}

export function fieldErrorsOf(error: z.ZodError, fallbackField = "form"): FieldErrors {
  const errors: FieldErrors = {};
  for (const issue of error.issues) {
    const field = issue.path.length ? String(issue.path[0]) : fallbackField;
    errors[field] ??= issue.message;
  }
  return errors;
}

export function parseValues<S extends z.ZodType>(
  schema: S,
  values: FormValues,
): Parsed<z.output<S>> {
  const result = schema.safeParse(values);
  if (!result.success) return { ok: false, fieldErrors: fieldErrorsOf(result.error), values };
  return { ok: true, data: result.data, values };
}

export async function parseForm<S extends z.ZodType>(
  request: Request,
  schema: S,
): Promise<Parsed<z.output<S>>> {
  return parseValues(schema, toValues(await request.formData()));
}

export function parseSearch<S extends z.ZodType>(request: Request, schema: S): Parsed<z.output<S>> {
  return parseValues(schema, toValues(new URL(request.url).searchParams));
}

/** A domain error that names a field becomes that field's message; others go to "form". */
export function domainErrorToFields(
  error: DomainError,
  fieldMap: Record<string, string> = {},
): FieldErrors {
  const field = error.field ? (fieldMap[error.field] ?? error.field) : "form";
  return { [field]: error.message };
}

// Reusable field schemas. Empty inputs arrive as "" and mean "not given".

const blankToUndefined = (v: unknown) => (typeof v === "string" && v.trim() === "" ? undefined : v);

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

// Days and the date-range rule live in ~/shared/date-range (the browser's forms use them too).
export { dayAfter, dayStart, optionalDay } from "~/shared/date-range";

export const optionalEnum = <T extends readonly [string, ...string[]]>(values: T, label: string) =>
  z.preprocess(blankToUndefined, z.enum(values, { error: `Choose a valid ${label}.` }).optional());

export const cursorParam = z.preprocess(blankToUndefined, z.string().max(2000).optional());

function capitalise(s: string) {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

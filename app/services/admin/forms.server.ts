import { z } from "zod";
import { type DomainError } from "../errors.server";
import { blankToUndefined } from "~/shared/schemas/fields";

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

// Reusable field schemas live in ~/shared/schemas/fields (the browser's confirm previews parse
// with them too); re-exported here for the server-side filter and form schemas.
export {
  MAX_WHOLE_NUMBER,
  optionalEnum,
  optionalText,
  optionalWholeNumber,
  wholeNumber,
} from "~/shared/schemas/fields";

// Days and the date-range rule live in ~/shared/date-range (the browser's forms use them too).
export { dayAfter, dayStart, optionalDay } from "~/shared/date-range";

export const cursorParam = z.preprocess(blankToUndefined, z.string().max(2000).optional());

import { useForm, type SubmissionResult } from "@conform-to/react";
import { useNavigation } from "@remix-run/react";
import { useMemo } from "react";
import type { z } from "zod";
import type { ActionReply } from "~/shared/action-reply";

/** The fields of a form whose action parses it with `S` (from app/shared/schemas), and "form". */
export type FieldName<S> = S extends z.ZodType
  ? Extract<keyof NonNullable<z.input<S>>, string> | "form"
  : string;

/**
 * The state of one form on a page with several: conform holds the server's last answer for it
 * (errors per field, the values as typed), and `pending` is true while it is being submitted.
 * Client-side validation is off on purpose: the action's answer includes the domain's checks
 * (balance, four eyes), so it is the one shown; previews parse with the same shared schema.
 * Given the action's schema (`schema`, shared with the server under app/shared/schemas/), the
 * field names the form reads are checked against it, so a form cannot drift from its action.
 */
export function useIntentForm<S extends z.ZodType | undefined = undefined>(
  intents: string | readonly string[],
  reply: ActionReply<string, unknown> | undefined,
  opts: {
    /** Which of several forms with the same intents this is (e.g. one per approval request). */
    match?: (values: Record<string, string | FormDataEntryValue | null>) => boolean;
    /** A narrower test of the submitted form for `pending` (e.g. the "assign" follow-up). */
    pendingIf?: (form: FormData) => boolean;
    id?: string;
    /** The schema the action parses this form with: names in `error`/`value` must be its fields. */
    schema?: S;
  } = {},
) {
  const names: readonly string[] = typeof intents === "string" ? [intents] : intents;
  const mine =
    reply && names.includes(reply.intent) && (opts.match?.(reply.values) ?? true)
      ? reply
      : undefined;
  // One object per reply: conform re-reports (and re-renders) whenever lastResult is a new object.
  const lastResult = useMemo(() => (mine ? toSubmissionResult(mine) : undefined), [mine]);
  const [form, fields] = useForm<Record<string, string>>({
    id: opts.id ?? `${names.join("-")}-form`,
    lastResult,
  });
  const navigation = useNavigation();
  const data = navigation.formData;
  const submitted = data?.get("intent");
  const pendingIntent =
    navigation.state === "submitting" &&
    data &&
    typeof submitted === "string" &&
    names.includes(submitted) &&
    (opts.match ? opts.match(Object.fromEntries(data)) : true) &&
    (opts.pendingIf ? opts.pendingIf(data) : true)
      ? submitted
      : null;
  return {
    form,
    pending: pendingIntent !== null,
    /** Which intent is being submitted, or null. */
    pendingIntent,
    // The reply is read first: conform updates its field state after mount only for a form wired
    // with getFormProps, and these forms are plain Remix forms (the e2e test caught a missing error).
    /** The server's message for a field ("form" for the whole form). */
    error: (name: FieldName<S>) => mine?.fieldErrors[name] ?? fields[name]?.errors?.[0],
    /** What was posted in the field, or the fallback on a fresh form. */
    value: (name: FieldName<S>, fallback = "") => {
      const v = mine?.values[name] ?? fields[name]?.initialValue;
      return typeof v === "string" ? v : fallback;
    },
    outcome: mine?.outcome,
  };
}

/** Our reply in conform's shape. */
export function toSubmissionResult(
  reply: ActionReply<string, unknown>,
): SubmissionResult<string[]> {
  const error: Record<string, string[]> = {};
  for (const [field, message] of Object.entries(reply.fieldErrors)) error[field] = [message];
  return { status: "error", initialValue: reply.values, error };
}

import { useForm, type SubmissionResult } from "@conform-to/react";
import { useNavigation } from "@remix-run/react";
import type { ActionReply } from "~/shared/action-reply";

/**
 * The state of one intent's form on a page with several: conform holds the server's last answer
 * for it (errors per field, the values as typed), and `pending` is true while this intent is being
 * submitted. Client-side validation is off on purpose: the action's answer includes the domain's
 * checks (balance, four eyes), so it is the one shown; previews parse with the same shared schema.
 */
export function useIntentForm<N extends string>(
  intent: N,
  reply: ActionReply<string, unknown> | undefined,
  extra?: (form: FormData) => boolean,
) {
  const mine = reply?.intent === intent ? reply : undefined;
  const [form, fields] = useForm<Record<string, string>>({
    id: `${intent}-form`,
    lastResult: mine ? toSubmissionResult(mine) : undefined,
  });
  const navigation = useNavigation();
  const data = navigation.formData;
  const pending =
    navigation.state === "submitting" &&
    data?.get("intent") === intent &&
    (extra ? extra(data) : true);
  return {
    form,
    pending,
    /** The server's message for a field ("form" for the whole form). */
    error: (name: string) => fields[name]?.errors?.[0],
    /** What was posted in the field, or the fallback on a fresh form. */
    value: (name: string, fallback = "") => {
      const v = fields[name]?.initialValue;
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

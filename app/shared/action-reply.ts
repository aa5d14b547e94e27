/**
 * What a dashboard action answers when it does not redirect: which intent, the message per field
 * ("form" for the whole form), the values as posted (so the form keeps what was typed), and an
 * outcome an intent shows in place. Client-safe: the forms read it (app/components/intent-form.tsx).
 */
export type FieldErrors = Record<string, string>;
export type FormValues = Record<string, string>;

export interface ActionReply<N extends string = string, O = never> {
  intent: N;
  fieldErrors: FieldErrors;
  values: FormValues;
  outcome?: O;
}

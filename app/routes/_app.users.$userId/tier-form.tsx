import { Form } from "@remix-run/react";
import { ConfirmButton } from "~/components/confirm-button";
import { FormError, SelectField, TextAreaField } from "~/components/field";
import { useIntentForm } from "~/components/intent-form";
import type { ActionReply } from "~/shared/action-reply";

export function TierForm({
  tiers,
  current,
  reply,
}: {
  tiers: { code: string; name: string }[];
  current: string;
  reply: ActionReply<string, unknown> | undefined;
}) {
  const f = useIntentForm("tier", reply);
  return (
    <Form method="post" className="card" noValidate aria-labelledby="tier-heading">
      <h3 id="tier-heading">Change tier</h3>
      <FormError message={f.error("form")} />
      <SelectField
        idPrefix="tier-"
        label="New tier"
        name="tier"
        defaultValue={f.value("tier", current)}
        error={f.error("tier")}
        options={tiers.map((t) => ({
          value: t.code,
          label: t.code === current ? `${t.name} (current)` : t.name,
        }))}
      />
      <TextAreaField
        idPrefix="tier-"
        label="Reason"
        name="reason"
        rows={2}
        defaultValue={f.value("reason")}
        error={f.error("reason")}
        hint="At least 10 characters. A manual tier stands until a subscription, refund or dispute changes it."
        required
      />
      <ConfirmButton
        intent="tier"
        title="Change tier?"
        pending={f.pending}
        pendingLabel="Saving…"
        describe={(form) => (
          <p>
            Change the tier from <strong>{current}</strong> to{" "}
            <strong>{String(form.get("tier"))}</strong>.
          </p>
        )}
      >
        Change tier…
      </ConfirmButton>
    </Form>
  );
}

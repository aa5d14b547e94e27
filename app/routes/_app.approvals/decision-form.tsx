import { Form } from "@remix-run/react";
import { ConfirmButton } from "~/components/confirm-button";
import { FormError, TextAreaField } from "~/components/field";
import { formatCredits } from "~/components/format";
import { useIntentForm } from "~/components/intent-form";
import type { ActionReply } from "~/shared/action-reply";

/** Approve or reject one pending request (one form per request; the reply names its requestId). */
export function DecisionForm({
  requestId,
  amount,
  email,
  reply,
}: {
  requestId: string;
  amount: number;
  email: string;
  reply: ActionReply<string, unknown> | undefined;
}) {
  const f = useIntentForm(["approve", "reject"], reply, {
    id: `decision-${requestId}`,
    match: (values) => values.requestId === requestId,
  });
  return (
    <Form method="post" noValidate className="decision-form">
      <input type="hidden" name="requestId" value={requestId} />
      <FormError message={f.error("form") ?? f.error("requestId")} />
      <TextAreaField
        idPrefix={`note-${requestId}-`}
        label="Note"
        name="note"
        rows={2}
        defaultValue={f.value("note")}
        error={f.error("note")}
        hint="Why you approve or reject (e.g. “checked ticket 4411”)."
        required
      />
      <div className="button-row">
        <ConfirmButton
          intent="approve"
          title="Approve this adjustment?"
          pending={f.pendingIntent === "approve"}
          pendingLabel="Approving…"
          describe={() => (
            <p>
              {amount > 0 ? "Add" : "Remove"} <strong>{formatCredits(Math.abs(amount))}</strong>{" "}
              credits {amount > 0 ? "to" : "from"} {email}. This posts a ledger entry at once.
            </p>
          )}
        >
          Approve…
        </ConfirmButton>
        <ConfirmButton
          intent="reject"
          title="Reject this adjustment?"
          danger
          className="secondary"
          pending={f.pendingIntent === "reject"}
          pendingLabel="Rejecting…"
          describe={() => <p>The request is closed and the balance stays as it is.</p>}
        >
          Reject…
        </ConfirmButton>
      </div>
    </Form>
  );
}

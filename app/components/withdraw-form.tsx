import { Form } from "@remix-run/react";
import { ConfirmButton } from "~/components/confirm-button";
import { FormError } from "~/components/field";
import { formatDelta } from "~/components/format";
import { useIntentForm } from "~/components/intent-form";
import type { ActionReply } from "~/shared/action-reply";

/** The requester takes back their own pending request (the user page and /approvals). */
export function WithdrawForm({
  requestId,
  amount,
  reply,
}: {
  requestId: string;
  amount: number;
  reply: ActionReply<string, unknown> | undefined;
}) {
  const f = useIntentForm("withdraw", reply, {
    id: `withdraw-${requestId}`,
    match: (values) => values.requestId === requestId,
  });
  return (
    <Form method="post" noValidate className="inline-form">
      <input type="hidden" name="requestId" value={requestId} />
      <FormError message={f.error("form") ?? f.error("requestId")} />
      <ConfirmButton
        intent="withdraw"
        title="Withdraw your request?"
        className="secondary"
        pending={f.pending}
        pendingLabel="Withdrawing…"
        describe={() => (
          <p>
            Take back your request for {formatDelta(amount)} credits. Nothing is credited; the
            withdrawal is recorded in the audit log.
          </p>
        )}
      >
        Withdraw…
      </ConfirmButton>
    </Form>
  );
}

import { Form, Link } from "@remix-run/react";
import { ConfirmButton } from "~/components/confirm-button";
import { FormError, TextField } from "~/components/field";
import { formatCredits, formatMoney } from "~/components/format";
import { useIntentForm } from "~/components/intent-form";
import type { CreditSessionView } from "~/services/admin/user-actions.server";
import type { ActionReply } from "~/shared/action-reply";

export function CreditSessionForm({
  email,
  reply,
}: {
  email: string;
  reply: ActionReply<string, unknown> | undefined;
}) {
  const f = useIntentForm("credit-session", reply, {
    pendingIf: (form) => form.get("assign") !== "yes",
  });
  const outcome = f.outcome as CreditSessionView | undefined;
  return (
    <div className="card" aria-labelledby="credit-session-heading">
      <h3 id="credit-session-heading">Credit a Checkout Session</h3>
      <Form method="post" noValidate>
        <FormError message={f.error("form")} />
        <TextField
          idPrefix="credit-"
          label="Checkout Session id"
          name="sessionId"
          defaultValue={f.value("sessionId")}
          error={f.error("sessionId")}
          hint="Starts with cs_. Runs the same fulfillment as the webhook, so a session is never credited twice."
          autoComplete="off"
          required
        />
        <ConfirmButton
          intent="credit-session"
          title="Credit this Checkout Session?"
          pending={f.pending}
          pendingLabel="Asking Stripe…"
          describe={(form) => (
            <p>
              Look up <span className="mono">{String(form.get("sessionId") ?? "")}</span> in Stripe
              and credit it if it is paid and not credited yet. The user is taken from the session
              (reference, metadata, customer or email).
            </p>
          )}
        >
          Credit session…
        </ConfirmButton>
      </Form>
      {outcome ? <CreditOutcome outcome={outcome} email={email} /> : null}
    </div>
  );
}

function CreditOutcome({ outcome, email }: { outcome: CreditSessionView; email: string }) {
  const assigning = useIntentForm("credit-session", undefined, {
    id: "assign-form",
    pendingIf: (form) => form.get("assign") === "yes",
  }).pending;
  switch (outcome.outcome) {
    case "credited":
      return (
        <div className="alert success" role="status">
          Credited {formatCredits(outcome.credits)} credits
          {outcome.otherUser ? (
            <>
              {" "}
              to{" "}
              <Link to={`/users/${encodeURIComponent(outcome.userId)}`}>
                another user ({outcome.userId})
              </Link>
              : the session names them
            </>
          ) : null}
          . <Link to={`/purchases/${outcome.purchaseId}`}>Open the purchase</Link>
        </div>
      );
    case "already_credited":
      return (
        <div className="alert warn" role="status">
          Already credited{outcome.otherUser ? ` to another user (${outcome.userId})` : ""}; nothing
          was added. <Link to={`/purchases/${outcome.purchaseId}`}>Open the purchase</Link>
        </div>
      );
    case "not_paid":
      return (
        <div className="alert warn" role="status">
          Not paid yet (payment status “{outcome.paymentStatus}”). Nothing was credited; it will be
          credited automatically when Stripe reports the payment.
        </div>
      );
    case "unmatched_user":
      return (
        <div className="alert warn" role="status">
          <p>
            Paid ({formatMoney(outcome.amount, outcome.currency)}
            {outcome.email ? `, by ${outcome.email}` : ""}), but the session matches no user.{" "}
            {outcome.detail}
          </p>
          <Form method="post">
            <input type="hidden" name="sessionId" value={outcome.sessionId} />
            <input type="hidden" name="assign" value="yes" />
            <ConfirmButton
              intent="credit-session"
              title="Assign this payment to this user?"
              pending={assigning}
              pendingLabel="Crediting…"
              describe={() => (
                <p>
                  Credit <span className="mono">{outcome.sessionId}</span> to{" "}
                  <strong>{email}</strong>. Do this only when you have confirmed the payment is
                  theirs (e.g. the receipt they sent matches).
                </p>
              )}
            >
              Assign to {email} and credit…
            </ConfirmButton>
          </Form>
        </div>
      );
    case "unknown_price":
      return (
        <div className="alert error" role="status">
          A price in this session is not a credit pack ({outcome.priceIds.join(", ")}). Nothing was
          credited; an attention item was opened. Give the price <code>metadata.credits</code> in
          Stripe, then try again.
        </div>
      );
    default:
      return (
        <div className="alert error" role="status">
          Nothing was credited: {outcome.detail}
        </div>
      );
  }
}

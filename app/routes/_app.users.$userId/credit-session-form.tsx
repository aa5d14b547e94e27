import { Form, Link } from "@remix-run/react";
import { ConfirmButton } from "~/components/confirm-button";
import { FormError, TextField } from "~/components/field";
import { formatCredits, formatMoney } from "~/components/format";
import { useIntentForm } from "~/components/intent-form";
import type { CreditSessionView } from "~/services/admin/user-actions.server";
import type { ActionReply } from "~/shared/action-reply";
import { SessionCreditPreview } from "./session-credit";

/**
 * "Credit a Checkout Session" from any id the customer has: cs_, or the pi_/ch_ of the payment
 * (the server finds the session). The confirmation previews who, how many credits and for what
 * payment before anything is credited.
 */
export function CreditSessionForm({
  userId,
  email,
  prefill,
  reply,
}: {
  userId: string;
  email: string;
  /** An id handed over by the header search. */
  prefill: string | null;
  reply: ActionReply<string, unknown> | undefined;
}) {
  const f = useIntentForm("credit-session", reply, {
    match: (values) => values.source !== "check-stripe",
  });
  const outcome = f.outcome as CreditSessionView | undefined;
  return (
    <div className="card" aria-labelledby="credit-session-heading">
      <h3 id="credit-session-heading">Credit a Checkout Session</h3>
      <Form method="post" noValidate>
        <FormError message={f.error("form") ?? f.error("reason") ?? f.error("assign")} />
        <TextField
          idPrefix="credit-"
          label="Checkout Session, payment intent or charge id"
          name="sessionId"
          defaultValue={f.value("sessionId", prefill ?? "")}
          error={f.error("sessionId")}
          hint="cs_…, pi_… or ch_… (a receipt’s payment). Runs the same fulfillment as the webhook, so a session is never credited twice."
          autoComplete="off"
          required
        />
        <ConfirmButton
          intent="credit-session"
          title="Credit this Checkout Session?"
          confirmLabel="Credit"
          pending={f.pending}
          pendingLabel="Crediting…"
          describe={(form) => (
            <SessionCreditPreview
              userId={userId}
              userEmail={email}
              refId={String(form.get("sessionId") ?? "").trim()}
            />
          )}
        >
          Look up and credit…
        </ConfirmButton>
      </Form>
      {outcome ? <CreditOutcome outcome={outcome} /> : null}
    </div>
  );
}

export function CreditOutcome({ outcome }: { outcome: CreditSessionView }) {
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
    case "approval_requested":
      return (
        <div className="alert info" role="status">
          {outcome.created ? "Approval requested" : "This request was already filed"}: crediting{" "}
          {formatCredits(outcome.credits)} credits from{" "}
          <span className="mono">{outcome.sessionId}</span> to this user (the session names{" "}
          {outcome.namedUserId}) waits for a second staff member.{" "}
          <Link to="/approvals">Open approvals</Link>
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
          Paid ({formatMoney(outcome.amount, outcome.currency)}
          {outcome.email ? `, by ${outcome.email}` : ""}), but the session matches no user.{" "}
          {outcome.detail} Nothing was credited: open the confirmation again to assign it to this
          user.
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

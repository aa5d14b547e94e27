import { Form } from "@remix-run/react";
import { ConfirmButton } from "~/components/confirm-button";
import { FormError, TextAreaField, TextField } from "~/components/field";
import { formatAgo, formatCredits, formatDelta } from "~/components/format";
import { useIntentForm } from "~/components/intent-form";
import type { ActionReply } from "~/shared/action-reply";
import { adjustmentAmountSchema, needsApproval } from "~/shared/schemas/adjustment";

type AdjustResult =
  | { kind: "posted"; created: boolean; delta: number; balance: number }
  | { kind: "requested"; created: boolean; amount: number; threshold: number; windowTotal: number };

/** A credit the user received recently (the double-credit guard's evidence). */
export interface RecentCredit {
  seq: number;
  kind: string;
  delta: number;
  createdAt: Date | string;
}

/** The toast after an adjustment: posted now, or filed for approval (or a repeat of either). */
export function adjustedToast(result: AdjustResult) {
  if (result.kind === "requested") {
    return {
      toast: result.created
        ? result.windowTotal > 0
          ? `Approval requested: with the ${formatCredits(result.windowTotal)} credits you already gave this user in the last 24 hours, ${formatDelta(result.amount)} more is above the ${formatCredits(result.threshold)} threshold, so another staff member must approve it.`
          : `Approval requested: ${formatDelta(result.amount)} credits is above the ${formatCredits(result.threshold)} threshold, so another staff member must approve it.`
        : "This request was already filed (the form was sent twice); nothing more was requested.",
    };
  }
  return {
    kind: result.created ? ("success" as const) : ("info" as const),
    toast: result.created
      ? `${result.delta > 0 ? "Added" : "Removed"} ${formatCredits(Math.abs(result.delta))} credits. New balance: ${formatCredits(result.balance)}.`
      : `This adjustment was already recorded (the form was sent twice); nothing more was changed. Balance: ${formatCredits(result.balance)}.`,
  };
}

export function AdjustForm({
  nonce,
  threshold,
  windowTotal,
  windowHours,
  recentPurchases,
  balance,
  email,
  reply,
}: {
  nonce: string;
  threshold: number;
  /** Your manual credits to this user in the approval window (the four-eyes sum so far). */
  windowTotal: number;
  windowHours: number;
  /** Purchase credits in the last 7 days: a manual credit now may be a double credit. */
  recentPurchases: readonly RecentCredit[];
  balance: number;
  email: string;
  reply: ActionReply<string, unknown> | undefined;
}) {
  const f = useIntentForm("adjust", reply);
  return (
    <Form method="post" className="card" noValidate aria-labelledby="adjust-heading">
      <h3 id="adjust-heading">Adjust credits</h3>
      <input type="hidden" name="nonce" value={nonce} />
      <FormError message={f.error("form") ?? f.error("nonce")} />
      <TextField
        idPrefix="adjust-"
        label="Amount (credits)"
        name="amount"
        inputMode="numeric"
        defaultValue={f.value("amount")}
        error={f.error("amount")}
        hint={`Positive adds, negative removes. A debit above ${formatCredits(threshold)}, or credits from you to this user summing above ${formatCredits(threshold)} in ${windowHours} hours (${formatCredits(windowTotal)} so far), need a second person’s approval.`}
        required
      />
      <TextAreaField
        idPrefix="adjust-"
        label="Reason"
        name="reason"
        rows={2}
        defaultValue={f.value("reason")}
        error={f.error("reason")}
        hint="At least 10 characters; shown in the ledger."
        required
      />
      <TextField
        idPrefix="adjust-"
        label="Ticket reference (optional)"
        name="ticketRef"
        defaultValue={f.value("ticketRef")}
        error={f.error("ticketRef")}
      />
      <ConfirmButton
        intent="adjust"
        title="Adjust credits?"
        pending={f.pending}
        pendingLabel="Saving…"
        describe={(form) => (
          <AdjustPreview
            form={form}
            threshold={threshold}
            windowTotal={windowTotal}
            windowHours={windowHours}
            recentPurchases={recentPurchases}
            balance={balance}
            email={email}
          />
        )}
      >
        Adjust credits…
      </ConfirmButton>
    </Form>
  );
}

/** What confirming will do, parsed with the action's own amount schema and approval rule. */
function AdjustPreview({
  form,
  threshold,
  windowTotal,
  windowHours,
  recentPurchases,
  balance,
  email,
}: {
  form: FormData;
  threshold: number;
  windowTotal: number;
  windowHours: number;
  recentPurchases: readonly RecentCredit[];
  balance: number;
  email: string;
}) {
  const parsed = adjustmentAmountSchema.safeParse(form.get("amount") ?? "");
  const reason = String(form.get("reason") ?? "").trim();
  if (!parsed.success) {
    return <p>The amount is not a whole, non-zero number yet; confirming will show what to fix.</p>;
  }
  const amount = parsed.data;
  return (
    <>
      <p>
        {amount > 0 ? "Add" : "Remove"} <strong>{formatCredits(Math.abs(amount))}</strong> credits{" "}
        {amount > 0 ? "to" : "from"} {email}.
      </p>
      {amount > 0 ? <DoubleCreditWarning credits={recentPurchases} what="purchase" /> : null}
      {needsApproval(amount, threshold, windowTotal) ? (
        <p className="alert warn">
          {amount > 0 && windowTotal > 0
            ? `With the ${formatCredits(windowTotal)} credits you gave this user in the last ${windowHours} hours, this is above`
            : "Above"}{" "}
          the approval threshold of {formatCredits(threshold)}: this files an approval request. The
          balance changes only when another staff member approves it.
        </p>
      ) : (
        <p>
          Balance {formatCredits(balance)} → <strong>{formatCredits(balance + amount)}</strong>
          {balance + amount < 0 ? " (not allowed: a balance cannot go below zero)" : ""}.
        </p>
      )}
      {reason ? <p className="muted">Reason: {reason}</p> : null}
    </>
  );
}

/**
 * The double-credit guard: "this user got a 1,500-credit purchase 3 minutes ago". Shown before a
 * manual credit (about purchases) and before crediting a session (about manual credits).
 */
export function DoubleCreditWarning({
  credits,
  what,
}: {
  credits: readonly RecentCredit[];
  what: "purchase" | "manual credit";
}) {
  if (credits.length === 0) return null;
  const now = new Date();
  return (
    <div className="alert warn" data-testid="double-credit-warning">
      <p>
        Possible double credit: this user got{" "}
        {credits.map((c, i) => (
          <span key={c.seq}>
            {i > 0 ? (i === credits.length - 1 ? " and " : ", ") : null}a{" "}
            <strong>
              {formatCredits(c.delta)}-credit {what}
            </strong>{" "}
            {formatAgo(c.createdAt, now)} (#{c.seq})
          </span>
        ))}
        .
      </p>
      <p>Check the ledger first: is this the same payment or problem?</p>
    </div>
  );
}

import { Form, Link, useFetcher } from "@remix-run/react";
import { useState } from "react";
import { ConfirmButton } from "~/components/confirm-button";
import { formatMoney } from "~/components/format";
import { useIntentForm } from "~/components/intent-form";
import { StripeLink } from "~/components/stripe-link";
import { Time } from "~/components/time";
import type {
  StripeCheck,
  StripeSessionRow,
  StripeSessionVerdict,
} from "~/services/admin/stripe-lookup.server";
import type { CreditSessionView } from "~/services/admin/user-actions.server";
import type { ActionReply } from "~/shared/action-reply";
import { humanize } from "~/shared/labels";
import { CreditOutcome } from "./credit-session-form";
import { SessionCreditPreview } from "./session-credit";

type CheckReply = { ok: true; check: StripeCheck } | { ok: false; error: string };

const DAYS = [7, 30, 90, 365];

/**
 * "Check Stripe": asks Stripe, live, for this user's Checkout Sessions (by customer and email)
 * and says what creditdesk did with each; a paid, uncredited one can be credited from here with
 * the same previewing confirmation as "Credit a Checkout Session".
 */
export function CheckStripePanel({
  userId,
  email,
  canAct,
  canOpenPurchases,
  canOpenEvents,
  canOpenAttention,
  reply,
}: {
  userId: string;
  email: string;
  canAct: boolean;
  canOpenPurchases: boolean;
  canOpenEvents: boolean;
  canOpenAttention: boolean;
  reply: ActionReply<string, unknown> | undefined;
}) {
  const fetcher = useFetcher<CheckReply>();
  const [days, setDays] = useState(90);
  // Cursors of the pages before this one (Stripe lists page forward; "Newer" goes back).
  const [trail, setTrail] = useState<(string | null)[]>([]);
  const [current, setCurrent] = useState<string | null>(null);
  const credited = useIntentForm("credit-session", reply, {
    id: "check-stripe-credit",
    match: (values) => values.source === "check-stripe",
  });
  const outcome = credited.outcome as CreditSessionView | undefined;

  const load = (after: string | null, d = days) =>
    fetcher.load(
      `/users/${encodeURIComponent(userId)}/stripe-payments?days=${d}${after ? `&after=${after}` : ""}`,
    );
  const data = fetcher.data;
  const asking = fetcher.state === "loading";

  return (
    <section aria-labelledby="check-stripe-heading" className="card" data-testid="check-stripe">
      <h2 id="check-stripe-heading">Check Stripe</h2>
      <p className="muted small">
        Asks Stripe now for this user’s Checkout Sessions — by their Stripe customer and by their
        email — and shows what creditdesk did with each. Read-only until you credit one.
      </p>
      <div className="button-row">
        <label>
          Last{" "}
          <select
            aria-label="How far back"
            value={days}
            onChange={(e) => {
              const d = Number(e.currentTarget.value);
              setDays(d);
              setTrail([]);
              setCurrent(null);
              if (data) load(null, d);
            }}
          >
            {DAYS.map((d) => (
              <option key={d} value={d}>
                {d} days
              </option>
            ))}
          </select>
        </label>
        <button
          type="button"
          onClick={() => {
            setTrail([]);
            setCurrent(null);
            load(null);
          }}
          disabled={asking}
        >
          {data ? "Ask Stripe again" : "Check Stripe"}
        </button>
      </div>
      {asking ? (
        <p className="spinner-line" role="status" aria-live="polite">
          <span className="spinner" aria-hidden="true" /> Asking Stripe…
        </p>
      ) : null}
      {outcome ? <CreditOutcome outcome={outcome} /> : null}
      {credited.error("form") || credited.error("sessionId") || credited.error("reason") ? (
        <p className="alert error" role="alert">
          {credited.error("form") ?? credited.error("sessionId") ?? credited.error("reason")}
        </p>
      ) : null}
      {data && !data.ok ? (
        <p className="alert error" role="alert" data-testid="check-stripe-error">
          {data.error} Nothing was credited.
        </p>
      ) : null}
      {data && data.ok ? (
        <>
          <p className="muted small">
            Asked by{" "}
            {data.check.customerId ? (
              <>
                customer <span className="mono">{data.check.customerId}</span> and{" "}
              </>
            ) : (
              "(no Stripe customer known) "
            )}
            email {data.check.emails.join(" / ")}, the last {data.check.days} days, newest first.
          </p>
          {data.check.rows.length === 0 ? (
            <p className="alert info" role="status">
              Stripe has no Checkout Session for this user in the last {data.check.days} days. Ask
              for the receipt: its payment (pi_…, ch_…) can be looked up in the header search.
            </p>
          ) : (
            <div className="table-wrap">
              <table data-testid="stripe-sessions">
                <caption className="sr-only">
                  Checkout Sessions in Stripe and what creditdesk did with each
                </caption>
                <thead>
                  <tr>
                    <th>Created</th>
                    <th className="num">Amount</th>
                    <th>Pack</th>
                    <th>Payment</th>
                    <th>Session</th>
                    <th>creditdesk</th>
                    {canAct ? <th>Action</th> : null}
                  </tr>
                </thead>
                <tbody>
                  {data.check.rows.map((row) => (
                    <tr key={row.id} data-testid="stripe-session-row">
                      <td>
                        <Time value={row.created} />
                      </td>
                      <td className="num">{formatMoney(row.amount, row.currency)}</td>
                      <td>{row.pack ?? "–"}</td>
                      <td>{humanize(row.paymentStatus)}</td>
                      <td>
                        <span className="mono small">{row.id}</span>{" "}
                        <StripeLink id={row.id} livemode={row.livemode} />
                        <div className="muted small">found by {row.foundBy.join(" and ")}</div>
                      </td>
                      <td>
                        <Verdict
                          verdict={row.verdict}
                          canOpenPurchases={canOpenPurchases}
                          canOpenEvents={canOpenEvents}
                          canOpenAttention={canOpenAttention}
                        />
                      </td>
                      {canAct ? (
                        <td>
                          {row.verdict.state === "not_credited" ? (
                            <CreditRow row={row} userId={userId} email={email} />
                          ) : null}
                        </td>
                      ) : null}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <nav aria-label="Stripe result pages" className="pager">
            {trail.length > 0 ? (
              <button
                type="button"
                className="secondary"
                onClick={() => {
                  const prev = trail[trail.length - 1] ?? null;
                  setTrail(trail.slice(0, -1));
                  setCurrent(prev);
                  load(prev);
                }}
              >
                Newer
              </button>
            ) : null}
            {data.check.next ? (
              <button
                type="button"
                className="secondary"
                onClick={() => {
                  setTrail([...trail, current]);
                  setCurrent(data.check.next);
                  load(data.check.next);
                }}
              >
                Older
              </button>
            ) : null}
          </nav>
        </>
      ) : null}
    </section>
  );
}

const WHY: Record<string, string> = {
  unmatched_user: "not credited: the session matches no user",
  unknown_price: "not credited: a price is not a credit pack",
  amount_mismatch: "not credited: the amount does not match the pack",
  event_failed: "not credited: the webhook event failed",
  event_pending: "not credited yet: the webhook event is waiting",
  webhook_never_received: "not credited: the webhook never arrived",
};

function Verdict({
  verdict: v,
  canOpenPurchases,
  canOpenEvents,
  canOpenAttention,
}: {
  verdict: StripeSessionVerdict;
  canOpenPurchases: boolean;
  canOpenEvents: boolean;
  canOpenAttention: boolean;
}) {
  if (v.state === "credited") {
    return (
      <span data-testid="verdict">
        <strong className="positive">Credited</strong>
        {v.creditedToOther ? (
          <>
            {" "}
            to <Link to={`/users/${encodeURIComponent(v.creditedToOther)}`}>another user</Link>
          </>
        ) : null}
        {v.entrySeq ? <> · ledger #{v.entrySeq}</> : null}
        {canOpenPurchases ? (
          <>
            {" "}
            · <Link to={`/purchases/${v.purchaseId}`}>purchase</Link>
          </>
        ) : null}
      </span>
    );
  }
  if (v.state === "not_paid") {
    return (
      <span data-testid="verdict">
        Not paid ({humanize(v.paymentStatus).toLowerCase()}
        {v.status ? `, ${v.status}` : ""})
      </span>
    );
  }
  return (
    <span data-testid="verdict">
      <strong className="negative">{WHY[v.why] ?? v.why}</strong>
      <div className="muted small">{v.detail}</div>
      {v.attentionItemId && canOpenAttention ? (
        <Link to={`/attention/${v.attentionItemId}`}>attention item</Link>
      ) : null}
      {v.eventId && canOpenEvents ? (
        <>
          {v.attentionItemId && canOpenAttention ? " · " : null}
          <Link to={`/webhooks/events/${encodeURIComponent(v.eventId)}`}>event</Link>
        </>
      ) : null}
    </span>
  );
}

function CreditRow({
  row,
  userId,
  email,
}: {
  row: StripeSessionRow;
  userId: string;
  email: string;
}) {
  const f = useIntentForm("credit-session", undefined, {
    id: `check-stripe-${row.id}`,
    match: (values) => values.sessionId === row.id && values.source === "check-stripe",
  });
  return (
    <Form method="post" noValidate>
      <input type="hidden" name="sessionId" value={row.id} />
      <input type="hidden" name="source" value="check-stripe" />
      <ConfirmButton
        intent="credit-session"
        title="Credit this purchase?"
        confirmLabel="Credit"
        pending={f.pending}
        pendingLabel="Crediting…"
        describe={() => <SessionCreditPreview userId={userId} userEmail={email} refId={row.id} />}
      >
        Credit this purchase…
      </ConfirmButton>
    </Form>
  );
}

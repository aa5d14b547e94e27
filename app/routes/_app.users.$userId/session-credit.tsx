import { Link, useFetcher } from "@remix-run/react";
import { useEffect, useState } from "react";
import { useConfirmGate } from "~/components/confirm-button";
import { formatCredits, formatMoney, formatUtc } from "~/components/format";
import type { SessionPreview } from "~/services/admin/user-actions.server";
import { humanize } from "~/shared/labels";
import { DoubleCreditWarning } from "./adjust-form";

type PreviewReply = { ok: true; preview: SessionPreview } | { ok: false; error: string };

/**
 * The body of "Credit this purchase?" / "Credit this Checkout Session?": asks the server (which
 * asks Stripe, read-only) what crediting would do — who, how many credits, for what payment — and
 * holds Confirm back until that is known and there is something to credit. Rendered inside the
 * form's dialog, so its inputs (assign, reason) are posted with the confirmation.
 */
export function SessionCreditPreview({
  userId,
  userEmail,
  refId,
}: {
  userId: string;
  userEmail: string;
  refId: string;
}) {
  const fetcher = useFetcher<PreviewReply>();
  const [instead, setInstead] = useState(false);
  const { load } = fetcher;
  useEffect(() => {
    if (refId)
      load(`/users/${encodeURIComponent(userId)}/session-preview?ref=${encodeURIComponent(refId)}`);
  }, [load, userId, refId]);
  const data = fetcher.data;
  const p = data && data.ok ? data.preview : null;
  const creditable = p !== null && (p.outcome === "would_credit" || p.outcome === "unmatched_user");
  useConfirmGate(!creditable);

  if (!refId) return <p>Enter an id first.</p>;
  if (!data || fetcher.state === "loading") {
    return (
      <p className="spinner-line" role="status" aria-live="polite">
        <span className="spinner" aria-hidden="true" /> Asking Stripe about{" "}
        <span className="mono">{refId}</span>…
      </p>
    );
  }
  if (!data.ok) {
    return (
      <p className="alert error" role="alert" data-testid="preview-error">
        {data.error} Nothing will be credited.
      </p>
    );
  }
  const preview = data.preview;
  return (
    <div data-testid="session-preview">
      <p>
        Payment: <strong>{formatMoney(preview.amount, preview.currency)}</strong>,{" "}
        {humanize(preview.paymentStatus).toLowerCase()}, {formatUtc(preview.createdAt)}
        {preview.email ? <> by {preview.email}</> : null}.
        <br />
        <span className="muted small mono">
          {preview.sessionId}
          {preview.paymentIntentId ? ` · ${preview.paymentIntentId}` : ""}
          {preview.customerId ? ` · ${preview.customerId}` : ""}
        </span>
      </p>
      <Outcome
        preview={preview}
        userId={userId}
        userEmail={userEmail}
        instead={instead}
        setInstead={setInstead}
      />
      {creditable ? (
        <DoubleCreditWarning credits={preview.recentManualCredits} what="manual credit" />
      ) : null}
    </div>
  );
}

function Outcome({
  preview: p,
  userId,
  userEmail,
  instead,
  setInstead,
}: {
  preview: SessionPreview;
  userId: string;
  userEmail: string;
  instead: boolean;
  setInstead: (v: boolean) => void;
}) {
  const credits = p.credits === null ? "the pack’s" : formatCredits(p.credits);
  switch (p.outcome) {
    case "would_credit":
      if (!p.namesAnotherUser) {
        return (
          <p>
            Credit <strong>{credits}</strong> credits to <strong>{userEmail}</strong> (the session
            names this user by {humanize(p.resolvedBy ?? "").toLowerCase()}).
          </p>
        );
      }
      return (
        <>
          <div className="alert warn" data-testid="other-user-warning">
            This session names <strong>another user</strong>:{" "}
            <Link to={`/users/${encodeURIComponent(p.namedUserId ?? "")}`}>
              {p.namedUserEmail ?? p.namedUserId}
            </Link>{" "}
            (by {humanize(p.resolvedBy ?? "").toLowerCase()}). Confirming credits{" "}
            <strong>{credits}</strong> credits to them, not to {userEmail}.
          </div>
          <label className="checkbox">
            <input
              type="checkbox"
              name="assign"
              value="yes"
              checked={instead}
              onChange={(e) => setInstead(e.currentTarget.checked)}
            />{" "}
            Credit {userEmail} instead: this asks a second staff member to approve it
          </label>
          {instead ? (
            <div className="field">
              <label htmlFor={`assign-reason-${p.sessionId}`}>Reason for the approver</label>
              <textarea
                id={`assign-reason-${p.sessionId}`}
                name="reason"
                rows={2}
                required
                minLength={10}
              />
            </div>
          ) : null}
        </>
      );
    case "unmatched_user":
      return (
        <>
          <input type="hidden" name="assign" value="yes" />
          <p>
            The session matches no user ({p.detail}). Confirming assigns it to{" "}
            <strong>{userEmail}</strong> and credits <strong>{credits}</strong> credits. Do this
            only when the payment is theirs (e.g. the receipt they sent matches).
          </p>
        </>
      );
    case "already_credited":
      return (
        <p className="alert info">
          Already credited
          {p.namedUserId && p.namedUserId !== userId ? (
            <>
              {" "}
              to another user (
              <Link to={`/users/${encodeURIComponent(p.namedUserId)}`}>
                {p.namedUserEmail ?? p.namedUserId}
              </Link>
              )
            </>
          ) : null}
          : {p.purchaseId ? <Link to={`/purchases/${p.purchaseId}`}>open the purchase</Link> : null}
          . Nothing more to credit.
        </p>
      );
    case "not_paid":
      return (
        <p className="alert warn">
          Not paid (payment status “{p.paymentStatus}”). Nothing can be credited; it will be
          credited automatically when Stripe reports the payment.
        </p>
      );
    default:
      return (
        <p className="alert error">
          {humanize(p.outcome)}: {p.detail} Nothing can be credited until that is fixed.
        </p>
      );
  }
}

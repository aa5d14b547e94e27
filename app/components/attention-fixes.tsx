import { Form, useFetcher, useNavigation } from "@remix-run/react";
import { useEffect, useRef, useState } from "react";
import { ConfirmButton } from "./confirm-button";
import { FormError, TextAreaField } from "./field";
import { formatCredits } from "./format";

export interface FixItem {
  id: string;
  kind: string;
  checkoutSessionId: string | null;
  stripeEventId: string | null;
}

/** What the last submission said about this item (errors beside its form). */
export interface FixFeedback {
  intent: string | null;
  fieldErrors: Record<string, string>;
  values: Record<string, string>;
  message?: string;
}

interface UserHit {
  id: string;
  email: string;
  name: string | null;
  balance: number;
}

function useSubmitting(itemId: string, intent: string) {
  const navigation = useNavigation();
  return (
    navigation.state === "submitting" &&
    navigation.formData?.get("itemId") === itemId &&
    navigation.formData?.get("intent") === intent
  );
}

/** Search users (part 1's finder, through a small resource route) and credit the session to one. */
function AssignUser({ item, feedback }: { item: FixItem; feedback?: FixFeedback }) {
  const search = useFetcher<{ users: UserHit[]; q: string }>();
  const [q, setQ] = useState(feedback?.values.q ?? "");
  const timer = useRef<ReturnType<typeof setTimeout>>();
  const submitting = useSubmitting(item.id, "assign");
  useEffect(() => () => clearTimeout(timer.current), []);
  const users = search.data?.users ?? [];
  const errors = feedback?.intent === "assign" ? feedback.fieldErrors : {};
  const searchId = `assign-q-${item.id}`;
  return (
    <div className="fix">
      <search.Form
        method="get"
        action="/attention/user-search"
        role="search"
        aria-label="Find the user to credit"
        className="inline-form"
      >
        <div className="field grow">
          <label htmlFor={searchId}>Find the user (email, id, name or Stripe customer)</label>
          <input
            id={searchId}
            name="q"
            type="search"
            autoComplete="off"
            value={q}
            onChange={(e) => {
              const value = e.currentTarget.value;
              setQ(value);
              clearTimeout(timer.current);
              const form = e.currentTarget.form;
              timer.current = setTimeout(() => {
                if (value.trim().length >= 2 && form) search.submit(form);
              }, 300);
            }}
          />
        </div>
        <div className="field">
          <button type="submit" className="secondary">
            {search.state === "loading" ? "Searching…" : "Find"}
          </button>
        </div>
      </search.Form>
      <Form method="post" className="assign-form">
        <input type="hidden" name="itemId" value={item.id} />
        <input type="hidden" name="q" value={q} />
        {search.data && users.length === 0 ? (
          <p className="muted small" role="status">
            No user starts with “{search.data.q}”.
          </p>
        ) : null}
        {users.length > 0 ? (
          <fieldset className="user-choices">
            <legend>Credit the session to</legend>
            {users.map((u, i) => (
              <label key={u.id} className="choice">
                <input type="radio" name="userId" value={u.id} defaultChecked={i === 0} /> {u.email}
                {u.name ? ` (${u.name})` : ""} <span className="mono muted">{u.id}</span> · balance{" "}
                {formatCredits(u.balance)}
              </label>
            ))}
          </fieldset>
        ) : null}
        {errors.userId ? (
          <div className="field-error" role="alert">
            {errors.userId}
          </div>
        ) : null}
        <FormError message={errors.form ?? errors.itemId} />
        {users.length > 0 ? (
          <ConfirmButton
            intent="assign"
            title="Credit this session to the chosen user?"
            confirmLabel="Assign and credit"
            pending={submitting}
            pendingLabel="Crediting…"
            describe={(form) => {
              const chosen = users.find((u) => u.id === form.get("userId"));
              return (
                <p>
                  The paid session <span className="mono">{item.checkoutSessionId}</span> will be
                  credited to <strong>{chosen ? chosen.email : "the chosen user"}</strong>. Their
                  balance goes up by the pack&apos;s credits; this cannot be undone except by a
                  manual adjustment.
                </p>
              );
            }}
          >
            Assign and credit
          </ConfirmButton>
        ) : null}
      </Form>
    </div>
  );
}

function RetrySession({ item, feedback }: { item: FixItem; feedback?: FixFeedback }) {
  const submitting = useSubmitting(item.id, "retry-session");
  const errors = feedback?.intent === "retry-session" ? feedback.fieldErrors : {};
  return (
    <Form method="post" className="fix">
      <input type="hidden" name="itemId" value={item.id} />
      <FormError message={errors.form ?? errors.itemId} />
      <ConfirmButton
        intent="retry-session"
        title="Sync packs and retry this session?"
        confirmLabel="Sync and retry"
        pending={submitting}
        pendingLabel="Syncing and retrying…"
        describe={() => (
          <p>
            Credit packs are synced from Stripe&apos;s prices, then{" "}
            <span className="mono">{item.checkoutSessionId}</span> is fulfilled again. If it now
            maps to packs and a user, the user is credited (once, however often this runs).
          </p>
        )}
      >
        Sync packs and retry
      </ConfirmButton>
    </Form>
  );
}

function RetryEvent({
  item,
  feedback,
  canReplay,
}: {
  item: FixItem;
  feedback?: FixFeedback;
  canReplay: boolean;
}) {
  const submitting = useSubmitting(item.id, "retry-event");
  const errors = feedback?.intent === "retry-event" ? feedback.fieldErrors : {};
  if (!canReplay) return <p className="muted small">Replaying the event needs an admin.</p>;
  return (
    <Form method="post" className="fix">
      <input type="hidden" name="itemId" value={item.id} />
      <FormError message={errors.form ?? errors.itemId} />
      <ConfirmButton
        intent="retry-event"
        title="Replay this event?"
        confirmLabel="Replay event"
        pending={submitting}
        pendingLabel="Replaying…"
        describe={() => (
          <p>
            <span className="mono">{item.stripeEventId}</span> is processed again by the webhook
            handler. If it credits a purchase that was not credited yet, a balance changes; nothing
            is applied twice.
          </p>
        )}
      >
        Replay event
      </ConfirmButton>
    </Form>
  );
}

function CloseForm({
  item,
  feedback,
  intent,
}: {
  item: FixItem;
  feedback?: FixFeedback;
  intent: "dismiss" | "resolve";
}) {
  const submitting = useSubmitting(item.id, intent);
  const mine = feedback?.intent === intent;
  const errors = mine ? feedback.fieldErrors : {};
  const field = intent === "dismiss" ? "reason" : "resolution";
  return (
    <details className="fix close-form" open={mine && Object.keys(errors).length > 0}>
      <summary>{intent === "dismiss" ? "Dismiss…" : "Mark resolved…"}</summary>
      <Form method="post">
        <input type="hidden" name="itemId" value={item.id} />
        <TextAreaField
          label={
            intent === "dismiss"
              ? "Why does this need no fix? (at least 10 characters)"
              : "What was done? (at least 10 characters)"
          }
          name={field}
          idPrefix={`${intent}-${item.id}-`}
          rows={2}
          required
          minLength={10}
          maxLength={2000}
          defaultValue={mine ? (feedback.values[field] ?? "") : ""}
          error={errors[field]}
        />
        <FormError message={errors.form ?? errors.itemId} />
        <button
          type="submit"
          name="intent"
          value={intent}
          className="secondary"
          disabled={submitting}
        >
          {submitting ? "Saving…" : intent === "dismiss" ? "Dismiss item" : "Mark resolved"}
        </button>
      </Form>
    </details>
  );
}

/** The fixes that apply to an item of this kind, beside it. */
export function AttentionFixes({
  item,
  feedback,
  canReplay,
}: {
  item: FixItem;
  feedback?: FixFeedback;
  canReplay: boolean;
}) {
  const hasSession = Boolean(item.checkoutSessionId);
  return (
    <div className="fixes">
      {item.kind === "unmatched_user" && hasSession ? (
        <AssignUser item={item} feedback={feedback} />
      ) : null}
      {(item.kind === "unknown_price" ||
        item.kind === "amount_mismatch" ||
        item.kind === "reconciliation_error") &&
      hasSession ? (
        <RetrySession item={item} feedback={feedback} />
      ) : null}
      {item.kind === "failed_event" && item.stripeEventId ? (
        <RetryEvent item={item} feedback={feedback} canReplay={canReplay} />
      ) : null}
      {hasSession || item.kind === "failed_event" ? null : (
        <CloseForm item={item} feedback={feedback} intent="resolve" />
      )}
      <CloseForm item={item} feedback={feedback} intent="dismiss" />
    </div>
  );
}

/** A fix that ran but did not fix the cause ("Still not credited …"), shown above the page. */
export function FixOutcomeAlert({ outcome }: { outcome?: { tone: string; message: string } }) {
  if (!outcome) return null;
  return (
    <div className={`alert ${outcome.tone === "error" ? "error" : "success"}`} role="alert">
      {outcome.message}
    </div>
  );
}

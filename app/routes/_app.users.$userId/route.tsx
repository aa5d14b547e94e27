import { randomUUID } from "node:crypto";
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { ConfirmButton } from "~/components/confirm-button";
import { EmptyState } from "~/components/empty-state";
import { FormError, SelectField, TextAreaField, TextField } from "~/components/field";
import { formatCredits, formatDelta, formatMoney, humanize } from "~/components/format";
import { Pager } from "~/components/pager";
import { StatusBadge } from "~/components/status-badge";
import { Time } from "~/components/time";
import {
  adjustCredits,
  adjustmentSchema,
  approvalThreshold,
} from "~/services/admin/adjustments.server";
import { redirectWithToast } from "~/services/admin/flash.server";
import {
  domainErrorToFields,
  parseSearch,
  parseValues,
  toValues,
  type FieldErrors,
  type FormValues,
} from "~/services/admin/forms.server";
import { orHttpError } from "~/services/admin/http.server";
import { canOps } from "~/services/admin/ops-permissions";
import { ACCESS, can } from "~/services/admin/permissions";
import {
  changeTier,
  creditSession,
  creditSessionSchema,
  tierChangeSchema,
  type CreditSessionView,
} from "~/services/admin/user-actions.server";
import { getUserDetail, userDetailSearchSchema } from "~/services/admin/user-detail.server";
import { requireStaff } from "~/services/auth/session.server";
import { DomainError, InsufficientCreditsError } from "~/services/errors.server";
import { clientIp } from "~/services/request.server";

export const meta: MetaFunction<typeof loader> = ({ data: d }) => [
  { title: `${d?.detail.user.email ?? "User"} · creditdesk` },
];

export async function loader({ request, params }: LoaderFunctionArgs) {
  const staff = await requireStaff(request, { roles: ACCESS.users });
  const parsed = parseSearch(request, userDetailSearchSchema);
  if (!parsed.ok) throw new Response(Object.values(parsed.fieldErrors)[0], { status: 400 });
  const detail = await orHttpError(() => getUserDetail(params.userId ?? "", parsed.data));
  return {
    detail,
    threshold: approvalThreshold(),
    // A fresh nonce per rendering of the adjustment form: its idempotency key (see adjustments.server.ts).
    nonce: randomUUID(),
    canAct: can(staff.role, "userActions"),
    canOpenPurchases: can(staff.role, "purchaseDetail"),
    canOpenEvents: canOps(staff.role, "webhooks"),
  };
}

type Intent = "adjust" | "tier" | "credit-session";
type ActionResult = {
  intent: Intent;
  fieldErrors: FieldErrors;
  values: FormValues;
  outcome?: CreditSessionView;
};

function failed(intent: Intent, values: FormValues, fieldErrors: FieldErrors, status = 400) {
  return data<ActionResult>({ intent, fieldErrors, values }, { status });
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  const staff = await requireStaff(request, { roles: ACCESS.userActions });
  const userId = params.userId ?? "";
  const values = toValues(await request.formData());
  const actor = { id: staff.id, email: staff.email, ip: clientIp(context) };
  const here = `/users/${encodeURIComponent(userId)}`;
  const intent = values.intent as Intent;

  try {
    if (intent === "adjust") {
      const parsed = parseValues(adjustmentSchema, values);
      if (!parsed.ok) return failed(intent, values, parsed.fieldErrors);
      const result = await adjustCredits(userId, parsed.data, actor);
      if (result.kind === "requested") {
        return redirectWithToast(
          here,
          "success",
          result.created
            ? `Approval requested: ${formatDelta(result.amount)} credits is above the ${formatCredits(result.threshold)} threshold, so another staff member must approve it.`
            : "This request was already filed (the form was sent twice); nothing more was requested.",
        );
      }
      return redirectWithToast(
        here,
        result.created ? "success" : "info",
        result.created
          ? `${result.delta > 0 ? "Added" : "Removed"} ${formatCredits(Math.abs(result.delta))} credits. New balance: ${formatCredits(result.balance)}.`
          : `This adjustment was already recorded (the form was sent twice); nothing more was changed. Balance: ${formatCredits(result.balance)}.`,
      );
    }
    if (intent === "tier") {
      const parsed = parseValues(tierChangeSchema, values);
      if (!parsed.ok) return failed(intent, values, parsed.fieldErrors);
      const result = await changeTier(userId, parsed.data, actor);
      return redirectWithToast(
        here,
        "success",
        `Tier changed from ${result.from} to ${result.to}.`,
      );
    }
    if (intent === "credit-session") {
      const parsed = parseValues(creditSessionSchema, values);
      if (!parsed.ok) return failed(intent, values, parsed.fieldErrors);
      const outcome = await creditSession(userId, parsed.data, actor);
      return { intent, fieldErrors: {}, values, outcome } satisfies ActionResult;
    }
  } catch (error) {
    if (error instanceof InsufficientCreditsError) {
      return failed(intent, values, {
        amount: `Not enough credits: the balance is ${formatCredits(error.balance)}, so at most ${formatCredits(error.balance)} can be removed.`,
      });
    }
    if (error instanceof DomainError && error.status !== 404) {
      return failed(
        intent,
        values,
        domainErrorToFields(error, { delta: "amount", idempotencyKey: "form" }),
        error.status >= 500 ? 502 : error.status === 403 ? 403 : 400,
      );
    }
    if (error instanceof DomainError) throw new Response(error.message, { status: 404 });
    throw error;
  }
  return failed("adjust", values, { form: "Unknown action: reload the page and try again." });
}

export default function UserDetailPage() {
  const { detail, threshold, nonce, canAct, canOpenPurchases, canOpenEvents } =
    useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>();
  const { user, ledger } = detail;
  const eventIds = new Set(detail.events.map((e) => e.id));
  return (
    <>
      <p className="breadcrumb">
        <Link to="/users">Users</Link> / <span className="mono">{user.id}</span>
      </p>
      <h1>{user.email}</h1>
      <div className="grid summary">
        <div className="card stat">
          <div className="label">Balance</div>
          <div className="value" data-testid="balance">
            {formatCredits(user.balance)}
          </div>
          <div className="muted small">credits</div>
        </div>
        <div className="card stat">
          <div className="label">Tier</div>
          <div className="value">{user.tier.name}</div>
        </div>
        <div className="card">
          <dl className="facts">
            <dt>Name</dt>
            <dd>{user.name ?? "–"}</dd>
            <dt>User id</dt>
            <dd className="mono">{user.id}</dd>
            <dt>Stripe customer</dt>
            <dd className="mono">{user.stripeCustomerId ?? "none yet"}</dd>
            <dt>Created</dt>
            <dd>
              <Time value={user.createdAt} />
            </dd>
          </dl>
        </div>
      </div>

      {canAct ? (
        <section aria-labelledby="actions-heading">
          <h2 id="actions-heading">Actions</h2>
          <div className="grid actions">
            <AdjustForm
              key={nonce}
              nonce={nonce}
              threshold={threshold}
              balance={user.balance}
              email={user.email}
              result={actionData?.intent === "adjust" ? actionData : undefined}
            />
            <TierForm
              tiers={detail.tiers}
              current={user.tierCode}
              result={actionData?.intent === "tier" ? actionData : undefined}
            />
            <CreditSessionForm
              email={user.email}
              result={actionData?.intent === "credit-session" ? actionData : undefined}
            />
          </div>
        </section>
      ) : null}

      {detail.pendingRequests.length > 0 ? (
        <section aria-labelledby="pending-heading" className="card">
          <h2 id="pending-heading">Pending adjustment requests</h2>
          <ul className="plain-list">
            {detail.pendingRequests.map((r) => (
              <li key={r.id}>
                <strong>{formatDelta(r.amount)}</strong> credits, requested by{" "}
                {r.requestedBy.name ?? r.requestedBy.email} <Time value={r.createdAt} />: {r.reason}
              </li>
            ))}
          </ul>
          <p>
            <Link to="/approvals">Open approvals →</Link>
          </p>
        </section>
      ) : null}

      {detail.attention.length > 0 ? (
        <section aria-labelledby="attention-heading" className="card attention">
          <h2 id="attention-heading">Open attention items</h2>
          <ul className="plain-list">
            {detail.attention.map((a) => (
              <li key={a.id}>
                <StatusBadge status={a.kind} /> <strong>{a.title}</strong>
                {a.detail ? <div className="muted small">{a.detail}</div> : null}
              </li>
            ))}
          </ul>
        </section>
      ) : null}

      <section aria-labelledby="ledger-heading">
        <h2 id="ledger-heading">Ledger</h2>
        {ledger.entries.length === 0 ? (
          <EmptyState title="No ledger entries yet.">
            Purchases, usage and adjustments appear here as they happen.
          </EmptyState>
        ) : (
          <>
            <div className="table-wrap">
              <table data-testid="ledger">
                <caption className="sr-only">
                  Ledger entries, newest first, with the running balance
                </caption>
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col" className="num">
                      #
                    </th>
                    <th scope="col">Kind</th>
                    <th scope="col" className="num">
                      Change
                    </th>
                    <th scope="col" className="num">
                      Balance
                    </th>
                    <th scope="col">Reason</th>
                    <th scope="col">By</th>
                    <th scope="col">Links</th>
                  </tr>
                </thead>
                <tbody>
                  {ledger.entries.map((e) => (
                    <tr key={e.id}>
                      <td>
                        <Time value={e.createdAt} />
                      </td>
                      <td className="num">{e.seq}</td>
                      <td>{humanize(e.kind)}</td>
                      <td className={`num ${e.delta < 0 ? "negative" : "positive"}`}>
                        {formatDelta(e.delta)}
                      </td>
                      <td className="num">{formatCredits(e.balanceAfter)}</td>
                      <td className="reason">{e.reason ?? <span className="muted">–</span>}</td>
                      <td>{actorLabel(e)}</td>
                      <td className="links">
                        {e.purchaseId ? (
                          canOpenPurchases ? (
                            <Link to={`/purchases/${e.purchaseId}`}>purchase</Link>
                          ) : (
                            <span className="mono">{e.purchaseId}</span>
                          )
                        ) : null}
                        {e.stripeEventId ? (
                          canOpenEvents ? (
                            <Link to={`/webhooks/events/${encodeURIComponent(e.stripeEventId)}`}>
                              event
                            </Link>
                          ) : eventIds.has(e.stripeEventId) ? (
                            <a href={`#event-${e.stripeEventId}`}>event</a>
                          ) : (
                            <span className="mono small" title="Stripe event">
                              {e.stripeEventId}
                            </span>
                          )
                        ) : null}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <Pager
              next={ledger.olderBefore}
              prev={ledger.newerAfter}
              nextParam="ledgerBefore"
              prevParam="ledgerAfter"
              nextLabel="Older entries"
              prevLabel="Newer entries"
              label="Ledger pages"
              hash="#ledger-heading"
            />
          </>
        )}
      </section>

      <section aria-labelledby="purchases-heading">
        <h2 id="purchases-heading">Purchases</h2>
        {detail.purchases.length === 0 ? (
          <EmptyState title="No purchases.">
            If the user says they paid, ask for the receipt and credit the Checkout Session by id
            above.
          </EmptyState>
        ) : (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Checkout Session</th>
                  <th scope="col">Pack</th>
                  <th scope="col" className="num">
                    Credits
                  </th>
                  <th scope="col" className="num">
                    Amount
                  </th>
                  <th scope="col">Status</th>
                  <th scope="col">Credited via</th>
                </tr>
              </thead>
              <tbody>
                {detail.purchases.map((p) => (
                  <tr key={p.id}>
                    <td>
                      <Time value={p.createdAt} />
                    </td>
                    <td className="mono">
                      {canOpenPurchases ? (
                        <Link to={`/purchases/${p.id}`}>{p.checkoutSessionId}</Link>
                      ) : (
                        p.checkoutSessionId
                      )}
                    </td>
                    <td>{p.pack?.name ?? "–"}</td>
                    <td className="num">{formatCredits(p.credits)}</td>
                    <td className="num">
                      {formatMoney(p.amountTotal, p.currency)}
                      {p.amountRefunded > 0 ? (
                        <div className="muted small">
                          refunded {formatMoney(p.amountRefunded, p.currency)}
                        </div>
                      ) : null}
                    </td>
                    <td>
                      <StatusBadge status={p.status} />
                    </td>
                    <td>
                      {humanize(p.creditedVia)}{" "}
                      <span className="muted small">
                        (user by {humanize(p.userResolvedBy).toLowerCase()})
                      </span>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {detail.purchaseCount > detail.purchases.length ? (
          <p className="muted small">
            Showing the newest {detail.purchases.length} of {formatCredits(detail.purchaseCount)}{" "}
            purchases.
            {canOpenPurchases ? (
              <>
                {" "}
                <Link to={`/purchases?from=&user=${encodeURIComponent(user.id)}`}>
                  See all of this user’s purchases
                </Link>
              </>
            ) : null}
          </p>
        ) : null}
      </section>

      <section aria-labelledby="tier-history-heading">
        <h2 id="tier-history-heading">Tier history</h2>
        {detail.tierHistory.length === 0 ? (
          <EmptyState title={`On ${user.tier.name} since the account was created.`} />
        ) : (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Change</th>
                  <th scope="col">Source</th>
                  <th scope="col">By</th>
                  <th scope="col">Reason</th>
                </tr>
              </thead>
              <tbody>
                {detail.tierHistory.map((t) => (
                  <tr key={t.id}>
                    <td>
                      <Time value={t.createdAt} />
                    </td>
                    <td>
                      {t.fromTier ?? "–"} → <strong>{t.toTier}</strong>
                    </td>
                    <td>{humanize(t.source)}</td>
                    <td>
                      {t.staff ? (
                        (t.staff.name ?? t.staff.email)
                      ) : (
                        <span className="muted">automatic</span>
                      )}
                    </td>
                    <td>{t.reason ?? <span className="muted">–</span>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <section aria-labelledby="events-heading">
        <h2 id="events-heading">Stripe events about this user</h2>
        {detail.events.length === 0 ? (
          <EmptyState title="No Stripe events linked to this user." />
        ) : (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Received</th>
                  <th scope="col">Event</th>
                  <th scope="col">Type</th>
                  <th scope="col">Status</th>
                  <th scope="col">Object</th>
                  <th scope="col">Last error</th>
                </tr>
              </thead>
              <tbody>
                {detail.events.map((ev) => (
                  <tr key={ev.id} id={`event-${ev.id}`}>
                    <td>
                      <Time value={ev.receivedAt} />
                    </td>
                    <td className="mono">
                      {canOpenEvents ? (
                        <Link to={`/webhooks/events/${encodeURIComponent(ev.id)}`}>{ev.id}</Link>
                      ) : (
                        ev.id
                      )}
                    </td>
                    <td>{ev.type}</td>
                    <td>
                      <StatusBadge status={ev.status} />
                      {ev.attempts > 1 ? (
                        <span className="muted small"> ({ev.attempts} attempts)</span>
                      ) : null}
                    </td>
                    <td className="mono">{ev.objectId ?? "–"}</td>
                    <td>{ev.lastError ?? <span className="muted">–</span>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}

type LedgerEntryView = ReturnType<
  typeof useLoaderData<typeof loader>
>["detail"]["ledger"]["entries"][number];

function actorLabel(e: LedgerEntryView): string {
  if (e.staff) return e.staff.name ?? e.staff.email;
  if (e.apiKey) return `API key “${e.apiKey.name}”`;
  const via = (e.metadata as { via?: unknown } | null)?.via;
  if (typeof via === "string") return `Stripe (${humanize(via).toLowerCase()})`;
  if (e.stripeEventId) return "Stripe webhook";
  return "System";
}

type FormResult = ActionResult | undefined;

function usePendingIntent(intent: Intent, extra?: (form: FormData) => boolean) {
  const navigation = useNavigation();
  const form = navigation.formData;
  return (
    navigation.state === "submitting" &&
    form?.get("intent") === intent &&
    (extra ? extra(form) : true)
  );
}

function AdjustForm({
  nonce,
  threshold,
  balance,
  email,
  result,
}: {
  nonce: string;
  threshold: number;
  balance: number;
  email: string;
  result: FormResult;
}) {
  const pending = usePendingIntent("adjust");
  const errors = result?.fieldErrors ?? {};
  const values = result?.values ?? {};
  return (
    <Form method="post" className="card" noValidate aria-labelledby="adjust-heading">
      <h3 id="adjust-heading">Adjust credits</h3>
      <input type="hidden" name="nonce" value={nonce} />
      <FormError message={errors.form ?? errors.nonce} />
      <TextField
        idPrefix="adjust-"
        label="Amount (credits)"
        name="amount"
        inputMode="numeric"
        defaultValue={values.amount ?? ""}
        error={errors.amount}
        hint={`Positive adds, negative removes. Above ${formatCredits(threshold)} (either way) needs a second person’s approval.`}
        required
      />
      <TextAreaField
        idPrefix="adjust-"
        label="Reason"
        name="reason"
        rows={2}
        defaultValue={values.reason ?? ""}
        error={errors.reason}
        hint="At least 10 characters; shown in the ledger."
        required
      />
      <TextField
        idPrefix="adjust-"
        label="Ticket reference (optional)"
        name="ticketRef"
        defaultValue={values.ticketRef ?? ""}
        error={errors.ticketRef}
      />
      <ConfirmButton
        intent="adjust"
        title="Adjust credits?"
        pending={pending}
        pendingLabel="Saving…"
        describe={(form) => {
          const raw = String(form.get("amount") ?? "").replace(/[\s,_]/g, "");
          const amount = /^[+-]?\d+$/.test(raw) ? Number(raw) : NaN;
          const reason = String(form.get("reason") ?? "").trim();
          if (!Number.isFinite(amount) || amount === 0) {
            return (
              <p>
                The amount is not a whole, non-zero number yet; confirming will show what to fix.
              </p>
            );
          }
          const verb = amount > 0 ? "Add" : "Remove";
          return (
            <>
              <p>
                {verb} <strong>{formatCredits(Math.abs(amount))}</strong> credits{" "}
                {amount > 0 ? "to" : "from"} {email}.
              </p>
              {Math.abs(amount) > threshold ? (
                <p className="alert warn">
                  Above the approval threshold of {formatCredits(threshold)}: this files an approval
                  request. The balance changes only when another staff member approves it.
                </p>
              ) : (
                <p>
                  Balance {formatCredits(balance)} →{" "}
                  <strong>{formatCredits(balance + amount)}</strong>
                  {balance + amount < 0 ? " (not allowed: a balance cannot go below zero)" : ""}.
                </p>
              )}
              {reason ? <p className="muted">Reason: {reason}</p> : null}
            </>
          );
        }}
      >
        Adjust credits…
      </ConfirmButton>
    </Form>
  );
}

function TierForm({
  tiers,
  current,
  result,
}: {
  tiers: { code: string; name: string }[];
  current: string;
  result: FormResult;
}) {
  const pending = usePendingIntent("tier");
  const errors = result?.fieldErrors ?? {};
  const values = result?.values ?? {};
  return (
    <Form method="post" className="card" noValidate aria-labelledby="tier-heading">
      <h3 id="tier-heading">Change tier</h3>
      <FormError message={errors.form} />
      <SelectField
        idPrefix="tier-"
        label="New tier"
        name="tier"
        defaultValue={values.tier ?? current}
        error={errors.tier}
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
        defaultValue={values.reason ?? ""}
        error={errors.reason}
        hint="At least 10 characters. A manual tier stands until a subscription, refund or dispute changes it."
        required
      />
      <ConfirmButton
        intent="tier"
        title="Change tier?"
        pending={pending}
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

function CreditSessionForm({ email, result }: { email: string; result: FormResult }) {
  const pending = usePendingIntent("credit-session", (form) => form.get("assign") !== "yes");
  const errors = result?.fieldErrors ?? {};
  const values = result?.values ?? {};
  const outcome = result?.outcome;
  return (
    <div className="card" aria-labelledby="credit-session-heading">
      <h3 id="credit-session-heading">Credit a Checkout Session</h3>
      <Form method="post" noValidate>
        <FormError message={errors.form} />
        <TextField
          idPrefix="credit-"
          label="Checkout Session id"
          name="sessionId"
          defaultValue={values.sessionId ?? ""}
          error={errors.sessionId}
          hint="Starts with cs_. Runs the same fulfillment as the webhook, so a session is never credited twice."
          autoComplete="off"
          required
        />
        <ConfirmButton
          intent="credit-session"
          title="Credit this Checkout Session?"
          pending={pending}
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
  const assigning = usePendingIntent("credit-session", (form) => form.get("assign") === "yes");
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

export { RouteErrorBoundary as ErrorBoundary } from "~/components/route-error-boundary";

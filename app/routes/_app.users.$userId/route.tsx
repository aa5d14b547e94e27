import type { MetaFunction } from "@remix-run/node";
import { Link, useActionData, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { EmptyState } from "~/components/empty-state";
import { formatCredits, formatDelta } from "~/components/format";
import { LedgerTable } from "~/components/ledger-table";
import { Pager } from "~/components/pager";
import { PurchasesTable } from "~/components/purchases-table";
import { StatusBadge } from "~/components/status-badge";
import { StripeEventsTable } from "~/components/stripe-events-table";
import { StripeLink } from "~/components/stripe-link";
import { Time } from "~/components/time";
import { intent, staffAction, staffLoader } from "~/lib/route-builders";
import { getUserDetail, userDetailSearchSchema } from "~/presenters/user-detail.server";
import { getUserGrants } from "~/presenters/user-grants.server";
import {
  adjustCredits,
  approvalThreshold,
  approvalWindowHours,
  creditedInWindow,
  issueFormNonce,
  reversalSchema,
  reverseEntry,
  withdrawAdjustment,
} from "~/services/admin/adjustments.server";
import { canOps } from "~/shared/ops-permissions";
import {
  changeTier,
  creditSession,
  creditSessionSchema,
  tierChangeSchema,
} from "~/services/admin/user-actions.server";
import { InsufficientCreditsError } from "~/services/errors.server";
import { getEnv } from "~/services/infra/env.server";
import { ACCESS, can } from "~/shared/permissions";
import { adjustmentSchema, withdrawSchema } from "~/shared/schemas/adjustment";
import { AdjustForm, adjustedToast } from "./adjust-form";
import { CheckStripePanel } from "./check-stripe";
import { CreditSessionForm } from "./credit-session-form";
import { GrantsSection } from "./grants-section";
import { StatementLink } from "./statement-link";
import { ReverseForm } from "./reverse-form";
import { TierHistory } from "./tier-history";
import { WithdrawForm } from "~/components/withdraw-form";
import { TierForm } from "./tier-form";
import { staffLabel } from "~/shared/labels";

export const meta: MetaFunction<typeof loader> = ({ data: d }) => [
  { title: `${d?.detail.user.email ?? "User"} · creditdesk` },
];

export const loader = staffLoader(
  { roles: ACCESS.users, params: z.object({ userId: z.string() }), search: userDetailSearchSchema },
  async ({ request, staff, params, search }) => {
    const [detail, windowTotal, grants] = await Promise.all([
      getUserDetail(params.userId, search),
      creditedInWindow(params.userId, staff.id),
      getUserGrants(params.userId),
    ]);
    return {
      detail,
      grants,
      // The confirm dialog previews with the same rule as the action (~/shared/schemas/adjustment).
      threshold: approvalThreshold(),
      windowTotal,
      windowHours: approvalWindowHours(),
      // A fresh server-signed nonce per rendering: the adjustment's idempotency key and request id.
      nonce: issueFormNonce(staff.id, params.userId),
      me: staff.id,
      /** The ledger's "Reverse…" link preselects its entry in the reverse form. */
      reverse: new URL(request.url).searchParams.get("reverse"),
      /** The header search's "Credit it on this user's page" prefills the credit form. */
      credit: new URL(request.url).searchParams.get("credit"),
      canAct: can(staff.role, "userActions"),
      canOpenPurchases: can(staff.role, "purchaseDetail"),
      canOpenEvents: canOps(staff.role, "webhooks"),
      canOpenAttention: canOps(staff.role, "attention"),
      /** A customer id does not carry its mode: the configured key's mode says which dashboard. */
      stripeLive: (getEnv().STRIPE_SECRET_KEY ?? "").includes("_live_"),
    };
  },
);

export const action = staffAction({
  roles: ACCESS.userActions,
  intents: {
    adjust: intent({
      schema: adjustmentSchema,
      run: (input, { params, actor }) => adjustCredits(params.userId ?? "", input, actor),
      ok: adjustedToast,
      fieldMap: { delta: "amount", idempotencyKey: "form" },
      explain: (error) =>
        error instanceof InsufficientCreditsError
          ? {
              amount: `Not enough credits: the balance is ${formatCredits(error.balance)}, so at most ${formatCredits(error.balance)} can be removed.`,
            }
          : undefined,
    }),
    reverse: intent({
      schema: reversalSchema,
      run: (input, { params, actor }) => reverseEntry(params.userId ?? "", input, actor),
      ok: (r) => ({
        toast: `Reversed entry #${r.seq} with #${r.reversalSeq} (${formatDelta(r.delta)} credits). New balance: ${formatCredits(r.balance)}.`,
      }),
    }),
    withdraw: intent({
      schema: withdrawSchema,
      run: (input, { actor }) => withdrawAdjustment(input.requestId, actor),
      ok: (r) => ({
        kind: "info",
        toast: `Withdrew your ${formatDelta(r.request.amount)} credits request; nothing was changed.`,
      }),
    }),
    tier: intent({
      schema: tierChangeSchema,
      run: (input, { params, actor }) => changeTier(params.userId ?? "", input, actor),
      ok: (r) => ({ toast: `Tier changed from ${r.from} to ${r.to}.` }),
    }),
    "credit-session": intent({
      schema: creditSessionSchema,
      run: (input, { params, actor }) => creditSession(params.userId ?? "", input, actor),
      ok: (outcome) => ({ outcome }),
    }),
  },
});

export default function UserDetailPage() {
  const {
    detail,
    grants,
    threshold,
    windowTotal,
    windowHours,
    nonce,
    me,
    reverse,
    credit,
    canAct,
    canOpenPurchases,
    canOpenEvents,
    canOpenAttention,
    stripeLive,
  } = useLoaderData<typeof loader>();
  const reply = useActionData<typeof action>();
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
            <dd>
              <span className="mono">{user.stripeCustomerId ?? "none yet"}</span>{" "}
              {user.stripeCustomerId ? (
                <StripeLink
                  id={user.stripeCustomerId}
                  livemode={user.stripeCustomerId.startsWith("cus_") && stripeLive}
                />
              ) : null}
            </dd>
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
              windowTotal={windowTotal}
              windowHours={windowHours}
              recentPurchases={detail.recentCredits.filter((c) => c.kind === "purchase")}
              balance={user.balance}
              email={user.email}
              reply={reply}
            />
            <ReverseForm
              entries={ledger.entries.filter((e) => e.reversible)}
              selected={reverse}
              balance={user.balance}
              reply={reply}
            />
            <TierForm tiers={detail.tiers} current={user.tierCode} reply={reply} />
            <CreditSessionForm userId={user.id} email={user.email} prefill={credit} reply={reply} />
          </div>
        </section>
      ) : null}

      <CheckStripePanel
        userId={user.id}
        email={user.email}
        canAct={canAct}
        canOpenPurchases={canOpenPurchases}
        canOpenEvents={canOpenEvents}
        canOpenAttention={canOpenAttention}
        reply={reply}
      />

      {detail.pendingRequests.length > 0 ? (
        <section aria-labelledby="pending-heading" className="card">
          <h2 id="pending-heading">Pending adjustment requests</h2>
          <ul className="plain-list">
            {detail.pendingRequests.map((r) => (
              <li key={r.id} data-testid="pending-request">
                <strong>{formatDelta(r.amount)}</strong> credits
                {r.checkoutSessionId ? (
                  <>
                    {" "}
                    from session <span className="mono">{r.checkoutSessionId}</span>
                  </>
                ) : null}
                , requested by {staffLabel(r.requestedBy)} <Time value={r.createdAt} />: {r.reason}
                {r.requestedBy.id === me ? (
                  <WithdrawForm requestId={r.id} amount={r.amount} reply={reply} />
                ) : null}
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
        <StatementLink userId={user.id} />
        {ledger.entries.length === 0 ? (
          <EmptyState title="No ledger entries yet.">
            Purchases, usage and adjustments appear here as they happen.
          </EmptyState>
        ) : (
          <>
            <LedgerTable
              variant="user"
              rows={ledger.entries}
              canOpenPurchases={canOpenPurchases}
              eventLink={(id) =>
                canOpenEvents ? (
                  <Link to={`/webhooks/events/${encodeURIComponent(id)}`}>event</Link>
                ) : eventIds.has(id) ? (
                  <a href={`#event-${id}`}>event</a>
                ) : (
                  <span className="mono small" title="Stripe event">
                    {id}
                  </span>
                )
              }
              testId="ledger"
              rowAction={(e) =>
                canAct && e.reversible ? (
                  <Link
                    to={`?reverse=${e.id}#reverse-heading`}
                    preventScrollReset={false}
                    aria-label={`Reverse entry #${e.seq}`}
                  >
                    Reverse…
                  </Link>
                ) : null
              }
              caption="Ledger entries, newest first, with the running balance"
            />
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

      <GrantsSection rows={grants.rows} total={grants.total} canOpenPurchases={canOpenPurchases} />

      <section aria-labelledby="purchases-heading">
        <h2 id="purchases-heading">Purchases</h2>
        {detail.purchases.length === 0 ? (
          <EmptyState title="No purchases.">
            If the user says they paid, use “Check Stripe” above: it lists their payments in Stripe
            and credits a paid one from there.
          </EmptyState>
        ) : (
          <PurchasesTable variant="user" rows={detail.purchases} canOpen={canOpenPurchases} />
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

      <TierHistory rows={detail.tierHistory} tierName={user.tier.name} />

      <section aria-labelledby="events-heading">
        <h2 id="events-heading">Stripe events about this user</h2>
        {detail.events.length === 0 ? (
          <EmptyState title="No Stripe events linked to this user." />
        ) : (
          <StripeEventsTable rows={detail.events} canOpen={canOpenEvents} />
        )}
      </section>
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from "~/components/route-error-boundary";

import type { MetaFunction } from "@remix-run/node";
import { Link, useActionData, useLoaderData } from "@remix-run/react";
import { DataTable } from "~/components/data-table";
import { EmptyState } from "~/components/empty-state";
import { formatCredits, formatDelta } from "~/components/format";
import { Pager } from "~/components/pager";
import { StatusBadge } from "~/components/status-badge";
import { Time } from "~/components/time";
import { intent, staffAction, staffLoader } from "~/lib/route-builders";
import {
  approveAdjustment,
  approvalsSearchSchema,
  listApprovals,
  rejectAdjustment,
  withdrawAdjustment,
} from "~/services/admin/adjustments.server";
import { InsufficientCreditsError } from "~/services/errors.server";
import { ACCESS } from "~/shared/permissions";
import { decisionSchema, withdrawSchema } from "~/shared/schemas/adjustment";
import { WithdrawForm } from "~/components/withdraw-form";
import { kindLabel, staffLabel } from "~/shared/labels";
import { DecisionForm } from "./decision-form";

export const meta: MetaFunction = () => [{ title: "Approvals · creditdesk" }];

export const loader = staffLoader(
  {
    roles: ACCESS.approvals,
    search: approvalsSearchSchema,
    searchError: "This page link is not valid.",
  },
  async ({ staff, search }) => ({
    ...(await listApprovals({ after: search.after })),
    me: staff.id,
  }),
);

export const action = staffAction({
  roles: ACCESS.approvals,
  unknownIntent: "Choose approve, reject or withdraw.",
  notFound: "form",
  intents: {
    approve: intent({
      schema: decisionSchema,
      run: (input, { actor }) => approveAdjustment(input.requestId, input.note, actor),
      ok: (r) => ({
        to: "/approvals",
        toast: `Approved ${formatDelta(r.request.amount)} credits. The user's balance is now ${formatCredits(r.balance)}.`,
      }),
      explain: (error) =>
        error instanceof InsufficientCreditsError
          ? {
              form: `The balance is now ${formatCredits(error.balance)}, so this debit would take it below zero. Reject it, or ask for a smaller one.`,
            }
          : undefined,
    }),
    withdraw: intent({
      schema: withdrawSchema,
      run: (input, { actor }) => withdrawAdjustment(input.requestId, actor),
      ok: (r) => ({
        to: "/approvals",
        kind: "info",
        toast: `Withdrew your ${formatDelta(r.request.amount)} credits request; nothing was changed.`,
      }),
    }),
    reject: intent({
      schema: decisionSchema,
      run: (input, { actor }) => rejectAdjustment(input.requestId, input.note, actor),
      ok: (r) => ({
        to: "/approvals",
        toast: `Rejected the ${formatDelta(r.request.amount)} credits request.`,
      }),
    }),
  },
});

export default function Approvals() {
  const { pending, next, recent, me } = useLoaderData<typeof loader>();
  const reply = useActionData<typeof action>();
  return (
    <>
      <h1>Approvals</h1>
      <p className="muted">
        Credit adjustments above the approval threshold wait here until a second staff member
        approves or rejects them. Approving posts the ledger entry.
      </p>
      <h2>Pending</h2>
      {pending.length === 0 ? (
        <EmptyState title="Nothing waits for approval.">
          Requests appear here when someone adjusts a balance by more than the threshold on a user’s
          page.
        </EmptyState>
      ) : (
        <ul className="request-list">
          {pending.map((r) => (
            <li key={r.id} className="card" data-testid="approval-request">
              <div className="request-head">
                <strong className={r.amount < 0 ? "negative" : "positive"}>
                  {formatDelta(r.amount)} credits
                </strong>{" "}
                for <Link to={`/users/${encodeURIComponent(r.user.id)}`}>{r.user.email}</Link>{" "}
                <span className="muted">(balance now {formatCredits(r.user.balance)})</span>
              </div>
              {r.checkoutSessionId ? (
                <p>
                  Credit Checkout Session <span className="mono">{r.checkoutSessionId}</span> to
                  this user, although the session names another user. Approving runs the fulfillment
                  with this user.
                </p>
              ) : null}
              <p>{r.reason}</p>
              <CreditsSince rows={r.creditsSince} />
              <p className="muted small">
                Requested by {staffLabel(r.requestedBy)} <Time value={r.createdAt} />
                {r.ticketRef ? <> · ticket {r.ticketRef}</> : null}
              </p>
              {r.requestedBy.id === me ? (
                <>
                  <p className="alert info">
                    You requested this, so another staff member has to approve or reject it.
                  </p>
                  <WithdrawForm requestId={r.id} amount={r.amount} reply={reply} />
                </>
              ) : (
                <DecisionForm
                  requestId={r.id}
                  amount={r.amount}
                  email={r.user.email}
                  reply={reply}
                />
              )}
            </li>
          ))}
        </ul>
      )}
      <Pager
        next={next}
        prev={null}
        nextLabel="More pending requests"
        label="Pending request pages"
      />

      <h2>Recently decided</h2>
      {recent.length === 0 ? (
        <EmptyState title="No decisions yet." />
      ) : (
        <DataTable
          rows={recent}
          rowKey={(r) => r.id}
          columns={[
            { header: "Decided", cell: (r) => <Time value={r.decidedAt} /> },
            {
              header: "User",
              cell: (r) => (
                <Link to={`/users/${encodeURIComponent(r.user.id)}`}>{r.user.email}</Link>
              ),
            },
            { header: "Amount", num: true, cell: (r) => formatDelta(r.amount) },
            { header: "Status", cell: (r) => <StatusBadge status={r.status} /> },
            { header: "Requested by", cell: (r) => staffLabel(r.requestedBy) },
            {
              header: "Decided by",
              cell: (r) => (r.decidedBy ? staffLabel(r.decidedBy) : "–"),
            },
            { header: "Note", cell: (r) => r.decisionNote ?? "–" },
          ]}
        />
      )}
    </>
  );
}

/** What the user was credited since the request: did "the credits that never came" come meanwhile? */
function CreditsSince({
  rows,
}: {
  rows: {
    seq: number;
    kind: string;
    delta: number;
    createdAt: Date | string;
    reason: string | null;
  }[];
}) {
  if (rows.length === 0) {
    return (
      <p className="muted small" data-testid="credits-since">
        No credits since the request.
      </p>
    );
  }
  return (
    <div className="alert warn" data-testid="credits-since">
      <p>
        Credits this user received since the request ({rows.length}): check it is not already made
        good.
      </p>
      <ul className="plain-list">
        {rows.map((c) => (
          <li key={c.seq}>
            #{c.seq} {kindLabel(c.kind)} <strong>{formatDelta(c.delta)}</strong>{" "}
            <Time value={c.createdAt} />
            {c.reason ? <span className="muted"> — {c.reason}</span> : null}
          </li>
        ))}
      </ul>
    </div>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from "~/components/route-error-boundary";

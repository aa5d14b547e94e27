import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { ConfirmButton } from "~/components/confirm-button";
import { EmptyState } from "~/components/empty-state";
import { FormError, TextAreaField } from "~/components/field";
import { formatCredits, formatDelta } from "~/components/format";
import { Pager } from "~/components/pager";
import { StatusBadge } from "~/components/status-badge";
import { Time } from "~/components/time";
import {
  approveAdjustment,
  approvalsSearchSchema,
  decisionSchema,
  listApprovals,
  rejectAdjustment,
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
import { ACCESS } from "~/services/admin/permissions";
import { requireStaff } from "~/services/auth/session.server";
import { DomainError, InsufficientCreditsError } from "~/services/errors.server";
import { clientIp } from "~/services/request.server";

export const meta: MetaFunction = () => [{ title: "Approvals · creditdesk" }];

export async function loader({ request }: LoaderFunctionArgs) {
  const staff = await requireStaff(request, { roles: ACCESS.approvals });
  const parsed = parseSearch(request, approvalsSearchSchema);
  if (!parsed.ok) throw new Response("This page link is not valid.", { status: 400 });
  const approvals = await orHttpError(() => listApprovals({ after: parsed.data.after }));
  return { ...approvals, me: staff.id };
}

type Decision = "approve" | "reject";
interface ActionResult {
  requestId: string;
  fieldErrors: FieldErrors;
  values: FormValues;
}

export async function action({ request, context }: ActionFunctionArgs) {
  const staff = await requireStaff(request, { roles: ACCESS.approvals });
  const values = toValues(await request.formData());
  const intent = values.intent as Decision;
  const requestId = values.requestId ?? "";
  const fail = (fieldErrors: FieldErrors, status = 400) =>
    data<ActionResult>({ requestId, fieldErrors, values }, { status });
  if (intent !== "approve" && intent !== "reject")
    return fail({ form: "Choose approve or reject." });
  const parsed = parseValues(decisionSchema, values);
  if (!parsed.ok) return fail(parsed.fieldErrors);
  const actor = { id: staff.id, email: staff.email, ip: clientIp(context) };
  try {
    if (intent === "approve") {
      const result = await approveAdjustment(parsed.data.requestId, parsed.data.note, actor);
      return redirectWithToast(
        "/approvals",
        "success",
        `Approved ${formatDelta(result.request.amount)} credits. The user's balance is now ${formatCredits(result.balance)}.`,
      );
    }
    const result = await rejectAdjustment(parsed.data.requestId, parsed.data.note, actor);
    return redirectWithToast(
      "/approvals",
      "success",
      `Rejected the ${formatDelta(result.request.amount)} credits request.`,
    );
  } catch (error) {
    if (error instanceof InsufficientCreditsError) {
      return fail({
        form: `The balance is now ${formatCredits(error.balance)}, so this debit would take it below zero. Reject it, or ask for a smaller one.`,
      });
    }
    if (error instanceof DomainError) {
      return fail(
        domainErrorToFields(error),
        error.status === 403 ? 403 : error.status === 404 ? 404 : 409,
      );
    }
    throw error;
  }
}

export default function Approvals() {
  const { pending, next, recent, me } = useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>();
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
              <p>{r.reason}</p>
              <p className="muted small">
                Requested by {r.requestedBy.name ?? r.requestedBy.email}{" "}
                <Time value={r.createdAt} />
                {r.ticketRef ? <> · ticket {r.ticketRef}</> : null}
              </p>
              {r.requestedBy.id === me ? (
                <p className="alert info">
                  You requested this, so another staff member has to approve or reject it.
                </p>
              ) : (
                <DecisionForm
                  requestId={r.id}
                  amount={r.amount}
                  email={r.user.email}
                  result={actionData?.requestId === r.id ? actionData : undefined}
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
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Decided</th>
                <th scope="col">User</th>
                <th scope="col" className="num">
                  Amount
                </th>
                <th scope="col">Status</th>
                <th scope="col">Requested by</th>
                <th scope="col">Decided by</th>
                <th scope="col">Note</th>
              </tr>
            </thead>
            <tbody>
              {recent.map((r) => (
                <tr key={r.id}>
                  <td>
                    <Time value={r.decidedAt} />
                  </td>
                  <td>
                    <Link to={`/users/${encodeURIComponent(r.user.id)}`}>{r.user.email}</Link>
                  </td>
                  <td className="num">{formatDelta(r.amount)}</td>
                  <td>
                    <StatusBadge status={r.status} />
                  </td>
                  <td>{r.requestedBy.name ?? r.requestedBy.email}</td>
                  <td>{r.decidedBy ? (r.decidedBy.name ?? r.decidedBy.email) : "–"}</td>
                  <td>{r.decisionNote ?? "–"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

function DecisionForm({
  requestId,
  amount,
  email,
  result,
}: {
  requestId: string;
  amount: number;
  email: string;
  result?: ActionResult;
}) {
  const navigation = useNavigation();
  const busy =
    navigation.state === "submitting" && navigation.formData?.get("requestId") === requestId;
  const decision = busy ? navigation.formData?.get("intent") : null;
  const errors = result?.fieldErrors ?? {};
  return (
    <Form method="post" noValidate className="decision-form">
      <input type="hidden" name="requestId" value={requestId} />
      <FormError message={errors.form ?? errors.requestId} />
      <TextAreaField
        idPrefix={`note-${requestId}-`}
        label="Note"
        name="note"
        rows={2}
        defaultValue={result?.values.note ?? ""}
        error={errors.note}
        hint="Why you approve or reject (e.g. “checked ticket 4411”)."
        required
      />
      <div className="button-row">
        <ConfirmButton
          intent="approve"
          title="Approve this adjustment?"
          pending={decision === "approve"}
          pendingLabel="Approving…"
          describe={() => (
            <p>
              {amount > 0 ? "Add" : "Remove"} <strong>{formatCredits(Math.abs(amount))}</strong>{" "}
              credits {amount > 0 ? "to" : "from"} {email}. This posts a ledger entry at once.
            </p>
          )}
        >
          Approve…
        </ConfirmButton>
        <ConfirmButton
          intent="reject"
          title="Reject this adjustment?"
          danger
          className="secondary"
          pending={decision === "reject"}
          pendingLabel="Rejecting…"
          describe={() => <p>The request is closed and the balance stays as it is.</p>}
        >
          Reject…
        </ConfirmButton>
      </div>
    </Form>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from "~/components/route-error-boundary";

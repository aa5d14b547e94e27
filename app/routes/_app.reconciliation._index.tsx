import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { listRunsPage } from "~/presenters/reconciliation.server";
import { ConfirmButton } from "~/components/confirm-button";
import { EmptyState } from "~/components/empty-state";
import { FormError, TextField } from "~/components/field";
import { formatCredits, humanize } from "~/components/format";
import { Pager } from "~/components/pager";
import { RunProgress } from "~/components/run-progress";
import { StatusBadge } from "~/components/status-badge";
import { Time } from "~/components/time";
import { redirectWithToast } from "~/services/admin/flash.server";
import {
  parseSearch,
  parseValues,
  toValues,
  type FieldErrors,
  type FormValues,
} from "~/services/admin/forms.server";
import { orHttpError } from "~/services/admin/http.server";
import { canOps, OPS_ACCESS } from "~/shared/ops-permissions";
import {
  runNowSchema,
  runsSearchSchema,
  startRunAsStaff,
} from "~/services/admin/reconciliation-admin.server";
import { requireStaff } from "~/services/auth/session.server";
import { DomainError } from "~/services/errors.server";

export const meta: MetaFunction = () => [{ title: "Reconciliation · creditdesk" }];

export async function loader({ request }: LoaderFunctionArgs) {
  const staff = await requireStaff(request, { roles: OPS_ACCESS.reconciliation });
  const parsed = parseSearch(request, runsSearchSchema);
  if (!parsed.ok) throw new Response("This page link is not valid.", { status: 400 });
  const page = await orHttpError(() => listRunsPage(parsed.data.before));
  return { ...page, canRun: canOps(staff.role, "reconciliationRun"), first: !parsed.data.before };
}

type ActionResult = { fieldErrors: FieldErrors; values: FormValues; runningRunId?: string | null };

export async function action({ request }: ActionFunctionArgs) {
  const staff = await requireStaff(request, { roles: OPS_ACCESS.reconciliationRun });
  const values = toValues(await request.formData());
  const intent = values.intent;
  if (intent !== "run" && intent !== "dry-run") {
    return data<ActionResult>(
      { fieldErrors: { form: "Unknown action: reload the page and try again." }, values },
      { status: 400 },
    );
  }
  const parsed = parseValues(runNowSchema, {
    ...values,
    dryRun: intent === "dry-run" ? "true" : "false",
  });
  if (!parsed.ok)
    return data<ActionResult>({ fieldErrors: parsed.fieldErrors, values }, { status: 400 });
  try {
    const outcome = await startRunAsStaff(parsed.data, staff.id);
    if (!outcome.started) {
      return data<ActionResult>(
        { fieldErrors: { form: outcome.message }, values, runningRunId: outcome.runningRunId },
        { status: 409 },
      );
    }
    return redirectWithToast(
      `/reconciliation/${outcome.runId}`,
      "success",
      parsed.data.dryRun
        ? "Dry run started: nothing will be credited or changed."
        : "Reconciliation started.",
    );
  } catch (error) {
    if (error instanceof DomainError) {
      return data<ActionResult>(
        {
          fieldErrors: {
            [error.field === "to" || error.field === "from" ? error.field : "form"]: error.message,
          },
          values,
        },
        { status: error.status },
      );
    }
    throw error;
  }
}

export default function ReconciliationRuns() {
  const { runs, nextCursor, running, canRun, first } = useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>();
  const navigation = useNavigation();
  const submitting = navigation.state === "submitting" ? navigation.formData?.get("intent") : null;
  const errors = actionData?.fieldErrors ?? {};
  return (
    <>
      <h1>Reconciliation</h1>
      <p className="muted">
        Every night creditdesk asks Stripe for completed Checkout Sessions and credits any paid one
        the webhooks missed, exactly once. A run that had to credit anything means the webhooks are
        broken: check the <Link to="/webhooks">webhook checks</Link>.
      </p>

      {running ? (
        <>
          <div className="alert warn" role="status">
            A run is in progress (started <Time value={running.startedAt} />,{" "}
            {humanize(running.trigger)}). <Link to={`/reconciliation/${running.id}`}>Open it</Link>
          </div>
          <RunProgress run={running} />
        </>
      ) : null}

      {canRun ? (
        <section className="card" aria-labelledby="run-now-heading">
          <h2 id="run-now-heading">Run now</h2>
          <Form method="post" noValidate>
            <div className="inline-form">
              <TextField
                label="From (optional)"
                name="from"
                type="date"
                defaultValue={actionData?.values.from ?? ""}
                error={errors.from}
              />
              <TextField
                label="To (optional)"
                name="to"
                type="date"
                defaultValue={actionData?.values.to ?? ""}
                error={errors.to}
              />
              <div className="field">
                <ConfirmButton
                  intent="run"
                  title="Run reconciliation now?"
                  confirmLabel="Run now"
                  pending={submitting === "run"}
                  pendingLabel="Starting…"
                  describe={(form) => (
                    <p>
                      Stripe&apos;s completed Checkout Sessions
                      {form.get("from") || form.get("to")
                        ? ` from ${String(form.get("from") || "the last run")} to ${String(form.get("to") || "now")}`
                        : " since the last successful run"}{" "}
                      are compared with the ledger, and every paid session that was not credited is
                      credited now. Balances change.
                    </p>
                  )}
                >
                  Run now
                </ConfirmButton>
              </div>
              <div className="field">
                <button
                  type="submit"
                  name="intent"
                  value="dry-run"
                  className="secondary"
                  disabled={submitting === "dry-run"}
                >
                  {submitting === "dry-run" ? "Starting…" : "Dry run"}
                </button>
              </div>
            </div>
            <p className="muted small">
              Leave the dates empty for the usual window (from the last successful run, with an
              overlap). A dry run reports what it would do and changes nothing.
            </p>
          </Form>
          <FormError message={errors.form} />
          {actionData?.runningRunId ? (
            <p>
              <Link to={`/reconciliation/${actionData.runningRunId}`}>
                Open the run in progress
              </Link>
            </p>
          ) : null}
        </section>
      ) : null}

      <h2>Runs</h2>
      {runs.length === 0 ? (
        <EmptyState title={first ? "No reconciliation has run yet." : "No older runs."}>
          {first ? "The scheduler runs it every night; an admin can start one now." : null}
        </EmptyState>
      ) : (
        <div className="table-wrap">
          <table>
            <caption className="sr-only">Reconciliation runs, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Started</th>
                <th scope="col">Status</th>
                <th scope="col">Trigger</th>
                <th scope="col">Window</th>
                <th scope="col" className="num">
                  Checked
                </th>
                <th scope="col" className="num">
                  Credited now
                </th>
                <th scope="col" className="num">
                  Already
                </th>
                <th scope="col" className="num">
                  Attention
                </th>
                <th scope="col" className="num">
                  Errors
                </th>
              </tr>
            </thead>
            <tbody>
              {runs.map((r) => (
                <tr key={r.id} data-testid="run-row">
                  <td>
                    <Link to={`/reconciliation/${r.id}`}>
                      <Time value={r.startedAt} />
                    </Link>
                  </td>
                  <td>
                    <StatusBadge status={r.status} />{" "}
                    {r.dryRun ? <span className="badge">Dry run</span> : null}
                  </td>
                  <td>{humanize(r.trigger)}</td>
                  <td>
                    <Time value={r.windowSince} /> → <Time value={r.windowUntil} />
                  </td>
                  <td className="num">{formatCredits(r.scanned)}</td>
                  <td className="num">
                    {r.creditedNow > 0 ? <strong>{formatCredits(r.creditedNow)}</strong> : "0"}
                  </td>
                  <td className="num">{formatCredits(r.alreadyCredited)}</td>
                  <td className="num">{formatCredits(r.needsAttention)}</td>
                  <td className="num">{formatCredits(r.errors)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {!first ? (
        <p>
          <Link to="/reconciliation">← Newest runs</Link>
        </p>
      ) : null}
      <Pager
        next={nextCursor}
        prev={null}
        nextParam="before"
        nextLabel="Older runs"
        label="Run pages"
      />
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from "~/components/route-error-boundary";

import { Form, Link, useNavigation } from "@remix-run/react";
import { ConfirmButton } from "~/components/confirm-button";
import { FormError, TextField } from "~/components/field";

/** "Run now" and "Dry run" over an optional window (admins). */
export function RunNowForm({
  values,
  errors,
  runningRunId,
}: {
  values: Record<string, string>;
  errors: Record<string, string>;
  runningRunId?: string | null;
}) {
  const navigation = useNavigation();
  const submitting = navigation.state === "submitting" ? navigation.formData?.get("intent") : null;
  return (
    <section className="card" aria-labelledby="run-now-heading">
      <h2 id="run-now-heading">Run now</h2>
      <Form method="post" noValidate>
        <div className="inline-form">
          <TextField
            label="From (optional)"
            name="from"
            type="date"
            defaultValue={values.from ?? ""}
            error={errors.from}
          />
          <TextField
            label="To (optional)"
            name="to"
            type="date"
            defaultValue={values.to ?? ""}
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
      {runningRunId ? (
        <p>
          <Link to={`/reconciliation/${runningRunId}`}>Open the run in progress</Link>
        </p>
      ) : null}
    </section>
  );
}

import { Form } from "@remix-run/react";
import { FormError, TextField } from "~/components/field";
import { useIntentForm } from "~/components/intent-form";
import type { ActionReply } from "~/shared/action-reply";

/** Name, scopes (one box each), expiry and limits; after a failed create it keeps what was typed. */
export function CreateKeyForm({
  reply,
  scopeChoices,
  defaultRateLimit,
}: {
  reply: ActionReply<string, unknown> | undefined;
  scopeChoices: { scope: string; description: string }[];
  defaultRateLimit: { perSecond: number; burst: number };
}) {
  // A successful create answers with the new key (an outcome): the form starts afresh then.
  const failed = reply && reply.outcome === undefined ? reply : undefined;
  const f = useIntentForm("create", failed);
  const tickedScopes = f.value("scopes").split(",");
  return (
    <section className="card" aria-labelledby="create-key">
      <h2 id="create-key">Create a key</h2>
      <Form method="post" noValidate>
        <div className="inline-form">
          <TextField
            label="Name (what uses it)"
            name="name"
            required
            maxLength={100}
            defaultValue={f.value("name")}
            error={f.error("name")}
            autoComplete="off"
          />
        </div>
        <fieldset
          className="choices"
          aria-describedby={f.error("scopes") ? "scopes-error" : undefined}
        >
          <legend>Scopes: what the key may do (at least one)</legend>
          {scopeChoices.map(({ scope, description }) => (
            <label key={scope} className="choice">
              <input
                type="checkbox"
                name="scopes"
                value={scope}
                defaultChecked={tickedScopes.includes(scope)}
              />{" "}
              <span>
                <span className="mono">{scope}</span>{" "}
                <span className="muted small">{description}</span>
              </span>
            </label>
          ))}
        </fieldset>
        {f.error("scopes") ? (
          <div id="scopes-error" className="field-error" role="alert">
            {f.error("scopes")}
          </div>
        ) : null}
        <div className="inline-form">
          <TextField
            label="Expires (optional)"
            name="expires"
            maxLength={40}
            placeholder="90d or 2027-03-01"
            hint="A duration (h, d, w) or a date (from UTC midnight). Empty: never."
            defaultValue={f.value("expires")}
            error={f.error("expires")}
            autoComplete="off"
          />
          <TextField
            label="Requests per second (optional)"
            name="rateLimitPerSecond"
            inputMode="numeric"
            placeholder={String(defaultRateLimit.perSecond)}
            hint="Per server process."
            defaultValue={f.value("rateLimitPerSecond")}
            error={f.error("rateLimitPerSecond")}
            autoComplete="off"
          />
          <TextField
            label="Burst (optional)"
            name="rateLimitBurst"
            inputMode="numeric"
            placeholder={String(defaultRateLimit.burst)}
            hint="Requests at once."
            defaultValue={f.value("rateLimitBurst")}
            error={f.error("rateLimitBurst")}
            autoComplete="off"
          />
          <div className="field">
            <button type="submit" name="intent" value="create" disabled={f.pending}>
              {f.pending ? "Creating…" : "Create key"}
            </button>
          </div>
        </div>
      </Form>
      <FormError message={f.error("form")} />
    </section>
  );
}

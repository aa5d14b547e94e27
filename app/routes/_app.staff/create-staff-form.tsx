import { Form } from "@remix-run/react";
import { useState } from "react";
import { FormError, SelectField, TextField } from "~/components/field";
import { humanize } from "~/components/format";
import { useIntentForm } from "~/components/intent-form";
import type { ActionReply } from "~/shared/action-reply";
import { createStaffSchema } from "~/shared/schemas/staff";

/** "Add a staff member": email, name, role, and whether the first password is generated or typed. */
export function CreateStaffForm({
  roles,
  reply,
}: {
  roles: string[];
  reply: ActionReply<string, unknown> | undefined;
}) {
  // A create that showed a generated password (an outcome) starts the form afresh.
  const failed = reply && reply.outcome === undefined ? reply : undefined;
  const f = useIntentForm("create", failed, { schema: createStaffSchema });
  const [mode, setMode] = useState(f.value("passwordMode", "generate"));
  return (
    <section className="card" aria-labelledby="create-staff">
      <h2 id="create-staff">Add a staff member</h2>
      <Form method="post" noValidate autoComplete="off">
        <div className="inline-form">
          <TextField
            label="Email"
            name="email"
            type="email"
            required
            defaultValue={f.value("email")}
            error={f.error("email")}
          />
          <TextField
            label="Name (optional)"
            name="name"
            defaultValue={f.value("name")}
            error={f.error("name")}
          />
          <SelectField
            label="Role"
            name="role"
            defaultValue={f.value("role", "support")}
            error={f.error("role")}
            options={roles.map((r) => ({ value: r, label: humanize(r) }))}
          />
        </div>
        <fieldset className="choices">
          <legend>First password</legend>
          <label className="choice">
            <input
              type="radio"
              name="passwordMode"
              value="generate"
              checked={mode === "generate"}
              onChange={() => setMode("generate")}
            />{" "}
            Generate one, show it once; they must change it at first sign-in
          </label>
          <label className="choice">
            <input
              type="radio"
              name="passwordMode"
              value="set"
              checked={mode === "set"}
              onChange={() => setMode("set")}
            />{" "}
            The person sets it now (they type it here)
          </label>
        </fieldset>
        {f.error("passwordMode") ? (
          <div className="field-error">{f.error("passwordMode")}</div>
        ) : null}
        {mode === "set" ? (
          <TextField
            label="Password (at least 12 characters)"
            name="password"
            type="password"
            autoComplete="new-password"
            minLength={12}
            error={f.error("password")}
          />
        ) : null}
        <FormError message={f.error("form")} />
        <button type="submit" name="intent" value="create" disabled={f.pending}>
          {f.pending ? "Creating…" : "Create staff member"}
        </button>
      </Form>
    </section>
  );
}

import { Form } from "@remix-run/react";
import { useState } from "react";
import { FormError, SelectField, TextField } from "~/components/field";
import { humanize } from "~/components/format";

/** "Add a staff member": email, name, role, and whether the first password is generated or typed. */
export function CreateStaffForm({
  roles,
  errors,
  values,
  busy,
}: {
  roles: string[];
  errors: Record<string, string>;
  values: Record<string, string>;
  busy: boolean;
}) {
  const [mode, setMode] = useState(values.passwordMode ?? "generate");
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
            defaultValue={values.email ?? ""}
            error={errors.email}
          />
          <TextField
            label="Name (optional)"
            name="name"
            defaultValue={values.name ?? ""}
            error={errors.name}
          />
          <SelectField
            label="Role"
            name="role"
            defaultValue={values.role ?? "support"}
            error={errors.role}
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
        {errors.passwordMode ? <div className="field-error">{errors.passwordMode}</div> : null}
        {mode === "set" ? (
          <TextField
            label="Password (at least 12 characters)"
            name="password"
            type="password"
            autoComplete="new-password"
            minLength={12}
            error={errors.password}
          />
        ) : null}
        <FormError message={errors.form} />
        <button type="submit" name="intent" value="create" disabled={busy}>
          {busy ? "Creating…" : "Create staff member"}
        </button>
      </Form>
    </section>
  );
}

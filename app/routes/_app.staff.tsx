import type {
  ActionFunctionArgs,
  HeadersFunction,
  LoaderFunctionArgs,
  MetaFunction,
} from "@remix-run/node";
import { data } from "@remix-run/node";
import { Form, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { useState } from "react";
import { presentStaff } from "~/presenters/staff.server";
import { ConfirmButton } from "~/components/confirm-button";
import { FormError, SelectField, TextField } from "~/components/field";
import { humanize } from "~/components/format";
import { StatusBadge } from "~/components/status-badge";
import { Time } from "~/components/time";
import { redirectWithToast, toastCookie } from "~/services/admin/flash.server";
import {
  domainErrorToFields,
  parseValues,
  toValues,
  type FieldErrors,
  type FormValues,
} from "~/services/admin/forms.server";
import { OPS_ACCESS } from "~/shared/ops-permissions";
import {
  createStaffMember,
  createStaffSchema,
  disableStaffMember,
  disableStaffSchema,
  enableStaffMember,
  resetStaffPassword,
  staffTargetSchema,
} from "~/services/admin/staff-admin.server";
import { requireStaff } from "~/services/auth/session.server";
import { DomainError } from "~/services/errors.server";
import { clientIp } from "~/services/infra/request.server";

export const meta: MetaFunction = () => [{ title: "Staff · creditdesk" }];

// A response may carry a password shown once: never store it in any cache.
export const headers: HeadersFunction = () => ({ "Cache-Control": "no-store" });

export async function loader({ request }: LoaderFunctionArgs) {
  const me = await requireStaff(request, { roles: OPS_ACCESS.staff });
  return presentStaff(me.id);
}

type Intent = "create" | "disable" | "enable" | "reset";
type ActionResult = {
  intent: Intent | null;
  staffId?: string;
  fieldErrors: FieldErrors;
  values: FormValues;
  /** Shown once: the password generated for a new account or by a reset. */
  secret?: { email: string; password: string; reason: "created" | "reset" };
};

const noStore = { "Cache-Control": "no-store" };

export async function action({ request, context }: ActionFunctionArgs) {
  const me = await requireStaff(request, { roles: OPS_ACCESS.staff });
  const raw = toValues(await request.formData());
  // Never echo a typed password back into the page.
  const { password: _p, ...values } = raw;
  const intent =
    (["create", "disable", "enable", "reset"] as const).find((i) => i === raw.intent) ?? null;
  const admin = { id: me.id, email: me.email, ip: clientIp(context) };
  const fail = (fieldErrors: FieldErrors, status = 400) =>
    data<ActionResult>(
      { intent, staffId: raw.staffId, fieldErrors, values },
      { status, headers: noStore },
    );
  try {
    if (intent === "create") {
      const parsed = parseValues(createStaffSchema, raw);
      if (!parsed.ok) return fail(parsed.fieldErrors);
      const created = await createStaffMember(parsed.data, admin);
      const message = `Created ${created.role} ${created.email}.`;
      if (!created.generatedPassword) return redirectWithToast("/staff", "success", message);
      return data<ActionResult>(
        {
          intent,
          fieldErrors: {},
          values: {},
          secret: { email: created.email, password: created.generatedPassword, reason: "created" },
        },
        { headers: { ...noStore, "Set-Cookie": await toastCookie("success", message) } },
      );
    }
    if (intent === "disable") {
      const parsed = parseValues(disableStaffSchema, raw);
      if (!parsed.ok) return fail(parsed.fieldErrors);
      const r = await disableStaffMember(parsed.data, admin);
      return redirectWithToast(
        "/staff",
        "success",
        `Disabled ${r.email}; their sessions have ended.`,
      );
    }
    if (intent === "enable") {
      const parsed = parseValues(staffTargetSchema, raw);
      if (!parsed.ok) return fail(parsed.fieldErrors);
      const r = await enableStaffMember(parsed.data, admin);
      return redirectWithToast("/staff", "success", `Enabled ${r.email}. They can sign in again.`);
    }
    if (intent === "reset") {
      const parsed = parseValues(staffTargetSchema, raw);
      if (!parsed.ok) return fail(parsed.fieldErrors);
      const r = await resetStaffPassword(parsed.data, admin);
      return data<ActionResult>(
        {
          intent,
          staffId: parsed.data.staffId,
          fieldErrors: {},
          values: {},
          secret: { email: r.email, password: r.password, reason: "reset" },
        },
        {
          headers: {
            ...noStore,
            "Set-Cookie": await toastCookie(
              "success",
              `New password set for ${r.email}; their sessions have ended.`,
            ),
          },
        },
      );
    }
  } catch (error) {
    if (error instanceof DomainError)
      return fail(
        domainErrorToFields(error, { staffId: "form" }),
        error.status === 404 ? 404 : error.status === 409 ? 409 : 400,
      );
    throw error;
  }
  return fail({ form: "Unknown action: reload the page and try again." });
}

function SecretOnce({ secret }: { secret: NonNullable<ActionResult["secret"]> }) {
  return (
    <div className="alert success secret-once" role="alert" data-testid="secret-once">
      <p>
        {secret.reason === "created" ? "Account created for" : "New password for"}{" "}
        <strong>{secret.email}</strong>. Give them this password through a safe channel; it is shown
        only now and must be changed at their next sign-in:
      </p>
      <code className="secret" data-testid="one-time-password">
        {secret.password}
      </code>
    </div>
  );
}

export default function StaffPage() {
  const { staff, more, me, roles } = useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>();
  const navigation = useNavigation();
  const busy = (intent: string, id?: string) =>
    navigation.state === "submitting" &&
    navigation.formData?.get("intent") === intent &&
    (!id || navigation.formData?.get("staffId") === id);
  const createErrors = actionData?.intent === "create" ? actionData.fieldErrors : {};
  const createValues = actionData?.intent === "create" ? actionData.values : {};
  const [mode, setMode] = useState(createValues.passwordMode ?? "generate");
  return (
    <>
      <h1>Staff</h1>
      {actionData?.secret ? <SecretOnce secret={actionData.secret} /> : null}

      <section className="card" aria-labelledby="create-staff">
        <h2 id="create-staff">Add a staff member</h2>
        <Form method="post" noValidate autoComplete="off">
          <div className="inline-form">
            <TextField
              label="Email"
              name="email"
              type="email"
              required
              defaultValue={createValues.email ?? ""}
              error={createErrors.email}
            />
            <TextField
              label="Name (optional)"
              name="name"
              defaultValue={createValues.name ?? ""}
              error={createErrors.name}
            />
            <SelectField
              label="Role"
              name="role"
              defaultValue={createValues.role ?? "support"}
              error={createErrors.role}
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
          {createErrors.passwordMode ? (
            <div className="field-error">{createErrors.passwordMode}</div>
          ) : null}
          {mode === "set" ? (
            <TextField
              label="Password (at least 12 characters)"
              name="password"
              type="password"
              autoComplete="new-password"
              minLength={12}
              error={createErrors.password}
            />
          ) : null}
          <FormError message={createErrors.form} />
          <button type="submit" name="intent" value="create" disabled={busy("create")}>
            {busy("create") ? "Creating…" : "Create staff member"}
          </button>
        </Form>
      </section>

      <h2>Accounts</h2>
      {actionData && actionData.intent !== "create" && actionData.fieldErrors.form ? (
        <FormError message={actionData.fieldErrors.form} />
      ) : null}
      <div className="table-wrap">
        <table>
          <caption className="sr-only">Staff accounts</caption>
          <thead>
            <tr>
              <th scope="col">Staff member</th>
              <th scope="col">Role</th>
              <th scope="col">Status</th>
              <th scope="col">Last sign-in</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {staff.map((s) => (
              <tr
                key={s.id}
                id={`staff-${s.id}`}
                data-testid="staff-row"
                data-email={s.email}
                className={s.disabledAt ? "inactive" : undefined}
              >
                <td>
                  {s.email}
                  {s.name ? <div className="muted small">{s.name}</div> : null}
                  {s.id === me ? <div className="muted small">(you)</div> : null}
                </td>
                <td>{humanize(s.role)}</td>
                <td>
                  {s.disabledAt ? (
                    <>
                      <StatusBadge status="disabled" /> <Time value={s.disabledAt} />
                    </>
                  ) : (
                    <>
                      <span className="badge ok">Active</span>{" "}
                      {s.sessions > 0 ? (
                        <span className="muted small">{s.sessions} session(s)</span>
                      ) : null}
                    </>
                  )}
                  {s.mustChangePassword && !s.disabledAt ? (
                    <div className="muted small">Must set a new password</div>
                  ) : null}
                </td>
                <td>
                  <Time value={s.lastLoginAt} />
                </td>
                <td>
                  {s.id === me ? (
                    <a href="/account/password">Change your password</a>
                  ) : s.disabledAt ? (
                    <Form method="post">
                      <input type="hidden" name="staffId" value={s.id} />
                      <button
                        type="submit"
                        name="intent"
                        value="enable"
                        className="secondary"
                        disabled={busy("enable", s.id)}
                      >
                        {busy("enable", s.id) ? "Enabling…" : "Enable"}
                      </button>
                    </Form>
                  ) : (
                    <div className="row-actions">
                      <Form method="post">
                        <input type="hidden" name="staffId" value={s.id} />
                        <ConfirmButton
                          intent="reset"
                          title={`Reset the password of ${s.email}?`}
                          confirmLabel="Reset password"
                          className="secondary"
                          pending={busy("reset", s.id)}
                          pendingLabel="Resetting…"
                          describe={() => (
                            <p>
                              A new password is generated and shown once. Their sessions end now and
                              they must choose a new password at next sign-in.
                            </p>
                          )}
                        >
                          Reset password
                        </ConfirmButton>
                      </Form>
                      <Form method="post">
                        <input type="hidden" name="staffId" value={s.id} />
                        <ConfirmButton
                          intent="disable"
                          title={`Disable ${s.email}?`}
                          confirmLabel="Disable account"
                          danger
                          pending={busy("disable", s.id)}
                          pendingLabel="Disabling…"
                          describe={() => (
                            <p>
                              They are signed out at once (every session ends) and cannot sign in
                              until an admin enables the account again.
                            </p>
                          )}
                        >
                          Disable
                        </ConfirmButton>
                      </Form>
                    </div>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {more > 0 ? <p className="muted small">{more} more accounts are not shown.</p> : null}
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from "~/components/route-error-boundary";

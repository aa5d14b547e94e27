import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data } from "@remix-run/node";
import {
  Form,
  Link,
  useActionData,
  useLoaderData,
  useNavigation,
  useSearchParams,
} from "@remix-run/react";
import { FormError, TextField } from "~/components/field";
import { redirectWithToast } from "~/services/admin/flash.server";
import {
  domainErrorToFields,
  parseValues,
  toValues,
  type FieldErrors,
} from "~/services/admin/forms.server";
import { changeOwnPassword, changePasswordSchema } from "~/services/admin/staff-admin.server";
import { CHANGE_PASSWORD_PATH, requireStaff } from "~/services/auth/session.server";
import { safeRedirect } from "~/http/safe-redirect";
import { recordAttemptSuccess, reservePasswordCheck } from "~/services/auth/login.server";
import { MIN_PASSWORD_LENGTH } from "~/shared/schemas/staff";
import { DomainError } from "~/services/errors.server";
import { clientIp } from "~/services/infra/request.server";

export const meta: MetaFunction = () => [{ title: "Change your password · creditdesk" }];

// Outside the dashboard layout on purpose: someone who must change their password reaches only this page.
export async function loader({ request }: LoaderFunctionArgs) {
  const staff = await requireStaff(request, { allowPasswordChange: true });
  return {
    email: staff.email,
    mustChange: staff.mustChangePassword,
    minLength: MIN_PASSWORD_LENGTH,
  };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const staff = await requireStaff(request, { allowPasswordChange: true });
  const values = toValues(await request.formData());
  const fail = (fieldErrors: FieldErrors, status = 400, headers: Record<string, string> = {}) =>
    data({ fieldErrors }, { status, headers: { "Cache-Control": "no-store", ...headers } });
  const parsed = parseValues(changePasswordSchema, values);
  if (!parsed.ok) return fail(parsed.fieldErrors);
  // The current-password check is a password guess like a sign-in: same throttle, same counters
  // (a stolen session must not become a way to try passwords without limit).
  const ip = clientIp(context);
  const reservation = await reservePasswordCheck(staff.email, ip, new Date(), "password checks");
  if (!reservation.ok) {
    return fail({ currentPassword: reservation.message }, 429, {
      "Retry-After": String(reservation.retryAfterSeconds),
    });
  }
  try {
    await changeOwnPassword(
      { id: staff.id, sessionId: staff.sessionId, email: staff.email, ip },
      parsed.data,
    );
  } catch (error) {
    if (error instanceof DomainError)
      return fail(domainErrorToFields(error), error.status === 404 ? 404 : 400);
    throw error;
  }
  await recordAttemptSuccess(reservation.attemptId);
  const target = safeRedirect(values.redirectTo);
  return redirectWithToast(
    target.startsWith(CHANGE_PASSWORD_PATH) ? "/" : target,
    "success",
    "Your password was changed. Other sessions of yours were signed out.",
  );
}

export default function ChangePassword() {
  const { email, mustChange, minLength } = useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>();
  const navigation = useNavigation();
  const [params] = useSearchParams();
  const errors: FieldErrors = actionData?.fieldErrors ?? {};
  const saving = navigation.state === "submitting";
  return (
    <main className="login" id="main">
      <h1>Change your password</h1>
      <p className="muted">Signed in as {email}.</p>
      {mustChange ? (
        <div className="alert warn" role="status">
          Your password was set by an administrator. Choose your own before you continue.
        </div>
      ) : null}
      <Form method="post" className="card" noValidate>
        <input type="hidden" name="redirectTo" value={params.get("redirectTo") ?? "/"} />
        <TextField
          label="Current password"
          name="currentPassword"
          type="password"
          autoComplete="current-password"
          required
          error={errors.currentPassword}
        />
        <TextField
          label="New password"
          name="newPassword"
          type="password"
          autoComplete="new-password"
          required
          minLength={minLength}
          hint={`At least ${minLength} characters. A few unrelated words are easy to remember and hard to guess.`}
          error={errors.newPassword}
        />
        <TextField
          label="New password again"
          name="confirmPassword"
          type="password"
          autoComplete="new-password"
          required
          error={errors.confirmPassword}
        />
        <FormError message={errors.form} />
        <button type="submit" disabled={saving}>
          {saving ? "Saving…" : "Change password"}
        </button>
      </Form>
      <Form method="post" action="/logout">
        {mustChange ? null : (
          <p>
            <Link to="/">Back to the dashboard</Link>
          </p>
        )}
        <button type="submit" className="secondary">
          Sign out
        </button>
      </Form>
    </main>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from "~/components/route-error-boundary";

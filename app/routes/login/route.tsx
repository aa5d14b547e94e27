import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data, redirect } from "@remix-run/node";
import {
  Form,
  useActionData,
  useLoaderData,
  useNavigation,
  useSearchParams,
} from "@remix-run/react";
import { attemptLogin } from "~/services/auth/login.server";
import {
  createStaffSession,
  getStaff,
  sessionInvalidMessage,
} from "~/services/auth/session.server";
import { safeRedirect } from "~/http/safe-redirect";
import { clientIp } from "~/services/infra/request.server";

export const meta: MetaFunction = () => [{ title: "Sign in · creditdesk" }];

export async function loader({ request }: LoaderFunctionArgs) {
  const url = new URL(request.url);
  const staff = await getStaff(request);
  if (staff) throw redirect(safeRedirect(url.searchParams.get("redirectTo")));
  return { notice: sessionInvalidMessage(url.searchParams.get("reason")) };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const form = await request.formData();
  const email = form.get("email");
  const result = await attemptLogin({
    email,
    password: form.get("password"),
    ip: clientIp(context),
  });
  const values = { email: typeof email === "string" ? email : "" };
  if (!result.ok) {
    const headers: HeadersInit =
      result.status === 429 ? { "Retry-After": String(result.retryAfterSeconds) } : {};
    const fieldErrors = result.status === 400 ? { [result.field]: result.message } : {};
    return data(
      { error: result.status === 400 ? null : result.message, fieldErrors, values },
      { status: result.status, headers },
    );
  }
  const cookie = await createStaffSession(result.staffId, {
    ip: clientIp(context),
    userAgent: request.headers.get("User-Agent"),
  });
  throw redirect(safeRedirect(form.get("redirectTo")), { headers: { "Set-Cookie": cookie } });
}

export default function Login() {
  const { notice } = useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>();
  const [params] = useSearchParams();
  const navigation = useNavigation();
  const fieldErrors: Record<string, string | undefined> = actionData?.fieldErrors ?? {};
  return (
    <main className="login">
      <h1>Sign in to creditdesk</h1>
      {notice && !actionData ? (
        <div className="alert warn" role="status">
          {notice}
        </div>
      ) : null}
      {actionData?.error ? (
        <div className="alert error" role="alert">
          {actionData.error}
        </div>
      ) : null}
      <Form method="post" className="card" noValidate>
        <input type="hidden" name="redirectTo" value={params.get("redirectTo") ?? "/"} />
        <div className="field">
          <label htmlFor="email">Email</label>
          <input
            id="email"
            name="email"
            type="email"
            autoComplete="username"
            required
            defaultValue={actionData?.values.email ?? ""}
            aria-invalid={fieldErrors.email ? true : undefined}
            aria-describedby={fieldErrors.email ? "email-error" : undefined}
          />
          {fieldErrors.email ? (
            <div id="email-error" className="field-error">
              {fieldErrors.email}
            </div>
          ) : null}
        </div>
        <div className="field">
          <label htmlFor="password">Password</label>
          <input
            id="password"
            name="password"
            type="password"
            autoComplete="current-password"
            required
            aria-invalid={fieldErrors.password ? true : undefined}
            aria-describedby={fieldErrors.password ? "password-error" : undefined}
          />
          {fieldErrors.password ? (
            <div id="password-error" className="field-error">
              {fieldErrors.password}
            </div>
          ) : null}
        </div>
        <button type="submit" disabled={navigation.state !== "idle"}>
          {navigation.state === "submitting" ? "Signing in…" : "Sign in"}
        </button>
      </Form>
    </main>
  );
}

import type {
  ActionFunctionArgs,
  HeadersFunction,
  LoaderFunctionArgs,
  MetaFunction,
} from "@remix-run/node";
import { data } from "@remix-run/node";
import { Form, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { ConfirmButton } from "~/components/confirm-button";
import { EmptyState } from "~/components/empty-state";
import { FormError, TextField } from "~/components/field";
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
  API_SCOPE_DESCRIPTIONS,
  API_SCOPES,
  apiKeyStatus,
  DEFAULT_RATE_LIMIT,
  effectiveRateLimit,
} from "~/services/api-keys.server";
import {
  createApiKeyForAdmin,
  createKeySchema,
  listApiKeysForAdmin,
  revokeApiKeyForAdmin,
  revokeKeySchema,
} from "~/services/admin/staff-admin.server";
import { requireStaff } from "~/services/auth/session.server";
import { DomainError } from "~/services/errors.server";
import { clientIp } from "~/services/infra/request.server";

export const meta: MetaFunction = () => [{ title: "API keys · creditdesk" }];

// The response that carries a new key must never be cached.
export const headers: HeadersFunction = () => ({ "Cache-Control": "no-store" });

export async function loader({ request }: LoaderFunctionArgs) {
  await requireStaff(request, { roles: OPS_ACCESS.apiKeys });
  const { keys, more } = await listApiKeysForAdmin();
  const now = new Date();
  return {
    keys: keys.map((k) => ({
      ...k,
      status: apiKeyStatus(k, now),
      rateLimit: effectiveRateLimit(k),
      customRateLimit: k.rateLimitPerSecond !== null || k.rateLimitBurst !== null,
    })),
    more,
    // From a .server module, so the page gets them as data (the client bundle has no such module).
    scopeChoices: API_SCOPES.map((scope) => ({
      scope,
      description: API_SCOPE_DESCRIPTIONS[scope],
    })),
    defaultRateLimit: DEFAULT_RATE_LIMIT,
  };
}

type Intent = "create" | "revoke";
type ActionResult = {
  intent: Intent | null;
  keyId?: string;
  fieldErrors: FieldErrors;
  values: FormValues;
  /** The plain key, in this one response only. */
  created?: { name: string; prefix: string; key: string };
};

const noStore = { "Cache-Control": "no-store" };

export async function action({ request, context }: ActionFunctionArgs) {
  const me = await requireStaff(request, { roles: OPS_ACCESS.apiKeys });
  const formData = await request.formData();
  const values = toValues(formData);
  // One value per ticked scope box; toValues keeps only the first of a name.
  values.scopes = formData
    .getAll("scopes")
    .filter((v): v is string => typeof v === "string")
    .join(",");
  const intent = values.intent === "create" || values.intent === "revoke" ? values.intent : null;
  const admin = { id: me.id, email: me.email, ip: clientIp(context) };
  const fail = (fieldErrors: FieldErrors, status = 400) =>
    data<ActionResult>(
      { intent, keyId: values.keyId, fieldErrors, values },
      { status, headers: noStore },
    );
  try {
    if (intent === "create") {
      const parsed = parseValues(createKeySchema, values);
      if (!parsed.ok) return fail(parsed.fieldErrors);
      const { apiKey, key } = await createApiKeyForAdmin(parsed.data, admin);
      return data<ActionResult>(
        {
          intent,
          fieldErrors: {},
          values: {},
          created: { name: apiKey.name, prefix: apiKey.prefix, key },
        },
        {
          headers: {
            ...noStore,
            "Set-Cookie": await toastCookie(
              "success",
              `Created API key “${apiKey.name}”. Copy it now: it is not shown again.`,
            ),
          },
        },
      );
    }
    if (intent === "revoke") {
      const parsed = parseValues(revokeKeySchema, values);
      if (!parsed.ok) return fail(parsed.fieldErrors);
      const revoked = await revokeApiKeyForAdmin(parsed.data, admin);
      return redirectWithToast(
        "/api-keys",
        "success",
        `Revoked ${revoked.name} (${revoked.prefix}…). Requests with it are refused from now on.`,
      );
    }
  } catch (error) {
    if (error instanceof DomainError)
      return fail(
        domainErrorToFields(error, {
          id: "form",
          keyId: "form",
          prefix: "form",
          expiresAt: "expires",
        }),
        error.status === 404 ? 404 : error.status === 409 ? 409 : 400,
      );
    throw error;
  }
  return fail({ form: "Unknown action: reload the page and try again." });
}

export default function ApiKeysPage() {
  const { keys, more, scopeChoices, defaultRateLimit } = useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>();
  const navigation = useNavigation();
  const busy = (intent: string, id?: string) =>
    navigation.state === "submitting" &&
    navigation.formData?.get("intent") === intent &&
    (!id || navigation.formData?.get("keyId") === id);
  const createErrors = actionData?.intent === "create" ? actionData.fieldErrors : {};
  // After a failed create the boxes keep what was ticked; a fresh form starts with none.
  const failedCreate = actionData?.intent === "create" && !actionData.created;
  const tickedScopes = failedCreate ? (actionData.values.scopes ?? "").split(",") : [];
  const kept = (name: string) => (failedCreate ? (actionData.values[name] ?? "") : "");
  return (
    <>
      <h1>API keys</h1>
      <p className="muted">
        The main app calls the Credits API with one of these keys (
        <span className="mono">Authorization: Bearer cdk_…</span>). Only a hash is stored: a key is
        shown once, when it is created.
      </p>
      {actionData?.created ? (
        <div className="alert success secret-once" role="alert" data-testid="secret-once">
          <p>
            New key <strong>{actionData.created.name}</strong>. Copy it into the main app&apos;s
            configuration now; it cannot be shown again:
          </p>
          <code className="secret" data-testid="new-api-key">
            {actionData.created.key}
          </code>
        </div>
      ) : null}
      <section className="card" aria-labelledby="create-key">
        <h2 id="create-key">Create a key</h2>
        <Form method="post" noValidate>
          <div className="inline-form">
            <TextField
              label="Name (what uses it)"
              name="name"
              required
              maxLength={100}
              defaultValue={kept("name")}
              error={createErrors.name}
              autoComplete="off"
            />
          </div>
          <fieldset
            className="choices"
            aria-describedby={createErrors.scopes ? "scopes-error" : undefined}
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
          {createErrors.scopes ? (
            <div id="scopes-error" className="field-error" role="alert">
              {createErrors.scopes}
            </div>
          ) : null}
          <div className="inline-form">
            <TextField
              label="Expires (optional)"
              name="expires"
              maxLength={40}
              placeholder="90d or 2027-03-01"
              hint="A duration (h, d, w) or a date (from UTC midnight). Empty: never."
              defaultValue={kept("expires")}
              error={createErrors.expires}
              autoComplete="off"
            />
            <TextField
              label="Requests per second (optional)"
              name="rateLimitPerSecond"
              inputMode="numeric"
              placeholder={String(defaultRateLimit.perSecond)}
              hint="Per server process."
              defaultValue={kept("rateLimitPerSecond")}
              error={createErrors.rateLimitPerSecond}
              autoComplete="off"
            />
            <TextField
              label="Burst (optional)"
              name="rateLimitBurst"
              inputMode="numeric"
              placeholder={String(defaultRateLimit.burst)}
              hint="Requests at once."
              defaultValue={kept("rateLimitBurst")}
              error={createErrors.rateLimitBurst}
              autoComplete="off"
            />
            <div className="field">
              <button type="submit" name="intent" value="create" disabled={busy("create")}>
                {busy("create") ? "Creating…" : "Create key"}
              </button>
            </div>
          </div>
        </Form>
        <FormError message={createErrors.form} />
      </section>

      <h2>Keys</h2>
      {actionData?.intent === "revoke" ? (
        <FormError
          message={
            actionData.fieldErrors.form ??
            actionData.fieldErrors.keyId ??
            actionData.fieldErrors.reason
          }
        />
      ) : null}
      {keys.length === 0 ? (
        <EmptyState title="No API keys yet.">Create one for the main app above.</EmptyState>
      ) : (
        <div className="table-wrap">
          <table>
            <caption className="sr-only">API keys, active first</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Key starts with</th>
                <th scope="col">Scopes</th>
                <th scope="col">Rate limit</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">Status</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {keys.map((k) => (
                <tr
                  key={k.id}
                  id={`key-${k.id}`}
                  data-testid="api-key-row"
                  data-name={k.name}
                  className={k.status !== "active" ? "inactive" : undefined}
                >
                  <td>{k.name}</td>
                  <td className="mono">{k.prefix}…</td>
                  <td data-testid="api-key-scopes">
                    {k.scopes.length > 0 ? (
                      k.scopes.map((scope) => (
                        <div key={scope} className="mono small">
                          {scope}
                        </div>
                      ))
                    ) : (
                      <span className="muted">none</span>
                    )}
                  </td>
                  <td className="small">
                    {k.rateLimit.perSecond}/s, burst {k.rateLimit.burst}
                    {k.customRateLimit ? null : <div className="muted">default</div>}
                  </td>
                  <td>
                    <Time value={k.createdAt} />
                    {k.createdBy ? <div className="muted small">by {k.createdBy.email}</div> : null}
                  </td>
                  <td>
                    {k.lastUsedAt ? (
                      <Time value={k.lastUsedAt} />
                    ) : (
                      <span className="muted">never</span>
                    )}
                  </td>
                  <td>
                    {k.revokedAt ? (
                      <>
                        <span className="badge danger">Revoked</span> <Time value={k.revokedAt} />
                      </>
                    ) : k.status === "expired" && k.expiresAt ? (
                      <>
                        <span className="badge warn">Expired</span> <Time value={k.expiresAt} />
                      </>
                    ) : (
                      <>
                        <span className="badge ok">Active</span>
                        {k.expiresAt ? (
                          <div className="muted small">
                            until <Time value={k.expiresAt} />
                          </div>
                        ) : null}
                      </>
                    )}
                  </td>
                  <td>
                    {k.revokedAt ? null : (
                      <Form method="post" className="revoke-form">
                        <input type="hidden" name="keyId" value={k.id} />
                        <TextField
                          label="Reason (optional)"
                          name="reason"
                          idPrefix={`revoke-${k.id}-`}
                          maxLength={500}
                        />
                        <ConfirmButton
                          intent="revoke"
                          title={`Revoke ${k.name}?`}
                          confirmLabel="Revoke key"
                          danger
                          pending={busy("revoke", k.id)}
                          pendingLabel="Revoking…"
                          describe={() => (
                            <p>
                              Every request with <span className="mono">{k.prefix}…</span> is
                              refused (403) from now on. The main app stops working until it has a
                              new key.
                            </p>
                          )}
                        >
                          Revoke
                        </ConfirmButton>
                      </Form>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {more > 0 ? <p className="muted small">{more} more keys are not shown.</p> : null}
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from "~/components/route-error-boundary";

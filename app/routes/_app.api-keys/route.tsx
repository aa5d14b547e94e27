import type { HeadersFunction, MetaFunction } from "@remix-run/node";
import { useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { EmptyState } from "~/components/empty-state";
import { FormError } from "~/components/field";
import { intent, staffAction, staffLoader } from "~/lib/route-builders";
import { OPS_ACCESS } from "~/shared/ops-permissions";
import {
  createApiKeyForAdmin,
  createKeySchema,
  listApiKeysForAdmin,
  revokeApiKeyForAdmin,
  revokeKeySchema,
} from "~/services/admin/staff-admin.server";
import {
  API_SCOPE_DESCRIPTIONS,
  API_SCOPES,
  apiKeyStatus,
  DEFAULT_RATE_LIMIT,
  effectiveRateLimit,
} from "~/services/api-keys.server";
import { CreateKeyForm } from "./create-key-form";
import { KeysTable } from "./keys-table";

export const meta: MetaFunction = () => [{ title: "API keys · creditdesk" }];

// The response that carries a new key must never be cached.
const noStore = { "Cache-Control": "no-store" };
export const headers: HeadersFunction = () => noStore;

export const loader = staffLoader({ roles: OPS_ACCESS.apiKeys }, async () => {
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
});

export type KeyView = ReturnType<typeof useLoaderData<typeof loader>>["keys"][number];

const keyFields = { id: "form", keyId: "form", prefix: "form", expiresAt: "expires" };

export const action = staffAction({
  roles: OPS_ACCESS.apiKeys,
  headers: noStore,
  multiValues: ["scopes"],
  notFound: "form",
  intents: {
    create: intent({
      schema: createKeySchema,
      run: (input, { actor }) => createApiKeyForAdmin(input, actor),
      // The plain key, in this one response only.
      ok: ({ apiKey, key }) => ({
        outcome: { name: apiKey.name, prefix: apiKey.prefix, key },
        toast: `Created API key “${apiKey.name}”. Copy it now: it is not shown again.`,
      }),
      fieldMap: keyFields,
    }),
    revoke: intent({
      schema: revokeKeySchema,
      run: (input, { actor }) => revokeApiKeyForAdmin(input, actor),
      ok: (revoked) => ({
        toast: `Revoked ${revoked.name} (${revoked.prefix}…). Requests with it are refused from now on.`,
      }),
      fieldMap: keyFields,
    }),
  },
});

export default function ApiKeysPage() {
  const { keys, more, scopeChoices, defaultRateLimit } = useLoaderData<typeof loader>();
  const reply = useActionData<typeof action>();
  const navigation = useNavigation();
  const revoking =
    navigation.state === "submitting" && navigation.formData?.get("intent") === "revoke"
      ? String(navigation.formData.get("keyId"))
      : null;
  const created = reply?.intent === "create" ? reply.outcome : undefined;
  return (
    <>
      <h1>API keys</h1>
      <p className="muted">
        The main app calls the Credits API with one of these keys (
        <span className="mono">Authorization: Bearer cdk_…</span>). Only a hash is stored: a key is
        shown once, when it is created.
      </p>
      {created ? (
        <div className="alert success secret-once" role="alert" data-testid="secret-once">
          <p>
            New key <strong>{created.name}</strong>. Copy it into the main app&apos;s configuration
            now; it cannot be shown again:
          </p>
          <code className="secret" data-testid="new-api-key">
            {created.key}
          </code>
        </div>
      ) : null}
      <CreateKeyForm
        reply={reply?.intent === "create" ? reply : undefined}
        scopeChoices={scopeChoices}
        defaultRateLimit={defaultRateLimit}
      />

      <h2>Keys</h2>
      {reply?.intent === "revoke" ? (
        <FormError
          message={reply.fieldErrors.form ?? reply.fieldErrors.keyId ?? reply.fieldErrors.reason}
        />
      ) : null}
      {keys.length === 0 ? (
        <EmptyState title="No API keys yet.">Create one for the main app above.</EmptyState>
      ) : (
        <KeysTable keys={keys} revoking={revoking} />
      )}
      {more > 0 ? <p className="muted small">{more} more keys are not shown.</p> : null}
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from "~/components/route-error-boundary";

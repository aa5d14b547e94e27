import {
  API_SCOPES,
  createApiKey,
  listApiKeys,
  parseExpiry,
  parseScopes,
  revokeApiKey,
  type PublicApiKey,
} from "../../app/services/api-keys.server";
import type { Actor } from "../../app/services/audit.server";
import { ValidationError } from "../../app/services/errors.server";
import { requireOption, stringOption, UsageError, type CliCommand } from "../cli-kit";

const cliActor = (): Actor => ({ type: "cli", label: process.env.USER ?? "cli" });

/** Bad option values are usage errors (exit 2 with the help), like a missing option. */
function usage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof ValidationError) throw new UsageError(error.message);
    throw error;
  }
}

function wholeNumberOption(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,9}$/.test(value) || Number(value) < 1)
    throw new UsageError(`--${flag} must be a whole number of at least 1`);
  return Number(value);
}

function describeLimit(k: PublicApiKey) {
  return `${k.rateLimit.perSecond}/s burst ${k.rateLimit.burst}${k.rateLimit.custom ? "" : " (default)"}`;
}

export const apiKeyCreateCommand: CliCommand = {
  name: "apikey create",
  summary: "Create an API key for the Credits API with its scopes (the key is printed once)",
  help: `Usage: npm run cli -- apikey create --name NAME --scope SCOPE[,SCOPE…] [--scope …]
       [--expires-in 90d|12h|2w|YYYY-MM-DD] [--rate-limit PER_SECOND] [--burst N] [--json]

Scopes (at least one; "all" for every scope there is now): ${API_SCOPES.join(", ")}.
--expires-in   refuse the key after this long (h, d, w) or from this date (UTC midnight) on.
--rate-limit   requests per second per server process (default 50), --burst requests at once
               (default 100).
Prints the new key once; only its SHA-256 is stored, so it cannot be shown again.
The main app sends it as "Authorization: Bearer <key>".`,
  options: {
    name: { type: "string" },
    scope: { type: "string", multiple: true },
    "expires-in": { type: "string" },
    "rate-limit": { type: "string" },
    burst: { type: "string" },
  },
  needsDatabase: true,
  async run(ctx) {
    const name = requireOption(ctx, "name");
    const scopeValues = ctx.values.scope;
    const scopes = usage(() =>
      parseScopes(Array.isArray(scopeValues) ? scopeValues.map(String) : undefined),
    );
    const expiresIn = stringOption(ctx, "expires-in");
    const expiresAt = expiresIn === undefined ? null : usage(() => parseExpiry(expiresIn));
    const { apiKey, key } = await createApiKey(
      {
        name,
        scopes,
        expiresAt,
        rateLimitPerSecond: wholeNumberOption(stringOption(ctx, "rate-limit"), "rate-limit"),
        rateLimitBurst: wholeNumberOption(stringOption(ctx, "burst"), "burst"),
      },
      cliActor(),
    );
    if (ctx.json) ctx.emit({ ...apiKey, key });
    ctx.say(`Created API key "${apiKey.name}" (id ${apiKey.id}, prefix ${apiKey.prefix}).`);
    ctx.say(`Scopes: ${apiKey.scopes.join(", ")}`);
    ctx.say(
      `Expires: ${apiKey.expiresAt ?? "never"}; rate limit ${describeLimit(apiKey)} per server process`,
    );
    ctx.say(`Key (shown once, store it now): ${key}`);
    return 0;
  },
};

export const apiKeyRevokeCommand: CliCommand = {
  name: "apikey revoke",
  summary: "Revoke an API key by id or prefix (takes effect on the next request)",
  help: `Usage: npm run cli -- apikey revoke (--id ID | --prefix PREFIX) [--reason TEXT] [--json]

Requests with a revoked key get 403 api_key_revoked. Revoking an already revoked key changes nothing.`,
  options: { id: { type: "string" }, prefix: { type: "string" }, reason: { type: "string" } },
  needsDatabase: true,
  async run(ctx) {
    const id = stringOption(ctx, "id");
    const prefix = stringOption(ctx, "prefix");
    if (!id === !prefix) throw new UsageError("give exactly one of --id or --prefix");
    const { apiKey, alreadyRevoked } = await revokeApiKey(
      { id, prefix },
      cliActor(),
      stringOption(ctx, "reason"),
    );
    if (ctx.json) ctx.emit({ ...apiKey, alreadyRevoked });
    ctx.say(
      alreadyRevoked
        ? `API key "${apiKey.name}" (${apiKey.prefix}…) was already revoked on ${apiKey.revokedAt}.`
        : `Revoked API key "${apiKey.name}" (${apiKey.prefix}…).`,
    );
    return 0;
  },
};

export const apiKeyListCommand: CliCommand = {
  name: "apikey list",
  summary:
    "List API keys (name, prefix, scopes, expiry, rate limit, last use, status) — never the keys themselves",
  help: `Usage: npm run cli -- apikey list [--active] [--json]

--active leaves out revoked and expired keys.`,
  options: { active: { type: "boolean" } },
  needsDatabase: true,
  async run(ctx) {
    const keys = await listApiKeys({ includeRevoked: !ctx.values.active });
    if (ctx.json) ctx.emit({ keys });
    if (keys.length === 0) ctx.say("No API keys.");
    for (const k of keys) {
      const state =
        k.status === "revoked"
          ? `revoked ${k.revokedAt}`
          : k.status === "expired"
            ? `expired ${k.expiresAt}`
            : `active${k.expiresAt ? ` until ${k.expiresAt}` : ""}`;
      ctx.say(
        `${k.prefix}…  ${k.name}  id ${k.id}  scopes ${k.scopes.join(",") || "none"}  ${describeLimit(k)}  created ${k.createdAt}  last used ${k.lastUsedAt ?? "never"}  ${state}`,
      );
    }
    return 0;
  },
};

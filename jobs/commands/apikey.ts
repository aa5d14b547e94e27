import { createApiKey, listApiKeys, revokeApiKey } from "../../app/services/api-keys.server";
import type { Actor } from "../../app/services/audit.server";
import { requireOption, stringOption, UsageError, type CliCommand } from "../cli-kit";

const cliActor = (): Actor => ({ type: "cli", label: process.env.USER ?? "cli" });

export const apiKeyCreateCommand: CliCommand = {
  name: "apikey create",
  summary: "Create an API key for the Credits API (the key is printed once)",
  help: `Usage: npm run cli -- apikey create --name NAME [--json]

Prints the new key once; only its SHA-256 is stored, so it cannot be shown again.
The main app sends it as "Authorization: Bearer <key>".`,
  options: { name: { type: "string" } },
  needsDatabase: true,
  async run(ctx) {
    const name = requireOption(ctx, "name");
    const { apiKey, key } = await createApiKey({ name }, cliActor());
    if (ctx.json) ctx.emit({ ...apiKey, key });
    ctx.say(`Created API key "${apiKey.name}" (id ${apiKey.id}, prefix ${apiKey.prefix}).`);
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
  summary: "List API keys (name, prefix, last use, revoked) — never the keys themselves",
  help: `Usage: npm run cli -- apikey list [--active] [--json]

--active leaves out revoked keys.`,
  options: { active: { type: "boolean" } },
  needsDatabase: true,
  async run(ctx) {
    const keys = await listApiKeys({ includeRevoked: !ctx.values.active });
    if (ctx.json) ctx.emit({ keys });
    if (keys.length === 0) ctx.say("No API keys.");
    for (const k of keys) {
      const state = k.revokedAt ? `revoked ${k.revokedAt}` : "active";
      ctx.say(
        `${k.prefix}…  ${k.name}  id ${k.id}  created ${k.createdAt}  last used ${k.lastUsedAt ?? "never"}  ${state}`,
      );
    }
    return 0;
  },
};

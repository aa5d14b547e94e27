import type { Actor } from "../../app/services/audit.server";
import { ValidationError } from "../../app/services/errors.server";
import {
  createEndpoint,
  replayFailed,
  rotateEndpointSecret,
  setEndpointEnabled,
} from "../../app/services/outbound/endpoints.server";
import { listEndpointSummaries } from "../../app/services/outbound/reports.server";
import { stringOption, requireOption, UsageError, type CliCommand } from "../cli-kit";

/** Outbound events to the product (app/services/outbound/): endpoints and replays. */

const cliActor = (): Actor => ({ type: "cli", label: process.env.USER ?? "cli" });

/** A field error from the service is a usage error (exit 2) naming the option. */
async function usage<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof ValidationError)
      throw new UsageError(
        `--${error.field === "eventTypes" ? "types" : (error.field ?? "value")}: ${error.message}`,
      );
    throw error;
  }
}

export const endpointsCreateCommand: CliCommand = {
  name: "endpoints create",
  summary: "Add an endpoint that receives events (its signing secret is printed once)",
  help: `Usage: npm run cli -- endpoints create --url URL [--types TYPE,TYPE…] [--description TEXT] [--json]

--types   event types it receives (default: all but credits.debited, which is high-volume and
          opt-in): credits.granted, credits.debited, credits.clawed_back, credits.expired,
          credits.expiring, balance.low, purchase.refunded, purchase.disputed,
          purchase.dispute_closed, tier.changed, attention.raised.
The whsec_ secret verifies the webhook-signature header (Standard Webhooks); it is printed now
and never shown again (rotate it with endpoints rotate-secret).`,
  options: { url: { type: "string" }, types: { type: "string" }, description: { type: "string" } },
  needsDatabase: true,
  async run(ctx) {
    const url = requireOption(ctx, "url");
    const types = stringOption(ctx, "types");
    const created = await usage(() =>
      createEndpoint(
        {
          url,
          eventTypes: types === undefined ? undefined : types.split(",").map((t) => t.trim()),
          description: stringOption(ctx, "description"),
        },
        cliActor(),
      ),
    );
    if (ctx.json) ctx.emit(created);
    ctx.say(`Created endpoint ${created.id} for ${created.url}`);
    ctx.say(`Event types: ${created.eventTypes.join(", ")}`);
    ctx.say(`Signing secret (shown once, store it now): ${created.secret}`);
    return 0;
  },
};

export const endpointsListCommand: CliCommand = {
  name: "endpoints list",
  summary: "List event endpoints: URL, types, state, 24 h success rate, last error (never secrets)",
  help: `Usage: npm run cli -- endpoints list [--json]`,
  options: {},
  needsDatabase: true,
  async run(ctx) {
    const endpoints = await listEndpointSummaries();
    if (ctx.json) ctx.emit({ endpoints });
    if (endpoints.length === 0) ctx.say("No endpoints.");
    for (const e of endpoints) {
      const state = e.enabled ? "enabled" : `disabled (${e.disabledReason ?? "?"})`;
      const rate =
        e.successRate24h === null
          ? "no attempts in 24 h"
          : `${e.successRate24h}% of ${e.attempts24h} in 24 h`;
      ctx.say(
        `${e.id}  ${e.url}  ${state}  ${rate}  pending ${e.pending} failed ${e.failed}  secret ${e.secrets.map((s) => s.hint).join(" + ")}  types ${e.eventTypes.join(",")}${e.lastError ? `  last error: ${e.lastError}` : ""}`,
      );
    }
    return 0;
  },
};

export const endpointsDisableCommand: CliCommand = {
  name: "endpoints disable",
  summary: "Stop sending events to an endpoint (--enable turns it back on)",
  help: `Usage: npm run cli -- endpoints disable --id ID [--enable] [--json]

Events made while an endpoint is disabled are not sent to it; its pending deliveries wait.`,
  options: { id: { type: "string" }, enable: { type: "boolean" } },
  needsDatabase: true,
  async run(ctx) {
    const id = requireOption(ctx, "id");
    const enable = Boolean(ctx.values.enable);
    const endpoint = await setEndpointEnabled(id, enable, cliActor());
    if (ctx.json) ctx.emit({ id: endpoint.id, enabled: endpoint.enabled });
    ctx.say(`Endpoint ${endpoint.id} ${endpoint.enabled ? "enabled" : "disabled"}.`);
    return 0;
  },
};

export const endpointsRotateCommand: CliCommand = {
  name: "endpoints rotate-secret",
  summary: "Give an endpoint a new signing secret (the old one keeps signing for 24 hours)",
  help: `Usage: npm run cli -- endpoints rotate-secret --id ID [--json]

Both secrets sign every event for 24 hours (two v1 signatures), so the receiver can switch over.`,
  options: { id: { type: "string" } },
  needsDatabase: true,
  async run(ctx) {
    const id = requireOption(ctx, "id");
    const { secret, previousExpireAt } = await rotateEndpointSecret(id, cliActor());
    if (ctx.json) ctx.emit({ id, secret, previousExpireAt: previousExpireAt.toISOString() });
    ctx.say(`New signing secret (shown once, store it now): ${secret}`);
    ctx.say(`The previous secret keeps signing until ${previousExpireAt.toISOString()}.`);
    return 0;
  },
};

export const eventsReplayCommand: CliCommand = {
  name: "events replay",
  summary: "Send failed deliveries of events made since a time again",
  help: `Usage: npm run cli -- events replay --since ISO [--until ISO] [--endpoint ID] [--json]

Every failed delivery (retries exhausted, or 410) of an event made in [since, until) goes again,
with the same webhook-id (receivers deduplicate on it).`,
  options: { since: { type: "string" }, until: { type: "string" }, endpoint: { type: "string" } },
  needsDatabase: true,
  async run(ctx) {
    const since = new Date(requireOption(ctx, "since"));
    if (Number.isNaN(since.getTime())) throw new UsageError("--since must be an ISO date or time");
    const untilText = stringOption(ctx, "until");
    const until = untilText === undefined ? undefined : new Date(untilText);
    if (until && Number.isNaN(until.getTime()))
      throw new UsageError("--until must be an ISO date or time");
    const { replayed } = await usage(() =>
      replayFailed({ since, until, endpointId: stringOption(ctx, "endpoint") }, cliActor()),
    );
    if (ctx.json) ctx.emit({ replayed });
    ctx.say(`${replayed} failed deliveries queued again.`);
    return 0;
  },
};

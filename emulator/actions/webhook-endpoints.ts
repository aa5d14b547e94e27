import { invalidRequest } from "../api/stripe-error";
import type { EmulatorCore } from "../core";
import type { Metadata } from "../objects/common";
import { buildWebhookEndpoint, type WebhookEndpoint } from "../objects/events";
import { STRIPE_SCHEMA } from "../schema/shape";
import type { Ledger } from "../state/ledger";

// The event names the pinned API version knows (and `*`), from the SDK's declarations.
const EVENT_NAMES: ReadonlySet<string> = new Set(STRIPE_SCHEMA.webhookEventNames);

export function validateEndpointUrl(url: string, param = "url"): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalidRequest(`Invalid URL: ${url}`, param, "url_invalid");
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw invalidRequest(`Invalid URL: ${url}. URLs must use http or https.`, param, "url_invalid");
  }
  return url;
}

export function validateEnabledEvents(events: string[], param = "enabled_events"): string[] {
  if (events.length === 0)
    throw invalidRequest("You must pass at least one event type in `enabled_events`.", param);
  events.forEach((name, i) => {
    if (!EVENT_NAMES.has(name))
      throw invalidRequest(
        `Invalid ${param}[${i}]: ${name} is not an event type of API version ${STRIPE_SCHEMA.apiVersion}`,
        `${param}[${i}]`,
      );
  });
  return [...new Set(events)];
}

export function createWebhookEndpoint(
  core: EmulatorCore,
  ledger: Ledger,
  input: {
    url: string;
    enabledEvents: string[];
    description?: string | null;
    metadata?: Metadata;
    apiVersion?: string | null;
    /** A fixed signing secret (e.g. the one the app is configured with); generated otherwise. */
    secret?: string;
  },
): { endpoint: WebhookEndpoint; secret: string } {
  const endpoint = ledger.webhookEndpoints.insert(
    buildWebhookEndpoint({
      id: core.ids.next("we"),
      created: core.now(),
      livemode: ledger.livemode,
      url: validateEndpointUrl(input.url),
      enabledEvents: validateEnabledEvents(input.enabledEvents),
      description: input.description,
      apiVersion: input.apiVersion,
      metadata: input.metadata,
    }),
  );
  const secret = input.secret ?? core.ids.webhookSecret();
  ledger.webhookSecrets.set(endpoint.id, secret);
  core.changed();
  return { endpoint, secret };
}

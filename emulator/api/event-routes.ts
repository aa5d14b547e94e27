import {
  createWebhookEndpoint,
  validateEndpointUrl,
  validateEnabledEvents,
} from "../actions/webhook-endpoints";
import { EVENT_RETENTION_SECONDS } from "../core";
import { applyMetadata, Params } from "./params";
import { retrieveFrom, route, serve, serveList, type ApiContext, type Route } from "./router";
import { invalidRequest, parameterMissing, resourceMissing } from "./stripe-error";

function retrieveEvent(ctx: ApiContext) {
  const p = Params.check(ctx.raw, []);
  const event = ctx.ledger.events.get(ctx.path[0]);
  // Stripe keeps events for 30 days; older ones are gone.
  if (!event || !ctx.core.eventVisible(event)) throw resourceMissing("event", ctx.path[0]);
  return serve(ctx, event, p);
}

function typeMatcher(pattern: string): (type: string) => boolean {
  if (!pattern.includes("*")) return (type) => type === pattern;
  const re = new RegExp(
    `^${pattern
      .split("*")
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*")}$`,
  );
  return (type) => re.test(type);
}

function listEvents(ctx: ApiContext) {
  const p = Params.check(ctx.raw, ["created", "delivery_success", "type", "types"], { list: true });
  const type = p.string("type");
  const types = p.stringList("types");
  if (type && types)
    throw invalidRequest("You may only specify one of these parameters: type, types.", "types");
  if (types && types.length > 20)
    throw invalidRequest("You may pass at most 20 event types in `types`.", "types");
  const deliverySuccess = p.boolean("delivery_success");
  const range = p.timestampRange("created") ?? {};
  const oldest = ctx.core.now() - EVENT_RETENTION_SECONDS + 1;
  const exact = type !== undefined && !type.includes("*") ? type : undefined;
  const matchType = type !== undefined && exact === undefined ? typeMatcher(type) : undefined;
  const typeSet = types ? new Set(types) : undefined;
  const deliveries = ctx.core.deliveries;
  return serveList(ctx, p, ctx.ledger.events, "/v1/events", {
    created: { ...range, gte: Math.max(range.gte ?? oldest, oldest) },
    where: { type: exact },
    filter: (event) =>
      (matchType === undefined || matchType(event.type)) &&
      (typeSet === undefined || typeSet.has(event.type)) &&
      (deliverySuccess === undefined || deliveries.delivered(event.id) === deliverySuccess),
  });
}

function createEndpoint(ctx: ApiContext) {
  const p = Params.check(ctx.raw, [
    "enabled_events",
    "url",
    "api_version",
    "connect",
    "description",
    "metadata",
  ]);
  const url = p.string("url", { required: true, maxLength: 5000 }) as string;
  const enabledEvents = p.stringList("enabled_events");
  if (!enabledEvents) throw parameterMissing("enabled_events");
  const { endpoint, secret } = createWebhookEndpoint(ctx.core, ctx.ledger, {
    url,
    enabledEvents,
    description: p.string("description"),
    metadata: applyMetadata({}, p.metadata()),
    apiVersion: p.string("api_version"),
  });
  // The signing secret is shown once, in the response to the create call.
  return { ...serve(ctx, endpoint, p), secret };
}

function updateEndpoint(ctx: ApiContext) {
  const p = Params.check(ctx.raw, ["description", "disabled", "enabled_events", "metadata", "url"]);
  const endpoint = ctx.ledger.webhookEndpoints.require(ctx.path[0]);
  const url = p.string("url", { maxLength: 5000 });
  const enabledEvents = p.stringList("enabled_events");
  const disabled = p.boolean("disabled");
  const description = p.nullableString("description");
  const metadata = p.metadata();
  if (url !== undefined) validateEndpointUrl(url);
  ctx.ledger.webhookEndpoints.update(endpoint, (e) => {
    if (url !== undefined) e.url = url;
    if (enabledEvents !== undefined) e.enabled_events = validateEnabledEvents(enabledEvents);
    if (disabled !== undefined) e.status = disabled ? "disabled" : "enabled";
    if (description !== undefined) e.description = description;
    e.metadata = applyMetadata(e.metadata, metadata);
  });
  ctx.core.changed();
  return serve(ctx, endpoint, p);
}

function deleteEndpoint(ctx: ApiContext) {
  Params.check(ctx.raw, []);
  const endpoint = ctx.ledger.webhookEndpoints.require(ctx.path[0]);
  ctx.ledger.webhookEndpoints.remove(endpoint.id);
  ctx.ledger.webhookSecrets.delete(endpoint.id);
  ctx.core.changed();
  return { id: endpoint.id, object: "webhook_endpoint", deleted: true };
}

function listEndpoints(ctx: ApiContext) {
  const p = Params.check(ctx.raw, [], { list: true });
  return serveList(ctx, p, ctx.ledger.webhookEndpoints, "/v1/webhook_endpoints");
}

export const eventRoutes: Route[] = [
  route("GET", "/v1/events", listEvents),
  route("GET", "/v1/events/:id", retrieveEvent),
  route("POST", "/v1/webhook_endpoints", createEndpoint),
  route("GET", "/v1/webhook_endpoints", listEndpoints),
  route("GET", "/v1/webhook_endpoints/:id", retrieveFrom("webhookEndpoints")),
  route("POST", "/v1/webhook_endpoints/:id", updateEndpoint),
  route("DELETE", "/v1/webhook_endpoints/:id", deleteEndpoint),
];

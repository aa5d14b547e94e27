import { shape } from "../schema/shape";
import type { Metadata, StripeObject } from "./common";

/** The API version this emulator speaks: the one `stripe@23` pins. */
export const API_VERSION = "2026-10-28.endive";

export interface EventRequest {
  id: string | null;
  idempotency_key: string | null;
}

export interface StripeEvent extends StripeObject {
  object: "event";
  api_version: string;
  data: { object: Record<string, unknown>; previous_attributes?: Record<string, unknown> };
  livemode: boolean;
  pending_webhooks: number;
  request: EventRequest;
  type: string;
}

export interface WebhookEndpoint extends StripeObject {
  object: "webhook_endpoint";
  api_version: string | null;
  description: string | null;
  enabled_events: string[];
  livemode: boolean;
  metadata: Metadata;
  status: "enabled" | "disabled";
  url: string;
}

export function buildEvent(fields: {
  id: string;
  created: number;
  type: string;
  livemode: boolean;
  object: Record<string, unknown>;
  previousAttributes?: Record<string, unknown>;
  request: EventRequest;
}): StripeEvent {
  return shape<StripeEvent>("EventBase", {
    id: fields.id,
    object: "event",
    api_version: API_VERSION,
    created: fields.created,
    data: fields.previousAttributes
      ? { object: fields.object, previous_attributes: fields.previousAttributes }
      : { object: fields.object },
    livemode: fields.livemode,
    pending_webhooks: 0,
    request: fields.request,
    type: fields.type,
  });
}

export function buildWebhookEndpoint(fields: {
  id: string;
  created: number;
  livemode: boolean;
  url: string;
  enabledEvents: string[];
  description?: string | null;
  apiVersion?: string | null;
  metadata?: Metadata;
}): WebhookEndpoint {
  return shape<WebhookEndpoint>("WebhookEndpoint", {
    id: fields.id,
    object: "webhook_endpoint",
    api_version: fields.apiVersion ?? null,
    application: null,
    created: fields.created,
    description: fields.description ?? null,
    enabled_events: fields.enabledEvents,
    livemode: fields.livemode,
    metadata: fields.metadata ?? {},
    status: "enabled",
    url: fields.url,
  });
}

export function endpointWants(endpoint: WebhookEndpoint, type: string): boolean {
  return (
    endpoint.status === "enabled" &&
    (endpoint.enabled_events.includes("*") || endpoint.enabled_events.includes(type))
  );
}

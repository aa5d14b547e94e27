import { z } from "zod";
import {
  API_SCOPE_DESCRIPTIONS,
  API_SCOPES,
  DEFAULT_RATE_LIMIT,
  type ApiScope,
} from "../api-keys.server";
import { MAX_BODY_BYTES } from "./http.server";
import {
  checkoutHeadersSchema,
  checkoutSessionPathSchema,
  createCheckoutBodySchema,
} from "./checkout.server";
import { debitBodySchema, MAX_DEBIT_AMOUNT } from "./debits.server";
import {
  LEDGER_PAGE_DEFAULT,
  LEDGER_PAGE_MAX,
  upsertUserBodySchema,
  userPathSchema,
} from "./users.server";

/**
 * The OpenAPI 3.1 description of the Credits API, served at GET /api/v1/openapi.json. What a
 * client sends — request bodies, path parameters, headers — is generated from the zod schemas the
 * routes parse it with (`fromZod`), so the document cannot accept or refuse differently from the
 * API; descriptions and examples are laid over them here. tests/integration/credits-api-openapi.test.ts
 * walks every path, method and documented status against the real routes, and
 * tests/unit/openapi-document.test.ts validates the document as OpenAPI 3.1.
 */

export interface Ref {
  $ref: string;
}

type JsonType = "object" | "string" | "integer" | "number" | "boolean" | "array" | "null";

export interface SchemaObject {
  type?: JsonType | JsonType[];
  oneOf?: (SchemaObject | Ref)[];
  anyOf?: (SchemaObject | Ref)[];
  description?: string;
  properties?: Record<string, SchemaObject | Ref>;
  required?: string[];
  additionalProperties?: boolean;
  items?: SchemaObject | Ref;
  enum?: (string | null)[];
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  default?: unknown;
  examples?: unknown[];
}

export interface ParameterObject {
  name: string;
  in: "path" | "query" | "header";
  required?: boolean;
  description?: string;
  schema: SchemaObject;
}

interface MediaType {
  schema: SchemaObject | Ref;
  example?: unknown;
}

export interface ResponseObject {
  description: string;
  headers?: Record<string, { description: string; schema: SchemaObject }>;
  content?: { "application/json": MediaType };
}

export interface OperationObject {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  security?: Record<string, string[]>[];
  parameters?: (ParameterObject | Ref)[];
  requestBody?: { required: boolean; content: { "application/json": MediaType } };
  responses: Record<string, ResponseObject | Ref>;
}

export type HttpMethod = "get" | "put" | "post" | "delete" | "patch";
export type PathItem = Partial<Record<HttpMethod, OperationObject>>;

export interface OpenApiDocument {
  openapi: "3.1.0";
  info: { title: string; version: string; description: string };
  servers: { url: string; description: string }[];
  security: Record<string, string[]>[];
  tags: { name: string; description: string }[];
  paths: Record<string, PathItem>;
  components: {
    securitySchemes: Record<
      string,
      { type: "http"; scheme: "bearer"; bearerFormat: string; description: string }
    >;
    schemas: Record<string, SchemaObject>;
    parameters: Record<string, ParameterObject>;
    responses: Record<string, ResponseObject>;
  };
}

const ref = (kind: "schemas" | "parameters" | "responses", name: string): Ref => ({
  $ref: `#/components/${kind}/${name}`,
});
const json = (schema: SchemaObject | Ref, example?: unknown) => ({
  "application/json": example === undefined ? { schema } : { schema, example },
});

/**
 * The JSON Schema (2020-12, OpenAPI 3.1's dialect) of what a zod schema accepts as input, with a
 * description and extra keywords (formats, examples) laid over each named property.
 */
export function fromZod(
  schema: z.ZodType,
  over: Record<string, Partial<SchemaObject>> = {},
): SchemaObject {
  const json = z.toJSONSchema(schema, { io: "input", target: "draft-2020-12" }) as SchemaObject & {
    $schema?: string;
  };
  delete json.$schema;
  for (const [name, extra] of Object.entries(over)) {
    const property = json.properties?.[name];
    if (!property) throw new Error(`fromZod: the schema has no property ${name}`);
    json.properties![name] = { ...property, ...extra };
  }
  return json;
}

/** Parameters from a zod object schema: one per property, required as the schema says. */
function parametersFromZod(
  schema: z.ZodType,
  where: "path" | "header",
  descriptions: Record<string, string>,
): ParameterObject[] {
  const json = fromZod(schema);
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: where,
    ...(where === "path" || json.required?.includes(name) ? { required: true } : {}),
    description: descriptions[name],
    schema: property as SchemaObject,
  }));
}

const USER_ID_PATTERN = (fromZod(userPathSchema).properties!.id as SchemaObject).pattern!;
/** The scope an operation needs, as an OpenAPI 3.1 security requirement (role names for bearer). */
const needs = (scope: ApiScope) => [{ bearerAuth: [scope] }];
const nullableString = (description: string): SchemaObject => ({
  type: ["string", "null"],
  description,
});

const errorResponse = (
  description: string,
  code: string,
  message: string,
  field?: string,
): ResponseObject => ({
  description,
  content: json(ref("schemas", "Error"), { error: { code, message, ...(field ? { field } : {}) } }),
});

export const openApiDocument: OpenApiDocument = {
  openapi: "3.1.0",
  info: {
    title: "creditdesk Credits API",
    version: "1.0.0",
    description:
      "Lets the product's main app upsert users, read balances and ledgers, spend credits idempotently, list credit packs, " +
      "and open Stripe Checkout Sessions that creditdesk can always attribute. Every request needs " +
      "`Authorization: Bearer <API key>` (create keys with `npm run cli -- apikey create --name NAME --scope …`). " +
      "Each operation needs one scope, listed in its `security`; a key without it gets 403 `insufficient_scope`. " +
      `Each key has a token-bucket rate limit (default ${DEFAULT_RATE_LIMIT.perSecond} requests/s, bursts of ` +
      `${DEFAULT_RATE_LIMIT.burst}; counted per server process); every answer to a known key carries ` +
      "`RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`, and 429 adds `Retry-After`. " +
      "Errors are JSON `{ error: { code, message, field? } }`. A method a path does not support gets 405 with `Allow`; " +
      `an unknown path under /api/v1 gets 404 \`route_not_found\`; request bodies over ${MAX_BODY_BYTES / 1024} KB get 413 ` +
      "(with `Connection: close`), bodies that are not `application/json` 415.",
  },
  servers: [{ url: "/api/v1", description: "This creditdesk server" }],
  security: [{ bearerAuth: [] }],
  tags: [
    { name: "users", description: "Users, balances and ledgers" },
    { name: "credits", description: "Spending credits" },
    { name: "checkout", description: "Buying credit packs through Stripe Checkout" },
    { name: "meta", description: "This description" },
  ],
  paths: {
    "/users/{id}": {
      get: {
        operationId: "getUser",
        security: needs("users:read"),
        summary: "Get a user with their balance and tier (or their balance at a past instant)",
        description:
          "With `at`, `balance` is the balance as of that instant, read from the ledger: the `balanceAfter` of the " +
          "user's last entry (highest `seq`) created at or before it, 0 before the first; `balanceAt` says which " +
          "entry. Every other field is as it is now. `at` in the future or not an ISO 8601 date-time with a time " +
          "zone is 400 naming `at`.",
        tags: ["users"],
        parameters: [
          ref("parameters", "UserId"),
          {
            name: "at",
            in: "query",
            description: "An instant (ISO 8601 date-time with a time zone), not in the future.",
            schema: { type: "string", format: "date-time", examples: ["2026-11-22T08:00:00Z"] },
          },
        ],
        responses: {
          "200": {
            description: "The user (with `at`: `balance` as of then, and `balanceAt`)",
            content: json(ref("schemas", "User")),
          },
          "400": ref("responses", "InvalidRequest"),
          "401": ref("responses", "Unauthorized"),
          "403": ref("responses", "Forbidden"),
          "429": ref("responses", "RateLimited"),
          "404": ref("responses", "NotFound"),
        },
      },
      put: {
        operationId: "upsertUser",
        security: needs("users:write"),
        summary: "Create or update a user",
        description:
          "The id is the main app's own user id. `email` is stored as given (trimmed) and matched case-insensitively when " +
          "a Checkout Session has to be attributed by email. `name` omitted leaves it unchanged; `null` clears it. " +
          "Balance and tier cannot be set here.",
        tags: ["users"],
        parameters: [ref("parameters", "UserId")],
        requestBody: {
          required: true,
          content: json(ref("schemas", "UpsertUserRequest"), {
            email: "ada@example.com",
            name: "Ada Lovelace",
          }),
        },
        responses: {
          "200": {
            description: "The user existed and was updated",
            content: json(ref("schemas", "User")),
          },
          "201": { description: "The user was created", content: json(ref("schemas", "User")) },
          "400": ref("responses", "InvalidRequest"),
          "401": ref("responses", "Unauthorized"),
          "403": ref("responses", "Forbidden"),
          "429": ref("responses", "RateLimited"),
          "413": ref("responses", "PayloadTooLarge"),
          "415": ref("responses", "UnsupportedMediaType"),
          "422": ref("responses", "ValidationFailed"),
        },
      },
    },
    "/users/{id}/ledger": {
      get: {
        operationId: "listUserLedger",
        security: needs("users:read"),
        summary: "List a user's ledger entries, newest first",
        description:
          "Keyset pagination on the per-user sequence number: pass `nextCursor` back as `cursor` until it is null. Each " +
          "entry appears exactly once across pages, even while new entries are being added.",
        tags: ["users"],
        parameters: [
          ref("parameters", "UserId"),
          {
            name: "limit",
            in: "query",
            description: "Entries per page.",
            schema: {
              type: "integer",
              minimum: 1,
              maximum: LEDGER_PAGE_MAX,
              default: LEDGER_PAGE_DEFAULT,
            },
          },
          {
            name: "cursor",
            in: "query",
            description: "The `nextCursor` of the previous page (opaque).",
            schema: { type: "string", maxLength: 200 },
          },
        ],
        responses: {
          "200": {
            description: "One page of entries",
            content: json(ref("schemas", "LedgerPage")),
          },
          "400": ref("responses", "InvalidRequest"),
          "401": ref("responses", "Unauthorized"),
          "403": ref("responses", "Forbidden"),
          "429": ref("responses", "RateLimited"),
          "404": ref("responses", "NotFound"),
        },
      },
    },
    "/users/{id}/debits": {
      post: {
        operationId: "debitCredits",
        security: needs("debits:write"),
        summary: "Spend credits (idempotent)",
        description:
          "Takes `amount` credits from the user's balance as a `usage` ledger entry. The balance never goes below zero. " +
          "`idempotencyKey` is scoped to the user: repeating the exact request returns the original entry with 200 and " +
          "changes nothing; the same key with a different amount or description is 409.",
        tags: ["credits"],
        parameters: [ref("parameters", "UserId")],
        requestBody: {
          required: true,
          content: json(ref("schemas", "DebitRequest"), {
            amount: 10,
            idempotencyKey: "job-7f3a9c",
            description: "Image generation job 7f3a9c",
          }),
        },
        responses: {
          "200": {
            description: "Exact retry: the original entry, nothing changed",
            content: json(ref("schemas", "DebitResponse")),
          },
          "201": { description: "Debited", content: json(ref("schemas", "DebitResponse")) },
          "400": ref("responses", "InvalidRequest"),
          "401": ref("responses", "Unauthorized"),
          "402": errorResponse(
            "Not enough credits; nothing changed",
            "insufficient_credits",
            "Insufficient credits: the balance is 5 and 10 were requested.",
            "amount",
          ),
          "403": ref("responses", "Forbidden"),
          "429": ref("responses", "RateLimited"),
          "404": ref("responses", "NotFound"),
          "409": errorResponse(
            "The idempotency key was used before with a different amount or description; nothing changed",
            "idempotency_conflict",
            'Idempotency key "job-7f3a9c" was already used for this user with a different amount or description.',
            "idempotencyKey",
          ),
          "413": ref("responses", "PayloadTooLarge"),
          "415": ref("responses", "UnsupportedMediaType"),
          "422": ref("responses", "ValidationFailed"),
        },
      },
    },
    "/packs": {
      get: {
        operationId: "listPacks",
        security: needs("packs:read"),
        summary: "List the credit packs on sale",
        tags: ["checkout"],
        responses: {
          "200": {
            description: "Active packs, cheapest first",
            content: json(ref("schemas", "PackList")),
          },
          "401": ref("responses", "Unauthorized"),
          "403": ref("responses", "Forbidden"),
          "429": ref("responses", "RateLimited"),
        },
      },
    },
    "/checkout-sessions": {
      post: {
        operationId: "createCheckoutSession",
        security: needs("checkout:write"),
        summary: "Open a Stripe Checkout Session for a pack",
        description:
          "Creates the session with `client_reference_id` and `metadata.user_id` set to the user and `metadata.pack_id` " +
          "to the pack, for the user's Stripe customer (created and remembered on first use). Redirect the browser to " +
          "`url`. Put `{CHECKOUT_SESSION_ID}` in `successUrl` so the success page can call the fulfill endpoint. " +
          "Send an `Idempotency-Key` header to make retries return the same session.",
        tags: ["checkout"],
        parameters: parametersFromZod(checkoutHeadersSchema, "header", {
          "Idempotency-Key":
            "Optional; per user. The same key returns the same session for 24 hours.",
        }),
        requestBody: {
          required: true,
          content: json(ref("schemas", "CreateCheckoutSessionRequest"), {
            userId: "user_123",
            priceId: "price_1Pq…",
            quantity: 1,
            successUrl: "https://app.example.com/billing/success?session_id={CHECKOUT_SESSION_ID}",
            cancelUrl: "https://app.example.com/billing",
          }),
        },
        responses: {
          "201": { description: "The session", content: json(ref("schemas", "CheckoutSession")) },
          "400": ref("responses", "InvalidRequest"),
          "401": ref("responses", "Unauthorized"),
          "403": ref("responses", "Forbidden"),
          "429": ref("responses", "RateLimited"),
          "404": ref("responses", "NotFound"),
          "409": errorResponse(
            "The Idempotency-Key was used with a different request",
            "idempotency_conflict",
            "The Idempotency-Key was already used with a different request.",
            "Idempotency-Key",
          ),
          "413": ref("responses", "PayloadTooLarge"),
          "415": ref("responses", "UnsupportedMediaType"),
          "422": ref("responses", "ValidationFailed"),
          "502": ref("responses", "StripeUnavailable"),
          "503": ref("responses", "StripeNotConfigured"),
        },
      },
    },
    "/checkout-sessions/{id}/fulfill": {
      post: {
        operationId: "fulfillCheckoutSession",
        security: needs("checkout:write"),
        summary: "Credit a paid session now (success-page path)",
        description:
          "Runs the same fulfillment as the Stripe webhook: whichever comes first credits the session, the other " +
          "reports `already_credited`. Call it from the success page; it is safe to call any number of times. Read " +
          "`outcome` (or `credited`): `unmatched_user`, `unknown_price`, `amount_mismatch` and `no_credits` are 200 " +
          "but credit nothing, and support is alerted.",
        tags: ["checkout"],
        parameters: parametersFromZod(checkoutSessionPathSchema, "path", {
          id: "Checkout Session id (cs_…).",
        }),
        responses: {
          "200": {
            description: "Fulfillment ran; see `outcome`",
            content: json(ref("schemas", "FulfillResult")),
          },
          "202": {
            description:
              "Not paid yet (`outcome: not_paid`); credits follow when Stripe reports the payment",
            content: json(ref("schemas", "FulfillResult")),
          },
          "400": ref("responses", "InvalidRequest"),
          "401": ref("responses", "Unauthorized"),
          "403": ref("responses", "Forbidden"),
          "429": ref("responses", "RateLimited"),
          "404": ref("responses", "NotFound"),
          "502": ref("responses", "StripeUnavailable"),
          "503": ref("responses", "StripeNotConfigured"),
        },
      },
    },
    "/openapi.json": {
      get: {
        operationId: "getOpenApi",
        summary: "This document",
        tags: ["meta"],
        security: [],
        responses: { "200": { description: "OpenAPI 3.1 document" } },
      },
    },
  },
  components: {
    securitySchemes: {
      bearerAuth: {
        type: "http",
        scheme: "bearer",
        bearerFormat: "cdk_ followed by 43 base62 characters",
        description:
          "An API key from `npm run cli -- apikey create` or the dashboard's API keys page. Expired keys get 401 " +
          "`api_key_expired`, revoked keys 403 `api_key_revoked`. A key holds the scopes chosen when it was " +
          "created; each operation's `security` names the one it needs. Scopes: " +
          API_SCOPES.map((s) => `\`${s}\` (${API_SCOPE_DESCRIPTIONS[s]})`).join(", ") +
          ".",
      },
    },
    parameters: {
      UserId: parametersFromZod(userPathSchema, "path", { id: "The main app's user id." })[0],
    },
    schemas: {
      Error: {
        type: "object",
        required: ["error"],
        properties: {
          error: {
            type: "object",
            required: ["code", "message"],
            properties: {
              code: {
                type: "string",
                description:
                  "Stable machine-readable code, e.g. missing_api_key, malformed_api_key, invalid_api_key, api_key_expired, " +
                  "api_key_revoked, insufficient_scope, rate_limited, invalid_json, invalid_request, validation_failed, " +
                  "body_too_large, unsupported_media_type, not_found, route_not_found, " +
                  "method_not_allowed, insufficient_credits, idempotency_conflict, pack_inactive, pack_not_one_time, " +
                  "stripe_rejected, stripe_unavailable, stripe_not_configured.",
              },
              message: {
                type: "string",
                description: "For people; names the field and what is accepted.",
              },
              field: {
                type: "string",
                description: "The input to blame, when there is one (`body` for unparseable JSON).",
              },
            },
          },
        },
      },
      User: {
        type: "object",
        required: ["id", "email", "name", "tier", "balance", "stripeCustomerId"],
        properties: {
          id: { type: "string", pattern: USER_ID_PATTERN },
          email: { type: "string", format: "email" },
          name: nullableString("Display name"),
          tier: { type: "string", description: "Tier code, e.g. free or pro", examples: ["free"] },
          balance: {
            type: "integer",
            description: "Credits available (the sum of the user's ledger)",
          },
          stripeCustomerId: nullableString("Stripe customer (cus_…), set on the first checkout"),
          balanceAt: {
            type: "object",
            description:
              "Only with `?at=`: the instant and the ledger entry `balance` was read from",
            required: ["at", "entryId", "seq", "entryCreatedAt"],
            properties: {
              at: { type: "string", format: "date-time" },
              entryId: nullableString("The entry's id (null: no entry at or before `at`)"),
              seq: { type: "integer", description: "The entry's seq (0: none)" },
              entryCreatedAt: {
                type: ["string", "null"],
                format: "date-time",
                description: "When that entry was written",
              },
            },
          },
        },
      },
      UpsertUserRequest: fromZod(upsertUserBodySchema, {
        email: { format: "email" },
        name: { description: "Display name; omitted leaves it unchanged, null clears it" },
      }),
      LedgerEntry: {
        type: "object",
        required: [
          "id",
          "seq",
          "kind",
          "delta",
          "balanceAfter",
          "reason",
          "idempotencyKey",
          "purchaseId",
          "createdAt",
        ],
        properties: {
          id: { type: "string", description: "Entry id (a decimal string: it can exceed 2^53)" },
          seq: { type: "integer", description: "Per-user sequence number, gapless from 1" },
          kind: {
            type: "string",
            enum: [
              "purchase",
              "refund_clawback",
              "dispute_hold",
              "dispute_release",
              "manual_credit",
              "manual_debit",
              "usage",
              "reversal",
              "grant",
              "expiry",
            ],
          },
          delta: { type: "integer", description: "Signed change in credits" },
          balanceAfter: { type: "integer" },
          reason: nullableString("Why (for usage: the debit's description)"),
          idempotencyKey: {
            type: "string",
            description:
              "For API debits: api:<userId>:<your idempotencyKey>, or api#<SHA-256 of userId, hex>:<your " +
              "idempotencyKey> when the user id contains a colon (so no two users' keys can meet)",
          },
          purchaseId: nullableString("The purchase this entry belongs to"),
          createdAt: { type: "string", format: "date-time" },
        },
      },
      LedgerPage: {
        type: "object",
        required: ["data", "nextCursor"],
        properties: {
          data: { type: "array", items: ref("schemas", "LedgerEntry") },
          nextCursor: nullableString(
            "Pass as `cursor` for the next (older) page; null on the last page",
          ),
        },
      },
      DebitRequest: fromZod(debitBodySchema, {
        amount: { description: "Credits to spend" },
        idempotencyKey: { description: "Your id for this spend; scoped to the user" },
        description: { description: "Shown in the ledger" },
      }),
      DebitResponse: {
        type: "object",
        required: ["entry", "balance"],
        properties: {
          entry: ref("schemas", "LedgerEntry"),
          balance: { type: "integer", description: "The user's balance now" },
        },
      },
      Pack: {
        type: "object",
        required: [
          "id",
          "priceId",
          "productId",
          "name",
          "credits",
          "unitAmount",
          "currency",
          "type",
          "grantsTier",
        ],
        properties: {
          id: { type: "string", format: "uuid" },
          priceId: {
            type: "string",
            description: "Stripe price id to pass to POST /checkout-sessions",
          },
          productId: { type: "string" },
          name: { type: "string" },
          credits: { type: "integer", description: "Credits per unit bought" },
          unitAmount: { type: "integer", description: "Price per unit in minor units of currency" },
          currency: { type: "string", examples: ["usd"] },
          type: { type: "string", enum: ["one_time", "recurring"] },
          grantsTier: nullableString("Tier code buying this pack grants"),
        },
      },
      PackList: {
        type: "object",
        required: ["data"],
        properties: { data: { type: "array", items: ref("schemas", "Pack") } },
      },
      CreateCheckoutSessionRequest: fromZod(createCheckoutBodySchema, {
        priceId: { description: "An active one-time pack's price" },
        successUrl: { format: "uri" },
        cancelUrl: { format: "uri" },
      }),
      CheckoutSession: {
        type: "object",
        required: ["id", "url"],
        properties: {
          id: { type: "string", description: "cs_…" },
          url: nullableString("Where to send the browser"),
        },
      },
      FulfillResult: {
        type: "object",
        required: [
          "sessionId",
          "outcome",
          "credited",
          "userId",
          "credits",
          "balance",
          "purchaseId",
          "paymentStatus",
          "entry",
          "message",
        ],
        properties: {
          sessionId: { type: "string" },
          outcome: {
            type: "string",
            enum: [
              "credited",
              "already_credited",
              "not_paid",
              "unmatched_user",
              "unknown_price",
              "amount_mismatch",
              "no_credits",
            ],
          },
          credited: {
            type: "boolean",
            description: "true when the session's credits are on the balance (now or before)",
          },
          userId: nullableString("The user credited"),
          credits: { type: ["integer", "null"], description: "Credits the purchase granted" },
          balance: { type: ["integer", "null"], description: "The user's balance now" },
          purchaseId: nullableString("creditdesk purchase id"),
          paymentStatus: nullableString("Stripe's payment_status when known"),
          entry: {
            description: "The ledger entry, when this call credited it (null otherwise)",
            oneOf: [ref("schemas", "LedgerEntry"), { type: "null" }],
          },
          message: { type: "string" },
        },
      },
    },
    responses: {
      InvalidRequest: errorResponse(
        "Malformed JSON, or a bad path, query or header value",
        "invalid_json",
        "The request body is not valid JSON.",
        "body",
      ),
      Unauthorized: {
        ...errorResponse(
          "Missing, malformed, unknown or expired API key",
          "missing_api_key",
          "Authentication required: send Authorization: Bearer <API key>.",
        ),
        headers: {
          "WWW-Authenticate": {
            description: 'Bearer realm="creditdesk"',
            schema: { type: "string" },
          },
        },
      },
      Forbidden: {
        ...errorResponse(
          "The API key was revoked (`api_key_revoked`) or lacks this operation's scope (`insufficient_scope`)",
          "insufficient_scope",
          "The API key cdk_AbCdEfGh… lacks the scope debits:write, which POST /api/v1/users/{id}/debits needs; " +
            "its scopes are users:read. Use a key created with debits:write.",
        ),
        headers: {
          "WWW-Authenticate": {
            description:
              'For insufficient_scope: Bearer realm="creditdesk", error="insufficient_scope", scope="<the scope>"',
            schema: { type: "string" },
          },
        },
      },
      RateLimited: {
        ...errorResponse(
          "The key made more requests than its rate limit allows; retry after `Retry-After` seconds",
          "rate_limited",
          `Too many requests with the API key cdk_AbCdEfGh…: it may make ${DEFAULT_RATE_LIMIT.perSecond} per second, ` +
            `${DEFAULT_RATE_LIMIT.burst} at once; retry after 1 s.`,
        ),
        headers: {
          "Retry-After": {
            description: "Seconds until one request is allowed again",
            schema: { type: "integer", minimum: 1 },
          },
          "RateLimit-Limit": {
            description: "The key's bucket size (requests at once)",
            schema: { type: "integer" },
          },
          "RateLimit-Remaining": {
            description: "Requests left now (0 here)",
            schema: { type: "integer", minimum: 0 },
          },
          "RateLimit-Reset": {
            description: "Seconds until the bucket is full again",
            schema: { type: "integer", minimum: 0 },
          },
        },
      },
      UnsupportedMediaType: errorResponse(
        "The body is not sent as application/json",
        "unsupported_media_type",
        'Content-Type must be application/json; got "text/plain".',
        "Content-Type",
      ),
      NotFound: errorResponse(
        "No such user, pack or Checkout Session",
        "not_found",
        "User user_123 was not found.",
        "id",
      ),
      PayloadTooLarge: {
        ...errorResponse(
          `The body is larger than ${MAX_BODY_BYTES / 1024} KB; the connection is closed after the answer`,
          "body_too_large",
          `The request body is larger than ${MAX_BODY_BYTES / 1024} KB.`,
          "body",
        ),
        headers: { Connection: { description: "close", schema: { type: "string" } } },
      },
      ValidationFailed: errorResponse(
        "The JSON was well-formed but a field's value is not accepted (wrong type, out of range, NUL characters …)",
        "validation_failed",
        `amount must be a positive whole number of credits, at most ${MAX_DEBIT_AMOUNT}.`,
        "amount",
      ),
      StripeUnavailable: errorResponse(
        "Stripe did not answer or failed; retry later",
        "stripe_unavailable",
        "Stripe did not complete the Checkout Session request; try again shortly.",
      ),
      StripeNotConfigured: errorResponse(
        "Stripe is not configured on this server",
        "stripe_not_configured",
        "Stripe is not configured on this creditdesk server.",
      ),
    },
  },
};

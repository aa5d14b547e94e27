import type { z } from "zod";
import { DEFAULT_RATE_LIMIT, type ApiScope, type AuthenticatedApiKey } from "../api-keys.server";
import { clientIp } from "../infra/request.server";
import {
  apiHandler,
  apiJson,
  MAX_BODY_BYTES,
  parseInput,
  queryParams,
  readJsonBody,
  type ApiOperation,
} from "./http.server";
import { apiErrorSchema } from "./schemas.server";
import { MAX_DEBIT_AMOUNT } from "./debits.server";

/**
 * The shape of a Credits API operation declaration (operations.server.ts holds the list). One
 * declaration is all of an operation: the router runs it (`apiRoute`), the OpenAPI document is
 * generated from it (openapi.server.ts), and the contract test requests every status it declares
 * and parses the body with the declared zod schema.
 *
 * What the declaration's shape implies is added for it, so it is never forgotten: a scope adds
 * 401, 403 and 429; path, query or header parameters or a body add 400; a body adds 413, 415 and
 * 422. Declared responses come first (a declared 409 replaces nothing; a declared 400 would
 * replace the generic one).
 */

export type HttpMethod = "GET" | "PUT" | "POST" | "PATCH" | "DELETE";

/** JSON Schema keywords laid over a generated property (descriptions, formats, examples). */
export type SchemaOverlay = Record<string, unknown>;

/** Documentation for a parameter: its description, and keywords laid over its schema. */
export interface ParamDoc {
  description?: string;
  /**
   * Replaces the generated schema. Only for query values, which arrive as text: the zod schema
   * parses the text (e.g. `^\d+$` then a number), the document describes the value.
   */
  schema?: SchemaOverlay;
}

export interface HeaderDoc {
  description: string;
  schema: SchemaOverlay;
}

/** An answer an operation gives. `schema` (a registered schema from schemas.server.ts) is its JSON body. */
export interface ResponseSpec<S extends z.ZodType | undefined = z.ZodType | undefined> {
  description: string;
  schema: S;
  example?: unknown;
  headers?: Record<string, HeaderDoc>;
}

export const ok = <S extends z.ZodType | undefined>(
  description: string,
  schema: S,
  extra: Omit<ResponseSpec, "description" | "schema"> = {},
): ResponseSpec<S> => ({ description, schema, ...extra });

/** An error answer: the shared error shape with an example of the code and message. */
export function errorAnswer(
  description: string,
  code: string,
  message: string,
  field?: string,
  headers?: Record<string, HeaderDoc>,
): ResponseSpec<typeof apiErrorSchema> {
  return {
    description,
    schema: apiErrorSchema,
    example: { error: { code, message, ...(field ? { field } : {}) } },
    ...(headers ? { headers } : {}),
  };
}

/**
 * Error answers shared by operations, each a components.responses entry of the document. An
 * operation names the ones its domain can produce (e.g. `404: "NotFound"`); the ones its shape
 * implies are added for it (see the head comment).
 */
export const SHARED_RESPONSES = {
  InvalidRequest: errorAnswer(
    "Malformed JSON, or a bad path, query or header value",
    "invalid_json",
    "The request body is not valid JSON.",
    "body",
  ),
  Unauthorized: errorAnswer(
    "Missing, malformed, unknown or expired API key",
    "missing_api_key",
    "Authentication required: send Authorization: Bearer <API key>.",
    undefined,
    {
      "WWW-Authenticate": {
        description: 'Bearer realm="creditdesk"',
        schema: { type: "string" },
      },
    },
  ),
  Forbidden: errorAnswer(
    "The API key was revoked (`api_key_revoked`) or lacks this operation's scope (`insufficient_scope`)",
    "insufficient_scope",
    "The API key cdk_AbCdEfGh… lacks the scope debits:write, which POST /api/v1/users/{id}/debits needs; " +
      "its scopes are users:read. Use a key created with debits:write.",
    undefined,
    {
      "WWW-Authenticate": {
        description:
          'For insufficient_scope: Bearer realm="creditdesk", error="insufficient_scope", scope="<the scope>"',
        schema: { type: "string" },
      },
    },
  ),
  RateLimited: errorAnswer(
    "The key made more requests than its rate limit allows; retry after `Retry-After` seconds",
    "rate_limited",
    `Too many requests with the API key cdk_AbCdEfGh…: it may make ${DEFAULT_RATE_LIMIT.perSecond} per second, ` +
      `${DEFAULT_RATE_LIMIT.burst} at once; retry after 1 s.`,
    undefined,
    {
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
  ),
  UnsupportedMediaType: errorAnswer(
    "The body is not sent as application/json",
    "unsupported_media_type",
    'Content-Type must be application/json; got "text/plain".',
    "Content-Type",
  ),
  NotFound: errorAnswer(
    "No such user, pack or Checkout Session",
    "not_found",
    "User user_123 was not found.",
    "id",
  ),
  PayloadTooLarge: errorAnswer(
    `The body is larger than ${MAX_BODY_BYTES / 1024} KB; the connection is closed after the answer`,
    "body_too_large",
    `The request body is larger than ${MAX_BODY_BYTES / 1024} KB.`,
    "body",
    { Connection: { description: "close", schema: { type: "string" } } },
  ),
  ValidationFailed: errorAnswer(
    "The JSON was well-formed but a field's value is not accepted (wrong type, out of range, NUL characters …)",
    "validation_failed",
    `amount must be a positive whole number of credits, at most ${MAX_DEBIT_AMOUNT}.`,
    "amount",
  ),
  StripeUnavailable: errorAnswer(
    "Stripe did not answer or failed; retry later",
    "stripe_unavailable",
    "Stripe did not complete the Checkout Session request; try again shortly.",
  ),
  StripeNotConfigured: errorAnswer(
    "Stripe is not configured on this server",
    "stripe_not_configured",
    "Stripe is not configured on this creditdesk server.",
  ),
} satisfies Record<string, ResponseSpec>;

export type SharedResponse = keyof typeof SHARED_RESPONSES;

type Responses = Record<number, ResponseSpec | SharedResponse>;
type Parsed<T> = T extends z.ZodType ? z.output<T> : undefined;

/** What a handler may answer: one of the declared statuses, with a body of its schema's type. */
export type Reply<R extends Responses> = {
  [S in keyof R]: R[S] extends ResponseSpec<infer B>
    ? {
        status: S;
        body: B extends z.ZodType ? z.input<B> : unknown;
        headers?: Record<string, string>;
      }
    : never;
}[keyof R];

export interface RunInput<P, Q, H, B, Scope extends ApiScope | null> {
  params: Parsed<P>;
  query: Parsed<Q>;
  headers: Parsed<H>;
  body: Parsed<B>;
  /** The calling key (null for a public operation). */
  key: Scope extends ApiScope ? AuthenticatedApiKey : null;
  /** The client's address, for audit records. */
  ip: string;
  request: Request;
}

export interface OperationSpec<
  P extends z.ZodObject | undefined = z.ZodObject | undefined,
  Q extends z.ZodObject | undefined = z.ZodObject | undefined,
  H extends z.ZodObject | undefined = z.ZodObject | undefined,
  B extends z.ZodType | undefined = z.ZodType | undefined,
  R extends Responses = Responses,
  Scope extends ApiScope | null = ApiScope | null,
> {
  operationId: string;
  method: HttpMethod;
  /** The documented path under /api/v1, parameters in braces: "/users/{id}/debits". */
  path: string;
  /** The one scope a key needs; null for a public operation (no key at all). */
  scope: Scope;
  tag: string;
  summary: string;
  description?: string;
  params?: { schema: P; docs?: Record<string, ParamDoc> };
  query?: { schema: Q; docs?: Record<string, ParamDoc> };
  headers?: { schema: H; docs?: Record<string, ParamDoc> };
  /** `name` is the body's components.schemas entry; `overlay` adds keywords per property. */
  body?: { name: string; schema: B; example?: unknown; overlay?: Record<string, SchemaOverlay> };
  responses: R;
  run(input: RunInput<P, Q, H, B, Scope>): Promise<Reply<R>>;
}

/** Declare an operation (an identity function that infers and checks the handler's types). */
export function defineOperation<
  P extends z.ZodObject | undefined = undefined,
  Q extends z.ZodObject | undefined = undefined,
  H extends z.ZodObject | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
  const R extends Responses = Responses,
  const Scope extends ApiScope | null = ApiScope | null,
>(spec: OperationSpec<P, Q, H, B, R, Scope>): AnyOperation {
  return spec as unknown as AnyOperation;
}

/** An operation as the router and the document generator see it (types erased). */
export type AnyOperation = OperationSpec<
  z.ZodObject | undefined,
  z.ZodObject | undefined,
  z.ZodObject | undefined,
  z.ZodType | undefined,
  Responses,
  ApiScope | null
>;

/** Every response an operation gives: the declared ones and the ones its shape implies. */
export function responsesOf(op: AnyOperation): Record<string, ResponseSpec | SharedResponse> {
  const implied: Record<string, SharedResponse> = {};
  if (op.params || op.query || op.headers || op.body) implied["400"] = "InvalidRequest";
  if (op.scope !== null) {
    implied["401"] = "Unauthorized";
    implied["403"] = "Forbidden";
    implied["429"] = "RateLimited";
  }
  if (op.body) {
    implied["413"] = "PayloadTooLarge";
    implied["415"] = "UnsupportedMediaType";
    implied["422"] = "ValidationFailed";
  }
  const all: Record<string, ResponseSpec | SharedResponse> = { ...implied };
  for (const [status, response] of Object.entries(op.responses)) all[status] = response;
  return all;
}

export const resolveResponse = (response: ResponseSpec | SharedResponse): ResponseSpec =>
  typeof response === "string" ? SHARED_RESPONSES[response] : response;

/** A header parameter's value as zod sees it: absent is undefined, not null. */
function headerValues(schema: z.ZodObject, request: Request): Record<string, string | undefined> {
  const values: Record<string, string | undefined> = {};
  for (const name of Object.keys(schema.shape))
    values[name] = request.headers.get(name) ?? undefined;
  return values;
}

/**
 * What `apiHandler` (http.server.ts) runs for one operation: parse the path, query, body and
 * headers in that order with the declared schemas (the first bad one is the 400/422), run the
 * handler, send its reply as JSON.
 */
export function toApiOperation(op: AnyOperation): ApiOperation {
  const run = async (args: {
    request: Request;
    params: Record<string, string | undefined>;
    context: Parameters<typeof clientIp>[0];
    key?: AuthenticatedApiKey;
  }) => {
    const { request } = args;
    const params = op.params ? parseInput(op.params.schema!, args.params, "path") : undefined;
    const query = op.query
      ? parseInput(op.query.schema!, queryParams(request), "query")
      : undefined;
    const body = op.body
      ? parseInput(op.body.schema!, await readJsonBody(request), "body")
      : undefined;
    const headers = op.headers
      ? parseInput(op.headers.schema!, headerValues(op.headers.schema!, request), "header")
      : undefined;
    const reply = (await op.run({
      params,
      query,
      headers,
      body,
      key: args.key ?? null,
      ip: clientIp(args.context),
      request,
    } as Parameters<AnyOperation["run"]>[0])) as unknown as {
      status: number;
      body: unknown;
      headers?: Record<string, string>;
    };
    return apiJson(reply.body, reply.status, reply.headers);
  };
  return op.scope === null ? { public: true, run } : { scope: op.scope, run };
}

/** The loader-and-action function of the route serving `path`, from the operations declared for it. */
export function routeFor(operations: readonly AnyOperation[], path: string) {
  const here = operations.filter((op) => op.path === path);
  if (here.length === 0) throw new Error(`No Credits API operation is declared for ${path}`);
  return apiHandler(
    path,
    Object.fromEntries(here.map((op) => [op.method, toApiOperation(op)])) as Partial<
      Record<HttpMethod, ApiOperation>
    >,
  );
}

/**
 * A request creditdesk sends to a subscriber (an OpenAPI 3.1 `webhooks` entry): the payload is a
 * zod schema (registered with `named` in schemas.server.ts so it is a component), and the sender
 * should build its body as `z.input<typeof payload>` so the document and the bytes agree.
 */
export interface WebhookSpec {
  /** The key under `webhooks`, e.g. the event type "credits.low_balance". */
  name: string;
  operationId: string;
  tag: string;
  summary: string;
  description?: string;
  payload: z.ZodType;
  example?: unknown;
  /** What creditdesk expects back; by default any 2xx acknowledges the delivery. */
  responses?: Record<string, { description: string }>;
}

export const defineWebhook = (spec: WebhookSpec): WebhookSpec => spec;

import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import type { z } from "zod";
import {
  authenticateApiKey,
  InsufficientScopeError,
  requireScope,
  type ApiScope,
  type AuthenticatedApiKey,
} from "../api-keys.server";
import { DomainError } from "../errors.server";
import { logger, scrubSecrets } from "../infra/logger.server";
import { apiKeyBuckets, rateLimitHeaders, type RateDecision } from "./rate-limit.server";

/**
 * The HTTP edge of the Credits API: JSON in, JSON out, one error shape
 * `{ error: { code, message, field? } }`. Routes stay thin by handing a per-method handler map
 * to `apiHandler`; everything that can go wrong with input becomes a 4xx here, never a 500.
 */

export const MAX_BODY_BYTES = 64 * 1024;

export interface ApiErrorBody {
  error: { code: string; message: string; field?: string };
}

const baseHeaders = { "Cache-Control": "no-store" } as const;

export function apiJson(body: unknown, status = 200, headers?: Record<string, string>): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json; charset=utf-8", ...baseHeaders, ...headers },
  });
}

/** An HTTP-level problem (405, 413, malformed JSON …) with the same shape as domain errors. */
export class ApiError extends DomainError {}

/** An error's answer as parts: for a fetch Response here, or written by an Express-level endpoint. */
export interface ErrorParts {
  status: number;
  headers: Record<string, string>;
  body: ApiErrorBody;
}

export function errorParts(
  error: Pick<DomainError, "status" | "code" | "message" | "field">,
  headers?: Record<string, string>,
): ErrorParts {
  const body: ApiErrorBody = { error: { code: error.code, message: scrubSecrets(error.message) } };
  if (error.field) body.error.field = error.field;
  const extra: Record<string, string> = { ...headers };
  if (error.status === 401) extra["WWW-Authenticate"] = 'Bearer realm="creditdesk"';
  if (error instanceof InsufficientScopeError) {
    extra["WWW-Authenticate"] =
      `Bearer realm="creditdesk", error="insufficient_scope", scope="${error.scope}"`;
  }
  // The rest of an oversized body is not read: the connection cannot carry another request.
  if (error.status === 413) extra.Connection = "close";
  return { status: error.status, headers: extra, body };
}

export function errorResponse(
  error: Pick<DomainError, "status" | "code" | "message" | "field">,
  headers?: Record<string, string>,
): Response {
  const parts = errorParts(error, headers);
  return apiJson(parts.body, parts.status, parts.headers);
}

/** Refuse a declared oversized body before anything else is done with the request. */
function checkDeclaredLength(request: Request) {
  checkContentLength(request.headers.get("content-length"));
}

/** The Content-Length check on the header's value (Express-level endpoints pass it directly). */
export function checkContentLength(value: string | null | undefined) {
  const declared = Number(value ?? null);
  if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) throw tooLarge();
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * The first string in a parsed body (or field name) that Postgres cannot store as text (NUL) or
 * that is not Unicode (an unpaired surrogate, which would be silently replaced): as a 422 naming
 * the field. Iterative, so a deeply nested body cannot overflow the stack.
 */
function checkStrings(root: unknown) {
  // Each node links to its parent, so the path is built only for an error (copying it per node
  // would be quadratic in the nesting depth).
  interface Node {
    value: unknown;
    key: string | null;
    parent: Node | null;
  }
  const fieldOf = (node: Node) => {
    const parts: string[] = [];
    for (let n: Node | null = node; n && n.key !== null; n = n.parent) parts.push(n.key);
    return parts.length > 0 ? parts.reverse().join(".").slice(0, 200) : "body";
  };
  const problem = (s: string) =>
    s.includes("\u0000")
      ? "must not contain NUL (\\u0000) characters"
      : LONE_SURROGATE.test(s)
        ? "must be valid Unicode text (it has an unpaired surrogate)"
        : null;
  const stack: Node[] = [{ value: root, key: null, parent: null }];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const { value } = node;
    if (typeof value === "string") {
      const why = problem(value);
      if (why)
        throw new ApiError(422, "validation_failed", `${fieldOf(node)} ${why}.`, fieldOf(node));
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--)
        stack.push({ value: value[i], key: String(i), parent: node });
    } else if (value && typeof value === "object") {
      const entries = Object.entries(value);
      for (const [k] of entries) {
        const why = problem(k);
        if (why) {
          const field = fieldOf(node);
          throw new ApiError(422, "validation_failed", `A field name in ${field} ${why}.`, field);
        }
      }
      for (let i = entries.length - 1; i >= 0; i--)
        stack.push({ value: entries[i][1], key: entries[i][0], parent: node });
    }
  }
}

/** A Content-Type other than JSON is a 415 (none at all is read as JSON). */
export function checkJsonContentType(type: string | null | undefined) {
  if (type != null && !JSON_TYPE.test(type)) {
    throw new ApiError(
      415,
      "unsupported_media_type",
      `Content-Type must be application/json; got ${JSON.stringify(type.slice(0, 100))}.`,
      "Content-Type",
    );
  }
}

function emptyBody() {
  return new ApiError(
    400,
    "invalid_json",
    "The request body is empty; send a JSON object.",
    "body",
  );
}

/**
 * Read the body as a JSON object, refusing more than MAX_BODY_BYTES without buffering it all, a
 * Content-Type other than JSON (none at all is read as JSON), and strings Postgres cannot store.
 */
export async function readJsonBody(request: Request): Promise<unknown> {
  checkDeclaredLength(request);
  checkJsonContentType(request.headers.get("content-type"));
  if (!request.body) throw emptyBody();
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  return parseJsonBody(Buffer.concat(chunks));
}

/** The bytes of a body (at most MAX_BODY_BYTES) as a JSON object: 400/422 for anything else. */
export function parseJsonBody(bytes: Uint8Array): unknown {
  let text: string;
  try {
    // Fatal: invalid bytes would otherwise become U+FFFD and be stored silently altered.
    text = utf8.decode(bytes);
  } catch {
    throw new ApiError(400, "invalid_json", "The request body is not valid UTF-8.", "body");
  }
  if (!text.trim()) throw emptyBody();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ApiError(400, "invalid_json", "The request body is not valid JSON.", "body");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ApiError(400, "invalid_json", "The request body must be a JSON object.", "body");
  }
  checkStrings(value);
  return value;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

export function tooLarge() {
  return new ApiError(
    413,
    "body_too_large",
    `The request body is larger than ${MAX_BODY_BYTES / 1024} KB.`,
    "body",
  );
}

function issueField(issue: z.core.$ZodIssue): string | undefined {
  if (issue.code === "unrecognized_keys" && issue.keys.length > 0)
    return [...issue.path, issue.keys[0]].join(".");
  return issue.path.length > 0 ? issue.path.join(".") : undefined;
}

function issueMessage(issue: z.core.$ZodIssue, field: string | undefined): string {
  if (issue.code === "unrecognized_keys")
    return `Unknown field${issue.keys.length > 1 ? "s" : ""}: ${issue.keys.join(", ")}.`;
  const message = issue.message.replace(/\.$/, "");
  // Schemas in this API word their messages with the field name first; zod's defaults do not.
  return field && !message.startsWith(field) ? `${field}: ${message}.` : `${message}.`;
}

/**
 * Validate input with a zod schema. Body fields that fail are 422 (the JSON was fine, the values
 * were not); bad query, path or header values are 400. The first problem names the field; all are listed
 * in the message.
 */
export function parseInput<S extends z.ZodType>(
  schema: S,
  value: unknown,
  where: "body" | "query" | "path" | "header",
): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues;
  const field = issueField(issues[0]);
  // One sentence per distinct problem: zod can report one value twice (e.g. not an integer, too big).
  const message = [...new Set(issues.map((i) => issueMessage(i, issueField(i))))].join(" ");
  if (where === "body") throw new ApiError(422, "validation_failed", message, field);
  throw new ApiError(400, "invalid_request", message, field);
}

/** The query string as an object; a parameter given twice is ambiguous, so it is a 400. */
export function queryParams(request: Request): Record<string, string> {
  const params = new URL(request.url).searchParams;
  const out: Record<string, string> = {};
  for (const [name, value] of params) {
    if (name in out) {
      throw new ApiError(
        400,
        "invalid_request",
        `${name.slice(0, 50)} is given more than once; give it once.`,
        name.slice(0, 50),
      );
    }
    out[name] = value;
  }
  return out;
}

type RouteArgs = LoaderFunctionArgs | ActionFunctionArgs;
/** What a secured operation receives: the route's arguments and the calling key. */
export type ApiArgs = RouteArgs & { key: AuthenticatedApiKey };
type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** An operation: the scope a key needs, or `public: true` for the few that need no key. */
export type ApiOperation =
  | { scope: ApiScope; public?: never; run(args: ApiArgs): Promise<Response> }
  | { public: true; scope?: never; run(args: RouteArgs): Promise<Response> };

/** Add the key's rate-limit state to whatever the operation answered. */
function withRateHeaders(response: Response, decision: RateDecision | undefined): Response {
  if (!decision) return response;
  const headers = rateLimitHeaders(decision);
  try {
    for (const [k, v] of Object.entries(headers)) response.headers.set(k, v);
    return response;
  } catch {
    // Immutable headers (a Response from elsewhere): copy it.
    const copy = new Response(response.body, response);
    for (const [k, v] of Object.entries(headers)) copy.headers.set(k, v);
    return copy;
  }
}

/**
 * One function for a route's loader and action. In order: the method (405 with `Allow`), a
 * declared body over the limit (413, before the key is even looked up), the key (401/403), its
 * rate limit (429), its scope for this operation (403) — then the operation. Thrown errors become
 * the JSON error shape; every answer to a known key carries its RateLimit-* headers.
 * `path` is the documented path (e.g. "/users/{id}"), named in scope errors.
 */
export function apiHandler(path: string, operations: Partial<Record<Method, ApiOperation>>) {
  const allowed = Object.keys(operations) as Method[];
  const allowHeader = [...allowed, ...(allowed.includes("GET") ? ["HEAD"] : [])].join(", ");
  return async (args: RouteArgs): Promise<Response> => {
    const method = (
      args.request.method === "HEAD" ? "GET" : args.request.method.toUpperCase()
    ) as Method;
    const operation = operations[method];
    if (!operation) {
      return errorResponse(
        new ApiError(
          405,
          "method_not_allowed",
          `${args.request.method} is not allowed here; use ${allowHeader}.`,
        ),
        { Allow: allowHeader },
      );
    }
    let decision: RateDecision | undefined;
    try {
      checkDeclaredLength(args.request);
      if (operation.public) return await operation.run(args);
      const key = await admitApiKey(
        args.request.headers.get("authorization"),
        operation.scope,
        `${method} /api/v1${path}`,
        (d) => (decision = d),
      );
      return withRateHeaders(await operation.run({ ...args, key }), decision);
    } catch (error) {
      return withRateHeaders(renderError(error, args.request), decision);
    }
  };
}

/**
 * The key (401/403), its rate limit (429), then its scope for the call named by `what` (403).
 * `onDecision` gets the rate-limit state as soon as the key is known, so that even a refusal
 * carries the RateLimit-* headers.
 */
export async function admitApiKey(
  authorization: string | null | undefined,
  scope: ApiScope,
  what: string,
  onDecision: (decision: RateDecision) => void,
): Promise<AuthenticatedApiKey> {
  const key = await authenticateApiKey(authorization ?? null);
  // In memory, per process: no database write on the request path (rate-limit.server.ts).
  const decision = apiKeyBuckets.take(key.id, key.rateLimit);
  onDecision(decision);
  if (!decision.allowed) {
    throw new ApiError(
      429,
      "rate_limited",
      `Too many requests with the API key ${key.prefix}…: it may make ${key.rateLimit.perSecond} ` +
        `per second, ${key.rateLimit.burst} at once; retry after ${decision.retryAfterSeconds} s.`,
    );
  }
  requireScope(key, scope, what);
  return key;
}

export function renderError(error: unknown, request: Request): Response {
  if (error instanceof Response) return error;
  const parts = errorPartsFor(error, request.method, new URL(request.url).pathname);
  return apiJson(parts.body, parts.status, parts.headers);
}

/** Any thrown value as an answer: a DomainError as itself, anything else logged and a 500. */
export function errorPartsFor(error: unknown, method: string, path: string): ErrorParts {
  if (error instanceof DomainError) return errorParts(error);
  logger.error(
    {
      err: scrubSecrets(error instanceof Error ? (error.stack ?? error.message) : String(error)),
      method,
      path,
    },
    "credits API request failed",
  );
  return errorParts({
    status: 500,
    code: "internal_error",
    message: "Something went wrong on our side; it has been logged.",
  });
}

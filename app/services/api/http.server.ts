import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import type { z } from "zod";
import { DomainError } from "../errors.server";
import { logger, scrubSecrets } from "../logger.server";

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

export function errorResponse(
  error: Pick<DomainError, "status" | "code" | "message" | "field">,
  headers?: Record<string, string>,
): Response {
  const body: ApiErrorBody = { error: { code: error.code, message: scrubSecrets(error.message) } };
  if (error.field) body.error.field = error.field;
  const extra: Record<string, string> = { ...headers };
  if (error.status === 401) extra["WWW-Authenticate"] = 'Bearer realm="creditdesk"';
  return apiJson(body, error.status, extra);
}

/** Read the body as JSON, refusing more than MAX_BODY_BYTES without buffering it all. */
export async function readJsonBody(request: Request): Promise<unknown> {
  const declared = Number(request.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) throw tooLarge();
  if (!request.body)
    throw new ApiError(
      400,
      "invalid_json",
      "The request body is empty; send a JSON object.",
      "body",
    );
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
  const text = Buffer.concat(chunks).toString("utf8");
  if (!text.trim())
    throw new ApiError(
      400,
      "invalid_json",
      "The request body is empty; send a JSON object.",
      "body",
    );
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ApiError(400, "invalid_json", "The request body is not valid JSON.", "body");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ApiError(400, "invalid_json", "The request body must be a JSON object.", "body");
  }
  return value;
}

function tooLarge() {
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
  const message = issues.map((i) => issueMessage(i, issueField(i))).join(" ");
  if (where === "body") throw new ApiError(422, "validation_failed", message, field);
  throw new ApiError(400, "invalid_request", message, field);
}

type Handler = (args: LoaderFunctionArgs | ActionFunctionArgs) => Promise<Response>;
type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/**
 * One function for a route's loader and action: dispatches on method (HEAD is GET), answers 405
 * with `Allow` for others, and turns thrown errors into the JSON error shape.
 */
export function apiHandler(handlers: Partial<Record<Method, Handler>>) {
  const allowed = Object.keys(handlers) as Method[];
  const allowHeader = [...allowed, ...(allowed.includes("GET") ? ["HEAD"] : [])].join(", ");
  return async (args: LoaderFunctionArgs | ActionFunctionArgs): Promise<Response> => {
    const method = (
      args.request.method === "HEAD" ? "GET" : args.request.method.toUpperCase()
    ) as Method;
    const handler = handlers[method];
    if (!handler) {
      return errorResponse(
        new ApiError(
          405,
          "method_not_allowed",
          `${args.request.method} is not allowed here; use ${allowHeader}.`,
        ),
        { Allow: allowHeader },
      );
    }
    try {
      return await handler(args);
    } catch (error) {
      return renderError(error, args.request);
    }
  };
}

export function renderError(error: unknown, request: Request): Response {
  if (error instanceof Response) return error;
  if (error instanceof DomainError) return errorResponse(error);
  const url = new URL(request.url);
  logger.error(
    {
      err: scrubSecrets(error instanceof Error ? (error.stack ?? error.message) : String(error)),
      method: request.method,
      path: url.pathname,
    },
    "credits API request failed",
  );
  return errorResponse({
    status: 500,
    code: "internal_error",
    message: "Something went wrong on our side; it has been logged.",
  });
}

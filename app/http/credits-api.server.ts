import type { Express, Request, Response } from "express";
import type { AnyOperation } from "~/services/api/contract.server";
import {
  admitApiKey,
  ApiError,
  checkContentLength,
  checkJsonContentType,
  errorPartsFor,
  MAX_BODY_BYTES,
  parseInput,
  parseJsonBody,
} from "~/services/api/http.server";
import { apiOperations } from "~/services/api/operations.server";
import { rateLimitHeaders, type RateDecision } from "~/services/api/rate-limit.server";
import { answerAndClose, readBodyWithLimit } from "./body-limit.server";
import { jsonSecurityHeaders } from "./security-headers.server";

/**
 * `POST /api/v1/users/{id}/debits`, the Credits API call that grows with the main app's traffic,
 * served by Express ahead of compression, the static files, helmet and the Remix handler
 * (docs/decisions/002-express-level-endpoints.md): no fetch Request, no route matching, no
 * response stream. It runs the operation declared in app/services/api/operations.server.ts with
 * the same checks, in the same order, with the same answers as the Remix routes do
 * (app/services/api/http.server.ts `apiHandler`, contract.server.ts `toApiOperation`): body size,
 * key, rate limit, scope, path, body. A URL in any other form (a "." segment, an undecodable id,
 * another case) and the other methods (405) are left to the Remix route
 * app/routes/api.v1.users.$id.debits.ts.
 */

const DEBIT = apiOperations.find((op) => op.operationId === "debitCredits")!;

const DEBITS_URL = /^\/api\/v1\/users\/([^/?#]+)\/debits\/?(?:\?|$)/;

const JSON_HEADERS = {
  "Content-Type": "application/json; charset=utf-8",
  "Cache-Control": "no-store",
} as const;

/** The user id of a debit URL in its usual form, decoded as Remix decodes it; null for the rest. */
export function debitUserId(method: string, url: string): string | null {
  if (method !== "POST") return null;
  const match = DEBITS_URL.exec(url);
  if (!match) return null;
  let id: string;
  try {
    // Remix keeps an encoded "/" inside a segment encoded.
    id = decodeURIComponent(match[1]).replace(/\//g, "%2F");
  } catch {
    return null;
  }
  // The URL parser would resolve these segments, so the path would not be this one.
  return id === "." || id === ".." ? null : id;
}

/**
 * Mounted ahead of every other middleware: the endpoint sets the security headers itself, computed
 * once (`jsonSecurityHeaders`), instead of helmet building them for each request.
 */
export function mountCreditsApi(app: Express, opts: { production: boolean }): void {
  const headers = { ...jsonSecurityHeaders(opts), ...JSON_HEADERS };
  app.use((req, res, next) => {
    const id = debitUserId(req.method, req.url);
    if (id === null) {
      next();
      return;
    }
    void postDebit(req, res, id, headers);
  });
}

/** The client went away before its body arrived: there is no one to answer. */
class Aborted extends Error {}

async function readJson(req: Request): Promise<unknown> {
  checkJsonContentType(req.headers["content-type"]);
  const read = await readBodyWithLimit(req, MAX_BODY_BYTES);
  if (!read.ok) {
    if (read.reason === "aborted") throw new Aborted();
    throw new ApiError(
      413,
      "body_too_large",
      `The request body is larger than ${MAX_BODY_BYTES / 1024} KB.`,
      "body",
    );
  }
  return parseJsonBody(read.body);
}

async function postDebit(
  req: Request,
  res: Response,
  id: string,
  base: Record<string, string>,
): Promise<void> {
  let decision: RateDecision | undefined;
  try {
    checkContentLength(req.headers["content-length"]);
    const key = await admitApiKey(
      req.headers.authorization,
      DEBIT.scope!,
      `${DEBIT.method} /api/v1${DEBIT.path}`,
      (d) => (decision = d),
    );
    const params = parseInput(DEBIT.params!.schema!, { id }, "path");
    const body = parseInput(DEBIT.body!.schema!, await readJson(req), "body");
    const input = {
      params,
      query: undefined,
      headers: undefined,
      body,
      key,
      ip: req.ip ?? req.socket.remoteAddress ?? "unknown",
      get request(): never {
        throw new Error(
          `${DEBIT.operationId} is served at the Express level (app/http/credits-api.server.ts), without a fetch Request`,
        );
      },
    } as Parameters<AnyOperation["run"]>[0];
    const reply = (await DEBIT.run(input)) as { status: number; body: unknown };
    send(req, res, reply.status, base, JSON.stringify(reply.body), decision);
  } catch (error) {
    if (error instanceof Aborted) return;
    const parts = errorPartsFor(error, "POST", req.path);
    send(
      req,
      res,
      parts.status,
      { ...base, ...parts.headers },
      JSON.stringify(parts.body),
      decision,
    );
  }
}

function send(
  req: Request,
  res: Response,
  status: number,
  headers: Record<string, string>,
  body: string,
  decision: RateDecision | undefined,
): void {
  const all = decision ? { ...headers, ...rateLimitHeaders(decision) } : headers;
  // The rest of an oversized body is not read: the connection cannot carry another request.
  // (Any other answer given before the body was read leaves it to Node, which reads and drops it.)
  if (status === 413) {
    answerAndClose(req, res, status, all, body);
    return;
  }
  res.writeHead(status, { ...all, "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

import type { IncomingMessage } from "node:http";
import type { Request, RequestHandler, Response } from "express";
import { declaredLength, KIB, MIB, readBodyWithLimit, refuseTooLarge } from "./body-limit.server";

/**
 * Checks every dashboard request passes before Remix (and so before the session check and any
 * parsing) sees it. The Credits API (/api/) and the webhook endpoint (/webhooks/) have their own
 * rules and are not touched here.
 *
 * - No NUL character in the address, the query string or a form field: Postgres cannot store
 *   one in text, so it would surface as a 500 from whichever query met it first → 400.
 * - Forms (POST and the other body methods) must come from this site: the same comparison of
 *   Origin with Host (or X-Forwarded-Host) that Remix makes before an action, answered 403 here
 *   instead of the 500 Remix's thrown error turns into.
 * - Forms must be `application/x-www-form-urlencoded` (what every dashboard form sends) → 415.
 * - Form bodies have a size limit, per route below, counted as the bytes arrive → 413.
 *
 * The accepted body is kept (`res.locals.formBody`) and handed to Remix by remix-handler.server.ts.
 */

/** The size limit of a dashboard form body, for routes that need other than the default. */
export const FORM_BODY_LIMITS: Record<string, number> = {
  // Reachable without a session: an email and a password.
  "/login": 16 * KIB,
  "/logout": 16 * KIB,
  // Three passwords.
  "/account/password": 16 * KIB,
};
/** Every other dashboard form: the largest is a reason text or a list of ids, far below this. */
export const DEFAULT_FORM_BODY_LIMIT = MIB;

const FORM_TYPE = "application/x-www-form-urlencoded";
const BODYLESS = new Set(["GET", "HEAD", "OPTIONS"]);

export function isDashboardPath(path: string): boolean {
  // The demo receiver takes signed JSON from the outbound worker, as /webhooks takes Stripe's.
  return !/^\/(api|webhooks)(\/|$)/.test(path) && !/^\/_demo\/receiver\/events\/?$/.test(path);
}

/** The page a request is for: single-fetch data requests add `.data` (`/_root.data` for `/`). */
function routePath(path: string): string {
  if (path === "/_root.data") return "/";
  return path.endsWith(".data") ? path.slice(0, -".data".length) : path;
}

export function formBodyLimit(path: string): number {
  return FORM_BODY_LIMITS[routePath(path).replace(/\/+$/, "") || "/"] ?? DEFAULT_FORM_BODY_LIMIT;
}

export interface FormBodyLocals {
  formBody?: Buffer;
}

function refuse(res: Response, status: number, message: string) {
  res
    .status(status)
    .set({ "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store" })
    .send(`${message}\n`);
}

/** Quote a field name for a message: printable, short. */
function quoted(name: string): string {
  const printable = name.replace(/\p{Cc}/gu, "?");
  return `“${printable.length > 60 ? `${printable.slice(0, 60)}…` : printable}”`;
}

function nulInParams(params: URLSearchParams): string | null {
  for (const [key, value] of params) {
    if (key.includes("\0") || value.includes("\0")) return key;
  }
  return null;
}

/**
 * Remix's check before an action: an Origin header, unless its host is empty, must name the
 * host the request was sent to (the first X-Forwarded-Host, else Host). Null when it passes.
 */
export function crossOriginReason(req: IncomingMessage): string | null {
  const origin = req.headers.origin;
  if (origin === undefined) return null;
  let originHost: string;
  if (origin === "null") originHost = "null";
  else {
    try {
      originHost = new URL(origin).host;
    } catch {
      return `its Origin header (${quoted(origin)}) is not a valid origin`;
    }
  }
  if (!originHost) return null;
  const forwarded = String(req.headers["x-forwarded-host"] ?? "")
    .split(",")[0]
    .trim();
  const host = forwarded || req.headers.host;
  if (originHost === host) return null;
  return `it was sent from ${origin === "null" ? "an opaque origin (Origin: null)" : origin}, not from ${host ?? "this site"}`;
}

export function dashboardGuards(): RequestHandler {
  return (req: Request, res: Response, next) => {
    if (!isDashboardPath(req.path)) return next();

    if (/%00/i.test(req.path)) {
      return refuse(
        res,
        400,
        "Bad request: the address contains a NUL character (%00). No creditdesk page has one.",
      );
    }
    const query = req.originalUrl.indexOf("?");
    if (query >= 0) {
      const key = nulInParams(new URLSearchParams(req.originalUrl.slice(query + 1)));
      if (key !== null) {
        return refuse(
          res,
          400,
          `Bad request: the query parameter ${quoted(key)} contains a NUL character (%00), which no field accepts.`,
        );
      }
    }
    if (BODYLESS.has(req.method)) return next();

    const crossOrigin = crossOriginReason(req);
    if (crossOrigin) {
      return refuse(
        res,
        403,
        `Forbidden: this form post is refused because ${crossOrigin}. Dashboard forms are only accepted from the dashboard's own pages.`,
      );
    }
    const type = (req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
    if (type !== FORM_TYPE) {
      return refuse(
        res,
        415,
        `Unsupported media type: dashboard forms are sent as ${FORM_TYPE}; this request was sent ${type ? `as ${type}` : "without a Content-Type"}.`,
      );
    }
    const limit = formBodyLimit(req.path);
    const declared = declaredLength(req);
    if (declared !== null && declared > limit) return refuseTooLarge(req, res, limit);

    void readBodyWithLimit(req, limit).then((read) => {
      if (!read.ok) {
        if (read.reason === "too_large") refuseTooLarge(req, res, limit);
        // An aborted upload has nobody left to answer.
        return;
      }
      const key = nulInParams(new URLSearchParams(read.body.toString("utf8")));
      if (key !== null) {
        return refuse(
          res,
          400,
          `Bad request: the form field ${quoted(key)} contains a NUL character, which no field accepts.`,
        );
      }
      (res.locals as FormBodyLocals).formBody = read.body;
      next();
    });
  };
}

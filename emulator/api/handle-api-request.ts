import type { IncomingMessage, ServerResponse } from "node:http";
import type { EmulatorCore } from "../core";
import type { Mode } from "../ids";
import { API_VERSION } from "../objects/events";
import { authenticate } from "./auth";
import { billingRoutes } from "./billing-routes";
import { catalogRoutes } from "./catalog-routes";
import { checkoutRoutes } from "./checkout-routes";
import { eventRoutes } from "./event-routes";
import { decodeForm, type ParamObject } from "./form-params";
import { paymentRoutes } from "./payment-routes";
import { matchRoute, unrecognizedUrl, type Route } from "./router";
import { StripeApiError } from "./stripe-error";

const routes: readonly Route[] = [
  ...catalogRoutes,
  ...checkoutRoutes,
  ...paymentRoutes,
  ...billingRoutes,
  ...eventRoutes,
];

const IDEMPOTENCY_WINDOW_SECONDS = 24 * 3600;
/** Stripe refuses longer `Idempotency-Key`s. */
export const IDEMPOTENCY_KEY_MAX_LENGTH = 255;
/** Stripe's first API version; nothing older exists. */
const FIRST_API_VERSION = "2011-01-01";

/**
 * Stripe answers 400 to a `Stripe-Version` that is not a version (malformed, before the first
 * version, or newer than any it has). An older valid version is served here with the pinned
 * version's shapes — the emulator knows no other — and logged once per version.
 */
function checkApiVersion(core: EmulatorCore, requested: string | undefined): void {
  if (requested === undefined || requested === API_VERSION) return;
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:\.([a-z]+))?$/.exec(requested);
  const date = m ? `${m[1]}-${m[2]}-${m[3]}` : "";
  const parsed = m ? Date.parse(`${date}T00:00:00Z`) : NaN;
  const calendar = !Number.isNaN(parsed) && new Date(parsed).toISOString().startsWith(date);
  const pinnedDate = API_VERSION.slice(0, 10);
  if (!m || !calendar || date < FIRST_API_VERSION || date >= pinnedDate) {
    throw new StripeApiError(400, {
      type: "invalid_request_error",
      message: `Invalid Stripe API version: ${requested}. The emulator serves ${API_VERSION}; versions look like YYYY-MM-DD or YYYY-MM-DD.name.`,
    });
  }
  core.warnOnce(
    `api-version:${requested}`,
    `[stripe-emulator] a request asked for Stripe-Version ${requested}: only ${API_VERSION} shapes are served, so responses keep that version's fields.`,
  );
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (value && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    return `{${Object.keys(obj)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(obj[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

function injectedFault(core: EmulatorCore): StripeApiError | null {
  const { api429Rate, api500Rate, api429Retryable } = core.faults;
  if (api429Rate === 0 && api500Rate === 0) return null;
  const roll = core.apiFaultStream.next();
  if (roll < api429Rate) {
    // Stripe's 429s are `invalid_request_error`s told apart by their code; the SDK makes any 429
    // a StripeRateLimitError.
    return new StripeApiError(
      429,
      {
        type: "invalid_request_error",
        code: api429Retryable ? "lock_timeout" : "rate_limit",
        message: api429Retryable
          ? "This object cannot be accessed right now because another API request or Stripe process is currently accessing it."
          : "Request rate limit exceeded. You can learn more about rate limits here https://stripe.com/docs/rate-limits.",
      },
      api429Retryable ? { "Stripe-Should-Retry": "true" } : {},
    );
  }
  if (roll < api429Rate + api500Rate) {
    return new StripeApiError(500, {
      type: "api_error",
      message:
        "An unknown error occurred while processing your request (injected by the emulator).",
    });
  }
  return null;
}

/**
 * One `/v1` request: authentication, injected faults and latency, idempotency replay, the
 * route's handler, Stripe's response headers, and the request log.
 */
export async function handleApiRequest(
  core: EmulatorCore,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  body: string,
  logRequests: boolean,
): Promise<void> {
  const started = performance.now();
  const method = req.method ?? "GET";
  const requestId = core.requestIds.requestId();
  const idempotencyKey = method === "POST" ? (header(req, "idempotency-key") ?? null) : null;
  const headers: Record<string, string> = {
    "Content-Type": "application/json",
    "Request-Id": requestId,
    "Stripe-Version": header(req, "stripe-version") ?? API_VERSION,
    "Cache-Control": "no-cache, no-store",
  };
  if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
  let status = 200;
  let payload: string;
  let mode: Mode | null = null;
  let replayed = false;
  let fault: "rate_limit" | "api_error" | null = null;
  let params: ParamObject = {};
  try {
    mode = authenticate(header(req, "authorization"));
    const ledger = core.ledger(mode);
    checkApiVersion(core, header(req, "stripe-version"));
    if (idempotencyKey !== null && idempotencyKey.length > IDEMPOTENCY_KEY_MAX_LENGTH) {
      throw new StripeApiError(400, {
        type: "invalid_request_error",
        message: `Invalid Idempotency-Key: it is ${idempotencyKey.length} characters long; the maximum is ${IDEMPOTENCY_KEY_MAX_LENGTH}.`,
      });
    }
    if (core.faults.apiLatencyMs > 0)
      await new Promise((r) => setTimeout(r, core.faults.apiLatencyMs));
    const injected = injectedFault(core);
    if (injected) {
      fault = injected.status === 429 ? "rate_limit" : "api_error";
      throw injected;
    }
    params = decodeForm(method === "POST" ? body : url.search.slice(1));
    const match = matchRoute(routes, method, url.pathname);
    if (!match) throw unrecognizedUrl(method, url.pathname);
    core.sweep();
    const fingerprint = `${method} ${url.pathname} ${stableJson(params)}`;
    const saved = idempotencyKey ? ledger.idempotency.get(idempotencyKey) : undefined;
    if (saved && saved.createdAt > core.now() - IDEMPOTENCY_WINDOW_SECONDS) {
      if (saved.fingerprint !== fingerprint) {
        throw new StripeApiError(400, {
          type: "idempotency_error",
          message: saved.fingerprint.startsWith(`${method} ${url.pathname} `)
            ? `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idempotencyKey}' if you meant to execute a different request.`
            : `Keys for idempotent requests can only be used for the same endpoint they were first used for ('${saved.fingerprint.split(" ").slice(0, 2).join(" ")}' vs '${method} ${url.pathname}'). Try using a key other than '${idempotencyKey}' if you meant to execute a different request.`,
        });
      }
      status = saved.status;
      payload = saved.body;
      replayed = true;
      headers["Idempotent-Replayed"] = "true";
    } else {
      const request = { id: requestId, idempotency_key: idempotencyKey };
      try {
        payload = JSON.stringify(
          match.route.handler({ core, ledger, raw: params, path: match.path, request }),
        );
      } catch (err) {
        // Card declines are outcomes, and Stripe replays them like successes.
        if (idempotencyKey && err instanceof StripeApiError && err.status === 402) {
          ledger.idempotency.set(idempotencyKey, {
            fingerprint,
            status: 402,
            body: JSON.stringify(err.toJSON()),
            createdAt: core.now(),
          });
        }
        throw err;
      }
      if (idempotencyKey) {
        ledger.idempotency.set(idempotencyKey, {
          fingerprint,
          status: 200,
          body: payload,
          createdAt: core.now(),
        });
      }
    }
  } catch (err) {
    if (err instanceof StripeApiError) {
      status = err.status;
      payload = JSON.stringify(err.toJSON());
      Object.assign(headers, err.headers);
    } else {
      status = 500;
      payload = JSON.stringify({
        error: { type: "api_error", message: "An unknown error occurred in the emulator." },
      });
      console.error("[stripe-emulator]", err);
    }
  }
  res.writeHead(status, headers);
  res.end(payload);
  core.observe({ kind: "api", method, path: url.pathname, status, body: payload });
  const durationMs = Math.round((performance.now() - started) * 10) / 10;
  core.logRequest({
    id: requestId,
    method,
    path: url.pathname,
    status,
    livemode: mode === null ? null : mode === "live",
    idempotencyKey,
    replayed,
    fault,
    at: core.now(),
    durationMs,
    params,
  });
  if (logRequests)
    console.log(`${method} ${url.pathname}${url.search} ${status} ${durationMs}ms ${requestId}`);
}

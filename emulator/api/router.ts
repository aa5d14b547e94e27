import type { EmulatorCore } from "../core";
import { listOf, type StripeObject } from "../objects/common";
import type { EventRequest } from "../objects/events";
import type { Collection, PageQuery } from "../state/collection";
import type { Ledger } from "../state/ledger";
import { expandPaths } from "./expand";
import type { ParamObject } from "./form-params";
import { invalidRequest, StripeApiError } from "./stripe-error";
import { Params } from "./params";

export interface ApiContext {
  core: EmulatorCore;
  ledger: Ledger;
  raw: ParamObject;
  /** Values captured by `:name` segments of the route, in order. */
  path: string[];
  request: EventRequest;
}

export type ApiHandler = (ctx: ApiContext) => unknown;

export interface Route {
  method: "GET" | "POST" | "DELETE";
  pattern: RegExp;
  handler: ApiHandler;
}

export function route(method: Route["method"], template: string, handler: ApiHandler): Route {
  const source = template.replace(/:[a-z_]+/g, "([^/]+)");
  return { method, pattern: new RegExp(`^${source}$`), handler };
}

export function matchRoute(
  routes: readonly Route[],
  method: string,
  pathname: string,
): { route: Route; path: string[] } | undefined {
  for (const r of routes) {
    if (r.method !== method) continue;
    const m = r.pattern.exec(pathname);
    if (m) return { route: r, path: m.slice(1).map(decodeURIComponent) };
  }
  return undefined;
}

export function unrecognizedUrl(method: string, pathname: string): StripeApiError {
  return new StripeApiError(404, {
    type: "invalid_request_error",
    message: `Unrecognized request URL (${method}: ${pathname}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
  });
}

type Table =
  | "products"
  | "prices"
  | "customers"
  | "sessions"
  | "paymentIntents"
  | "charges"
  | "refunds"
  | "disputes"
  | "subscriptions"
  | "invoices"
  | "webhookEndpoints";

/** `GET /v1/<resources>/:id` for any table (only `expand`, plus `allowed`, as parameters). */
export function retrieveFrom(table: Table, allowed: readonly string[] = []): ApiHandler {
  return (ctx) => {
    const p = Params.check(ctx.raw, allowed);
    const obj: StripeObject = ctx.ledger[table].require(ctx.path[0]);
    return serve(ctx, obj, p);
  };
}

/** A single object as the API returns it: derived fields filled in, `expand[]` applied. */
export function serve(ctx: ApiContext, obj: StripeObject, p: Params): Record<string, unknown> {
  return expandPaths(ctx.core, ctx.ledger, ctx.core.present(ctx.ledger, obj), p.expand());
}

/** A list page with Stripe's pagination parameters (limit 1–100, default 10, one cursor). */
export function serveList<T extends StripeObject>(
  ctx: ApiContext,
  p: Params,
  table: Collection<T>,
  url: string,
  query: Omit<PageQuery<T>, "limit" | "startingAfter" | "endingBefore"> = {},
): Record<string, unknown> {
  const limit = p.integer("limit", { min: 1, max: 100 }) ?? 10;
  const startingAfter = p.string("starting_after");
  const endingBefore = p.string("ending_before");
  if (startingAfter && endingBefore) {
    throw invalidRequest(
      "You may only specify one of these parameters: ending_before, starting_after.",
      "ending_before",
    );
  }
  const page = table.page({ ...query, limit, startingAfter, endingBefore });
  const data = page.data.map((obj) => ctx.core.present(ctx.ledger, obj));
  return expandPaths(ctx.core, ctx.ledger, { ...listOf(data, url, page.hasMore) }, p.expand());
}

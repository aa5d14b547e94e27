import { randomBytes } from "node:crypto";
import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { getDb } from "../../app/services/infra/db.server";
import { pageRequest } from "./staff";

/**
 * Helpers for the dashboard's route tests: call a route module's loader or action directly, as
 * Remix would, and normalise what comes back (plain object, `data()` with a status, a Response,
 * or a thrown Response for redirects and 403s) into one shape.
 */

export interface RouteResult<T = unknown> {
  status: number;
  location: string | null;
  data: T | null;
  response: Response | null;
  headers: Headers;
}

function isDataWithInit(
  value: unknown,
): value is { type: "DataWithResponseInit"; data: unknown; init: ResponseInit | null } {
  return Boolean(
    value &&
    typeof value === "object" &&
    (value as { type?: string }).type === "DataWithResponseInit",
  );
}

export async function settle<T = unknown>(
  work: Promise<unknown> | unknown,
): Promise<RouteResult<T>> {
  try {
    const value = await work;
    if (value instanceof Response) {
      return {
        status: value.status,
        location: value.headers.get("Location"),
        data: null,
        response: value,
        headers: value.headers,
      };
    }
    if (isDataWithInit(value)) {
      const headers = new Headers(value.init?.headers);
      return {
        status: value.init?.status ?? 200,
        location: null,
        data: value.data as T,
        response: null,
        headers,
      };
    }
    return {
      status: 200,
      location: null,
      data: value as T,
      response: null,
      headers: new Headers(),
    };
  } catch (thrown) {
    if (thrown instanceof Response) {
      return {
        status: thrown.status,
        location: thrown.headers.get("Location"),
        data: null,
        response: thrown,
        headers: thrown.headers,
      };
    }
    throw thrown;
  }
}

type Loader = (args: LoaderFunctionArgs) => unknown;
type Action = (args: ActionFunctionArgs) => unknown;

export function callLoader<T = unknown>(
  loader: Loader,
  path: string,
  opts: { cookie?: string; params?: Record<string, string> } = {},
) {
  return settle<T>(
    loader({
      request: pageRequest(path, { cookie: opts.cookie }),
      params: opts.params ?? {},
      context: { ip: "127.0.0.1" },
    }),
  );
}

export function callAction<T = unknown>(
  action: Action,
  path: string,
  form: Record<string, string>,
  opts: { cookie?: string; params?: Record<string, string> } = {},
) {
  return settle<T>(
    action({
      request: pageRequest(path, { cookie: opts.cookie, form }),
      params: opts.params ?? {},
      context: { ip: "127.0.0.1" },
    }),
  );
}

export const rid = (prefix: string) => `${prefix}_${randomBytes(5).toString("hex")}`;

export async function makeUser(
  opts: {
    id?: string;
    email?: string;
    name?: string | null;
    stripeCustomerId?: string | null;
    createdAt?: Date;
    tierCode?: string;
  } = {},
) {
  const id = opts.id ?? rid("usr");
  const email = opts.email ?? `${id}@example.com`;
  return getDb().user.create({
    data: {
      id,
      email,
      emailNormalized: email.toLowerCase(),
      name: opts.name ?? null,
      stripeCustomerId: opts.stripeCustomerId ?? null,
      tierCode: opts.tierCode ?? "free",
      ...(opts.createdAt ? { createdAt: opts.createdAt } : {}),
    },
  });
}

/**
 * Many purchases at once (raw SQL: one statement), spread over `days` days before `end`, with
 * several sharing the same created_at so keyset ties are exercised.
 */
export async function seedPurchases(
  userId: string,
  count: number,
  opts: { prefix?: string; end?: Date; days?: number; currency?: string } = {},
) {
  const prefix = opts.prefix ?? rid("cs_seed");
  const end = opts.end ?? new Date();
  const stepMs = Math.max(1, Math.floor(((opts.days ?? 10) * 86_400_000) / Math.max(count, 1))) * 3;
  await getDb().$executeRaw`
    INSERT INTO purchases (id, checkout_session_id, payment_intent_id, user_id, quantity, credits, amount_total, currency,
      status, credited_via, user_resolved_by, lines, stripe_created_at, paid_at, created_at, updated_at)
    SELECT gen_random_uuid()::text, ${prefix} || '_' || g, 'pi_' || ${prefix} || '_' || g, ${userId}, 1, 100 + (g % 7), 1000 + g,
      ${opts.currency ?? "usd"}, (CASE WHEN g % 10 = 0 THEN 'refunded' ELSE 'paid' END)::"PurchaseStatus",
      (CASE WHEN g % 3 = 0 THEN 'reconciliation' ELSE 'webhook' END)::"CreditedVia", 'client_reference_id'::"UserResolvedBy",
      '[]'::jsonb, t.at, t.at, t.at, now()
    FROM generate_series(1, ${count}::int) g
    CROSS JOIN LATERAL (SELECT ${end}::timestamptz - ((g / 3) * ${stepMs}::bigint) * interval '1 millisecond' AS at) t`;
  return prefix;
}

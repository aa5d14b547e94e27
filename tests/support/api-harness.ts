import path from "node:path";
import { randomUUID } from "node:crypto";
import { flatRoutes } from "@remix-run/dev/dist/config/flat-routes.js";
import { createRequestHandler, type ServerBuild } from "@remix-run/node";
import { createApiKey, type CreateApiKeyInput } from "../../app/services/api-keys.server";
import { postLedgerEntry } from "../../app/services/ledger.server";
import { getDb } from "../../app/services/infra/db.server";

/**
 * The Credits API routes served through Remix's own request handler, without a build or a port:
 * the app/routes files are discovered with Remix's flat-routes convention, so a URL reaches the
 * route module Remix would pick in production (method dispatch, splat 404s and all).
 */
export async function createApiFetch() {
  const appDir = path.resolve("app");
  const manifest = flatRoutes(appDir, ["**/.*", "**/*.test.{ts,tsx}"]);
  const routes: ServerBuild["routes"] = {
    root: { id: "root", path: "", module: {} as ServerBuild["routes"][string]["module"] },
  };
  for (const route of Object.values(manifest)) {
    if (!route.id.startsWith("routes/api.v1")) continue;
    routes[route.id] = {
      id: route.id,
      parentId: route.parentId,
      path: route.path,
      index: route.index,
      caseSensitive: route.caseSensitive,
      module: await import(path.join(appDir, route.file)),
    };
  }
  const build: ServerBuild = {
    mode: "production",
    entry: {
      module: {
        default: () =>
          new Response("document requests are not served by this harness", { status: 500 }),
        // What server.ts mounts from a real build (app/entry.server.tsx re-exports it).
        server: await import("../../app/http/app.server"),
      } as ServerBuild["entry"]["module"],
    },
    routes,
    assets: { entry: { imports: [], module: "" }, routes: {}, url: "", version: "test" },
    publicPath: "/build/",
    assetsBuildDirectory: "public/build",
    future: {
      v3_fetcherPersist: true,
      v3_relativeSplatPath: true,
      v3_throwAbortReason: true,
      v3_lazyRouteDiscovery: true,
      v3_singleFetch: true,
    },
    isSpaMode: false,
  };
  const handler = createRequestHandler(build, "production");
  const fullPath = (id: string): string => {
    const route = routes[id];
    const parent = route.parentId && route.parentId !== "root" ? fullPath(route.parentId) : "";
    return [parent, route.path ?? ""].filter(Boolean).join("/");
  };
  return {
    /** The build itself, for tests that serve it through the real HTTP stack (server.ts). */
    build,
    /** URL patterns of the API routes, e.g. "/api/v1/users/:id/ledger". */
    routePaths: Object.keys(routes)
      .filter((id) => id !== "root")
      .map((id) => `/${fullPath(id)}`),
    async fetch(
      method: string,
      pathAndQuery: string,
      opts: {
        key?: string | null;
        json?: unknown;
        body?: BodyInit;
        headers?: Record<string, string>;
      } = {},
    ): Promise<Response> {
      const headers: Record<string, string> = { ...opts.headers };
      if (opts.key) headers.Authorization = `Bearer ${opts.key}`;
      let body = opts.body;
      if (opts.json !== undefined) {
        body = JSON.stringify(opts.json);
        headers["Content-Type"] = "application/json";
      }
      const request = new Request(`http://localhost${pathAndQuery}`, { method, headers, body });
      return handler(request, { ip: "127.0.0.1" });
    },
  };
}

export type ApiFetch = Awaited<ReturnType<typeof createApiFetch>>;

/**
 * A fresh API key for a test (plain key + id): every scope unless `scopes` says otherwise, and a
 * rate limit far above anything a test sends unless `rateLimit*` says otherwise, so tests that are
 * not about limits never meet one.
 */
export async function makeApiKey(name = "test", opts: Omit<CreateApiKeyInput, "name"> = {}) {
  const { apiKey, key } = await createApiKey(
    {
      name: `${name}-${randomUUID().slice(0, 8)}`,
      rateLimitPerSecond: 100_000,
      rateLimitBurst: 1_000_000,
      ...opts,
    },
    { type: "system", label: "test" },
  );
  return { id: apiKey.id, prefix: apiKey.prefix, key, scopes: apiKey.scopes };
}

let userCounter = 0;
/** A user with an optional starting balance granted through the ledger. */
export async function makeUser(
  opts: { balance?: number; email?: string; stripeCustomerId?: string } = {},
) {
  const id = `u_${randomUUID().slice(0, 8)}_${++userCounter}`;
  const email = opts.email ?? `${id}@example.com`;
  await getDb().user.create({
    data: {
      id,
      email,
      emailNormalized: email.toLowerCase(),
      stripeCustomerId: opts.stripeCustomerId ?? null,
    },
  });
  if (opts.balance) {
    await postLedgerEntry({
      userId: id,
      kind: "grant",
      delta: opts.balance,
      idempotencyKey: `grant:${id}`,
      reason: "test grant",
    });
  }
  return { id, email };
}

/** Tests read response bodies loosely and let the assertions check the shape. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type JsonBody = Record<string, any>;

export async function readJson<T = JsonBody>(response: Response): Promise<T> {
  const text = await response.text();
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`expected JSON, got ${response.status}: ${text.slice(0, 200)}`);
  }
}

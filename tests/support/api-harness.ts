import path from "node:path";
import { randomUUID } from "node:crypto";
import http, { type Server } from "node:http";
import { flatRoutes } from "@remix-run/dev/dist/config/flat-routes.js";
import { createRequestHandler, type ServerBuild } from "@remix-run/node";
import { createApiKey, type CreateApiKeyInput } from "../../app/services/api-keys.server";
import { postLedgerEntry } from "../../app/services/ledger.server";
import { getDb } from "../../app/services/infra/db.server";
import { parseEnv, peekEnv, setEnv } from "../../app/services/infra/env.server";

/**
 * The Credits API as production serves it, without a build: the app/routes files are discovered
 * with Remix's flat-routes convention (so a URL reaches the route module Remix would pick in
 * production: method dispatch, splat 404s and all), and `fetch` sends real HTTP requests to the
 * app of app/http/app.server.ts around them on a loopback port — so the endpoints Express serves
 * itself (the debit call, app/http/credits-api.server.ts) are what the tests reach, as in
 * production. `remixFetch` skips HTTP and Express: the Remix routes alone.
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
  // The app reads its settings once, when it is built; demo mode and the scheduler stay out.
  // Whatever view the caller had set (the proof harness sets the webhook secret there) is put
  // back afterwards: clearing it left the proof's webhook endpoint without a secret (503s).
  const previousEnv = peekEnv();
  setEnv(parseEnv({ ...process.env, NODE_ENV: "test", DEMO_SEED: "false", SCHEDULER: "off" }));
  const { createApp } = await import("../../app/http/app.server");
  const app = createApp(build, { publicDir: path.resolve("public") });
  setEnv(previousEnv);
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  // The test file's worker ends when its tests do; the server must not keep it alive.
  server.unref();
  // As in export-app.ts: PGlite in this process can hold fetch's idle timer past the server's
  // 5 s keep-alive, so fetch would reuse a socket the server just closed (ECONNRESET).
  server.keepAliveTimeout = 10 * 60_000;
  const port = (server.address() as { port: number }).port;
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
    /** The loopback address of the app, for tests that open their own connections. */
    base: `http://127.0.0.1:${port}`,
    /** A request to the app over HTTP, as the main app makes it; the answer as a fetch Response. */
    async fetch(method: string, pathAndQuery: string, opts: FetchOptions = {}): Promise<Response> {
      // Built as a fetch Request first, so headers and body are what fetch would send
      // (a string body without a Content-Type is text/plain, as from the main app's fetch).
      const request = toRequest(method, pathAndQuery, opts);
      const headers: Record<string, string> = {};
      request.headers.forEach((value, name) => (headers[name] = value));
      const bytes = request.body ? Buffer.from(await request.arrayBuffer()) : undefined;
      if (bytes && headers["content-length"] === undefined)
        headers["content-length"] = String(bytes.length);
      return new Promise<Response>((resolve, reject) => {
        const req = http.request(
          { host: "127.0.0.1", port, path: pathAndQuery, method, headers, agent: false },
          (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("error", reject);
            res.on("end", () => {
              const out = new Headers();
              for (const [name, value] of Object.entries(res.headers)) {
                if (Array.isArray(value)) for (const v of value) out.append(name, v);
                else if (value !== undefined) out.set(name, value);
              }
              const status = res.statusCode ?? 0;
              const noBody = method === "HEAD" || status === 204 || status === 304;
              resolve(
                new Response(noBody ? null : Buffer.concat(chunks), {
                  status,
                  statusText: res.statusMessage,
                  headers: out,
                }),
              );
            });
          },
        );
        req.on("error", reject);
        req.end(bytes);
      });
    },
    /** The same request through Remix's handler alone (no HTTP, no Express). */
    async remixFetch(
      method: string,
      pathAndQuery: string,
      opts: FetchOptions = {},
    ): Promise<Response> {
      const request = toRequest(method, pathAndQuery, opts);
      return handler(request, { ip: "127.0.0.1" });
    },
  };
}

interface FetchOptions {
  key?: string | null;
  json?: unknown;
  body?: BodyInit;
  headers?: Record<string, string>;
}

function toRequest(method: string, pathAndQuery: string, opts: FetchOptions): Request {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.key) headers.Authorization = `Bearer ${opts.key}`;
  let body = opts.body;
  if (opts.json !== undefined) {
    body = JSON.stringify(opts.json);
    headers["Content-Type"] = "application/json";
  }
  return new Request(`http://localhost${pathAndQuery}`, { method, headers, body });
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

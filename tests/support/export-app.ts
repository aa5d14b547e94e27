import type { Server } from "node:http";
import type { LoaderFunctionArgs } from "@remix-run/node";
import express from "express";
import { mountExportRoutes } from "../../app/http/exports.server";

/**
 * The CSV exports as server.ts serves them: an Express app with `mountExportRoutes`, on a free
 * loopback port, answering real HTTP requests (status, headers, streamed body).
 */
export interface ExportApp {
  base: string;
  get(path: string, opts?: { cookie?: string; method?: string }): Promise<Response>;
  /** A loader-shaped adapter for the role-matrix table: the request goes over HTTP instead. */
  loader: (args: LoaderFunctionArgs) => Promise<Response>;
  close(): Promise<void>;
}

export async function startExportApp(): Promise<ExportApp> {
  const app = express();
  app.set("trust proxy", "loopback");
  mountExportRoutes(app);
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  // PGlite runs in this process, so a long synchronous stretch of it can delay fetch's own idle
  // timer past the server's 5 s keep-alive: fetch then reuses a socket the server just closed
  // (ECONNRESET). The server keeps idle sockets for the whole test file instead.
  server.keepAliveTimeout = 10 * 60_000;
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const get = (path: string, opts: { cookie?: string; method?: string } = {}) =>
    fetch(`${base}${path}`, {
      method: opts.method ?? "GET",
      headers: opts.cookie ? { Cookie: opts.cookie } : {},
      redirect: "manual",
    });
  return {
    base,
    get,
    loader: ({ request }) => {
      const url = new URL(request.url);
      return get(url.pathname + url.search, { cookie: request.headers.get("Cookie") ?? undefined });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

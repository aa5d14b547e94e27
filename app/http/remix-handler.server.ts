import type { AppLoadContext, ServerBuild } from "@remix-run/node";
import {
  createReadableStreamFromReadable,
  createRequestHandler,
  writeReadableStreamToWritable,
} from "@remix-run/node";
import type {
  Request as ExpressRequest,
  RequestHandler,
  Response as ExpressResponse,
} from "express";
import { isDashboardPath, type FormBodyLocals } from "./dashboard-guards.server";

/**
 * The Remix request handler for Express — @remix-run/express's `createRequestHandler` (whose
 * request and response helpers are copied below; the package does not export their types) with
 * two differences: a dashboard form's body is the one dashboard-guards.server.ts already read within
 * its size limit (not the socket again), and a dashboard response that says nothing about caching
 * gets `Cache-Control: no-store` (its pages show staff-only data; the sign-in page loses nothing).
 */
export function remixRequestHandler(opts: {
  build: ServerBuild;
  mode: "production" | "development";
  getLoadContext: (req: ExpressRequest, res: ExpressResponse) => AppLoadContext;
}): RequestHandler {
  const handle = createRequestHandler(opts.build, opts.mode);
  return async (req, res, next) => {
    try {
      const request = toFetchRequest(req, res);
      const response = await handle(request, opts.getLoadContext(req, res));
      if (isDashboardPath(req.path) && !response.headers.has("Cache-Control"))
        response.headers.set("Cache-Control", "no-store");
      await sendRemixResponse(res, response);
    } catch (error) {
      next(error);
    }
  };
}

/** As @remix-run/express builds the Fetch request (host, port and protocol honour trust proxy). */
function toFetchRequest(req: ExpressRequest, res: ExpressResponse): Request {
  const [, forwardedPort] = req.get("X-Forwarded-Host")?.split(":") ?? [];
  const [, hostPort] = req.get("host")?.split(":") ?? [];
  const port = [Number.parseInt(forwardedPort, 10), Number.parseInt(hostPort, 10)].find((p) =>
    Number.isSafeInteger(p),
  );
  const url = new URL(
    `${req.protocol}://${req.hostname}${port ? `:${port}` : ""}${req.originalUrl}`,
  );
  let controller: AbortController | null = new AbortController();
  const init: RequestInit & { duplex?: "half" } = {
    method: req.method,
    headers: toFetchHeaders(req.headers),
    signal: controller.signal,
  };
  if (req.method !== "GET" && req.method !== "HEAD") {
    const formBody = (res.locals as FormBodyLocals).formBody;
    if (formBody) init.body = new Uint8Array(formBody);
    else {
      init.body = createReadableStreamFromReadable(req);
      init.duplex = "half";
    }
  }
  // Abort loaders and actions when the client is gone before the answer was written.
  res.on("finish", () => (controller = null));
  res.on("close", () => controller?.abort());
  return new Request(url.href, init);
}

function toFetchHeaders(source: ExpressRequest["headers"]): Headers {
  const headers = new Headers();
  for (const [key, values] of Object.entries(source)) {
    if (Array.isArray(values)) for (const value of values) headers.append(key, value);
    else if (values) headers.set(key, values);
  }
  return headers;
}

async function sendRemixResponse(res: ExpressResponse, response: Response): Promise<void> {
  res.statusMessage = response.statusText;
  res.status(response.status);
  for (const [key, value] of response.headers.entries()) res.append(key, value);
  if (response.headers.get("Content-Type")?.match(/text\/event-stream/i)) res.flushHeaders();
  if (response.body) await writeReadableStreamToWritable(response.body, res);
  else res.end();
}

import { PassThrough } from "node:stream";
import type { AppLoadContext, EntryContext, HandleErrorFunction } from "@remix-run/node";
import { createReadableStreamFromReadable } from "@remix-run/node";
import { isRouteErrorResponse, RemixServer } from "@remix-run/react";
import { isbot } from "isbot";
import { renderToPipeableStream } from "react-dom/server";
import { NonceProvider } from "~/components/nonce";
import { logger, scrubSecrets } from "~/services/infra/logger.server";

// server.ts mounts the HTTP app, workers and start-up hooks from the build through this export, so
// the process has one copy of every module (docs/decisions/009-one-app-per-process.md).
export * as server from "~/http/app.server";

/**
 * Remix's default Node entry, plus the Content-Security-Policy nonce: server.ts makes one per
 * response (app/http/security-headers.server.ts) and passes it in the load context; here
 * it goes to React's streamed scripts, Remix's own (`RemixServer`) and app/root.tsx's
 * `<Scripts>`/`<ScrollRestoration>` (through NonceProvider), so every inline script carries it.
 */
const ABORT_DELAY = 5_000;

export default function handleRequest(
  request: Request,
  responseStatusCode: number,
  responseHeaders: Headers,
  remixContext: EntryContext,
  loadContext: AppLoadContext,
) {
  const nonce = loadContext.cspNonce;
  // Crawlers and the SPA build get the whole document at once; browsers get the shell first.
  const waitForAll = isbot(request.headers.get("user-agent") ?? "") || remixContext.isSpaMode;
  return new Promise<Response>((resolve, reject) => {
    let shellRendered = false;
    const { pipe, abort } = renderToPipeableStream(
      <NonceProvider value={nonce}>
        <RemixServer
          context={remixContext}
          url={request.url}
          abortDelay={ABORT_DELAY}
          nonce={nonce}
        />
      </NonceProvider>,
      {
        nonce,
        [waitForAll ? "onAllReady" : "onShellReady"]() {
          shellRendered = true;
          const body = new PassThrough();
          responseHeaders.set("Content-Type", "text/html");
          resolve(
            new Response(createReadableStreamFromReadable(body), {
              headers: responseHeaders,
              status: responseStatusCode,
            }),
          );
          pipe(body);
        },
        onShellError(error: unknown) {
          reject(error);
        },
        onError(error: unknown) {
          responseStatusCode = 500;
          // Errors before the shell reject above and are logged by Remix; these happen while streaming.
          if (shellRendered) console.error(error);
        },
      },
    );
    setTimeout(abort, ABORT_DELAY);
  });
}

/**
 * Remix's default prints every error with its stack, including the 404 of an address that no
 * route matches (a browser asking for /apple-touch-icon.png, a stale /build/ asset): that is an
 * answer, not an error, so it is not logged; nor is a request its client abandoned. Anything else
 * is logged as one record with its stack.
 */
export const handleError: HandleErrorFunction = (error, { request }) => {
  if (request.signal.aborted) return;
  if (isRouteErrorResponse(error) && error.status === 404) return;
  const err = error instanceof Error ? (error.stack ?? error.message) : String(error);
  logger.error(
    { err: scrubSecrets(err), method: request.method, path: new URL(request.url).pathname },
    "request failed",
  );
};

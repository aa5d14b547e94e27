import { createServer, type IncomingMessage, type Server } from "node:http";
import { handleApiRequest } from "../api/handle-api-request";
import type { EmulatorControl } from "../control";
import type { EmulatorCore } from "../core";
import { controlRoutes, handleControlRequest } from "./control-routes";

const MAX_BODY_BYTES = 2 * 1024 * 1024;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error("Request body too large"));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** `/v1/…` is the Stripe API; `/_emulator/…` is the control surface (no key needed). */
export function createEmulatorServer(
  core: EmulatorCore,
  control: EmulatorControl,
  logRequests: boolean,
): Server {
  const routes = controlRoutes(core, control);
  return createServer((req, res) => {
    void (async () => {
      try {
        const url = new URL(req.url ?? "/", "http://emulator.invalid");
        const body = await readBody(req);
        if (url.pathname.startsWith("/v1/")) {
          await handleApiRequest(core, req, res, url, body, logRequests);
        } else if (url.pathname === "/_emulator" || url.pathname.startsWith("/_emulator/")) {
          await handleControlRequest(routes, req, res, url, body);
        } else {
          res.writeHead(404, { "Content-Type": "application/json" });
          res.end(
            JSON.stringify({
              error: {
                type: "invalid_request_error",
                message: `Unrecognized request URL (${req.method ?? "GET"}: ${url.pathname}). The API is under /v1, the emulator's control endpoints under /_emulator.`,
              },
            }),
          );
        }
      } catch (err) {
        if (!res.headersSent) res.writeHead(500, { "Content-Type": "application/json" });
        res.end(
          JSON.stringify({
            error: { type: "api_error", message: err instanceof Error ? err.message : String(err) },
          }),
        );
      }
    })();
  });
}

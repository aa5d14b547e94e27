import http from "node:http";
import https from "node:https";
import { isIP } from "node:net";
import { guardedLookup, isPrivateAddress } from "./ssrf.server";

/**
 * One HTTP POST of a signed event. No redirects are followed (a 3xx is an answer like any other,
 * and a failure), the whole exchange has a hard timeout, and only the first characters of the
 * answer are kept for the delivery log. Keep-alive agents: a busy endpoint gets its deliveries
 * over a few reused connections instead of a handshake each.
 */

export const SEND_TIMEOUT_MS = 10_000;
export const BODY_EXCERPT_CHARS = 1_000;
/** Read at most this much of an answer, then drop the connection. */
const MAX_READ_BYTES = 64 * 1024;

const agentOptions = { keepAlive: true, maxSockets: 32, maxFreeSockets: 8 };
const agents = { "http:": new http.Agent(agentOptions), "https:": new https.Agent(agentOptions) };

export interface SendResult {
  /** HTTP status, or null when no answer came (timeout, refused, DNS, TLS). */
  status: number | null;
  body: string | null;
  error: string | null;
  durationMs: number;
}

export async function postSigned(
  url: string,
  headers: Record<string, string>,
  body: string,
  opts: { blockPrivate: boolean; timeoutMs?: number },
): Promise<SendResult> {
  const started = performance.now();
  const done = (r: Omit<SendResult, "durationMs">): SendResult => ({
    ...r,
    durationMs: Math.round(performance.now() - started),
  });
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return done({ status: null, body: null, error: "invalid URL" });
  }
  const host = target.hostname.replace(/^\[|\]$/g, "");
  if (opts.blockPrivate && isIP(host) && isPrivateAddress(host))
    return done({ status: null, body: null, error: `refused: ${host} is not a public address` });
  const transport = target.protocol === "https:" ? https : http;
  const agent = agents[target.protocol as "http:" | "https:"];
  if (!agent) return done({ status: null, body: null, error: "not an http(s) URL" });
  const timeoutMs = opts.timeoutMs ?? SEND_TIMEOUT_MS;

  return new Promise<SendResult>((resolve) => {
    let settled = false;
    const finish = (r: Omit<SendResult, "durationMs">) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(done(r));
    };
    const req = transport.request(
      target,
      {
        method: "POST",
        agent,
        headers: {
          ...headers,
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          "user-agent": "creditdesk-webhooks/1",
        },
        ...(opts.blockPrivate ? { lookup: guardedLookup as never } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const settle = () =>
          finish({
            status: res.statusCode ?? null,
            body: Buffer.concat(chunks).toString("utf8").slice(0, BODY_EXCERPT_CHARS),
            error: null,
          });
        res.on("data", (chunk: Buffer) => {
          if (size < MAX_READ_BYTES) chunks.push(chunk);
          size += chunk.length;
          if (size >= MAX_READ_BYTES) {
            settle();
            res.destroy();
          }
        });
        res.on("end", settle);
        res.on("error", (e) =>
          finish({ status: res.statusCode ?? null, body: null, error: e.message }),
        );
      },
    );
    const timer = setTimeout(() => {
      finish({ status: null, body: null, error: `timed out after ${timeoutMs / 1000} s` });
      req.destroy();
    }, timeoutMs);
    req.on("error", (e) => finish({ status: null, body: null, error: e.message }));
    req.end(body);
  });
}

/** Close idle keep-alive connections (tests, shutdown). */
export function closeSenderConnections(): void {
  agents["http:"].destroy();
  agents["https:"].destroy();
}

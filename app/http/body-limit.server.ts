import type { IncomingMessage, ServerResponse } from "node:http";

/**
 * Reading a request body with a byte limit, counted as the bytes arrive (a chunked body has no
 * Content-Length to check up front), and the 413 answer for one that is too large.
 */

export const KIB = 1024;
export const MIB = 1024 * KIB;

/** How long, and how much more, a refused body is read and thrown away before the socket closes. */
const LINGER_MS = 2_000;
const LINGER_BYTES = 16 * MIB;

export function declaredLength(req: IncomingMessage): number | null {
  const raw = req.headers["content-length"];
  if (raw === undefined || !/^\d+$/.test(raw)) return null;
  return Number(raw);
}

export type BodyRead = { ok: true; body: Buffer } | { ok: false; reason: "too_large" | "aborted" };

/** Read the whole body, or stop at the first byte past `limit` (the rest is left unread). */
export function readBodyWithLimit(req: IncomingMessage, limit: number): Promise<BodyRead> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (result: BodyRead) => {
      if (settled) return;
      settled = true;
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onAbort);
      req.off("aborted", onAbort);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.pause();
        finish({ ok: false, reason: "too_large" });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => finish({ ok: true, body: Buffer.concat(chunks, size) });
    const onAbort = () => finish({ ok: false, reason: "aborted" });
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onAbort);
    req.on("aborted", onAbort);
  });
}

/**
 * 413, then close the connection. `Connection: close` tells the client not to send another
 * request on this socket: the rest of the refused body is still on its way, and without the
 * header the next request on a keep-alive connection met a reset. After the answer the socket is
 * half-closed and what is still arriving is read and dropped for a moment (bounded in time and
 * bytes), so the client reads the 413 instead of a reset of its unfinished upload.
 */
export function refuseTooLarge(
  req: IncomingMessage,
  res: ServerResponse,
  limit: number,
  what = "This form",
): void {
  const message = `${what} is too large: the limit is ${formatBytes(limit)}.\n`;
  answerAndClose(req, res, 413, { "Content-Type": "text/plain; charset=utf-8" }, message);
}

/**
 * Answer with `Connection: close`, then read and drop what is still arriving for a moment (as
 * refuseTooLarge does): for an answer given before the request's body was read to its end.
 */
export function answerAndClose(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: string,
): void {
  const socket = req.socket;
  res.writeHead(status, {
    "Cache-Control": "no-store",
    ...headers,
    "Content-Length": Buffer.byteLength(body),
    Connection: "close",
  });
  // Node would destroy the socket as soon as the answer is written; end it ourselves instead.
  (socket as { destroySoon?: () => void }).destroySoon = () => socket.end();
  res.end(body);
  let dropped = 0;
  const stop = () => socket.destroy();
  const timer = setTimeout(stop, LINGER_MS);
  timer.unref();
  req.on("data", (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > LINGER_BYTES) stop();
  });
  socket.once("close", () => clearTimeout(timer));
  req.resume();
}

export function formatBytes(bytes: number): string {
  if (bytes >= MIB && bytes % MIB === 0) return `${bytes / MIB} MB`;
  if (bytes >= KIB && bytes % KIB === 0) return `${bytes / KIB} KB`;
  return `${bytes} bytes`;
}

import http from "node:http";
import type { AddressInfo } from "node:net";

/** What a test receiver got: the raw body and the Standard Webhooks headers. */
export interface Received {
  body: string;
  headers: Record<string, string>;
  at: number;
}

/**
 * A local HTTP receiver for outbound events. `answer` decides each response (status, delay,
 * extra headers); by default 200 at once. `never` answers nothing (a hung receiver).
 */
export async function startReceiver(
  answer: (
    n: number,
    r: Received,
  ) => {
    status?: number;
    delayMs?: number;
    headers?: Record<string, string>;
    never?: boolean;
    body?: string;
  } = () => ({}),
) {
  const received: Received[] = [];
  const hung = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const r: Received = {
        body: Buffer.concat(chunks).toString("utf8"),
        headers: Object.fromEntries(
          Object.entries(req.headers).map(([k, v]) => [
            k,
            Array.isArray(v) ? v.join(",") : (v ?? ""),
          ]),
        ),
        at: Date.now(),
      };
      received.push(r);
      const a = answer(received.length, r);
      if (a.never) {
        hung.add(res);
        return;
      }
      const send = () => {
        res.writeHead(a.status ?? 200, { "content-type": "text/plain", ...a.headers });
        res.end(a.body ?? "ok");
      };
      if (a.delayMs) setTimeout(send, a.delayMs);
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    /** Parsed bodies. */
    events: () =>
      received.map(
        (r) =>
          JSON.parse(r.body) as { type: string; timestamp: string; data: Record<string, unknown> },
      ),
    async close() {
      for (const res of hung) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

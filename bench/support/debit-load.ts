import { readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { log, percentile, root } from "./processes";

/**
 * The debit load shared by bench/debits and bench/outbound: CONCURRENCY keep-alive connections
 * posting 1-credit debits, each with its own idempotency key, round-robin over `users`, for
 * `seconds`. `onAccepted` sees every 201 (the checks after the load use it).
 */
export async function driveDebits(options: {
  base: string;
  pathFor: (userId: string) => string;
  key: string;
  users: string[];
  label: string;
  seconds: number;
  concurrency: number;
  onAccepted?: (accepted: { userId: string; payload: string; body: string; n: number }) => void;
}) {
  const { pathFor, key, users, label, concurrency, onAccepted } = options;
  const target = new URL(options.base);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = [];
  let non201 = 0;
  let n = 0;
  const post = (userId: string, payload: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        {
          host: target.hostname,
          port: target.port,
          path: pathFor(userId),
          method: "POST",
          agent,
          headers: {
            Authorization: `Bearer ${key}`,
            "Content-Type": "application/json",
            "Content-Length": Buffer.byteLength(payload),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
          );
        },
      );
      req.on("error", reject);
      req.end(payload);
    });
  const started = performance.now();
  const deadline = started + options.seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const userId = users[n % users.length];
        const payload = JSON.stringify({
          amount: 1,
          idempotencyKey: `${label}-${n++}`,
          description: "bench",
        });
        const t0 = performance.now();
        const { status, body } = await post(userId, payload);
        latencies.push(performance.now() - t0);
        if (status !== 201) non201 += 1;
        else onAccepted?.({ userId, payload, body, n });
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    elapsed,
    requests: latencies.length,
    perSecond: Math.round(latencies.length / elapsed),
    p50: Number(percentile(latencies, 50).toFixed(1)),
    p99: Number(percentile(latencies, 99).toFixed(1)),
    non201,
  };
}

/**
 * Replace (or append) one benchmark's generated section of docs/benchmarks.md, `## <heading>` up
 * to its first hand-written `### ` subsection or the next section; the hand-written notes stay.
 */
export function writeBenchmarkSection(heading: string, section: string): void {
  const file = path.join(root, "docs/benchmarks.md");
  const current = readFileSync(file, "utf8");
  const start = current.indexOf(`## ${heading}\n`);
  if (start < 0) {
    writeFileSync(file, `${current.replace(/\n*$/, "\n\n")}${section}`);
  } else {
    const sub = current.indexOf("\n### ", start);
    const next = current.indexOf("\n## ", start + 3);
    const end = [sub, next].filter((i) => i >= 0).sort((a, b) => a - b)[0];
    writeFileSync(
      file,
      current.slice(0, start) +
        section.replace(/\n*$/, "\n") +
        (end === undefined ? "" : current.slice(end)),
    );
  }
  log(`wrote the "${heading}" section of docs/benchmarks.md`);
}

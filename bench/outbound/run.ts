/**
 * Outbound events (issue 22): what the outbox costs the debit path, and how fast the delivery
 * worker sends. The real app (build/server.js as `npm start` runs it, NODE_ENV=production) on
 * native Postgres with fsync and synchronous_commit on; this process generates the load; a local
 * receiver (bench/outbound/receiver.ts) in its own process answers 204. 127.0.0.1 only.
 *
 *   npx tsx bench/outbound/run.ts [--seconds 10] [--concurrency 16] [--rounds 3] [--no-build] [--write]
 *
 * Per round and shape (debits spread over 500 users; all on one hot user), three measurements:
 * the bare debit baseline (bench/debits/baseline-server.ts), the app with no endpoint subscribed
 * to credits.debited (the trigger runs and writes nothing for a debit), and the app with one
 * enabled endpoint subscribed to everything (the trigger writes an outbox row per debit and the
 * app's worker delivers them at the same time). Reported: debits/s and ratios, CPU per debit,
 * deliveries/s reaching the receiver during the load and the backlog's drain rate after it.
 */
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { createApiKey } from "../../app/services/api-keys.server";
import { openDatabase, setDatabase } from "../../app/services/infra/db.server";
import { postLedgerEntry } from "../../app/services/ledger.server";
import { createEndpoint } from "../../app/services/outbound/endpoints.server";
import { OUTBOUND_EVENT_TYPES } from "../../app/shared/outbound";
import { freePort } from "../../tests/support/native-postgres";
import {
  BenchProcesses,
  cpuMs,
  load1,
  log,
  machine,
  median,
  postgresCpuDelta,
  root,
} from "../support/processes";
import { driveDebits, writeBenchmarkSection } from "../support/debit-load";

const { values } = parseArgs({
  options: {
    seconds: { type: "string" },
    concurrency: { type: "string" },
    rounds: { type: "string" },
    "no-build": { type: "boolean" },
    write: { type: "boolean" },
  },
});
const SECONDS = Number(values.seconds ?? 10);
const CONCURRENCY = Number(values.concurrency ?? 16);
const ROUNDS = Number(values.rounds ?? 3);
const USERS = 500;
const GRANT = 1_000_000;
const QUEUED = 5_000;
if (!(SECONDS > 0 && SECONDS <= 60)) throw new Error("--seconds must be between 1 and 60");
if (!(ROUNDS >= 1 && ROUNDS <= 9)) throw new Error("--rounds must be between 1 and 9");

const procs = new BenchProcesses();
type Target =
  "baseline" | "app, outbox trigger off" | "app, no subscriber" | "app, endpoint subscribed";
type Shape = "spread" | "hot";

interface Queued {
  round: number;
  perSecond: number;
  /** CPU milliseconds per delivery: the app (worker), Postgres, the receiver. */
  appCpu: number;
  postgresCpu: number;
  receiverCpu: number;
  load: number;
}

interface Run {
  target: Target;
  shape: Shape;
  round: number;
  perSecond: number;
  p50: number;
  p99: number;
  non201: number;
  serverCpu: number;
  postgresCpu: number;
  /** Deliveries the receiver got per second while the debits ran (subscribed runs only). */
  deliveriesPerSecond: number | null;
  /** Deliveries per second after the load stopped, until the backlog was empty. */
  drainPerSecond: number | null;
  load: number;
}

function drive(
  base: string,
  pathFor: (u: string) => string,
  key: string,
  users: string[],
  label: string,
) {
  return driveDebits({
    base,
    pathFor,
    key,
    users,
    label,
    seconds: SECONDS,
    concurrency: CONCURRENCY,
  });
}

async function receiverCount(url: string): Promise<number> {
  return ((await (await fetch(`${url}/count`)).json()) as { count: number }).count;
}

async function main() {
  if (!values["no-build"]) {
    log("building the app (npm run build) …");
    execFileSync("npm", ["run", "build"], { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
  }
  for (const file of ["build/index.js", "build/server.js"])
    if (!existsSync(path.join(root, file)))
      throw new Error(`${file} missing: run without --no-build`);

  log("starting a throwaway Postgres cluster (fsync and synchronous_commit on) …");
  const cluster = await procs.startDurableCluster();
  const admin = new pg.Client({ connectionString: cluster.url() });
  await admin.connect();
  await admin.query("CREATE DATABASE creditdesk_bench");
  await admin.query("CREATE DATABASE baseline_bench");
  const settings = (
    await admin.query(
      "SELECT current_setting('server_version') AS v, current_setting('fsync') AS f, current_setting('synchronous_commit') AS s",
    )
  ).rows[0] as { v: string; f: string; s: string };
  await admin.end();
  if (settings.f !== "on" || settings.s !== "on") throw new Error("fsync/synchronous_commit off");

  const receiverUrl = await procs.startChild("receiver", "bench/outbound/receiver.ts", {
    ...process.env,
    PORT: String(await freePort()),
  });
  log("starting the app (build/server.js, as npm start does) …");
  const appUrl = await procs.startChild("app", "build/server.js", {
    ...process.env,
    NODE_ENV: "production",
    HOST: "127.0.0.1",
    PORT: String(await freePort()),
    DATABASE_URL: cluster.url("creditdesk_bench"),
    MIGRATE_ON_START: "true",
    SESSION_SECRET: "benchmark-session-secret-benchmark-session",
    STRIPE_SECRET_KEY: "sk_test_benchmark",
    STRIPE_WEBHOOK_SECRET: "whsec_benchmarkbenchmarkbenchmark",
    SCHEDULER: "off",
    DEMO_SEED: "false",
    LOG_LEVEL: "info",
    // The receiver is on 127.0.0.1, a private address production refuses by default.
    OUTBOUND_ALLOW_PRIVATE: "true",
  });

  const db = await openDatabase({ kind: "postgres", url: cluster.url("creditdesk_bench") });
  setDatabase(db);
  const { key } = await createApiKey(
    { name: "bench", rateLimitPerSecond: 100_000, rateLimitBurst: 1_000_000 },
    { type: "system", label: "bench" },
  );
  const users = Array.from({ length: USERS }, (_, i) => `bench_user_${i}`);
  const hot = ["bench_hot"];
  const all = [...users, ...hot];
  await db.query(
    `INSERT INTO users (id, email, email_normalized, updated_at)
     SELECT id, id || '@example.com', id || '@example.com', now() FROM unnest($1::text[]) AS id`,
    [all],
  );
  for (let i = 0; i < all.length; i += 16)
    await Promise.all(
      all.slice(i, i + 16).map((userId) =>
        postLedgerEntry({
          userId,
          kind: "grant",
          delta: GRANT,
          idempotencyKey: `grant:${userId}`,
        }),
      ),
    );
  const endpoint = await createEndpoint(
    { url: `${receiverUrl}/hooks`, eventTypes: [...OUTBOUND_EVENT_TYPES] },
    { type: "system", label: "bench" },
    { policy: { blockPrivate: false } },
  );
  const setSubscribed = (on: boolean) =>
    db.query("UPDATE outbound_endpoints SET enabled = $2 WHERE id = $1", [endpoint.id, on]);
  await setSubscribed(false);

  const baseUrl = await procs.startChild("baseline", "bench/debits/baseline-server.ts", {
    ...process.env,
    PORT: String(await freePort()),
    DATABASE_URL: cluster.url("baseline_bench"),
    BASELINE_KEY_HASH: createHash("sha256").update(key).digest("hex"),
  });
  const base = new pg.Client({ connectionString: cluster.url("baseline_bench") });
  await base.connect();
  await base.query(
    "INSERT INTO baseline_users (id, balance) SELECT id, $2 FROM unnest($1::text[]) AS id",
    [all, GRANT],
  );
  await base.end();

  const pending = async () =>
    Number(
      (
        await db.query<{ n: string }>(
          `SELECT (SELECT count(*) FROM outbound_deliveries WHERE status = 'pending')
                + (SELECT count(*) FROM outbound_events WHERE dispatched_at IS NULL) AS n`,
          [],
        )
      )[0].n,
    );

  const targets: { name: Target; url: string; path: (u: string) => string; pid?: number }[] = [
    {
      name: "baseline",
      url: baseUrl,
      path: (u) => `/users/${u}/debits`,
      pid: procs.pidOf("baseline"),
    },
    {
      name: "app, outbox trigger off",
      url: appUrl,
      path: (u) => `/api/v1/users/${u}/debits`,
      pid: procs.pidOf("app"),
    },
    {
      name: "app, no subscriber",
      url: appUrl,
      path: (u) => `/api/v1/users/${u}/debits`,
      pid: procs.pidOf("app"),
    },
    {
      name: "app, endpoint subscribed",
      url: appUrl,
      path: (u) => `/api/v1/users/${u}/debits`,
      pid: procs.pidOf("app"),
    },
  ];

  log("warming up …");
  for (const t of targets.slice(0, 3))
    await drive(t.url, t.path, key, all, `warm-${t.name}`.replace(/\W/g, ""));

  const runs: Run[] = [];
  const queued: Queued[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    // The worker alone: QUEUED events already in the outbox, sent as fast as it can.
    await setSubscribed(true);
    const got0 = await receiverCount(receiverUrl);
    const cpu0 = {
      app: cpuMs(procs.pidOf("app")),
      receiver: cpuMs(procs.pidOf("receiver")),
      pg: procs.postgresCpuByPid(),
    };
    const q0 = performance.now();
    await db.query(
      `INSERT INTO outbound_events (type, user_id, data)
       SELECT 'credits.granted', 'bench_user_' || (i % 500),
         jsonb_build_object('userId', 'bench_user_' || (i % 500), 'delta', 1, 'balanceAfter', i, 'ledgerEntryId', i::text, 'seq', i)
       FROM generate_series(1, $1::int) AS i`,
      [QUEUED],
    );
    while ((await pending()) > 0 && performance.now() - q0 < 300_000)
      await new Promise((res) => setTimeout(res, 50));
    const qs = (performance.now() - q0) / 1000;
    const sent = Math.max(1, (await receiverCount(receiverUrl)) - got0);
    const per = (v: number) => Number((v / sent).toFixed(3));
    const q: Queued = {
      round,
      perSecond: Math.round(sent / qs),
      appCpu: per(cpuMs(procs.pidOf("app")) - cpu0.app),
      postgresCpu: per(postgresCpuDelta(cpu0.pg, procs.postgresCpuByPid())),
      receiverCpu: per(cpuMs(procs.pidOf("receiver")) - cpu0.receiver),
      load: load1(),
    };
    queued.push(q);
    log(
      `round ${round} queued: ${QUEUED} deliveries at ${q.perSecond}/s; CPU ms/delivery app ${q.appCpu}, Postgres ${q.postgresCpu}, receiver ${q.receiverCpu} (load ${q.load})`,
    );

    for (const shape of ["spread", "hot"] as const) {
      for (const t of targets) {
        const subscribed = t.name === "app, endpoint subscribed";
        await setSubscribed(subscribed);
        // The outbox's own cost: the same app with the ledger trigger disabled (this run only).
        await db.query(
          `ALTER TABLE ledger_entries ${t.name === "app, outbox trigger off" ? "DISABLE" : "ENABLE"} TRIGGER outbound_ledger_events`,
          [],
        );
        const before = {
          server: cpuMs(t.pid),
          postgres: procs.postgresCpuByPid(),
          received: await receiverCount(receiverUrl),
        };
        const r = await drive(
          t.url,
          t.path,
          key,
          shape === "spread" ? users : hot,
          `${t.name}-${shape}-${round}`.replace(/\W/g, ""),
        );
        const after = {
          server: cpuMs(t.pid),
          postgres: procs.postgresCpuByPid(),
          received: await receiverCount(receiverUrl),
        };
        let drainPerSecond: number | null = null;
        if (subscribed) {
          const d0 = performance.now();
          const r0 = after.received;
          while ((await pending()) > 0 && performance.now() - d0 < 120_000)
            await new Promise((res) => setTimeout(res, 100));
          const dt = (performance.now() - d0) / 1000;
          const got = (await receiverCount(receiverUrl)) - r0;
          drainPerSecond = got > 0 && dt > 0.2 ? Math.round(got / dt) : null;
        }
        const n = Math.max(1, r.requests);
        const run: Run = {
          target: t.name,
          shape,
          round,
          perSecond: r.perSecond,
          p50: r.p50,
          p99: r.p99,
          non201: r.non201,
          serverCpu: Number(((after.server - before.server) / n).toFixed(2)),
          postgresCpu: Number((postgresCpuDelta(before.postgres, after.postgres) / n).toFixed(2)),
          deliveriesPerSecond: subscribed
            ? Math.round((after.received - before.received) / r.elapsed)
            : null,
          drainPerSecond,
          load: load1(),
        };
        runs.push(run);
        log(
          `round ${round} ${shape} ${t.name}: ${run.perSecond} debits/s p50 ${run.p50} ms p99 ${run.p99} ms non-201 ${run.non201}` +
            (subscribed
              ? `; deliveries ${run.deliveriesPerSecond}/s during, drain ${run.drainPerSecond ?? "-"}/s after`
              : "") +
            ` (load ${run.load})`,
        );
      }
    }
  }
  await setSubscribed(false);
  const [counts] = await db.query<{
    debits: string;
    delivered: string;
    failed: string;
    attempts: string;
  }>(
    `SELECT (SELECT count(*) FROM outbound_events WHERE type = 'credits.debited') AS debits,
            (SELECT count(*) FROM outbound_deliveries WHERE status = 'delivered') AS delivered,
            (SELECT count(*) FROM outbound_deliveries WHERE status <> 'delivered') AS failed,
            (SELECT count(*) FROM outbound_attempts) AS attempts`,
    [],
  );
  const received = await receiverCount(receiverUrl);
  await db.close();
  const checks = {
    debitEvents: Number(counts.debits),
    delivered: Number(counts.delivered),
    notDelivered: Number(counts.failed),
    attempts: Number(counts.attempts),
    receiverGot: received,
  };
  log(JSON.stringify(checks));
  const result = {
    at: new Date().toISOString(),
    seconds: SECONDS,
    concurrency: CONCURRENCY,
    rounds: ROUNDS,
    machine: machine(settings.v),
    runs,
    queued,
    checks,
  };
  const table = renderTable(result);
  process.stdout.write(`${table}\n`);
  if (values.write) {
    mkdirSync(path.join(root, "bench/results"), { recursive: true });
    writeFileSync(
      path.join(root, "bench/results/outbound.json"),
      `${JSON.stringify(result, null, 2)}\n`,
    );
    writeBenchmarkSection("Outbound events", table);
  }
}

function summary(runs: Run[], target: Target, shape: Shape) {
  const mine = runs.filter((r) => r.target === target && r.shape === shape);
  const med = (v: number[], digits = 1) => Number(median(v).toFixed(digits));
  const some = (v: (number | null)[]) => v.filter((x): x is number => x !== null);
  return {
    perSecond: Math.round(median(mine.map((r) => r.perSecond))),
    p50: med(mine.map((r) => r.p50)),
    p99: med(mine.map((r) => r.p99)),
    server: med(
      mine.map((r) => r.serverCpu),
      2,
    ),
    postgres: med(
      mine.map((r) => r.postgresCpu),
      2,
    ),
    deliveries: some(mine.map((r) => r.deliveriesPerSecond)).length
      ? Math.round(median(some(mine.map((r) => r.deliveriesPerSecond))))
      : null,
    drain: some(mine.map((r) => r.drainPerSecond)).length
      ? Math.round(median(some(mine.map((r) => r.drainPerSecond))))
      : null,
    load: med(mine.map((r) => r.load)),
  };
}

function renderTable(r: {
  at: string;
  seconds: number;
  concurrency: number;
  rounds: number;
  machine: ReturnType<typeof machine>;
  runs: Run[];
  queued: Queued[];
  checks: Record<string, number>;
}) {
  const lines = [
    "## Outbound events",
    "",
    "`npx tsx bench/outbound/run.ts --rounds 3 --write` — `POST /api/v1/users/{id}/debits` of the real",
    "app (build/server.js, `NODE_ENV=production`) on native Postgres with **fsync and synchronous_commit",
    `on**, concurrency ${r.concurrency}, ${r.seconds} s per measurement, from a separate load-generator process,`,
    "four ways in the same run on the same cluster: the bare debit baseline (bench/debits/baseline-server.ts);",
    "the app with the outbox's ledger trigger disabled (what the app costs without this feature);",
    "the app with no endpoint subscribed to `credits.debited` (the outbox trigger runs and writes nothing for a",
    "debit); the app with one endpoint subscribed to every type (an outbox row per debit, and the app's own",
    "worker delivering them to bench/outbound/receiver.ts, a separate process answering 204, at the same time).",
    "Deliveries/s: what reached the receiver during the debit load; drain: the backlog's rate after the load",
    "stopped (the worker alone). Medians of the rounds; load average: 1-minute, at the end of each measurement",
    "(the machine is shared, 2 cores).",
    "",
    `Run ${r.at}, ${r.rounds} round(s). Machine: ${r.machine.cpus} cores (${r.machine.cpuModel}), ${r.machine.memoryGiB} GiB RAM, Node ${r.machine.node}, PostgreSQL ${r.machine.postgres}, ${r.machine.platform}.`,
    "",
    "| Shape | Target | debits/s | p50 ms | p99 ms | / baseline | / trigger off | server CPU ms/debit | Postgres CPU ms/debit | deliveries/s during | drain/s after | load avg |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const shape of ["spread", "hot"] as const) {
    const b = summary(r.runs, "baseline", shape);
    const plain = summary(r.runs, "app, outbox trigger off", shape);
    for (const t of [
      "baseline",
      "app, outbox trigger off",
      "app, no subscriber",
      "app, endpoint subscribed",
    ] as const) {
      const s = summary(r.runs, t, shape);
      lines.push(
        `| ${shape} | ${t} | ${s.perSecond} | ${s.p50} | ${s.p99} | ${(s.perSecond / Math.max(1, b.perSecond)).toFixed(2)} | ${t === "baseline" ? "" : (s.perSecond / Math.max(1, plain.perSecond)).toFixed(2)} | ${s.server} | ${s.postgres} | ${s.deliveries ?? ""} | ${s.drain ?? ""} | ${s.load} |`,
      );
    }
  }
  const c = r.checks;
  lines.push(
    "",
    `The worker alone, ${QUEUED} events queued in the outbox at once (fan-out, claim, sign, POST, record): ` +
      `median ${Math.round(median(r.queued.map((q) => q.perSecond)))} deliveries/s ` +
      `(rounds: ${r.queued.map((q) => `${q.perSecond}/s at load ${q.load}`).join(", ")}); CPU per delivery, medians: ` +
      `worker (app process) ${median(r.queued.map((q) => q.appCpu)).toFixed(2)} ms, Postgres ${median(r.queued.map((q) => q.postgresCpu)).toFixed(2)} ms, ` +
      `receiver ${median(r.queued.map((q) => q.receiverCpu)).toFixed(2)} ms.`,
    "",
    `After the load: ${c.debitEvents} credits.debited outbox rows, ${c.delivered} deliveries delivered, ${c.notDelivered} not, ${c.attempts} attempts logged, the receiver counted ${c.receiverGot}.`,
    "",
  );
  return lines.join("\n");
}

try {
  await main();
} finally {
  await procs.stopAll();
}

/**
 * Debit throughput (issue 19): `POST /api/v1/users/{id}/debits` of the real app (build/server.js
 * as `npm start` runs it, native Postgres with fsync and synchronous_commit on) beside a bare
 * baseline in the same run (bench/debits/baseline-server.ts), from this process as the load
 * generator. 1-credit debits, every one with its own idempotency key, spread over 500 users and
 * all on one hot user. 127.0.0.1 only.
 *
 *   npx tsx bench/debits/run.ts [--seconds 10] [--concurrency 16] [--rounds 3] [--levers]
 *                               [--no-build] [--write]
 *
 * --levers also runs a second app process with CREDITDESK_DEBIT_BATCH_MAX=1 (no batching) on the
 * same database. --write stores bench/results/debits.json and this benchmark's section of
 * docs/benchmarks.md. After the load: every balance = granted − accepted debits, `ledger verify`
 * clean, and a retry of accepted keys returns the original entry.
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
import { verifyLedger } from "../../app/services/ledger-verify.server";
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
    levers: { type: "boolean" },
    "no-build": { type: "boolean" },
    write: { type: "boolean" },
  },
});
const SECONDS = Number(values.seconds ?? 10);
const CONCURRENCY = Number(values.concurrency ?? 16);
const ROUNDS = Number(values.rounds ?? 1);
const USERS = 500;
// 501 grants must fit the int rollup column of one day (daily_rollups.credits_issued).
const GRANT = 1_000_000;
if (!(SECONDS > 0 && SECONDS <= 60)) throw new Error("--seconds must be between 1 and 60");
if (!(ROUNDS >= 1 && ROUNDS <= 9)) throw new Error("--rounds must be between 1 and 9");

const procs = new BenchProcesses();

interface Run {
  target: string;
  shape: "spread" | "hot";
  round: number;
  requests: number;
  perSecond: number;
  p50: number;
  p99: number;
  /** Answers other than 201. */
  non201: number;
  cpuMsPerDebit: { server: number; postgres: number };
  load: number;
}

/** Accepted debits per user and a sample of accepted keys, for the checks after the load. */
const accepted = new Map<string, number>();
const acceptedSample: { userId: string; body: string; entryId: string }[] = [];

/** One measured load on one target, recording accepted debits for the checks when `track`. */
function drive(
  base: string,
  pathFor: (userId: string) => string,
  key: string,
  users: string[],
  label: string,
  track: boolean,
) {
  return driveDebits({
    base,
    pathFor,
    key,
    users,
    label,
    seconds: SECONDS,
    concurrency: CONCURRENCY,
    onAccepted: track
      ? ({ userId, payload, body, n }) => {
          accepted.set(userId, (accepted.get(userId) ?? 0) + 1);
          if (acceptedSample.length < 300 && n % 7 === 0)
            acceptedSample.push({ userId, body: payload, entryId: JSON.parse(body).entry.id });
        }
      : undefined,
  });
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

  log("starting the app (build/server.js, as npm start does) …");
  const appEnv: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: "production",
    HOST: "127.0.0.1",
    DATABASE_URL: cluster.url("creditdesk_bench"),
    MIGRATE_ON_START: "true",
    SESSION_SECRET: "benchmark-session-secret-benchmark-session",
    STRIPE_SECRET_KEY: "sk_test_benchmark",
    STRIPE_WEBHOOK_SECRET: "whsec_benchmarkbenchmarkbenchmark",
    SCHEDULER: "off",
    DEMO_SEED: "false",
    LOG_LEVEL: "info",
  };
  // BENCH_CPU_PROF_DIR=dir writes a V8 CPU profile of the app process (for finding hot spots).
  const profDir = process.env.BENCH_CPU_PROF_DIR;
  const appUrl = await procs.startChild(
    "app",
    "build/server.js",
    { ...appEnv, PORT: String(await freePort()) },
    [],
    profDir ? ["--cpu-prof", "--cpu-prof-dir", profDir] : [],
  );
  const noBatchUrl = values.levers
    ? await procs.startChild("app-nobatch", "build/server.js", {
        ...appEnv,
        PORT: String(await freePort()),
        MIGRATE_ON_START: "false",
        CREDITDESK_DEBIT_BATCH_MAX: "1",
      })
    : undefined;

  // Users, grants and the API key through the app's own services (so the ledger is the app's).
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

  const keyHash = createHash("sha256").update(key).digest("hex");
  const baseUrl = await procs.startChild("baseline", "bench/debits/baseline-server.ts", {
    ...process.env,
    PORT: String(await freePort()),
    DATABASE_URL: cluster.url("baseline_bench"),
    BASELINE_KEY_HASH: keyHash,
  });
  const base = new pg.Client({ connectionString: cluster.url("baseline_bench") });
  await base.connect();
  await base.query(
    "INSERT INTO baseline_users (id, balance) SELECT id, $2 FROM unnest($1::text[]) AS id",
    [all, GRANT],
  );
  await base.end();

  const targets: { name: string; url: string; path: (u: string) => string; pid?: number }[] = [
    {
      name: "baseline",
      url: baseUrl,
      path: (u) => `/users/${u}/debits`,
      pid: procs.pidOf("baseline"),
    },
    {
      name: "creditdesk",
      url: appUrl,
      path: (u) => `/api/v1/users/${u}/debits`,
      pid: procs.pidOf("app"),
    },
    ...(noBatchUrl
      ? [
          {
            name: "creditdesk, no batching",
            url: noBatchUrl,
            path: (u: string) => `/api/v1/users/${u}/debits`,
            pid: procs.pidOf("app-nobatch"),
          },
        ]
      : []),
  ];

  log("warming up …");
  for (const t of targets)
    await drive(t.url, t.path, key, all, `warm-${t.name}`, t.name !== "baseline");

  const runs: Run[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    for (const shape of ["spread", "hot"] as const) {
      for (const t of targets) {
        const before = { server: cpuMs(t.pid), postgres: procs.postgresCpuByPid() };
        const r = await drive(
          t.url,
          t.path,
          key,
          shape === "spread" ? users : hot,
          `${t.name}-${shape}-${round}`.replace(/[^a-z0-9-]/gi, ""),
          t.name !== "baseline",
        );
        const n = Math.max(1, r.requests);
        const run: Run = {
          target: t.name,
          shape,
          round,
          ...r,
          cpuMsPerDebit: {
            server: Number(((cpuMs(t.pid) - before.server) / n).toFixed(2)),
            postgres: Number(
              (postgresCpuDelta(before.postgres, procs.postgresCpuByPid()) / n).toFixed(2),
            ),
          },
          load: load1(),
        };
        runs.push(run);
        log(
          `round ${round} ${shape} ${t.name}: ${run.perSecond}/s p50 ${run.p50} ms p99 ${run.p99} ms non-201 ${run.non201} (load ${run.load})`,
        );
      }
    }
  }

  log("checking balances, ledger verify and retries …");
  const balances = await db.query<{ id: string; balance: number }>(
    "SELECT id, balance FROM users WHERE id = ANY($1::text[])",
    [all],
  );
  const wrong = balances.filter((b) => b.balance !== GRANT - (accepted.get(b.id) ?? 0));
  const verify = await verifyLedger();
  let retriesOk = 0;
  for (const s of acceptedSample) {
    const res = await fetch(`${appUrl}/api/v1/users/${s.userId}/debits`, {
      method: "POST",
      headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
      body: s.body,
    });
    const body = (await res.json()) as { entry?: { id: string } };
    if (res.status === 200 && body.entry?.id === s.entryId) retriesOk += 1;
  }
  await db.close();
  const checks = {
    users: balances.length,
    balancesWrong: wrong.length,
    ledgerVerifyOk: verify.ok,
    violations: verify.violations.slice(0, 5),
    retried: acceptedSample.length,
    retriesReturningOriginal: retriesOk,
  };
  log(JSON.stringify(checks));

  const result = {
    at: new Date().toISOString(),
    seconds: SECONDS,
    concurrency: CONCURRENCY,
    rounds: ROUNDS,
    users: USERS,
    postgres: { version: settings.v, fsync: settings.f, synchronousCommit: settings.s },
    machine: machine(settings.v),
    runs,
    checks,
  };
  const table = renderTable(result);
  process.stdout.write(`${table}\n`);
  if (values.write) {
    mkdirSync(path.join(root, "bench/results"), { recursive: true });
    writeFileSync(
      path.join(root, "bench/results/debits.json"),
      `${JSON.stringify(result, null, 2)}\n`,
    );
    writeBenchmarkSection("Debits", table);
  }
  if (wrong.length > 0 || !verify.ok || retriesOk !== acceptedSample.length) process.exitCode = 1;
}

function summary(runs: Run[], target: string, shape: "spread" | "hot") {
  const mine = runs.filter((r) => r.target === target && r.shape === shape);
  const median1 = (v: number[]) => Number(median(v).toFixed(1));
  return {
    perSecond: Math.round(median(mine.map((r) => r.perSecond))),
    p50: median1(mine.map((r) => r.p50)),
    p99: median1(mine.map((r) => r.p99)),
    load: median1(mine.map((r) => r.load)),
    server: Number(median(mine.map((r) => r.cpuMsPerDebit.server)).toFixed(2)),
    postgres: Number(median(mine.map((r) => r.cpuMsPerDebit.postgres)).toFixed(2)),
  };
}

function renderTable(r: {
  at: string;
  seconds: number;
  concurrency: number;
  rounds: number;
  machine: ReturnType<typeof machine>;
  runs: Run[];
  checks: Record<string, unknown>;
}) {
  const targets = [...new Set(r.runs.map((x) => x.target))];
  const lines = [
    "## Debits",
    "",
    "`npx tsx bench/debits/run.ts --rounds 3 --levers --write` — `POST /api/v1/users/{id}/debits` of",
    "the real app (build/server.js as `npm start` runs it, `NODE_ENV=production`) on native",
    "Postgres with **fsync and synchronous_commit on**, from a separate load-generator process,",
    `concurrency ${r.concurrency}, 1-credit debits each with its own idempotency key, ${r.seconds} s per`,
    "measurement: spread over 500 users, and all on one hot user. Baseline, same run, same",
    "cluster: bench/debits/baseline-server.ts (bare Node http, SHA-256 bearer check, one prepared",
    "statement that locks the user, inserts the ledger row `ON CONFLICT` on the key if the balance",
    "covers it and decrements the balance). Figures are medians of the rounds; the load average",
    "is the 1-minute one at the end of each measurement (the machine is shared).",
    "",
    `Run ${r.at}, ${r.rounds} round(s). Machine: ${r.machine.cpus} cores (${r.machine.cpuModel}), ${r.machine.memoryGiB} GiB RAM, Node ${r.machine.node}, PostgreSQL ${r.machine.postgres}, ${r.machine.platform}.`,
    "",
    "| Shape | Target | debits/s | p50 ms | p99 ms | / baseline | server CPU ms/debit | Postgres CPU ms/debit | load avg |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const shape of ["spread", "hot"] as const) {
    const b = summary(r.runs, "baseline", shape);
    for (const t of targets) {
      const s = summary(r.runs, t, shape);
      lines.push(
        `| ${shape} | ${t} | ${s.perSecond} | ${s.p50} | ${s.p99} | ${(s.perSecond / Math.max(1, b.perSecond)).toFixed(2)} | ${s.server} | ${s.postgres} | ${s.load} |`,
      );
    }
  }
  const c = r.checks;
  lines.push(
    "",
    `Checks after the load: ${c.users} users, ${c.balancesWrong} balances ≠ granted − accepted; ` +
      `ledger verify ${c.ledgerVerifyOk ? "clean" : "NOT clean"}; ${c.retriesReturningOriginal} of ${c.retried} retried accepted keys returned their original entry (200).`,
    "",
  );
  return lines.join("\n");
}

try {
  await main();
} finally {
  await procs.stopAll();
}

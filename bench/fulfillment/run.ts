/**
 * Fulfilment-path benchmark: `fulfillCheckoutSession(id, "webhook")` called directly in this
 * process (no HTTP, no webhook queue) for paid sessions in the Stripe emulator (its own process),
 * against a throwaway native Postgres cluster. Measures CPU per fulfilment of this process
 * (process.cpuUsage), of the Postgres backends and of the emulator (both from /proc), sequentially
 * and at concurrency 8, and counts the SQL statements per fulfilment from Postgres's statement log.
 *
 *   npx tsx bench/fulfillment/run.ts [--sequential 600] [--concurrent 1200] [--out FILE] >/dev/null
 *
 * The app's log lines (one per credited session, as in production) go to stdout; the results go
 * to stderr, and as JSON to --out.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import pg from "pg";
import type Stripe from "stripe";
import { openDatabase, setDatabase } from "../../app/services/infra/db.server";
import { fulfillCheckoutSession } from "../../app/services/fulfillment.server";
import { verifyLedger } from "../../app/services/ledger-verify.server";
import { listMigrationDirs } from "../../app/services/infra/migrations.server";
import { createStripeClient, setStripe } from "../../app/services/infra/stripe-client.server";
import {
  freePort,
  startPostgresCluster,
  type PostgresCluster,
} from "../../tests/support/native-postgres";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const { values } = parseArgs({
  options: {
    sequential: { type: "string" },
    concurrent: { type: "string" },
    out: { type: "string" },
  },
});
const SEQUENTIAL = Number(values.sequential ?? 600);
const CONCURRENT = Number(values.concurrent ?? 1200);
const CONCURRENCY = 8;
const WARMUP = 200;
const COUNTED = 20;
const TOTAL = WARMUP + COUNTED + SEQUENTIAL + CONCURRENT;

const log = (line: string) => process.stderr.write(`${line}\n`);
const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;

/** utime + stime of a process, in ms (from /proc, Linux). */
function cpuMs(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** Postmaster + backends of the cluster, summed (backends live for the whole run: pooled). */
function postgresCpu(cluster: PostgresCluster): number {
  const postmaster = Number(
    readFileSync(path.join(cluster.dir, "data", "postmaster.pid"), "utf8").split("\n")[0],
  );
  let total = cpuMs(postmaster);
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === postmaster)
        total += cpuMs(Number(entry));
    } catch {
      // The process ended while being read.
    }
  }
  return total;
}

function startEmulator(port: number): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "emulator/main.ts", "--port", String(port), "--host", "127.0.0.1"],
    { cwd: root, stdio: ["ignore", "pipe", "inherit"] },
  );
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve({ child, url: m[1] });
    });
    child.once("exit", (code) => reject(new Error(`emulator exited (${code})`)));
  });
}

interface Phase {
  name: string;
  fulfilments: number;
  wallMs: number;
  perSecond: number;
  /** postgres: the whole cluster (background processes too); backends: the app's connections. */
  cpuMsPerFulfilment: { app: number; postgres: number; backends: number; emulator: number };
}

async function main() {
  log("starting a throwaway Postgres cluster and the Stripe emulator …");
  const cluster = await startPostgresCluster();
  const emulator = await startEmulator(await freePort());
  try {
    const admin = new pg.Client({ connectionString: cluster.url() });
    await admin.connect();
    await admin.query("CREATE DATABASE fulfil_bench");
    await admin.end();
    const raw = new pg.Client({ connectionString: cluster.url("fulfil_bench") });
    await raw.connect();
    for (const m of listMigrationDirs()) await raw.query(m.sql);

    const stripe = createStripeClient({
      secretKey: "sk_test_benchmark",
      apiBase: emulator.url,
      maxNetworkRetries: 0,
    });
    setStripe(stripe);
    const price = await stripe.prices.create({
      currency: "usd",
      unit_amount: 1000,
      product_data: { name: "Bench pack" },
      metadata: { credits: "100" },
    });
    const now = Math.floor(Date.now() / 1000);
    const seeded = await fetch(`${emulator.url}/_emulator/seed/completed-sessions`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        n: TOTAL,
        priceId: price.id,
        createdFrom: now - 3600,
        createdTo: now,
        clientReferenceIdPrefix: "bench_user_",
      }),
    });
    if (!seeded.ok) throw new Error(`seeding failed: ${seeded.status} ${await seeded.text()}`);
    const ids: string[] = [];
    for await (const s of stripe.checkout.sessions.list({
      limit: 100,
    }) as AsyncIterable<Stripe.Checkout.Session>)
      ids.push(s.id);
    await raw.query(
      `INSERT INTO users (id, email, email_normalized, updated_at)
       SELECT 'bench_user_' || i, 'bench' || i || '@example.com', 'bench' || i || '@example.com', now()
       FROM generate_series(0, $1::int - 1) AS i`,
      [TOTAL],
    );

    const db = await openDatabase({ kind: "postgres", url: cluster.url("fulfil_bench") });
    setDatabase(db);
    let next = 0;
    const fulfilOne = async () => {
      const id = ids[next++];
      const r = await fulfillCheckoutSession(id, "webhook");
      if (r.outcome !== "credited") throw new Error(`${id}: ${r.outcome}`);
    };
    // The app's pooled connections (Prisma's and the raw pool's), open for the whole run.
    const appBackends = async () =>
      (
        await raw.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity
           WHERE datname = 'fulfil_bench' AND backend_type = 'client backend' AND pid <> pg_backend_pid()`,
        )
      ).rows.map((r) => r.pid);
    const runPhase = async (name: string, n: number, concurrency: number): Promise<Phase> => {
      const app0 = process.cpuUsage();
      const pg0 = postgresCpu(cluster);
      const pids = await appBackends();
      const backends0 = pids.reduce((sum, pid) => sum + cpuMs(pid), 0);
      const emu0 = cpuMs(emulator.child.pid);
      const t0 = performance.now();
      let left = n;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (left > 0) {
            left--;
            await fulfilOne();
          }
        }),
      );
      const wallMs = performance.now() - t0;
      const app = process.cpuUsage(app0);
      const per = (ms: number) => Number((ms / n).toFixed(2));
      return {
        name,
        fulfilments: n,
        wallMs: Math.round(wallMs),
        perSecond: Math.round((n * 1000) / wallMs),
        cpuMsPerFulfilment: {
          app: per((app.user + app.system) / 1000),
          postgres: per(postgresCpu(cluster) - pg0),
          backends: per(pids.reduce((sum, pid) => sum + cpuMs(pid), 0) - backends0),
          emulator: per(cpuMs(emulator.child.pid) - emu0),
        },
      };
    };

    log(`warming up (${WARMUP}) …`);
    await runPhase("warm-up", WARMUP, CONCURRENCY);

    // Statements per fulfilment, from the server's own log (BEGIN/COMMIT included).
    const logFile = path.join(cluster.dir, "postgres.log");
    await raw.query("ALTER SYSTEM SET log_statement = 'all'");
    await raw.query("SELECT pg_reload_conf()");
    await new Promise((r) => setTimeout(r, 300));
    const from = statSync(logFile).size;
    await runPhase("counted", COUNTED, 1);
    await raw.query("ALTER SYSTEM RESET log_statement");
    await raw.query("SELECT pg_reload_conf()");
    const logged = readFileSync(logFile, "utf8").slice(from);
    const statements = (logged.match(/LOG: {2}(statement|execute [^:]*):/g) ?? []).length - 2;
    const statementsPerFulfilment = Number((statements / COUNTED).toFixed(1));

    log(`sequential (${SEQUENTIAL}) …`);
    const sequential = await runPhase("sequential", SEQUENTIAL, 1);
    log(`concurrency ${CONCURRENCY} (${CONCURRENT}) …`);
    const concurrent = await runPhase(`concurrency ${CONCURRENCY}`, CONCURRENT, CONCURRENCY);

    const check = (
      await raw.query(
        `SELECT (SELECT count(*) FROM purchases)::int AS purchases,
                (SELECT count(*) FROM ledger_entries WHERE kind = 'purchase')::int AS entries,
                (SELECT sum(purchases)::int FROM daily_rollups WHERE currency = 'usd') AS rollup_purchases,
                (SELECT sum(credits_issued)::int FROM daily_rollups WHERE currency = '-') AS rollup_credits,
                (SELECT sum(balance)::int FROM users) AS balances`,
      )
    ).rows[0];
    const verify = await verifyLedger();
    await raw.end();
    await db.close();
    const result = {
      machine: `${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), Node ${process.version}`,
      statementsPerFulfilment,
      phases: [sequential, concurrent],
      check: { ...check, ledgerVerifyOk: verify.ok, expected: next },
    };
    if (values.out) writeFileSync(values.out, `${JSON.stringify(result, null, 2)}\n`);
    log(`${result.machine}; statements per fulfilment: ${statementsPerFulfilment}`);
    log(
      "| Phase | fulfilments/s | app CPU ms | Postgres backends CPU ms | Postgres cluster CPU ms | emulator CPU ms |",
    );
    log("|---|---:|---:|---:|---:|---:|");
    for (const p of result.phases)
      log(
        `| ${p.name} | ${p.perSecond} | ${p.cpuMsPerFulfilment.app} | ${p.cpuMsPerFulfilment.backends} | ${p.cpuMsPerFulfilment.postgres} | ${p.cpuMsPerFulfilment.emulator} |`,
      );
    log(`check: ${JSON.stringify(result.check)}; load avg ${os.loadavg()[0].toFixed(1)}`);
    if (
      check.purchases !== next ||
      check.entries !== next ||
      check.rollup_purchases !== next ||
      check.rollup_credits !== next * 100 ||
      !verify.ok
    )
      throw new Error("check failed: every fulfilment must credit exactly once");
  } finally {
    emulator.child.kill("SIGTERM");
    cluster.stop();
  }
}

if (!existsSync(path.join(root, "app/generated/prisma"))) throw new Error("run npm install first");
await main();

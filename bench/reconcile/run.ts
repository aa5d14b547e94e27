/**
 * Reconciliation benchmark (issue 5): 100,000 completed Checkout Sessions in the window, 99% of
 * them already credited, served by the emulator (its own process) against a throwaway native
 * Postgres cluster. The measurement runs in a fresh process (bench/reconcile/measure.ts) so its
 * peak RSS is the reconciliation's own.
 *
 *   npx tsx bench/reconcile/run.ts [--sessions 100000] [--credited 0.99] [--first-runs 3]
 *
 * Prints the measurements and writes them to bench/results/reconcile.json.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { openDatabase, setDatabase } from "../../app/services/infra/db.server";
import { parseEnv, setEnv, type Env } from "../../app/services/infra/env.server";
import { applyMigrations } from "../../app/services/infra/migrations.server";
import { syncPacks } from "../../app/services/packs.server";
import { createStripeClient, setStripe } from "../../app/services/infra/stripe-client.server";
import { freePort, startPostgresCluster } from "../../tests/support/native-postgres";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const { values } = parseArgs({
  options: {
    sessions: { type: "string" },
    credited: { type: "string" },
    "first-runs": { type: "string" },
  },
});
const total = Number(values.sessions ?? 100_000);
const creditedShare = Number(values.credited ?? 0.99);
// The first run can happen once per copy of the prepared database: each repetition measures
// paging and a first run on a fresh copy, in a fresh process.
const firstRuns = Number(values["first-runs"] ?? 3);
const SECRET_KEY = "sk_test_creditdesk_bench";
const WEBHOOK_SECRET = "whsec_creditdeskbench";
const DAY = 86_400;

function log(message: string) {
  console.log(`[bench] ${message}`);
}

async function waitForHttp(url: string) {
  for (let i = 0; i < 200; i++) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up`);
}

// BENCH_PG_STATEMENTS=1: the first run's statements, by Postgres time, on stderr (measure.ts).
if (process.env.BENCH_PG_STATEMENTS)
  process.env.TEST_PG_OPTIONS = `${process.env.TEST_PG_OPTIONS ?? ""} -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all`;
const cluster = await startPostgresCluster();
const emulatorPort = await freePort();
const emulator = spawn(
  process.execPath,
  [
    // e.g. BENCH_EMULATOR_ARGS=--cpu-prof to profile the emulator
    ...(process.env.BENCH_EMULATOR_ARGS ?? "").split(" ").filter(Boolean),
    "--import",
    "tsx",
    "emulator/main.ts",
    "--port",
    String(emulatorPort),
  ],
  {
    cwd: root,
    stdio: ["ignore", "ignore", "inherit"],
  },
);
const cleanup = () => {
  // SIGTERM lets a profiled emulator write its profile.
  emulator.kill(process.env.BENCH_EMULATOR_ARGS ? "SIGTERM" : "SIGKILL");
  cluster.stop();
};
try {
  const apiBase = `http://127.0.0.1:${emulatorPort}`;
  await waitForHttp(`${apiBase}/_emulator/clock`);

  /** A new database in the cluster, empty or a copy of `template` (nothing may be connected to it). */
  const createDatabase = async (name: string, template?: string) => {
    const admin = new pg.Client({ connectionString: cluster.url() });
    await admin.connect();
    try {
      // A connection just closed to the template may still be ending on the server (55006).
      for (let attempt = 1; ; attempt++) {
        try {
          await admin.query(`CREATE DATABASE ${name}${template ? ` TEMPLATE ${template}` : ""}`);
          return name;
        } catch (error) {
          if ((error as { code?: string }).code !== "55006" || attempt === 50) throw error;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    } finally {
      await admin.end();
    }
  };
  const url = cluster.url(await createDatabase("bench"));
  await applyMigrations(new PrismaPg({ connectionString: url }));
  const env = {
    NODE_ENV: "development" as const,
    DATABASE_URL: url,
    STRIPE_SECRET_KEY: SECRET_KEY,
    STRIPE_API_BASE: apiBase,
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    APP_URL: "http://127.0.0.1:9",
    LOG_LEVEL: "warn",
    SCHEDULER: "off",
  };
  setEnv(parseEnv(env) as Env);
  const stripe = createStripeClient({ secretKey: SECRET_KEY, apiBase });
  setStripe(stripe);
  const db = await openDatabase({ kind: "postgres", url });
  setDatabase(db);

  // The pack, mirrored as the app would.
  const price = await stripe.prices.create({
    currency: "usd",
    unit_amount: 500,
    product_data: { name: "Bench pack" },
    metadata: { credits: "100" },
  });
  await syncPacks();
  const pack = await db.prisma.creditPack.findUniqueOrThrow({ where: { stripePriceId: price.id } });

  let t = performance.now();
  const now = Math.floor(Date.now() / 1000);
  const createdFrom = now - 2 * DAY;
  const createdTo = now - 60;
  const seeded = await fetch(`${apiBase}/_emulator/seed/completed-sessions`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      n: total,
      priceId: price.id,
      createdFrom,
      createdTo,
      clientReferenceIdPrefix: "u",
    }),
  });
  if (!seeded.ok) throw new Error(`seeding failed: ${seeded.status} ${await seeded.text()}`);
  log(
    `seeded ${total} sessions in the emulator in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );

  // Users u0…u(n-1), then purchases + ledger entries for the credited share, in bulk.
  t = performance.now();
  const raw = new pg.Client({ connectionString: url });
  await raw.connect();
  await raw.query(
    `INSERT INTO users (id, email, email_normalized, updated_at)
     SELECT 'u' || g, 'u' || g || '@bench.example', 'u' || g || '@bench.example', now()
     FROM generate_series(0, $1::int - 1) g`,
    [total],
  );
  const sessions: { id: string; pi: string; created: number; user: string }[] = [];
  for await (const s of stripe.checkout.sessions.list({
    status: "complete",
    created: { gte: createdFrom, lte: createdTo },
    limit: 100,
  })) {
    const user = s.client_reference_id as string;
    if (Number(user.slice(1)) % 100 < Math.round(creditedShare * 100)) {
      sessions.push({ id: s.id, pi: s.payment_intent as string, created: s.created, user });
    }
  }
  const lines = JSON.stringify([
    {
      priceId: price.id,
      packId: pack.id,
      quantity: 1,
      creditsPerUnit: 100,
      credits: 100,
      amountTotal: 500,
      currency: "usd",
    },
  ]);
  for (let i = 0; i < sessions.length; i += 5000) {
    const chunk = sessions.slice(i, i + 5000);
    await raw.query(
      `WITH input AS (
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[]) AS t(session_id, pi, user_id, created)
       ), purchases_in AS (
         INSERT INTO purchases (id, checkout_session_id, payment_intent_id, user_id, pack_id, quantity, credits,
           amount_total, currency, credited_via, user_resolved_by, lines, stripe_created_at, paid_at, updated_at)
         SELECT gen_random_uuid()::text, session_id, pi, user_id, $5, 1, 100, 500, 'usd', 'webhook',
           'client_reference_id', $6::jsonb, to_timestamp(created), to_timestamp(created), now()
         FROM input
         RETURNING id, user_id, checkout_session_id
       )
       INSERT INTO ledger_entries (user_id, seq, delta, balance_after, kind, idempotency_key, payload_hash, purchase_id, reason)
       SELECT user_id, 1, 100, 100, 'purchase', 'checkout:' || checkout_session_id, 'bench', id, 'bench setup'
       FROM purchases_in`,
      [
        chunk.map((s) => s.id),
        chunk.map((s) => s.pi),
        chunk.map((s) => s.user),
        chunk.map((s) => s.created),
        pack.id,
        lines,
      ],
    );
    await raw.query(`UPDATE users SET balance = 100, last_seq = 1 WHERE id = ANY($1::text[])`, [
      chunk.map((s) => s.user),
    ]);
  }
  await raw.query("ANALYZE");
  if (process.env.BENCH_PG_STATEMENTS) await raw.query("CREATE EXTENSION pg_stat_statements");
  await raw.end();
  log(
    `inserted ${total} users and ${sessions.length} credited purchases in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );
  await db.close();

  // Measure in a fresh process, with the heap flags `npm run jobs` starts the worker with (the
  // process the nightly run lives in); BENCH_UNCAPPED=1 measures without them.
  const jobsScript = (
    JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
    }
  ).scripts.jobs;
  const heapFlags = process.env.BENCH_UNCAPPED
    ? []
    : (jobsScript.match(/--max-(old|semi)-space-size=\d+/g) ?? []);
  // Compiled, as `npm run jobs` runs the worker (build/jobs-worker.js): under tsx every Stripe
  // request would also pay for a source-mapped stack trace.
  const built = spawnSync(
    process.execPath,
    [
      "scripts/build-server.mjs",
      "--entry",
      "bench/reconcile/measure.ts",
      "--out",
      "build/bench/reconcile-measure.js",
    ],
    { cwd: root, encoding: "utf8" },
  );
  if (built.status !== 0) throw new Error(`compiling measure.ts failed:\n${built.stderr}`);
  log(`measuring with node ${heapFlags.join(" ") || "(no heap flags)"} (compiled)`);
  const measure = (database: string, extraEnv: Record<string, string>) => {
    const measured = spawnSync(
      process.execPath,
      [
        ...heapFlags,
        // e.g. BENCH_NODE_ARGS=--cpu-prof to profile the measured process
        ...(process.env.BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean),
        "--expose-gc",
        "build/bench/reconcile-measure.js",
        String(createdFrom),
        String(now),
      ],
      {
        cwd: root,
        env: { ...process.env, ...env, DATABASE_URL: cluster.url(database), ...extraEnv },
        encoding: "utf8",
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    if (measured.stderr) process.stderr.write(measured.stderr);
    if (measured.status !== 0) throw new Error(`measurement failed:\n${measured.stdout}`);
    return JSON.parse(measured.stdout.trim().split("\n").pop() as string) as Record<
      string,
      unknown
    > & {
      pagingOnly: { ms: number };
      firstRun: { wallMs: number; ratioToPaging: number };
    };
  };
  // Each measurement on its own copy of the prepared database (nothing else connected to it now).
  const result = measure(await createDatabase("bench_1", "bench"), {});
  const firstRunOf = (m: typeof result) => ({
    pagingMs: m.pagingOnly.ms,
    firstRunMs: m.firstRun.wallMs,
    ratio: m.firstRun.ratioToPaging,
  });
  // More first runs, each with its own paging-only passes (the extra steady and paced runs only
  // in the first measurement).
  const runs = [firstRunOf(result)];
  for (let i = 2; i <= firstRuns; i++) {
    log(`first run ${i} of ${firstRuns} on a fresh copy`);
    runs.push(
      firstRunOf(measure(await createDatabase(`bench_${i}`, "bench"), { BENCH_FIRST_ONLY: "1" })),
    );
  }
  const ratios = runs.map((r) => r.ratio).sort((a, b) => a - b);
  const firstRunRatios = { runs, median: ratios[Math.floor(ratios.length / 2)] };
  const pgVersion =
    spawnSync("psql", ["--version"], { encoding: "utf8" }).stdout?.trim() ?? "postgres";
  const report = {
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? "unknown",
      memoryGiB: Math.round(totalmem() / 1024 ** 3),
      node: process.version,
      postgres: pgVersion,
    },
    nodeFlags: heapFlags,
    sessions: total,
    alreadyCredited: sessions.length,
    ...result,
    firstRunRatios,
  };
  mkdirSync(path.join(root, "bench/results"), { recursive: true });
  writeFileSync(
    path.join(root, "bench/results/reconcile.json"),
    JSON.stringify(report, null, 2) + "\n",
  );
  console.log(JSON.stringify(report, null, 2));
} finally {
  cleanup();
}

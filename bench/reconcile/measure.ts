/**
 * The measuring half of bench/reconcile/run.ts (which prepares Postgres and the emulator and
 * starts this in a fresh process): paging-only time, then reconciliation runs over the same
 * window, with Stripe requests, database time per page and peak RSS. Prints one JSON object.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { cpus, loadavg } from "node:os";
import path from "node:path";
import type Stripe from "stripe";
import { openAppDatabase } from "../../app/services/infra/bootstrap.server";
import { getEnv } from "../../app/services/infra/env.server";
import { verifyLedger } from "../../app/services/ledger-verify.server";
import { runReconciliation, type RunOptions } from "../../app/services/reconciliation/run.server";
import { getStripe } from "../../app/services/infra/stripe-client.server";

const [createdFrom, until] = process.argv.slice(2).map(Number);
const MB = 1024 * 1024;

let peak = 0;
let peakHeap = 0;
// With BENCH_LIVE_HEAP=1, collect garbage every second to see what is actually live.
let liveHeap = 0;
if (process.env.BENCH_LIVE_HEAP) {
  setInterval(() => {
    global.gc?.();
    liveHeap = Math.max(liveHeap, process.memoryUsage().heapUsed);
  }, 1000).unref();
}
// process.memoryUsage() walks the heap spaces and is not free: RSS (cheap) often, the heap less.
let ticks = 0;
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage.rss());
  if (++ticks % 10 === 0) peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
}, 25);

/**
 * CPU time used by the whole machine (every process: this one, the emulator, Postgres) in ms,
 * from /proc/stat; null where there is none. With 2 cores, the three compete for them.
 */
function machineCpuMs(): number | null {
  if (!existsSync("/proc/stat")) return null;
  const [, user, nice, system, , , irq, softirq] = readFileSync("/proc/stat", "utf8")
    .split("\n")[0]
    .trim()
    .split(/\s+/)
    .map(Number);
  // USER_HZ is 100 on Linux.
  return (user + nice + system + irq + softirq) * 10;
}

function phasePeak<T>(fn: () => Promise<T>): Promise<{
  value: T;
  peakRssMb: number;
  peakHeapMb: number;
  ms: number;
  cpuMs: number;
  machineCpuMs: number | null;
}> {
  global.gc?.();
  peak = process.memoryUsage().rss;
  peakHeap = process.memoryUsage().heapUsed;
  const started = performance.now();
  // CPU time of this process (user + system) does not depend on what else the machine runs.
  const cpu = process.cpuUsage();
  const machine = machineCpuMs();
  return fn().then((value) => {
    const used = process.cpuUsage(cpu);
    const machineAfter = machineCpuMs();
    return {
      value,
      peakRssMb: Math.round(Math.max(peak, process.memoryUsage().rss) / MB),
      peakHeapMb: Math.round(peakHeap / MB),
      ms: Math.round(performance.now() - started),
      cpuMs: Math.round((used.user + used.system) / 1000),
      machineCpuMs: machine === null || machineAfter === null ? null : machineAfter - machine,
    };
  });
}

function stats(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    pages: sorted.length,
    mean: round(sorted.reduce((s, v) => s + v, 0) / Math.max(1, sorted.length)),
    p50: round(at(0.5)),
    p95: round(at(0.95)),
    max: round(sorted[sorted.length - 1] ?? 0),
  };
}

const rssMb = () => Math.round(process.memoryUsage().rss / MB);
const importedRssMb = rssMb();
const db = await openAppDatabase(getEnv());
await db.prisma.reconciliationRun.count();
global.gc?.();
const baselineRssMb = rssMb();
const stripe: Stripe = getStripe();
let requests = 0;
stripe.on("request", () => {
  requests += 1;
});

async function pagingOnly() {
  const before = requests;
  let sessions = 0;
  for await (const s of stripe.checkout.sessions.list({
    status: "complete",
    created: { gte: createdFrom, lte: until },
    limit: 100,
  })) {
    if (s.id) sessions += 1;
  }
  return { sessions, stripeRequests: requests - before };
}

async function reconcile(tuning: RunOptions["tuning"]) {
  const dbMs: number[] = [];
  const pageMs: number[] = [];
  const summary = await runReconciliation({
    trigger: "cli",
    since: new Date(createdFrom * 1000),
    until: new Date(until * 1000),
    tuning,
    onProgress: (p) => {
      if (p.lastPage) {
        for (let i = 0; i < p.lastPage.pages; i++) dbMs.push(p.lastPage.dbMs);
        pageMs.push(p.lastPage.totalMs);
      }
    },
  });
  return {
    status: summary.status,
    scanned: summary.scanned,
    creditedNow: summary.creditedNow,
    alreadyCredited: summary.alreadyCredited,
    errors: summary.errors,
    stripeRequests: summary.stripeRequests,
    durationMs: summary.durationMs,
    dbMsPerPage: stats(dbMs),
    listedToRecordedMs: stats(pageMs),
  };
}

const unpaced: RunOptions["tuning"] = { requestsPerSecond: Number.POSITIVE_INFINITY };

/**
 * The machine is shared: wait (up to two minutes) for the 1-minute load average to drop below
 * the number of cores before each measurement, and record what it was.
 */
async function quiet(): Promise<number> {
  // BENCH_MAX_WAIT_MS=0 for exploratory runs that do not need comparable wall times.
  const deadline = Date.now() + Number(process.env.BENCH_MAX_WAIT_MS ?? 120_000);
  while (loadavg()[0] >= cpus().length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 2000));
  }
  return Math.round(loadavg()[0] * 100) / 100;
}

async function measure<T>(fn: () => Promise<T>) {
  const load = await quiet();
  return { ...(await phasePeak(fn)), load };
}

/** The median; for an even count, the mean of the middle two (not the larger one). */
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : Math.round((sorted[mid - 1] + sorted[mid]) / 2);
};

/** With BENCH_PG_STATEMENTS=1: where the first run's Postgres time went, on stderr. */
async function statementProfile<T>(fn: () => Promise<T>): Promise<T> {
  if (!process.env.BENCH_PG_STATEMENTS) return fn();
  await db.query("SELECT pg_stat_statements_reset()", []);
  const value = await fn();
  const rows = await db.query<{ calls: string; ms: number; rows: string; query: string }>(
    `SELECT calls::text, round(total_exec_time::numeric, 1)::float8 AS ms, rows::text,
       left(regexp_replace(query, '\\s+', ' ', 'g'), 160) AS query
     FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 15`,
    [],
  );
  for (const r of rows)
    console.error(
      `${String(r.ms).padStart(9)} ms ${r.calls.padStart(6)} calls ${r.rows.padStart(7)} rows  ${r.query}`,
    );
  return value;
}

/** With BENCH_PROFILE=dir: CPU profiles of the first paging-only pass and the first run alone. */
async function cpuProfile<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const dir = process.env.BENCH_PROFILE;
  if (!dir) return fn();
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.start");
  const value = await fn();
  const { profile } = await session.post("Profiler.stop");
  writeFileSync(path.join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
  session.disconnect();
  return value;
}

// Paging only and the steady state are repeated (median reported); the first run happens once
// (afterwards everything is credited, and ledger entries cannot be deleted to start over).
const paging = [await measure(() => cpuProfile("paging", pagingOnly))];
const firstRun = await measure(() =>
  statementProfile(() => cpuProfile("first-run", () => reconcile(unpaced))),
);
const steady: (typeof firstRun)[] = [];
// BENCH_FIRST_ONLY=1 (exploration): one steady run and no paced run.
const repeats = process.env.BENCH_FIRST_ONLY ? 1 : 3;
for (let i = 0; i < repeats; i++) {
  paging.push(await measure(pagingOnly));
  // The usual night: everything already credited.
  steady.push(await measure(() => reconcile(unpaced)));
}
// The same under the pacing used against api.stripe.com with a live key (80 requests/s); the
// default against the emulator (STRIPE_API_BASE) only slows down on 429s.
const pacedRun = process.env.BENCH_FIRST_ONLY
  ? steady[0]
  : await measure(() => reconcile({ requestsPerSecond: 80 }));
const purchases = await db.prisma.purchase.count();
const ledger = await verifyLedger();
clearInterval(sampler);
await db.close();

const pagingMs = median(paging.map((p) => p.ms));
const steadyRun = steady.find((r) => r.ms === median(steady.map((x) => x.ms)))!;
const runView = (r: typeof firstRun) => ({
  ...r.value,
  wallMs: r.ms,
  cpuMs: r.cpuMs,
  machineCpuMs: r.machineCpuMs,
  peakRssMb: r.peakRssMb,
  peakHeapMb: r.peakHeapMb,
  loadAtStart: r.load,
  ratioToPaging: Math.round((r.ms / pagingMs) * 100) / 100,
});
console.log(
  JSON.stringify({
    pagingOnly: {
      ms: pagingMs,
      runs: paging.map((p) => p.ms),
      cpuMs: median(paging.map((p) => p.cpuMs)),
      machineCpuMs: paging[0].machineCpuMs,
      sessions: paging[0].value.sessions,
      stripeRequests: paging[0].value.stripeRequests,
      peakRssMb: Math.max(...paging.map((p) => p.peakRssMb)),
      loadAtStart: paging.map((p) => p.load),
    },
    firstRun: runView(firstRun),
    steadyRun: { ...runView(steadyRun), runs: steady.map((r) => r.ms) },
    pacedLiveSteadyRun: runView(pacedRun),
    importedRssMb,
    baselineRssMb,
    ...(process.env.BENCH_LIVE_HEAP ? { liveHeapMb: Math.round(liveHeap / MB) } : {}),
    processPeakRssMb: Math.round((process.resourceUsage().maxRSS * 1024) / MB),
    purchasesAfter: purchases,
    ledgerOk: ledger.ok,
  }),
);

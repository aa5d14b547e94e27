/**
 * The measuring half of bench/reconcile/run.ts (which prepares Postgres and the emulator and
 * starts this in a fresh process): paging-only time, then reconciliation runs over the same
 * window, with Stripe requests, database time per page and peak RSS. Prints one JSON object.
 */
import type Stripe from "stripe";
import { openAppDatabase } from "../../app/services/bootstrap.server";
import { getEnv } from "../../app/services/env.server";
import { verifyLedger } from "../../app/services/ledger-verify.server";
import { runReconciliation, type RunOptions } from "../../app/services/reconciliation/run.server";
import { getStripe } from "../../app/services/stripe-client.server";

const [createdFrom, until] = process.argv.slice(2).map(Number);
const MB = 1024 * 1024;

let peak = 0;
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss);
}, 20);

function phasePeak<T>(fn: () => Promise<T>): Promise<{ value: T; peakRssMb: number; ms: number }> {
  global.gc?.();
  peak = process.memoryUsage().rss;
  const started = performance.now();
  return fn().then((value) => ({
    value,
    peakRssMb: Math.round(Math.max(peak, process.memoryUsage().rss) / MB),
    ms: Math.round(performance.now() - started),
  }));
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
        dbMs.push(p.lastPage.dbMs);
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
    pageMsIncludingFulfillment: stats(pageMs),
  };
}

const unpaced: RunOptions["tuning"] = { requestsPerSecond: Number.POSITIVE_INFINITY };
const pagingBefore = await phasePeak(pagingOnly);
const firstRun = await phasePeak(() => reconcile(unpaced));
const pagingAfter = await phasePeak(pagingOnly);
// The usual night: everything already credited.
const steadyRun = await phasePeak(() => reconcile(unpaced));
// The same under the pacing used against api.stripe.com with a live key (80 requests/s); the
// default against the emulator (STRIPE_API_BASE) only slows down on 429s.
const pacedRun = await phasePeak(() => reconcile({ requestsPerSecond: 80 }));
const purchases = await db.prisma.purchase.count();
const ledger = await verifyLedger();
clearInterval(sampler);
await db.close();

const pagingMs = Math.round((pagingBefore.ms + pagingAfter.ms) / 2);
console.log(
  JSON.stringify({
    pagingOnly: {
      ms: pagingMs,
      runs: [pagingBefore.ms, pagingAfter.ms],
      sessions: pagingBefore.value.sessions,
      stripeRequests: pagingBefore.value.stripeRequests,
      peakRssMb: Math.max(pagingBefore.peakRssMb, pagingAfter.peakRssMb),
    },
    firstRun: {
      ...firstRun.value,
      wallMs: firstRun.ms,
      peakRssMb: firstRun.peakRssMb,
      ratioToPaging: Math.round((firstRun.ms / pagingMs) * 100) / 100,
    },
    steadyRun: {
      ...steadyRun.value,
      wallMs: steadyRun.ms,
      peakRssMb: steadyRun.peakRssMb,
      ratioToPaging: Math.round((steadyRun.ms / pagingMs) * 100) / 100,
    },
    pacedLiveSteadyRun: {
      ...pacedRun.value,
      wallMs: pacedRun.ms,
      peakRssMb: pacedRun.peakRssMb,
      ratioToPaging: Math.round((pacedRun.ms / pagingMs) * 100) / 100,
    },
    importedRssMb,
    baselineRssMb,
    processPeakRssMb: Math.round((process.resourceUsage().maxRSS * 1024) / MB),
    purchasesAfter: purchases,
    ledgerOk: ledger.ok,
  }),
);

/**
 * Seeds N completed Checkout Sessions into an in-process emulator and pages through them with
 * the official SDK's auto-pagination (100 per page), as the nightly reconciliation does.
 * Requirement: ≥ 2,000 sessions/s with 200,000 sessions held.
 *
 *   npx tsx bench/emulator/paginate-sessions.ts [--sessions 200000] [--json]
 */
import { cpus, loadavg, totalmem } from "node:os";
import { parseArgs } from "node:util";
import Stripe from "stripe";
import { startEmulator } from "../../emulator/index";

const REQUIRED_PER_SECOND = 2_000;
const DAY = 86_400;

const { values } = parseArgs({
  options: { sessions: { type: "string" }, json: { type: "boolean" } },
});
const total = Number(values.sessions ?? 200_000);
if (!Number.isInteger(total) || total <= 0)
  throw new Error("--sessions must be a positive integer");

const now = 1_790_000_000;
const emulator = await startEmulator({ seed: 7, clock: now });
const { hostname, port } = new URL(emulator.url);
const stripe = new Stripe("sk_test_bench", {
  host: hostname,
  port: Number(port),
  protocol: "http",
});

const price = await stripe.prices.create({
  currency: "usd",
  unit_amount: 1_000,
  product_data: { name: "Bench pack" },
  metadata: { credits: "100" },
});

let t = performance.now();
await emulator.control.seedCompletedSessions(total, {
  priceId: price.id,
  createdFrom: now - 30 * DAY,
  createdTo: now,
  clientReferenceId: (i) => `user_${i}`,
});
const seedSeconds = (performance.now() - t) / 1000;
global.gc?.();
const heapMb = Math.round(process.memoryUsage().heapUsed / 1024 / 1024);

async function pageAll(params: Stripe.Checkout.SessionListParams) {
  const started = performance.now();
  const seen = new Set<string>();
  let previous: { created: number } | undefined;
  let outOfOrder = 0;
  for await (const session of stripe.checkout.sessions.list({ limit: 100, ...params })) {
    if (seen.has(session.id)) throw new Error(`${session.id} returned twice`);
    seen.add(session.id);
    if (previous && session.created > previous.created) outOfOrder++;
    previous = session;
  }
  const seconds = (performance.now() - started) / 1000;
  return { count: seen.size, seconds, perSecond: Math.round(seen.size / seconds), outOfOrder };
}

const all = await pageAll({});
const recent = await pageAll({ status: "complete", created: { gte: now - 7 * DAY } });
t = performance.now();
const retrieved = await stripe.checkout.sessions.retrieve(
  (await stripe.checkout.sessions.list({ limit: 1 })).data[0].id,
  { expand: ["line_items"] },
);
const retrieveMs = performance.now() - t;
await emulator.stop();

const result = {
  sessions: total,
  seedSeconds: Number(seedSeconds.toFixed(2)),
  heapMb,
  allSessions: all,
  reconciliationWindow: recent,
  retrieveWithLineItemsMs: Number(retrieveMs.toFixed(1)),
  machine: {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "unknown",
    memoryGb: Math.round(totalmem() / 1024 ** 3),
    node: process.version,
    // The machine may be shared: a load above the core count slows every number here.
    loadAverage1m: Number(loadavg()[0].toFixed(1)),
  },
  pass:
    all.count === total &&
    all.outOfOrder === 0 &&
    all.perSecond >= REQUIRED_PER_SECOND &&
    retrieved.line_items !== undefined,
};

if (values.json) {
  console.log(JSON.stringify(result, null, 2));
} else {
  console.log(
    `Seeded ${total.toLocaleString("en")} sessions in ${result.seedSeconds}s (heap ${heapMb} MB)`,
  );
  console.log(
    `All sessions:        ${all.count.toLocaleString("en")} in ${all.seconds.toFixed(2)}s = ${all.perSecond.toLocaleString("en")} sessions/s (out of order: ${all.outOfOrder})`,
  );
  console.log(
    `status=complete, 7d: ${recent.count.toLocaleString("en")} in ${recent.seconds.toFixed(2)}s = ${recent.perSecond.toLocaleString("en")} sessions/s`,
  );
  console.log(`Retrieve + expand[]=line_items: ${result.retrieveWithLineItemsMs} ms`);
  console.log(
    `Machine: ${result.machine.cpus} × ${result.machine.cpuModel}, ${result.machine.memoryGb} GB, Node ${result.machine.node}, load ${result.machine.loadAverage1m}`,
  );
  console.log(
    result.pass
      ? `PASS (≥ ${REQUIRED_PER_SECOND} sessions/s)`
      : `FAIL (needs ≥ ${REQUIRED_PER_SECOND} sessions/s)`,
  );
}
process.exitCode = result.pass ? 0 : 1;

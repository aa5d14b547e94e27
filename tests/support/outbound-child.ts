import { openAppDatabase } from "../../app/services/infra/bootstrap.server";
import { getEnv } from "../../app/services/infra/env.server";
import { postLedgerEntry } from "../../app/services/ledger.server";
import { startOutboundWorker } from "../../app/services/outbound/worker.server";

/**
 * A second process for the outbound crash tests (`node --import tsx tests/support/outbound-child.ts
 * MODE`, DATABASE_URL in the environment):
 * - `commit-then-die USER KEY`: posts a grant, prints "committed" and SIGKILLs itself at once,
 *   before any worker could send the event;
 * - `worker`: runs the outbound delivery worker until it is killed.
 */
await openAppDatabase(getEnv(), { migrate: "never" });
const [mode, userId, key] = process.argv.slice(2);
if (mode === "commit-then-die") {
  await postLedgerEntry({ userId, delta: 42, kind: "grant", idempotencyKey: key });
  console.log("committed");
  process.kill(process.pid, "SIGKILL");
} else {
  startOutboundWorker({ concurrency: 4 });
  setInterval(() => undefined, 60_000);
  console.log("outbound worker ready");
}

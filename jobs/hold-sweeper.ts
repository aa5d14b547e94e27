import { expireHolds } from "../app/services/api-holds.server";
import { logger, scrubSecrets } from "../app/services/infra/logger.server";

/**
 * Marks uncaptured API holds past their expiry `expired`, every minute, in the server (with the
 * scheduler) and in `npm run jobs`. Bookkeeping only: a hold stops counting against `available`
 * at its `expires_at` whether or not this has run (app/services/api-holds.server.ts), so a late or
 * missed sweep never keeps credits locked. Several processes may sweep at once (SKIP LOCKED).
 */
export const HOLD_SWEEP_INTERVAL_MS = 60_000;

export function startHoldSweeper(intervalMs = HOLD_SWEEP_INTERVAL_MS): { stop(): Promise<void> } {
  let running: Promise<void> | null = null;
  const sweep = () => {
    if (running) return;
    running = (async () => {
      try {
        // A backlog (the process was down) is worked through in batches of 1,000.
        for (let marked = await expireHolds(); marked === 1000; marked = await expireHolds()) {
          /* next batch */
        }
      } catch (error) {
        logger.warn(
          { err: scrubSecrets(error instanceof Error ? error.message : String(error)) },
          "hold expiry sweep failed; retrying next interval",
        );
      } finally {
        running = null;
      }
    })();
  };
  const timer = setInterval(sweep, intervalMs);
  timer.unref();
  sweep();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

/**
 * The money proof: a property-based test (fast-check model-based testing) on native Postgres.
 *
 * Each run builds a fresh world (tests/support/proof-harness.ts: a database cloned from the
 * migrated template, a seeded Stripe emulator with generated delivery and API faults — dropped,
 * duplicated, reordered, delayed and wrong-secret deliveries, 429s and 500s — the app's real
 * webhook endpoint on an HTTP port and its event-queue worker), then runs a generated sequence of
 * commands (tests/proof/money-model.ts): payments (card and async, attributed by
 * client_reference_id, metadata, email, or to nobody), abandoned and expired checkouts, refunds
 * (partial, repeated), disputes opened / won / lost, subscriptions started, changed and
 * cancelled; concurrent debits through the Credits API with retried and conflicting keys and
 * overdrafts; success-page fulfil calls; redelivered events and staff replays; webhooks of a
 * kind lost for a while; restarts and downtime of the server. Webhooks arrive while the commands
 * run, so they interleave with them.
 *
 * Then the faults stop, retries are delivered (or left for the reconciliation), waiting queue
 * backoffs are skipped, ONE reconciliation runs, and tests/proof/money-checks.ts asserts:
 *   - each user's balance (cache and Σ ledger) = grant + Σ paid − clawed back − debited, exactly,
 *     with the expectation computed from the commands (the model), never from the database;
 *     tiers follow the subscriptions;
 *   - every `ledger verify` identity holds (app/services/ledger-verify.server.ts);
 *   - every delivery the emulator made that got an answer is a webhook_deliveries row;
 *   - nothing is credited twice: one purchase and one `checkout:` entry per paid, attributed
 *     session, none for unpaid sessions or strangers.
 * Commands check what they are answered on the spot (debits 201/200/409/402, success-page outcomes).
 *
 * On failure fast-check shrinks to a minimal command sequence and prints it (each command's
 * toString), with the seed and path to replay it:
 *   npm run test:proof -- --seed <seed> --path "<path>"
 * CI runs PROOF_RUNS (default 10) sequences of up to 18 steps; before a release:
 *   npm run test:proof -- --runs 2000
 *
 * The suite can fail: can-fail.test.ts runs the same property (money-property.ts) against a
 * deliberately broken system and expects fast-check to find and shrink the counterexample, and
 * found-by-proof.test.ts replays the real bug this proof found (a dispute held before an earlier
 * refund was applied) step by step.
 */
import fc from "fast-check";
import { afterAll, describe, it } from "vitest";
import { closeSpareDatabase } from "../support/proof-harness";
import { moneyProperty, stats } from "./money-property";

const RUNS = Number(process.env.PROOF_RUNS ?? 10);
const DEFAULT_MAX_COMMANDS = 18;
const MAX_COMMANDS = Number(process.env.PROOF_MAX_COMMANDS ?? DEFAULT_MAX_COMMANDS);
const SEED = process.env.PROOF_SEED
  ? Number(process.env.PROOF_SEED)
  : (Date.now() ^ Math.floor(Math.random() * 2 ** 31)) | 0;
const PATH = process.env.PROOF_PATH || undefined;

describe("the money proof", () => {
  afterAll(() => closeSpareDatabase());

  it(
    `credits = paid − clawed back − debited, exactly, through faults, restarts and one reconciliation (${RUNS} runs)`,
    async () => {
      const replay = `npm run test:proof -- --seed ${SEED}${MAX_COMMANDS === DEFAULT_MAX_COMMANDS ? "" : ` --commands ${MAX_COMMANDS}`} --path <path>`;
      console.log(
        `[proof] seed ${SEED}, ${RUNS} runs of up to ${MAX_COMMANDS} commands; a failure replays with: ${replay}`,
      );
      await fc.assert(moneyProperty("none", MAX_COMMANDS), {
        numRuns: RUNS,
        seed: SEED,
        ...(PATH ? { path: PATH } : {}),
      });
      console.log(`[proof] exercised: ${[...stats].map(([k, n]) => `${k} ${n}`).join(", ")}`);
    },
    RUNS * 120_000,
  );
});

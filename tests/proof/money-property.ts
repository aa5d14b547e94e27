import fc from "fast-check";
import { settleWebhookQueue } from "../../app/services/webhooks/queue.server";
import { fastForwardQueue, openProofWorld, type ProofWorld } from "../support/proof-harness";
import { reconcile } from "../support/reconcile-kit";
import { checkWorld } from "./money-checks";
import {
  moneyCommand,
  newModel,
  type MoneyCommand,
  type MoneyModel,
  type Mutation,
} from "./money-model";

/**
 * The property of the money proof, shared by money.proof.test.ts (the system as it is) and
 * can-fail.test.ts (a deliberately broken one). What each run does and checks is described at
 * the head of money.proof.test.ts.
 */

const USERS = 3;
const PACKS = 2;
export const scenarioArb = fc.record({
  emulatorSeed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  packs: fc.tuple(
    ...Array.from({ length: PACKS }, () =>
      fc.record({
        credits: fc.integer({ min: 1, max: 1000 }),
        unitAmount: fc.integer({ min: 50, max: 5000 }),
      }),
    ),
  ),
  faults: fc.record({
    dropRate: fc.constantFrom(0, 0.1, 0.3),
    duplicateRate: fc.constantFrom(0, 0.1, 0.3),
    reorder: fc.boolean(),
    delayMs: fc.constantFrom(0, 0, 30),
    wrongSecretRate: fc.constantFrom(0, 0.1, 0.3),
    api429Rate: fc.constantFrom(0, 0, 0.05, 0.15),
    api500Rate: fc.constantFrom(0, 0, 0.05),
  }),
  deliveryConcurrency: fc.integer({ min: 1, max: 3 }),
  /** Send every pending retry before reconciling, or leave those events to the reconciliation. */
  flushBeforeReconcile: fc.boolean(),
});
export type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

/** Stop the storm, let what is due arrive, reconcile once; the problems found, if any. */
async function finish(model: MoneyModel, world: ProofWorld, sc: Scenario): Promise<string[]> {
  if (!world.up) await world.start();
  model.up = true;
  world.emu.control.setFaults({ api429Rate: 0, api500Rate: 0 });
  await world.settle({ flush: sc.flushBeforeReconcile });
  await fastForwardQueue();
  await settleWebhookQueue();
  const run = await reconcile();
  const problems = run.status === "completed" ? [] : [`reconciliation ${run.status}: ${run.error}`];
  return [...problems, ...(await checkWorld(model, world))];
}

/** What the runs exercised, printed after the property (a proof that only ever bought is no proof). */
export const stats = new Map<string, number>();
function tally(model: MoneyModel, ran: string[]) {
  const bump = (k: string, n = 1) => stats.set(k, (stats.get(k) ?? 0) + n);
  bump("runs");
  for (const c of ran) bump(c.slice(0, c.indexOf("(")));
  bump("paid sessions", model.sessions.filter((s) => s.pay === "paid").length);
  bump(
    "refunds",
    model.sessions.reduce((n, s) => n + s.refunds, 0),
  );
  bump("disputes", model.sessions.filter((s) => s.dispute).length);
  bump("debits", model.debits.length);
  if (process.env.PROOF_VERBOSE) console.log(`[proof] ran: ${ran.join(", ")}`);
}

/** Run the commands in order, skipping those that do not apply; the ones that ran, as text. */
async function runCommands(model: MoneyModel, world: ProofWorld, cmds: MoneyCommand[]) {
  const ran: string[] = [];
  for (const cmd of cmds) {
    if (!cmd.check(model)) continue;
    ran.push(cmd.toString());
    try {
      await cmd.run(model, world);
    } catch (error) {
      throw new Error(
        `${(error as Error).message}\n  at step ${ran.length} of: ${ran.join(", ")}`,
        { cause: error },
      );
    }
  }
  return ran;
}

/** No faults: the mutant test shrinks the commands only, which keeps it short. */
export const calmScenario: Scenario = {
  emulatorSeed: 1,
  packs: [
    { credits: 3, unitAmount: 100 },
    { credits: 7, unitAmount: 300 },
  ],
  faults: {
    dropRate: 0,
    duplicateRate: 0,
    reorder: false,
    delayMs: 0,
    wrongSecretRate: 0,
    api429Rate: 0,
    api500Rate: 0,
  },
  deliveryConcurrency: 1,
  flushBeforeReconcile: false,
};

export function moneyProperty(
  mutation: Mutation,
  maxCommands: number,
  scenarios: fc.Arbitrary<Scenario> = scenarioArb,
) {
  return fc.asyncProperty(
    scenarios,
    // Unbiased: fast-check's bias toward tiny values would make most sequences one or two steps long.
    fc.noBias(fc.array(moneyCommand(USERS, PACKS), { maxLength: maxCommands, size: "max" })),
    async (sc, cmds) => {
      const world = await openProofWorld({
        seed: sc.emulatorSeed,
        faults: sc.faults,
        packs: sc.packs,
        users: USERS,
        deliveryConcurrency: sc.deliveryConcurrency,
      });
      try {
        const model = newModel(USERS, mutation);
        const ran = await runCommands(model, world, cmds);
        const problems = await finish(model, world, sc);
        tally(model, ran);
        if (problems.length)
          throw new Error(`\n  ${problems.join("\n  ")}\n  after: ${ran.join(", ") || "nothing"}`);
      } finally {
        await world.close();
      }
    },
  );
}

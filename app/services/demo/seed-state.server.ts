import type { Prisma } from "~/generated/prisma/client";
import { getDb } from "../infra/db.server";

/** AppState key of the demo seed marker: present = seeding started; "done" = never seed again. */
export const SEED_STATE_KEY = "demo.seed";

/** What the seeding did on purpose, so a person (or a test) can check what the app then shows. */
export interface SeedExpectations {
  users: number;
  purchasesPlanned: number;
  /** Purchases whose webhook reached the app: each should be a Purchase right after seeding. */
  purchasesCreditedByWebhook: number;
  /** Paid sessions whose webhooks were dropped: the first reconciliation credits exactly these. */
  droppedPurchases: number;
  droppedSessionIds: string[];
  /** Paid sessions no user matches: attention items, never credited automatically. */
  unmatchedSessions: number;
  unmatchedSessionIds: string[];
  refunds: number;
  disputes: number;
  subscriptions: number;
  subscriptionCancellations: number;
  usageDebits: number;
}

export type SeedState =
  | { status: "running"; seed: number; startedAt: string }
  | {
      status: "done";
      seed: number;
      startedAt: string;
      finishedAt: string;
      durationMs: number;
      /** CPU time the process used meanwhile: the honest measure on a busy machine. */
      cpuMs: number;
      expected: SeedExpectations;
      /** Purchases in the database when seeding finished (equals purchasesCreditedByWebhook). */
      purchasesAtEnd: number;
    }
  | { status: "failed"; seed: number; startedAt: string; finishedAt: string; error: string };

export async function readSeedState(): Promise<SeedState | null> {
  const row = await getDb().appState.findUnique({ where: { key: SEED_STATE_KEY } });
  return row ? (row.value as unknown as SeedState) : null;
}

export async function writeSeedState(state: SeedState): Promise<void> {
  const value = state as unknown as Prisma.InputJsonValue;
  await getDb().appState.upsert({
    where: { key: SEED_STATE_KEY },
    create: { key: SEED_STATE_KEY, value },
    update: { value },
  });
}

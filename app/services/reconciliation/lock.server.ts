import { remember } from "~/lib/remember";
import { getDatabase } from "../infra/db.server";
import {
  acquireRemoteLock,
  remoteLockStatus,
  type RemoteLock,
  type SharedLock,
} from "../infra/embedded-socket.server";
import { DomainError } from "../errors.server";
import { logger, scrubSecrets } from "../infra/logger.server";

/**
 * One reconciliation at a time, across every process. Native Postgres: a transaction-scoped
 * advisory lock held by a transaction that stays open for the whole run (the lock goes away with
 * the connection if the process dies). Embedded PGlite: one process owns the database and keeps
 * the lock in memory; the CLI and the jobs worker reach that database through the owner's socket
 * and ask the owner for the lock over its lock socket, where it lives as long as their connection
 * (an advisory lock would not do: PGlite is one session, in which every process's lock succeeds,
 * and a transaction held open for a run would stop everyone else's statements). The in-process
 * lock also stops a second run in the same process before it reaches the database.
 */

const SHARED_LOCK_NAME = "reconciliation";

/** Two-int advisory key: a namespace for creditdesk and the lock's id within it. */
const LOCK_NAMESPACE = 0x43444b; // "CDK"
const LOCK_ID = 5; // reconciliation
/** Interactive transactions have a timeout; setTimeout overflows above 2^31-1 ms, so stay below. */
const HOLD_TIMEOUT_MS = 7 * 24 * 3600 * 1000;

export class ReconciliationLockedError extends DomainError {
  constructor(public readonly runningRunId: string | null) {
    super(
      409,
      "reconciliation_locked",
      `A reconciliation run is already in progress${runningRunId ? ` (run ${runningRunId})` : ""}; ` +
        "wait for it to finish.",
    );
  }
}

export interface RunLock {
  /** Remember which run holds the lock, so callers in this process can name it. */
  setRunId(runId: string): void;
  /** False once the database connection holding the advisory lock failed. */
  isHeld(): boolean;
  release(): Promise<void>;
}

interface InProcessLock {
  runId: string | null;
  /** Held for another process that reached this process's embedded database through its socket. */
  remote?: boolean;
}

// Remembered (app/lib/remember.ts): the scheduler and the "Run now" button see one lock, also
// across a re-evaluated module.
const holder = remember(
  "reconcile-lock",
  (): { __creditdeskReconcileLock?: InProcessLock | null } => ({}),
);

/** The run id holding the lock in this process, or null when none does. */
export function inProcessRunId(): string | null {
  return holder.__creditdeskReconcileLock?.runId ?? null;
}

interface AdvisoryHold {
  release(): Promise<void>;
  isHeld(): boolean;
}

async function holdAdvisoryLock(): Promise<AdvisoryHold | null> {
  const prisma = getDatabase().prisma;
  let releaseTx!: () => void;
  const released = new Promise<void>((resolve) => (releaseTx = resolve));
  let settle!: (ok: boolean) => void;
  let fail!: (error: unknown) => void;
  const acquired = new Promise<boolean>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  let held = false;
  const tx = prisma
    .$transaction(
      async (t) => {
        const rows = await t.$queryRaw<{ ok: boolean }[]>`
          SELECT pg_try_advisory_xact_lock(${LOCK_NAMESPACE}::int4, ${LOCK_ID}::int4) AS ok`;
        held = rows[0]?.ok === true;
        settle(held);
        if (held) await released;
      },
      { maxWait: 30_000, timeout: HOLD_TIMEOUT_MS },
    )
    .then(
      () => undefined,
      (error: unknown) => {
        if (held) {
          logger.warn(
            { err: scrubSecrets((error as Error)?.message ?? String(error)) },
            "reconciliation lock connection failed; the run continues without the lock",
          );
        }
        held = false;
        fail(error);
      },
    );
  if (!(await acquired)) {
    await tx;
    return null;
  }
  return {
    isHeld: () => held,
    async release() {
      releaseTx();
      await tx;
      held = false;
    },
  };
}

/**
 * Take the reconciliation lock or throw ReconciliationLockedError. The caller must release it
 * (in a finally) when the run ends.
 */
export async function acquireRunLock(): Promise<RunLock> {
  const current = holder.__creditdeskReconcileLock;
  if (current) throw new ReconciliationLockedError(current.runId);
  // Claimed before the first await, so two calls in one process cannot both get past here.
  const mine: InProcessLock = { runId: null };
  holder.__creditdeskReconcileLock = mine;
  const dropInProcess = () => {
    if (holder.__creditdeskReconcileLock === mine) holder.__creditdeskReconcileLock = null;
  };
  let advisory: AdvisoryHold | null = null;
  let remote: RemoteLock | null = null;
  try {
    const db = getDatabase();
    if (db.kind === "postgres") {
      advisory = await holdAdvisoryLock();
      if (!advisory) throw new ReconciliationLockedError(await runningRunIdInDatabase());
    } else if (db.viaOwner) {
      const answer = await acquireRemoteLock(db.viaOwner.runDir, SHARED_LOCK_NAME);
      if (!answer.ok)
        throw new ReconciliationLockedError(answer.holder ?? (await runningRunIdInDatabase()));
      remote = answer.lock;
    }
  } catch (error) {
    dropInProcess();
    throw error;
  }
  let releasing: Promise<void> | undefined;
  return {
    setRunId(runId) {
      mine.runId = runId;
      // Lets the owner name this run to whoever else asks for the lock.
      remote?.setHolder(runId).catch(() => undefined);
    },
    isHeld: () =>
      advisory
        ? advisory.isHeld()
        : remote
          ? remote.isHeld()
          : holder.__creditdeskReconcileLock === mine,
    release() {
      releasing ??= (async () => {
        try {
          await advisory?.release();
          await remote?.release();
        } finally {
          dropInProcess();
        }
      })();
      return releasing;
    },
  };
}

/**
 * The owner's side of the lock socket: a process reaching this process's embedded database asks
 * here, and its claim shares the in-process slot with this process's own runs.
 */
export const sharedReconciliationLock: SharedLock = {
  claim() {
    const current = holder.__creditdeskReconcileLock;
    if (current) return { ok: false, holder: current.runId };
    const claim: InProcessLock = { runId: null, remote: true };
    holder.__creditdeskReconcileLock = claim;
    return {
      ok: true,
      setHolder(id) {
        claim.runId = id;
      },
      release() {
        if (holder.__creditdeskReconcileLock === claim) holder.__creditdeskReconcileLock = null;
      },
    };
  },
  status() {
    const current = holder.__creditdeskReconcileLock;
    return { held: Boolean(current), holder: current?.runId ?? null };
  },
};

/** Whether any process holds the lock right now (the UI uses it to tell a live run from a stale row). */
export async function isRunLockHeld(): Promise<boolean> {
  if (holder.__creditdeskReconcileLock) return true;
  const db = getDatabase();
  if (db.viaOwner) return (await remoteLockStatus(db.viaOwner.runDir, SHARED_LOCK_NAME)).held;
  if (db.kind !== "postgres") return false;
  const rows = await db.prisma.$queryRaw<{ held: boolean }[]>`
    SELECT EXISTS (
      SELECT 1 FROM pg_locks
      WHERE locktype = 'advisory' AND granted
        AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND classid::int8 = ${LOCK_NAMESPACE}::int8 AND objid::int8 = ${LOCK_ID}::int8 AND objsubid = 2
    ) AS held`;
  return rows[0]?.held === true;
}

/** The holder records its run row moments after taking the lock, so look for it briefly. */
async function runningRunIdInDatabase(): Promise<string | null> {
  for (let attempt = 0; ; attempt++) {
    const row = await getDatabase().prisma.reconciliationRun.findFirst({
      where: { status: "running" },
      orderBy: { startedAt: "desc" },
      select: { id: true },
    });
    if (row || attempt >= 10) return row?.id ?? null;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { openDatabase } from "../../app/services/infra/db.server";
import { getDb } from "../../app/services/infra/db.server";
import { ConfigError } from "../../app/services/infra/env.server";
import { startHooks, stopHooks } from "../../app/services/infra/lifecycle.server";
import type { RunSummary, RunTrigger } from "../../app/services/reconciliation/run.server";
import {
  createReconcileScheduler,
  installSchedulerHooks,
  type ScheduleFn,
} from "../../jobs/scheduler";
import { cleanEnv, startProcess, waitFor } from "../support/processes";
import { packAndUsers, useReconcileKit } from "../support/reconcile-kit";
import { testDbKind, useTestDatabase } from "../support/test-database";

const database = useTestDatabase();
const kit = useReconcileKit();

beforeEach(async () => {
  await kit.fresh();
});

afterEach(() => {
  vi.useRealTimers();
});

const HOUR = 3600_000;

function fakeRun(
  log: { trigger: RunTrigger; at: string; signal: AbortSignal }[],
  gate?: Promise<void>,
) {
  return async (trigger: RunTrigger, signal: AbortSignal): Promise<RunSummary> => {
    log.push({ trigger, at: new Date().toISOString(), signal });
    await gate;
    return { runId: `run-${log.length}`, status: "completed" } as RunSummary;
  };
}

/** A cron stand-in: the test fires the scheduled task itself. */
function manualCron() {
  const fired: { task?: () => Promise<void>; stopped: boolean } = { stopped: false };
  const schedule: ScheduleFn = (_expression, task) => {
    fired.task = task;
    return {
      stop: () => {
        fired.stopped = true;
      },
    };
  };
  return { schedule, tick: () => fired.task!(), fired };
}

async function completedRun(finishedAt: Date) {
  return getDb().reconciliationRun.create({
    data: {
      trigger: "schedule",
      status: "completed",
      windowSince: new Date(finishedAt.getTime() - 24 * HOUR),
      windowUntil: finishedAt,
      highWaterMark: finishedAt,
      startedAt: finishedAt,
      finishedAt,
    },
  });
}

describe("reconciliation scheduler", () => {
  it("fires at the cron expression's time in the configured time zone (fake clock)", async () => {
    vi.useFakeTimers({
      now: new Date("2026-03-10T06:58:30Z"),
      toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"],
    });
    const runs: { trigger: RunTrigger; at: string; signal: AbortSignal }[] = [];
    // 08:00 in Berlin is 07:00 UTC in winter (CET) and 06:00 UTC from 29 March (CEST).
    const berlin = createReconcileScheduler({
      cron: "0 8 * * *",
      timezone: "Europe/Berlin",
      lastSuccessAt: async () => new Date("2026-03-09T07:00:00Z"),
      run: fakeRun(runs),
    });
    await berlin.start();
    expect(runs).toEqual([]);
    expect(berlin.nextRunAt()?.toISOString()).toBe("2026-03-10T07:00:00.000Z");
    await vi.advanceTimersByTimeAsync(60_000);
    expect(runs).toEqual([]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(runs.map((r) => r.trigger)).toEqual(["schedule"]);
    expect(runs[0].at.slice(0, 16)).toBe("2026-03-10T07:00");
    // Not again at 08:00 UTC, but at 07:00 UTC the next day.
    await vi.advanceTimersByTimeAsync(HOUR + 5 * 60_000);
    expect(runs).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(23 * HOUR);
    expect(runs.map((r) => r.at.slice(0, 16))).toEqual(["2026-03-10T07:00", "2026-03-11T07:00"]);
    await berlin.stop();

    // New York (EDT since 8 March): 08:00 is 12:00 UTC; UTC itself is 08:00 UTC.
    const ny = createReconcileScheduler({
      cron: "0 8 * * *",
      timezone: "America/New_York",
      lastSuccessAt: async () => new Date(),
      run: fakeRun([]),
    });
    await ny.start();
    expect(ny.nextRunAt()?.toISOString()).toBe("2026-03-11T12:00:00.000Z");
    await ny.stop();
    const utc = createReconcileScheduler({
      cron: "30 3 * * 1",
      timezone: "UTC",
      lastSuccessAt: async () => new Date(),
      run: fakeRun([]),
    });
    await utc.start();
    // 2026-03-11 is a Wednesday: next Monday 03:30 UTC.
    expect(utc.nextRunAt()?.toISOString()).toBe("2026-03-16T03:30:00.000Z");
    await utc.stop();
  });

  it("refuses an invalid cron expression or time zone with a message naming the variable", () => {
    expect(() => createReconcileScheduler({ cron: "every night", timezone: "UTC" })).toThrow(
      ConfigError,
    );
    expect(() => createReconcileScheduler({ cron: "every night", timezone: "UTC" })).toThrow(
      /RECONCILE_CRON/,
    );
    expect(() => createReconcileScheduler({ cron: "0 3 * * *", timezone: "Mars/Olympus" })).toThrow(
      /RECONCILE_TZ/,
    );
  });

  it("catches up on start when there is no completed run, or the last one is older than 26 hours", async () => {
    const runs: { trigger: RunTrigger; at: string; signal: AbortSignal }[] = [];
    const start = async () => {
      const cron = manualCron();
      const scheduler = createReconcileScheduler({
        cron: "0 3 * * *",
        timezone: "UTC",
        run: fakeRun(runs),
        schedule: cron.schedule,
      });
      await scheduler.start();
      await scheduler.idle();
      await scheduler.stop();
    };
    await start();
    expect(runs.map((r) => r.trigger)).toEqual(["catch_up"]);

    await completedRun(new Date(Date.now() - 2 * HOUR));
    await start();
    expect(runs).toHaveLength(1);

    await getDb().reconciliationRun.deleteMany();
    await completedRun(new Date(Date.now() - 27 * HOUR));
    await start();
    expect(runs.map((r) => r.trigger)).toEqual(["catch_up", "catch_up"]);

    // A dry run or an explicit window does not count as the last successful run.
    await getDb().reconciliationRun.deleteMany();
    await getDb().reconciliationRun.create({
      data: {
        trigger: "cli",
        status: "completed",
        dryRun: true,
        windowSince: new Date(Date.now() - HOUR),
        windowUntil: new Date(),
        finishedAt: new Date(),
      },
    });
    await start();
    expect(runs).toHaveLength(3);
  });

  it("never overlaps runs, skips a tick right after a completed run, and stops a run on shutdown", async () => {
    const runs: { trigger: RunTrigger; at: string; signal: AbortSignal }[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let last: Date | null = new Date(Date.now() - 12 * HOUR);
    const cron = manualCron();
    const scheduler = createReconcileScheduler({
      cron: "0 3 * * *",
      timezone: "UTC",
      run: fakeRun(runs, gate),
      lastSuccessAt: async () => last,
      schedule: cron.schedule,
    });
    await scheduler.start();
    expect(runs).toHaveLength(0);
    void cron.tick();
    await waitFor("the first run", async () => runs.length === 1);
    expect(scheduler.isRunning()).toBe(true);
    await cron.tick();
    expect(runs).toHaveLength(1);

    release();
    await scheduler.idle();
    expect(scheduler.isRunning()).toBe(false);
    last = new Date(Date.now() - 60_000);
    await cron.tick();
    expect(runs).toHaveLength(1);
    last = new Date(Date.now() - 12 * HOUR);
    await cron.tick();
    expect(runs).toHaveLength(2);

    let hold!: () => void;
    const slow = createReconcileScheduler({
      cron: "0 3 * * *",
      timezone: "UTC",
      lastSuccessAt: async () => null,
      schedule: manualCron().schedule,
      run: async (trigger, signal) => {
        runs.push({ trigger, at: new Date().toISOString(), signal });
        await new Promise<void>((r) => {
          hold = r;
          signal.addEventListener("abort", () => r());
        });
        return { runId: "slow", status: "partial" } as RunSummary;
      },
    });
    await slow.start();
    await waitFor("the catch-up run", async () => runs.length === 3);
    await slow.stop();
    expect(runs[2].signal.aborted).toBe(true);
    expect(slow.isRunning()).toBe(false);
    hold();
    await scheduler.stop();
    expect(cron.fired.stopped).toBe(true);
  });

  it("runs inside the server's start-up hooks (SCHEDULER=on) and records a real catch-up run", async () => {
    const { mp } = kit.ctx;
    const { price, users } = await packAndUsers(mp, 2);
    const now = Math.floor(Date.now() / 1000);
    await mp.emu.control.seedCompletedSessions(2, {
      priceId: price.id,
      createdFrom: now - 600,
      createdTo: now - 60,
      clientReferenceId: (i) => users[i].id,
    });
    kit.setEnv({ SCHEDULER: "on", RECONCILE_CRON: "0 3 1 1 *" });
    installSchedulerHooks();
    await startHooks("listening", { url: kit.ctx.receiver.url });
    await waitFor(
      "the catch-up run",
      async () => (await getDb().reconciliationRun.count({ where: { status: "completed" } })) === 1,
    );
    await stopHooks();
    const run = await getDb().reconciliationRun.findFirstOrThrow();
    expect(run).toMatchObject({ trigger: "catch_up", status: "completed", creditedNow: 2 });
    kit.setEnv({});
  });
});

describe("npm run jobs (worker process)", () => {
  it("compiled as npm run jobs runs it: opens the database, runs the catch-up and stops gracefully on SIGTERM", async () => {
    // `npm run jobs` compiles jobs/worker.ts (scripts/build-server.mjs) and runs the JavaScript;
    // this process's own file, since both database projects run at once.
    const compiled = `build/jobs-worker.test-${process.pid}.js`;
    const built = spawnSync(
      process.execPath,
      ["scripts/build-server.mjs", "--entry", "jobs/worker.ts", "--out", compiled],
      { encoding: "utf8" },
    );
    expect(built.status, built.stderr).toBe(0);
    const { mp } = kit.ctx;
    const { price, users } = await packAndUsers(mp, 30);
    const now = Math.floor(Date.now() / 1000);
    await mp.emu.control.seedCompletedSessions(30, {
      priceId: price.id,
      createdFrom: now - 600,
      createdTo: now - 60,
      clientReferenceId: (i) => users[i].id,
    });
    // Slow enough that SIGTERM arrives while the run is going.
    mp.emu.control.setFaults({ apiLatencyMs: 400 });
    const dataDir =
      testDbKind() === "pglite" ? mkdtempSync(path.join(os.tmpdir(), "creditdesk-worker-")) : null;
    const env = cleanEnv({
      ...(dataDir ? { DATA_DIR: dataDir } : { DATABASE_URL: database.db.url! }),
      STRIPE_SECRET_KEY: "sk_test_creditdesk_tests",
      STRIPE_API_BASE: mp.emu.url,
      STRIPE_WEBHOOK_SECRET: mp.secret,
      APP_URL: kit.ctx.receiver.url,
      LOG_LEVEL: "info",
    });
    const worker = startProcess("node", ["--max-old-space-size=256", compiled], env);
    try {
      await waitFor(
        "the catch-up run to start",
        async () => worker.output().includes("reconciliation run started"),
        90_000,
      );
      expect(worker.output()).toContain("creditdesk jobs worker running");
      const code = await worker.stop("SIGTERM");
      expect(code, worker.output()).toBe(0);
      expect(worker.output()).toContain("jobs worker shutting down");
      if (dataDir) {
        // Embedded database: the worker owned the directory; look at it now that it has exited.
        const db = await openDatabase({ kind: "pglite", dataDir });
        try {
          const runs = await db.prisma.reconciliationRun.findMany();
          expect(runs).toHaveLength(1);
          expect(["completed", "partial"]).toContain(runs[0].status);
          expect(runs[0].trigger).toBe("catch_up");
        } finally {
          await db.close();
        }
      } else {
        const runs = await getDb().reconciliationRun.findMany();
        expect(runs).toHaveLength(1);
        expect(["completed", "partial"]).toContain(runs[0].status);
      }
    } finally {
      await worker.stop("SIGKILL");
      mp.emu.control.setFaults({ apiLatencyMs: 0 });
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
      rmSync(compiled, { force: true });
    }
  }, 150_000);
});

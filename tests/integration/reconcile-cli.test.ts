import { PassThrough, Readable } from "node:stream";
import { beforeEach, describe, expect, it } from "vitest";
import { getDb } from "../../app/services/infra/db.server";
import { startReconciliation } from "../../app/services/reconciliation/run.server";
import { run } from "../../jobs/cli-runner";
import { commands } from "../../jobs/commands/index";
import { runCli } from "../support/cli";
import { cleanEnv, startProcess } from "../support/processes";
import { packAndUsers, purchasesFor, TEST_TUNING, useReconcileKit } from "../support/reconcile-kit";
import { testDbKind, useTestDatabase } from "../support/test-database";

const database = useTestDatabase();
const kit = useReconcileKit();

beforeEach(async () => {
  await kit.fresh();
});

async function seeded(n: number) {
  const { mp } = kit.ctx;
  const { price, users } = await packAndUsers(mp, n, { credits: 3 });
  const now = Math.floor(Date.now() / 1000);
  return mp.emu.control.seedCompletedSessions(n, {
    priceId: price.id,
    createdFrom: now - 3600,
    createdTo: now - 60,
    clientReferenceId: (i) => users[i].id,
  });
}

const JSON_KEYS = [
  "alreadyCredited",
  "creditedNow",
  "durationMs",
  "errors",
  "needsAttention",
  "runId",
  "scanned",
  "status",
  "stripeRequests",
  "undeliveredEvents",
  "window",
];

describe("npm run cli -- reconcile", () => {
  it("--json prints exactly the documented object and exits 0 for a completed run", async () => {
    const ids = await seeded(3);
    const result = await runCli(["reconcile", "--json"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split("\n")).toHaveLength(1);
    const out = result.json<Record<string, unknown>>();
    expect(Object.keys(out).sort()).toEqual(JSON_KEYS);
    expect(out).toMatchObject({
      status: "completed",
      scanned: 3,
      creditedNow: 3,
      alreadyCredited: 0,
      needsAttention: 0,
      errors: 0,
    });
    const window = out.window as { since: string; until: string };
    expect(Object.keys(window).sort()).toEqual(["since", "until"]);
    expect(new Date(window.since).toISOString()).toBe(window.since);
    expect(new Date(window.until).getTime() - new Date(window.since).getTime()).toBe(
      3 * 24 * 3600 * 1000,
    );
    for (const key of [
      "scanned",
      "creditedNow",
      "alreadyCredited",
      "needsAttention",
      "undeliveredEvents",
      "errors",
      "stripeRequests",
      "durationMs",
    ]) {
      expect(Number.isInteger(out[key])).toBe(true);
    }
    expect(out.stripeRequests as number).toBeGreaterThan(0);
    expect(await purchasesFor(ids)).toHaveLength(3);
    const row = await getDb().reconciliationRun.findUniqueOrThrow({
      where: { id: out.runId as string },
    });
    expect(row.trigger).toBe("cli");
  });

  it("honours --since/--until and --dry-run", async () => {
    const ids = await seeded(4);
    const since = new Date(Date.now() - 2 * 3600_000).toISOString();
    const until = new Date(Date.now() + 60_000).toISOString();
    const result = await runCli([
      "reconcile",
      "--since",
      since,
      "--until",
      until,
      "--dry-run",
      "--json",
    ]);
    expect(result.code).toBe(0);
    const out = result.json<{
      window: { since: string; until: string };
      creditedNow: number;
      runId: string;
    }>();
    expect(out.window).toEqual({ since, until });
    expect(out.creditedNow).toBe(4);
    expect(await purchasesFor(ids)).toHaveLength(0);
    const row = await getDb().reconciliationRun.findUniqueOrThrow({ where: { id: out.runId } });
    expect(row).toMatchObject({ dryRun: true, highWaterMark: null });
  });

  it("exits 2 for usage errors: bad dates, since not before until, unknown options", async () => {
    for (const argv of [
      ["reconcile", "--since", "yesterday"],
      ["reconcile", "--until", "2026-02-31", "--since", "2026-02-01"],
      ["reconcile", "--since", "2026-11-02", "--until", "2026-11-01"],
      ["reconcile", "--since", "2026-11-01T00:00:00Z", "--until", "2026-11-01T00:00:00Z"],
      ["reconcile", "--frobnicate"],
    ]) {
      const result = await runCli(argv);
      expect(result.code, argv.join(" ")).toBe(2);
      expect(result.stderr).toContain("Usage: npm run cli -- reconcile");
    }
    expect(await getDb().reconciliationRun.count()).toBe(0);
  });

  it("exits 1 when Stripe fails and the run ends partial", async () => {
    await seeded(2);
    kit.ctx.mp.emu.control.setFaults({ api500Rate: 1 });
    const result = await runCli(["reconcile", "--json"]);
    expect(result.code).toBe(1);
    expect(result.json<{ status: string }>().status).toBe("partial");
  });

  it("exits 3 when another run holds the lock", async () => {
    await seeded(10);
    kit.ctx.mp.emu.control.setFaults({ apiLatencyMs: 150 });
    const holder = await startReconciliation({
      trigger: "manual",
      tuning: { ...TEST_TUNING, pageSize: 2 },
    });
    try {
      const json = await runCli(["reconcile", "--json"]);
      expect(json.code).toBe(3);
      expect(json.json()).toMatchObject({
        ok: false,
        code: "reconciliation_locked",
        runningRunId: holder.runId,
      });
      const human = await runCli(["reconcile"]);
      expect(human.code).toBe(3);
      expect(human.stderr).toContain("already in progress");
    } finally {
      await holder.done;
      kit.ctx.mp.emu.control.setFaults({ apiLatencyMs: 0 });
    }
  });

  it("prints plain progress lines without a terminal and a progress bar on one", async () => {
    await seeded(3);
    const plain = await runCli(["reconcile"]);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/^page 1: 1 page\(s\), 3 session\(s\), 3 credited now/m);
    expect(plain.stdout).toMatch(/completed/);
    expect(plain.stdout).not.toContain("\r");

    await seeded(2);
    const out = Object.assign(new PassThrough(), { isTTY: true });
    let text = "";
    out.on("data", (c) => (text += c));
    const code = await run(
      ["reconcile"],
      commands,
      { stdout: out, stderr: new PassThrough(), stdin: Readable.from([]) },
      { useOpenDatabase: true },
    );
    expect(code).toBe(0);
    expect(text).toMatch(/\r\[[#.]{24}\] 1 page\(s\), \d+ session\(s\), 2 credited now/);
  });
});

describe("two processes", () => {
  if (testDbKind() === "postgres") {
    it("start a run at the same moment: one runs, the other exits 3", async () => {
      const ids = await seeded(40);
      const { mp } = kit.ctx;
      // Slow Stripe down so the first run is still going when the second process asks.
      mp.emu.control.setFaults({ apiLatencyMs: 1500 });
      const env = cleanEnv({
        DATABASE_URL: database.db.url!,
        STRIPE_SECRET_KEY: "sk_test_creditdesk_tests",
        STRIPE_API_BASE: mp.emu.url,
        STRIPE_WEBHOOK_SECRET: mp.secret,
        APP_URL: kit.ctx.receiver.url,
        SCHEDULER: "off",
        LOG_LEVEL: "silent",
      });
      const a = startProcess("npx", ["tsx", "jobs/cli.ts", "reconcile", "--json"], env);
      const b = startProcess("npx", ["tsx", "jobs/cli.ts", "reconcile", "--json"], env);
      const codes = await Promise.all([a.exited, b.exited]);
      mp.emu.control.setFaults({ apiLatencyMs: 0 });
      const outputs = [a.output(), b.output()];
      expect(codes.slice().sort(), outputs.join("\n---\n")).toEqual([0, 3]);
      const winner = JSON.parse(outputs[codes.indexOf(0)].trim().split("\n").pop()!) as {
        status: string;
        creditedNow: number;
        runId: string;
      };
      const loser = JSON.parse(outputs[codes.indexOf(3)].trim().split("\n").pop()!) as {
        code: string;
        runningRunId: string;
      };
      expect(winner).toMatchObject({ status: "completed", creditedNow: 40 });
      expect(loser).toMatchObject({ code: "reconciliation_locked", runningRunId: winner.runId });
      expect(await getDb().reconciliationRun.count()).toBe(1);
      expect(await purchasesFor(ids)).toHaveLength(40);
    }, 120_000);
  } else {
    // PGlite: a second process cannot open the data directory at all, so the lock to prove is the
    // in-process one — a CLI run in the process that is already reconciling exits 3.
    it("embedded database: a second run in the same process exits 3", async () => {
      await seeded(6);
      kit.ctx.mp.emu.control.setFaults({ apiLatencyMs: 100 });
      const first = await startReconciliation({
        trigger: "cli",
        tuning: { ...TEST_TUNING, pageSize: 2 },
      });
      const second = await runCli(["reconcile", "--json"]);
      expect(second.code).toBe(3);
      const summary = await first.done;
      kit.ctx.mp.emu.control.setFaults({ apiLatencyMs: 0 });
      expect(summary).toMatchObject({ status: "completed", creditedNow: 6 });
      expect(await getDb().reconciliationRun.count()).toBe(1);
    });
  }
});

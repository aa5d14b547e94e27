import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { beforeEach, describe, expect, it } from "vitest";
import { getDb } from "../../app/services/infra/db.server";
import { verifyLedger } from "../../app/services/ledger-verify.server";
import { ReconciliationLockedError } from "../../app/services/reconciliation/lock.server";
import { getRun, getRunningRun } from "../../app/services/reconciliation/queries.server";
import {
  startReconciliation,
  startRun,
  type RunSummary,
} from "../../app/services/reconciliation/run.server";
import { createStripeClient } from "../../app/services/infra/stripe-client.server";
import { waitFor } from "../support/processes";
import {
  allRunItems,
  packAndUsers,
  purchasesFor,
  reconcile,
  TEST_TUNING,
  useReconcileKit,
} from "../support/reconcile-kit";
import { useTestDatabase } from "../support/test-database";

useTestDatabase();
const kit = useReconcileKit();

beforeEach(async () => {
  await kit.fresh();
});

/** `n` completed, paid sessions created over the last `hours` (two by default), without any events. */
async function seeded(n: number, { credits = 5, hours = 2 } = {}) {
  const { mp } = kit.ctx;
  const { price, users } = await packAndUsers(mp, n, { credits });
  const now = Math.floor(Date.now() / 1000);
  const createdFrom = now - hours * 3600;
  const createdTo = now - 60;
  const ids = await mp.emu.control.seedCompletedSessions(n, {
    priceId: price.id,
    createdFrom,
    createdTo,
    clientReferenceId: (i) => users[i].id,
  });
  // The emulator spreads `created` evenly; index i is the i-th oldest.
  const createdAt = (i: number) =>
    createdFrom + Math.floor((i * (createdTo - createdFrom)) / (n - 1));
  return { ids, users, createdAt };
}

/**
 * A proxy in front of the emulator that answers 500 to every request for a later page of
 * sessions (the first page and re-lists with line items pass): Stripe failing mid-run, exactly.
 */
function failingLaterPages(target: string) {
  return failingProxy(
    target,
    (url) =>
      url.startsWith("/v1/checkout/sessions?") &&
      url.includes("starting_after") &&
      !url.includes("expand"),
  );
}

/** A proxy in front of the emulator that answers 500 to the requests `fails` picks. */
async function failingProxy(target: string, fails: (url: string) => boolean) {
  let failed = 0;
  const hop = new Set(["host", "connection", "content-length", "transfer-encoding", "keep-alive"]);
  const server = createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const url = req.url ?? "/";
      if (fails(url)) {
        failed += 1;
        res.writeHead(500, { "Content-Type": "application/json" });
        res.end(
          JSON.stringify({
            error: { type: "api_error", message: "Injected failure for a later page." },
          }),
        );
        return;
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers))
        if (typeof v === "string" && !hop.has(k)) headers[k] = v;
      const upstream = await fetch(`${target}${url}`, {
        method: req.method,
        headers,
        body: chunks.length > 0 ? Buffer.concat(chunks) : undefined,
      });
      const out: Record<string, string> = {};
      upstream.headers.forEach((v, k) => {
        if (!hop.has(k)) out[k] = v;
      });
      res.writeHead(upstream.status, out);
      res.end(Buffer.from(await upstream.arrayBuffer()));
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    failed: () => failed,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The `created[lte]` of a sessions list request, or null for any other request. */
function listedUntil(url: string): number | null {
  if (!url.startsWith("/v1/checkout/sessions?")) return null;
  const lte = new URL(url, "http://x").searchParams.get("created[lte]");
  return lte === null ? null : Number(lte);
}

describe("reconciliation with two listings per segment (lanes)", () => {
  const LANES = { ...TEST_TUNING, pageSize: 10, listLanes: 2 };

  it("lists the older half alongside once the first page is full, and processes every session once", async () => {
    const { ids, createdAt } = await seeded(45, { hours: 23 });
    const since = new Date((createdAt(0) - 1) * 1000);
    const until = new Date(Date.now());
    const run = await reconcile({ since, until, tuning: LANES });
    expect(run.status).toBe("completed");
    expect(run.scanned).toBe(45);
    expect(run.creditedNow).toBe(45);
    expect(run.errors).toBe(0);
    // Two listings: the window's, and one that ends where the first lane stops.
    const lanesUntil = new Set(
      kit.ctx.mp.emu.control
        .requestLog()
        .filter((r) => r.method === "GET" && r.path === "/v1/checkout/sessions" && !r.params.expand)
        .map((r) => (r.params.created as { lte?: unknown } | undefined)?.lte),
    );
    expect(lanesUntil.size).toBe(2);
    const items = await allRunItems(run.runId);
    expect(items).toHaveLength(45);
    expect(new Set(items.map((i) => i.checkoutSessionId)).size).toBe(45);
    expect(items.every((i) => i.outcome === "credited_now")).toBe(true);
    expect(await purchasesFor(ids)).toHaveLength(45);
    expect((await verifyLedger()).ok).toBe(true);
  });

  it("when the older lane fails, the checkpoint stops where the newer lane began and the next run lists only the rest", async () => {
    kit.setEnv({ RECONCILE_OVERLAP_MINUTES: "0", RECONCILE_LOOKBACK_DAYS: "1" });
    const { ids } = await seeded(45, { hours: 23 });
    let windowUntil = 0;
    let olderUntil = 0;
    // The first listing's created[lte] is the window's end; any other is the older lane's.
    const proxy = await failingProxy(kit.ctx.mp.emu.url, (url) => {
      const lte = listedUntil(url);
      if (lte === null || url.includes("expand")) return false;
      windowUntil ||= lte;
      if (lte === windowUntil) return false;
      olderUntil = lte;
      return true;
    });
    try {
      const noRetries = createStripeClient({
        secretKey: "sk_test_creditdesk_tests",
        apiBase: proxy.url,
        maxNetworkRetries: 0,
      });
      const first = await reconcile({ stripe: noRetries, tuning: LANES });
      expect(first.status).toBe("partial");
      expect(proxy.failed()).toBe(1);
      const credited = await purchasesFor(ids);
      expect(first.creditedNow).toBe(credited.length);
      expect(credited.length).toBeGreaterThan(10);
      expect(credited.length).toBeLessThan(45);
      // The newer lane covered everything from the older lane's end up: that is the checkpoint,
      // every session from there on was credited and none below it.
      expect(first.checkpoint?.getTime()).toBe((olderUntil + 1) * 1000);
      for (const p of credited)
        expect(p.stripeCreatedAt.getTime()).toBeGreaterThanOrEqual((olderUntil + 1) * 1000);
      const row = await getRun(first.runId);
      expect(row).toMatchObject({ status: "partial", scanned: credited.length });

      const second = await reconcile({ tuning: LANES });
      expect(second.status).toBe("completed");
      expect(second.resumedFromRunId).toBe(first.runId);
      expect(second.creditedNow).toBe(45 - credited.length);
      expect(second.scanned).toBe(45 - credited.length);
    } finally {
      await proxy.close();
    }
    expect(await purchasesFor(ids)).toHaveLength(45);
    expect((await verifyLedger()).ok).toBe(true);
  });
});

describe("reconciliation under Stripe faults", () => {
  it("completes through a 429 storm, slowing down instead of failing", async () => {
    const { ids } = await seeded(30);
    const { mp } = kit.ctx;
    mp.emu.control.setFaults({ api429Rate: 0.4 });
    const run = await reconcile({ tuning: { ...TEST_TUNING, pageSize: 10 } });
    mp.emu.control.setFaults({ api429Rate: 0 });
    expect(run.status).toBe("completed");
    expect(run.error).toBeNull();
    expect(run.creditedNow).toBe(30);
    expect(run.pages).toBe(3);
    expect(run.rateLimited).toBeGreaterThan(0);
    const limited = mp.emu.control.requestLog().filter((r) => r.fault === "rate_limit").length;
    expect(limited).toBeGreaterThan(0);
    // Every request, the refused ones too, is counted.
    expect(run.stripeRequests).toBeGreaterThanOrEqual(limited + run.pages);
    expect(await purchasesFor(ids)).toHaveLength(30);
    expect((await verifyLedger()).ok).toBe(true);
  });

  it("ends partial when Stripe fails mid-run (after the SDK's retries), and the next run resumes from the checkpoint", async () => {
    kit.setEnv({ RECONCILE_OVERLAP_MINUTES: "0" });
    const { ids, createdAt } = await seeded(25);
    const proxy = await failingLaterPages(kit.ctx.mp.emu.url);
    let second: RunSummary;
    try {
      // The SDK itself retries (twice) before the run gives up.
      const retrying = createStripeClient({
        secretKey: "sk_test_creditdesk_tests",
        apiBase: proxy.url,
        maxNetworkRetries: 2,
      });
      const first = await reconcile({ stripe: retrying, tuning: { ...TEST_TUNING, pageSize: 10 } });
      expect(first.status).toBe("partial");
      expect(first.error).toMatch(/Stripe error during sessions/);
      expect(proxy.failed()).toBe(3);
      expect(first.pages).toBe(1);
      expect(first.creditedNow).toBe(10);
      expect(first.highWaterMark).toBeNull();
      // The ten newest were processed: the checkpoint is the oldest of them (index 15 of 0…24).
      expect(first.checkpoint?.getTime()).toBe(createdAt(15) * 1000);
      const row = await getRun(first.runId);
      expect(row).toMatchObject({ status: "partial", pages: 1, creditedNow: 10, scanned: 10 });

      second = await reconcile({ tuning: { ...TEST_TUNING, pageSize: 10 } });
      expect(second.status).toBe("completed");
      expect(second.resumedFromRunId).toBe(first.runId);
      // Only what the partial run did not finish: sessions 0…15 (15 is the checkpoint itself).
      expect(second.scanned).toBe(16);
      expect(second.creditedNow).toBe(15);
      expect(second.alreadyCredited).toBe(1);
      expect(second.highWaterMark).toEqual(second.window.until);
    } finally {
      await proxy.close();
    }
    expect(await purchasesFor(ids)).toHaveLength(25);
    expect((await verifyLedger()).ok).toBe(true);

    // Once completed, the next run starts at the high-water mark again (no resume).
    const third = await reconcile();
    expect(third.resumedFromRunId).toBeNull();
    expect(third.window.since).toEqual(second!.window.until);
    expect(third.scanned).toBe(0);
  });

  it("stops after the current page when aborted (shutdown) and records the run as partial", async () => {
    const { ids } = await seeded(20);
    const abort = new AbortController();
    const run = await reconcile({
      signal: abort.signal,
      tuning: { ...TEST_TUNING, pageSize: 5 },
      onProgress: (p) => {
        if (p.pages >= 1) abort.abort();
      },
    });
    expect(run.status).toBe("partial");
    expect(run.error).toMatch(/shutting down/);
    // Pages already being fulfilled when the stop came are finished and recorded, never cut off.
    expect(run.pages).toBeGreaterThanOrEqual(1);
    expect(run.creditedNow).toBe(5 * run.pages);
    expect(await purchasesFor(ids)).toHaveLength(run.creditedNow);
    const next = await reconcile({ tuning: { ...TEST_TUNING, pageSize: 5 } });
    expect(next.status).toBe("completed");
    expect(next.creditedNow).toBe(20 - run.creditedNow);
    expect(await purchasesFor(ids)).toHaveLength(20);
  });
});

describe("one run at a time", () => {
  it("refuses a second run while one is in progress and shows the running one with its progress", async () => {
    await seeded(20);
    const { mp } = kit.ctx;
    mp.emu.control.setFaults({ apiLatencyMs: 60 });
    const started = await startReconciliation({
      trigger: "manual",
      tuning: { ...TEST_TUNING, pageSize: 5 },
    });
    const error = await startReconciliation({ trigger: "cli" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReconciliationLockedError);
    expect((error as ReconciliationLockedError).runningRunId).toBe(started.runId);
    expect((error as ReconciliationLockedError).status).toBe(409);
    const running = await waitFor("progress to be saved", async () => {
      const r = await getRunningRun();
      return r && r.pages >= 1 ? r : undefined;
    });
    expect(running.id).toBe(started.runId);
    expect(running.status).toBe("running");
    expect(running.scanned).toBeGreaterThanOrEqual(5);
    const summary = await started.done;
    mp.emu.control.setFaults({ apiLatencyMs: 0 });
    expect(summary.status).toBe("completed");
    expect(summary.creditedNow).toBe(20);
    expect(await getRunningRun()).toBeNull();
    // Only one run was recorded.
    expect(await getDb().reconciliationRun.count()).toBe(1);
  });

  it("does not report a run left 'running' by a dead process, and the next run closes it", async () => {
    const stale = await getDb().reconciliationRun.create({
      data: {
        trigger: "schedule",
        status: "running",
        windowSince: new Date(Date.now() - 3600_000),
        windowUntil: new Date(),
      },
    });
    expect(await getRunningRun()).toBeNull();
    const run = await reconcile();
    expect(run.status).toBe("completed");
    const closed = await getDb().reconciliationRun.findUniqueOrThrow({ where: { id: stale.id } });
    expect(closed.status).toBe("failed");
    expect(closed.error).toMatch(/Interrupted/);
  });

  it("starts a run for the dashboard in the background, attributed to the staff member", async () => {
    await seeded(3);
    const staff = await getDb().staffUser.create({
      data: {
        email: `admin-${Date.now()}@example.com`,
        role: "admin",
        passwordHash: "scrypt$test",
      },
    });
    const { runId } = await startRun({ staffId: staff.id, dryRun: true });
    await waitFor("the run to finish", async () => (await getRun(runId))?.status === "completed");
    const run = await getRun(runId);
    expect(run).toMatchObject({
      trigger: "manual",
      dryRun: true,
      staffId: staff.id,
      creditedNow: 3,
    });
    const audit = await getDb().auditLog.findFirst({ where: { targetId: runId } });
    expect(audit).toMatchObject({
      actorType: "staff",
      actorId: staff.id,
      action: "reconciliation.dry_run",
    });
  });
});

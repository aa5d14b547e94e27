import { beforeAll, describe, expect, it } from "vitest";
import { loader as runLoader } from "../../app/routes/_app.reconciliation.$runId/route";
import {
  action as runsAction,
  loader as runsLoader,
} from "../../app/routes/_app.reconciliation._index/route";
import { loader as progressLoader } from "../../app/routes/reconciliation.progress";
import { getDb } from "../../app/services/infra/db.server";
import { syncPacks } from "../../app/services/packs.server";
import { callAction, callLoader } from "../support/admin";
import {
  balanceOf,
  createPrice,
  createUser,
  paidSession,
  useMoneyPath,
} from "../support/money-path";
import { waitFor } from "../support/processes";
import { createStaffWithSession } from "../support/staff";
import { useTestDatabase } from "../support/test-database";

useTestDatabase();
const mp = useMoneyPath();

let priceId = "";
const cookies = { support: "", finance: "", admin: "" };
beforeAll(async () => {
  priceId = (await createPrice(mp.ctx.stripe, { credits: 40, unitAmount: 400 })).id;
  await syncPacks();
  for (const role of ["support", "finance", "admin"] as const)
    cookies[role] = (await createStaffWithSession(role)).cookie;
});

type Progress = {
  run: { id: string; status: string; creditedNow: number; scanned: number } | null;
  running: boolean;
};
type RunPage = {
  run: {
    id: string;
    status: string;
    dryRun: boolean;
    creditedNow: number;
    outcomes: Record<string, number>;
  };
  items: {
    checkoutSessionId: string;
    outcome: string;
    user: { id: string; balance: number } | null;
  }[];
};

async function progress(runId: string) {
  const res = await callLoader(progressLoader, `/reconciliation/progress?run=${runId}`, {
    cookie: cookies.support,
  });
  expect(res.status).toBe(200);
  return (await res.response!.json()) as Progress;
}

async function finished(runId: string) {
  return waitFor(`run ${runId} to finish`, async () => {
    const p = await progress(runId);
    return p.run && p.run.status !== "running" ? p : undefined;
  });
}

function runIdOf(location: string | null): string {
  const match = /^\/reconciliation\/([0-9a-f-]{36})$/.exec(location ?? "");
  if (!match) throw new Error(`expected a redirect to a run, got ${location}`);
  return match[1];
}

describe("reconciliation from the dashboard", () => {
  it("validates Run now and refuses it to support and finance", async () => {
    for (const who of ["support", "finance"] as const) {
      expect(
        (
          await callAction(
            runsAction,
            "/reconciliation?index",
            { intent: "run" },
            { cookie: cookies[who] },
          )
        ).status,
      ).toBe(403);
    }
    type Fail = { fieldErrors: Record<string, string> };
    const backwards = await callAction<Fail>(
      runsAction,
      "/reconciliation?index",
      { intent: "run", from: "2026-03-10", to: "2026-03-01" },
      { cookie: cookies.admin },
    );
    expect(backwards.status).toBe(400);
    expect(backwards.data!.fieldErrors.to).toBe("The end date must not be before the start date.");
    const future = await callAction<Fail>(
      runsAction,
      "/reconciliation?index",
      { intent: "dry-run", from: "2999-01-01" },
      { cookie: cookies.admin },
    );
    expect(future.data!.fieldErrors.from).toBe("The start date is in the future.");
    const bad = await callAction<Fail>(
      runsAction,
      "/reconciliation?index",
      { intent: "dry-run", from: "yesterday" },
      { cookie: cookies.admin },
    );
    expect(bad.data!.fieldErrors.from).toMatch(/must be a date/);
    expect(await getDb().reconciliationRun.count()).toBe(0);
  });

  it("a dry run shows what it would credit and changes nothing; Run now credits the missing purchase once", async () => {
    const user = await createUser();
    // Paid in Stripe, but the webhook never reached us.
    const session = await paidSession(mp.ctx, { priceId, clientReferenceId: user.id });

    const dry = await callAction(
      runsAction,
      "/reconciliation?index",
      { intent: "dry-run" },
      { cookie: cookies.admin },
    );
    expect(dry.status).toBe(302);
    const dryId = runIdOf(dry.location);
    expect((await finished(dryId)).run!.status).toBe("completed");
    const dryPage = await callLoader<RunPage>(runLoader, `/reconciliation/${dryId}`, {
      cookie: cookies.finance,
      params: { runId: dryId },
    });
    expect(dryPage.data!.run.dryRun).toBe(true);
    expect(dryPage.data!.items.find((i) => i.checkoutSessionId === session.id)?.outcome).toBe(
      "credited_now",
    );
    expect(await balanceOf(user.id)).toBe(0);
    expect(await getDb().purchase.count({ where: { checkoutSessionId: session.id } })).toBe(0);

    const run = await callAction(
      runsAction,
      "/reconciliation?index",
      { intent: "run" },
      { cookie: cookies.admin },
    );
    const runId = runIdOf(run.location);
    expect((await finished(runId)).run).toMatchObject({ status: "completed", creditedNow: 1 });
    const page = await callLoader<RunPage>(
      runLoader,
      `/reconciliation/${runId}?outcome=credited_now`,
      { cookie: cookies.support, params: { runId } },
    );
    expect(page.status).toBe(200);
    expect(page.data!.run.outcomes.credited_now).toBe(1);
    const item = page.data!.items.find((i) => i.checkoutSessionId === session.id);
    expect(item).toMatchObject({ outcome: "credited_now", user: { id: user.id, balance: 40 } });
    expect(await balanceOf(user.id)).toBe(40);
    expect(
      await getDb().auditLog.count({ where: { action: "reconciliation.run", targetId: runId } }),
    ).toBe(1);

    const list = await callLoader<{
      runs: { id: string; creditedNow: number }[];
      running: unknown;
    }>(runsLoader, "/reconciliation", { cookie: cookies.finance });
    expect(list.data!.runs.map((r) => r.id).slice(0, 2)).toEqual([runId, dryId]);
    expect(list.data!.running).toBeNull();

    // A second run finds it credited: nothing twice.
    const again = runIdOf(
      (
        await callAction(
          runsAction,
          "/reconciliation?index",
          { intent: "run" },
          { cookie: cookies.admin },
        )
      ).location,
    );
    expect((await finished(again)).run!.creditedNow).toBe(0);
    expect(await balanceOf(user.id)).toBe(40);
  });

  it("shows a run in progress instead of starting a second one", async () => {
    await paidSession(mp.ctx, { priceId, clientReferenceId: (await createUser()).id });
    mp.ctx.emu.control.setFaults({ apiLatencyMs: 400 });
    let runId = "";
    try {
      runId = runIdOf(
        (
          await callAction(
            runsAction,
            "/reconciliation?index",
            { intent: "run" },
            { cookie: cookies.admin },
          )
        ).location,
      );
      const second = await callAction<{
        fieldErrors: Record<string, string>;
        outcome: { runningRunId: string | null };
      }>(runsAction, "/reconciliation?index", { intent: "dry-run" }, { cookie: cookies.admin });
      expect(second.status).toBe(409);
      expect(second.data!.fieldErrors.form).toMatch(/already in progress/);
      expect(second.data!.outcome.runningRunId).toBe(runId);
      const list = await callLoader<{ running: { id: string } | null }>(
        runsLoader,
        "/reconciliation",
        { cookie: cookies.support },
      );
      expect(list.data!.running?.id).toBe(runId);
      const live = await progress(runId);
      expect(live.running).toBe(true);
    } finally {
      mp.ctx.emu.control.setFaults({ apiLatencyMs: 0 });
    }
    expect((await finished(runId)).run!.status).toBe("completed");
    expect(await getDb().reconciliationRun.count({ where: { status: "running" } })).toBe(0);
    const missing = await callLoader(
      runLoader,
      "/reconciliation/7d7e9c1c-0000-4000-8000-000000000000",
      {
        cookie: cookies.admin,
        params: { runId: "7d7e9c1c-0000-4000-8000-000000000000" },
      },
    );
    expect(missing.status).toBe(404);
  });
});

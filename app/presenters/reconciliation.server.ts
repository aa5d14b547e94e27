import { z } from "zod";
import type { runItemsSearchSchema } from "~/services/admin/reconciliation-admin.server";
import { getDb } from "~/services/infra/db.server";
import { NotFoundError } from "~/services/errors.server";
import {
  getRun,
  getRunningRun,
  listRunItems,
  listRuns,
  type RunView,
} from "~/services/reconciliation/index.server";

/**
 * The reconciliation pages' read models: the runs, one run with its sessions, and the progress a
 * running run's page polls. Starting a run (a command) lives in
 * services/admin/reconciliation-admin.server.ts.
 */

export const RUNS_PAGE_SIZE = 25;
export const RUN_ITEMS_PAGE_SIZE = 100;

export async function listRunsPage(before: string | undefined) {
  const [page, running] = await Promise.all([
    listRuns({ limit: RUNS_PAGE_SIZE, before: before ?? null }),
    getRunningRun(),
  ]);
  return { ...page, running };
}

export async function getRunDetailPage(
  runId: string,
  filter: z.output<typeof runItemsSearchSchema>,
) {
  if (!z.uuid().safeParse(runId).success) throw new NotFoundError("Reconciliation run", runId);
  // Items before the run: a running run writes each batch of items in the same statement as its
  // counters, so counters read afterwards always include every item shown (never "credited now 0"
  // beside a credited_now item).
  const items = await listRunItems(runId, {
    outcome: filter.outcome,
    after: filter.after ?? null,
    limit: RUN_ITEMS_PAGE_SIZE,
  });
  const run = await getRun(runId);
  if (!run) throw new NotFoundError("Reconciliation run", runId);
  const db = getDb();
  const userIds = [
    ...new Set(items.items.map((i) => i.userId).filter((id): id is string => Boolean(id))),
  ];
  const sessionIds = items.items.map((i) => i.checkoutSessionId);
  const [users, attention, staff] = await Promise.all([
    userIds.length
      ? db.user.findMany({
          where: { id: { in: userIds } },
          select: { id: true, email: true, balance: true },
        })
      : [],
    sessionIds.length
      ? db.attentionItem.findMany({
          where: { checkoutSessionId: { in: sessionIds } },
          orderBy: { createdAt: "desc" },
          select: { id: true, checkoutSessionId: true, status: true, kind: true },
        })
      : [],
    run.staffId
      ? db.staffUser.findUnique({ where: { id: run.staffId }, select: { email: true } })
      : null,
  ]);
  const userById = new Map(users.map((u) => [u.id, u]));
  const attentionBySession = new Map<string, { id: string; status: string; kind: string }>();
  for (const a of attention)
    if (a.checkoutSessionId && !attentionBySession.has(a.checkoutSessionId))
      attentionBySession.set(a.checkoutSessionId, a);
  return {
    run,
    startedBy: staff?.email ?? null,
    items: items.items.map((i) => ({
      id: i.id,
      checkoutSessionId: i.checkoutSessionId,
      outcome: i.outcome,
      userId: i.userId,
      user: i.userId ? (userById.get(i.userId) ?? null) : null,
      purchaseId: i.purchaseId,
      amountTotal: i.amountTotal,
      currency: i.currency,
      detail: i.detail,
      sessionCreatedAt: i.sessionCreatedAt,
      attention: attentionBySession.get(i.checkoutSessionId) ?? null,
    })),
    nextCursor: items.nextCursor,
  };
}

export interface ProgressView {
  run: RunView | null;
  running: boolean;
}

/** For polling: the given run's counters, or the run in progress when no id is given. */
export async function getProgress(runId: string | null): Promise<ProgressView> {
  if (runId) {
    if (!z.uuid().safeParse(runId).success) throw new NotFoundError("Reconciliation run", runId);
    const run = await getRun(runId);
    if (!run) throw new NotFoundError("Reconciliation run", runId);
    const { doctor: _d, outcomes: _o, ...view } = run;
    return { run: view, running: run.status === "running" };
  }
  const running = await getRunningRun();
  return { run: running, running: Boolean(running) };
}

import { z } from "zod";
import { DATE_RANGE_ISSUE, isDateRangeOrdered } from "~/shared/date-range";
import { getDb } from "../db.server";
import { NotFoundError, ValidationError } from "../errors.server";
import {
  getRun,
  getRunningRun,
  ITEM_OUTCOMES,
  listRunItems,
  listRuns,
  ReconciliationLockedError,
  startRun,
  type ItemOutcome,
  type RunView,
} from "../reconciliation/index.server";
import { ITEM_OUTCOME_HELP } from "./ops-labels";
import { cursorParam, dayAfter, dayStart, optionalDay, optionalEnum } from "./forms.server";

/**
 * The dashboard side of reconciliation. The run itself (window, lock, passes, doctor, alerts) is
 * the reconciliation service's; this module only lists, links and starts runs through its API.
 */

export const RUNS_PAGE_SIZE = 25;
export const RUN_ITEMS_PAGE_SIZE = 100;

export const runsSearchSchema = z.object({ before: cursorParam });

export const runItemsSearchSchema = z.object({
  outcome: optionalEnum(ITEM_OUTCOMES, "outcome"),
  after: z.preprocess(
    (v) => (typeof v === "string" && v.trim() !== "" ? v : undefined),
    z
      .string()
      // An item row id, or a position among the sessions found already credited (c<batch>.<n>).
      .regex(/^(\d{1,19}|c\d{1,19}\.\d{1,9})$/, { error: "This page link is not valid." })
      .optional(),
  ),
});

export { ITEM_OUTCOMES, ITEM_OUTCOME_HELP };

// Every outcome the run records has an explanation on the page.
const _help: Record<ItemOutcome, string> = ITEM_OUTCOME_HELP;
void _help;

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

export const runNowSchema = z
  .object({
    dryRun: z.preprocess((v) => v === "true" || v === "on" || v === "yes", z.boolean()),
    from: optionalDay("From"),
    to: optionalDay("To"),
  })
  .refine(isDateRangeOrdered, DATE_RANGE_ISSUE)
  .refine((f) => !f.from || dayStart(f.from).getTime() <= Date.now(), {
    path: ["from"],
    error: "The start date is in the future.",
  });

export type StartOutcome =
  | { started: true; runId: string }
  | { started: false; message: string; runningRunId: string | null };

/**
 * Start a run (or a dry run) for staff. The reconciliation lock decides whether one may start: a
 * run already in progress anywhere is reported with its id, never started twice.
 */
export async function startRunAsStaff(
  input: z.output<typeof runNowSchema>,
  staffId: string,
): Promise<StartOutcome> {
  const since = input.from ? dayStart(input.from) : undefined;
  let until = input.to ? dayAfter(input.to) : undefined;
  if (until && until.getTime() > Date.now()) until = new Date();
  if (since && until && since >= until) throw new ValidationError("The window is empty.", "to");
  try {
    const { runId } = await startRun({ staffId, dryRun: input.dryRun, since, until });
    return { started: true, runId };
  } catch (error) {
    if (error instanceof ReconciliationLockedError) {
      const running = error.runningRunId ?? (await getRunningRun())?.id ?? null;
      return { started: false, message: error.message, runningRunId: running };
    }
    throw error;
  }
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

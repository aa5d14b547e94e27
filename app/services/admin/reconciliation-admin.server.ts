import { z } from "zod";
import { DATE_RANGE_ISSUE, isDateRangeOrdered } from "~/shared/date-range";
import { ValidationError } from "../errors.server";
import {
  getRunningRun,
  ITEM_OUTCOMES,
  ReconciliationLockedError,
  startRun,
  type ItemOutcome,
} from "../reconciliation/index.server";
import { ITEM_OUTCOME_HELP } from "../../shared/ops-labels";
import { cursorParam, dayAfter, dayStart, optionalDay, optionalEnum } from "./forms.server";

/**
 * The dashboard side of reconciliation. The run itself (window, lock, passes, doctor, alerts) is
 * the reconciliation service's; this module starts runs through its API (the pages' reads are in
 * app/presenters/reconciliation.server.ts).
 */

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

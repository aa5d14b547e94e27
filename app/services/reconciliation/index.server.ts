// The reconciliation's public surface, for routes, jobs and the CLI.
export {
  runWebhookDoctor,
  type DoctorFinding,
  type DoctorReport,
  type FindingSeverity,
} from "./doctor.server";
export { ReconciliationLockedError } from "./lock.server";
export {
  getRun,
  getRunningRun,
  lastSuccessfulRunAt,
  listRunItems,
  listRuns,
  type ItemPage,
  type RunDetail,
  type RunPage,
  type RunView,
} from "./queries.server";
export {
  ITEM_OUTCOMES,
  runReconciliation,
  startReconciliation,
  startRun,
  type ItemOutcome,
  type RunOptions,
  type RunProgress,
  type RunSummary,
  type RunTrigger,
} from "./run.server";
export { parseWindowBound } from "./window.server";

// Imported by server.ts for its side effect: `npm start` runs the nightly reconciliation once the
// server listens (unless SCHEDULER=off) and stops it, gracefully, on shutdown.
import { installSchedulerHooks } from "./scheduler";

installSchedulerHooks();

import { getDatabase, type Database } from "./db.server";
import { serveEmbeddedDatabase, type EmbeddedSocket } from "./embedded-socket.server";
import { onStart, onStop } from "./lifecycle.server";
import { logger } from "./logger.server";
import { sharedReconciliationLock } from "../reconciliation/lock.server";

/**
 * The process that owns the embedded database shares it (server.ts installs its hook once;
 * `npm run jobs` calls shareEmbeddedDatabase itself when it is the owner): CLI commands and the
 * jobs worker then work while it runs. Nothing happens on Postgres or in memory.
 */
export async function shareEmbeddedDatabase(db: Database): Promise<EmbeddedSocket | null> {
  if (!db.pglite || !db.dataDir) return null;
  try {
    const shared = await serveEmbeddedDatabase({
      pglite: db.pglite,
      dataDir: db.dataDir,
      locks: { reconciliation: sharedReconciliationLock },
    });
    logger.info(
      { socket: shared.socketPath },
      "embedded database shared with this user's processes",
    );
    return shared;
  } catch (error) {
    // The server works without it, as before; only CLI commands must then wait for it to stop.
    logger.warn(
      { err: (error as Error).message },
      "the embedded database cannot be shared with other processes: CLI commands and " +
        "npm run jobs refuse while this process runs",
    );
    return null;
  }
}

/** Share the database once it is open (server.ts installs this hook once). */
export function installEmbeddedShareHook(): void {
  onStart("after-database", "embedded-socket", async () => {
    const shared = await shareEmbeddedDatabase(getDatabase());
    // Registered after the database opened, so it stops before the database closes.
    if (shared) onStop("embedded-socket", () => shared.stop());
  });
}

import { getEnv, type Env } from "./env.server";
import { openDatabase, resolveDatabaseTarget, setDatabase, type Database } from "./db.server";
import { applyMigrations } from "./migrations.server";
import { logger } from "./logger.server";

/**
 * Open the configured database for this process and make it the one services use.
 * Embedded PGlite is migrated on open by the process that owns it (a process reaching it through
 * the owner's socket finds it migrated); Postgres only when asked (`MIGRATE_ON_START=true` or the
 * CLI's `migrate`), so several replicas do not race.
 * `throughOwner` (CLI, jobs worker): when a server holds DATA_DIR, go through it instead of refusing.
 */
export async function openAppDatabase(
  env: Env = getEnv(),
  opts: { migrate?: "auto" | "always" | "never"; throughOwner?: boolean } = {},
): Promise<Database> {
  const target = resolveDatabaseTarget(env);
  const db = await openDatabase(target, { throughOwner: opts.throughOwner });
  const mode = opts.migrate ?? "auto";
  const owned = db.kind === "pglite" && !db.viaOwner;
  const shouldMigrate = mode === "always" || (mode === "auto" && (owned || env.MIGRATE_ON_START));
  if (shouldMigrate) {
    try {
      const applied = await applyMigrations(db.adapterFactory);
      if (applied.length > 0) logger.info({ applied }, "applied database migrations");
    } catch (error) {
      await db.close();
      throw error;
    }
  }
  setDatabase(db);
  return db;
}

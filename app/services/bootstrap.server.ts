import { getEnv, type Env } from "./env.server";
import { openDatabase, resolveDatabaseTarget, setDatabase, type Database } from "./db.server";
import { applyMigrations } from "./migrations.server";
import { logger } from "./logger.server";

/**
 * Open the configured database for this process and make it the one services use.
 * Embedded PGlite is always migrated on open (nobody else can reach it); Postgres only when
 * asked (`MIGRATE_ON_START=true` or the CLI's `migrate`), so several replicas do not race.
 */
export async function openAppDatabase(
  env: Env = getEnv(),
  opts: { migrate?: "auto" | "always" | "never" } = {},
): Promise<Database> {
  const target = resolveDatabaseTarget(env);
  const db = await openDatabase(target);
  const mode = opts.migrate ?? "auto";
  const shouldMigrate =
    mode === "always" || (mode === "auto" && (db.kind === "pglite" || env.MIGRATE_ON_START));
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

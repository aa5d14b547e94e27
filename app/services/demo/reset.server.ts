import { existsSync, rmSync } from "node:fs";
import { ConfigError, type Env } from "../infra/env.server";
import { DomainError } from "../errors.server";
import { acquireDirectoryLock } from "../infra/pglite-lock.server";
import { demoFiles } from "./files.server";

export class DemoResetRefused extends DomainError {
  constructor(message: string) {
    super(409, "demo_reset_refused", message);
  }
}

export interface DemoResetReport {
  dataDir: string;
  removed: string[];
}

/**
 * Delete the demo's state in DATA_DIR — the embedded database, the Stripe emulator's snapshot,
 * the session secret and the demo login — so the next `npm start` seeds again. Only for the
 * embedded database in demo mode, and only while no server holds DATA_DIR (the PGlite lock).
 */
export function resetDemoData(env: Env, opts: { force?: boolean } = {}): DemoResetReport {
  if (env.DATABASE_URL) {
    throw new DemoResetRefused(
      "demo reset only removes the embedded database in DATA_DIR; DATABASE_URL points at Postgres. " +
        "Drop and recreate that database yourself if you really mean to start over.",
    );
  }
  if (!env.demoMode) {
    throw new DemoResetRefused(
      env.NODE_ENV === "production"
        ? "demo reset is refused with NODE_ENV=production."
        : "STRIPE_SECRET_KEY is set, so this is not demo mode; demo reset refuses to delete a database used with a real Stripe account.",
    );
  }
  const files = demoFiles(env.DATA_DIR);
  if (!existsSync(files.dataDir)) return { dataDir: files.dataDir, removed: [] };
  if (existsSync(files.database) && !existsSync(files.stripeSnapshot) && !opts.force) {
    throw new DemoResetRefused(
      `${files.database} has no demo Stripe data beside it (${files.stripeSnapshot}), so it may not be demo data. ` +
        "Pass --force to delete it anyway.",
    );
  }
  let lock;
  try {
    lock = acquireDirectoryLock(files.dataDir);
  } catch (error) {
    if (error instanceof ConfigError) {
      throw new DemoResetRefused(
        `creditdesk is running on DATA_DIR ${files.dataDir}: stop it first (Ctrl-C in its terminal), then run demo reset again.\n(${error.message})`,
      );
    }
    throw error;
  }
  try {
    const removed: string[] = [];
    for (const target of [files.database, files.stripeSnapshot, files.sessionSecret, files.login]) {
      if (!existsSync(target)) continue;
      rmSync(target, { recursive: true, force: true });
      removed.push(target);
    }
    return { dataDir: files.dataDir, removed };
  } finally {
    lock.release();
  }
}

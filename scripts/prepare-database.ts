/**
 * Getting the embedded database ready before the server starts, because creating it is most of a
 * first start's wait (PGlite's initdb, then the migrations; docs/benchmarks.md, "First start"):
 *
 *   tsx scripts/prepare-database.ts --template   (postinstall) makes an empty, migrated database
 *       once in node_modules/.cache/creditdesk/, keyed by the PGlite version and the migrations;
 *   node build/prepare-database.js               (npm start, compiled by scripts/build-server.mjs,
 *       while the Remix build runs) gives a DATA_DIR without a database a copy of that template,
 *       or creates one if there is no template for these migrations (and keeps it as the template),
 *       then opens it exactly as the server will (openAppDatabase: pending migrations applied).
 *
 * Neither ever fails the command that runs it: on Postgres, with a configuration error, without
 * the app's sources (the Docker image's dependency layer), or when another process holds DATA_DIR,
 * it does nothing and the server reports whatever there is to report.
 */
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const cacheDir = path.join(root, "node_modules", ".cache", "creditdesk");

const seconds = (since: number) => ((performance.now() - since) / 1000).toFixed(1);

/** The template for the installed PGlite and the migrations in prisma/migrations. */
async function templateDir(): Promise<string> {
  const { listMigrationDirs } = await import("../app/services/infra/migrations.server");
  const pglite = JSON.parse(
    readFileSync(path.join(root, "node_modules/@electric-sql/pglite/package.json"), "utf8"),
  ) as { version: string };
  const hash = createHash("sha256");
  for (const m of listMigrationDirs()) hash.update(`${m.name}\n${m.sql}\n`);
  return path.join(cacheDir, `pglite-${pglite.version}-${hash.digest("hex").slice(0, 16)}`);
}

/** Copy `from` to `to` through a temporary sibling, so `to` appears whole or not at all. */
function copyWhole(from: string, to: string): boolean {
  const partial = `${to}.partial-${process.pid}`;
  try {
    mkdirSync(path.dirname(to), { recursive: true });
    cpSync(from, partial, { recursive: true });
    renameSync(partial, to);
    return true;
  } catch {
    rmSync(partial, { recursive: true, force: true });
    return false;
  }
}

/** postinstall: make the template if it is missing. */
async function makeTemplate() {
  const template = await templateDir();
  if (existsSync(template)) return;
  const started = performance.now();
  const { PGlite } = await import("@electric-sql/pglite");
  const { PrismaPGlite } = await import("pglite-prisma-adapter");
  const { applyMigrations } = await import("../app/services/infra/migrations.server");
  const building = `${template}.partial-${process.pid}`;
  rmSync(building, { recursive: true, force: true });
  mkdirSync(path.dirname(building), { recursive: true });
  const pg = new PGlite(building);
  try {
    await applyMigrations(new PrismaPGlite(pg));
  } finally {
    await pg.close();
  }
  try {
    renameSync(building, template);
  } catch {
    rmSync(building, { recursive: true, force: true });
    return;
  }
  console.log(
    `creditdesk: prepared an empty embedded database for the first start (${seconds(started)} s).`,
  );
}

/** npm start: DATA_DIR's database exists and is migrated when this returns. */
async function prepareDataDir() {
  const { getEnv } = await import("../app/services/infra/env.server");
  const { resolveDatabaseTarget } = await import("../app/services/infra/db.server");
  const { openAppDatabase } = await import("../app/services/infra/bootstrap.server");
  const env = getEnv();
  const target = resolveDatabaseTarget(env);
  if (target.kind !== "pglite" || target.dataDir === "memory://") return;
  const database = path.join(target.dataDir, "pglite");
  if (existsSync(path.join(database, "PG_VERSION"))) {
    // Apply migrations added since the last start while the build runs.
    await (await openAppDatabase(env)).close();
    return;
  }
  const started = performance.now();
  const shown = path.relative(process.cwd(), database) || database;
  const template = await templateDir();
  if (existsSync(template) && !existsSync(database) && copyWhole(template, database)) {
    await (await openAppDatabase(env)).close();
    console.log(`Embedded database created in ${shown} in ${seconds(started)} s.`);
    return;
  }
  console.log(`Creating the embedded database in ${shown} (first start only)…`);
  await (await openAppDatabase(env)).close();
  console.log(`Embedded database created and migrated in ${seconds(started)} s.`);
  // Still empty: the next fresh DATA_DIR (a `demo reset`, a test) copies it instead.
  if (!existsSync(template)) copyWhole(database, template);
}

try {
  if (process.argv.includes("--template")) await makeTemplate();
  else await prepareDataDir();
} catch {
  // The server (or the next install) reports or retries; nothing here may stop the command.
}
// Something the database modules leave behind keeps Node alive for about 10 s after close();
// nothing is pending by now, and npm start waits for this process.
process.exit(0);

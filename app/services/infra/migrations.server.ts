import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { bindMigrationAwareSqlAdapterFactory } from "@prisma/driver-adapter-utils";
import type { SqlMigrationAwareDriverAdapterFactory } from "@prisma/driver-adapter-utils";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPGlite } from "pglite-prisma-adapter";
import type * as EngineTypes from "@prisma/schema-engine-wasm";
import { remember } from "~/lib/remember";

/**
 * Migrations through Prisma's own schema engine compiled to WebAssembly, driven by the same driver
 * adapters as the app. This writes `_prisma_migrations` exactly as `prisma migrate deploy` does
 * (same table, same checksums), so both tools can manage one database; it exists because this
 * project must migrate where Prisma's native engines cannot be downloaded.
 */

// The repository root: the nearest folder above this module with prisma/schema.prisma. Searched,
// not counted: this module also runs bundled into build/index.js (server.ts mounts the Remix build).
const projectRoot = findProjectRoot(path.dirname(fileURLToPath(import.meta.url)));
function findProjectRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, "prisma", "schema.prisma"))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(from, "../..");
  }
}
export const defaultPrismaDir = path.join(projectRoot, "prisma");

type SchemaEngine = EngineTypes.SchemaEngine;
const filters = { externalTables: [] as string[], externalEnums: [] as string[] };

type EngineModule = typeof import("@prisma/schema-engine-wasm/schema_engine_bg");

/**
 * The engine's JS glue is one Node module with one `wasm` slot, shared by everyone who imports it.
 * This file may be evaluated more than once in a process (vitest runs the postgres and proof
 * projects' global setups side by side in one process), and a second instantiation would swap the
 * slot under the first engine mid-migration (a wasm panic). So: one instance per process, and one
 * engine at a time.
 */
const engineHost = remember("schema-engine-wasm", () => ({
  ready: undefined as Promise<EngineModule> | undefined,
  tail: Promise.resolve() as Promise<unknown>,
}));

/** Node cannot import a .wasm ES module, so instantiate the engine's wasm by hand. */
function loadEngineModule(): Promise<EngineModule> {
  engineHost.ready ??= (async () => {
    const bg = await import("@prisma/schema-engine-wasm/schema_engine_bg");
    const require = createRequire(import.meta.url);
    const wasmPath = path.join(
      path.dirname(require.resolve("@prisma/schema-engine-wasm/schema_engine_bg")),
      "schema_engine_bg.wasm",
    );
    const { instance } = await WebAssembly.instantiate(readFileSync(wasmPath), {
      "./schema_engine_bg.js": bg as unknown as WebAssembly.ModuleImports,
    });
    const exports = instance.exports as unknown as { __wbindgen_start(): void };
    (bg as unknown as { __wbg_set_wasm(e: unknown): void }).__wbg_set_wasm(exports);
    exports.__wbindgen_start();
    return bg;
  })();
  return engineHost.ready;
}

/** Run `work` when no other engine in this process is working. */
function oneEngineAtATime<T>(work: () => Promise<T>): Promise<T> {
  const run = engineHost.tail.then(work, work);
  engineHost.tail = run.catch(() => undefined);
  return run;
}

type ScriptClient = {
  exec?: (sql: string) => Promise<unknown>;
  query?: (sql: string) => Promise<unknown>;
};

/**
 * The pg adapter runs a script by splitting it on every ";", which breaks PL/pgSQL bodies
 * (our append-only trigger), and the PGlite adapter does not await its script. Send each
 * migration script whole instead: Postgres' simple-query protocol runs many statements at once.
 */
function wholeScriptAdapter<T extends object>(adapter: T): T {
  const client = (adapter as unknown as { client: ScriptClient }).client;
  const executeScript = async (script: string) => {
    if (client.exec) await client.exec(script);
    else await client.query!(script);
  };
  return new Proxy(adapter, {
    get(target, prop, receiver) {
      if (prop === "executeScript") return executeScript;
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

function wholeScriptFactory(
  factory: SqlMigrationAwareDriverAdapterFactory,
): SqlMigrationAwareDriverAdapterFactory {
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: async () => wholeScriptAdapter(await factory.connect()),
    connectToShadowDb: async () => wholeScriptAdapter(await factory.connectToShadowDb()),
  };
}

async function createEngine(
  adapterFactory: SqlMigrationAwareDriverAdapterFactory,
  prismaDir: string,
): Promise<SchemaEngine> {
  const bg = await loadEngineModule();
  const schemaPath = path.join(prismaDir, "schema.prisma");
  const datamodel = readFileSync(schemaPath, "utf8");
  const engine = await (
    bg.SchemaEngine as unknown as {
      new: (o: unknown, log: (s: string) => void, a: unknown) => Promise<SchemaEngine>;
    }
  ).new(
    { datamodels: [[schemaPath, datamodel]] },
    () => {},
    bindMigrationAwareSqlAdapterFactory(wholeScriptFactory(adapterFactory)),
  );
  return engine;
}

export interface MigrationDir {
  name: string;
  sql: string;
}

export function listMigrationDirs(prismaDir = defaultPrismaDir): MigrationDir[] {
  const dir = path.join(prismaDir, "migrations");
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(dir, d.name, "migration.sql")))
    .map((d) => ({
      name: d.name,
      sql: readFileSync(path.join(dir, d.name, "migration.sql"), "utf8"),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

function migrationsList(prismaDir: string): EngineTypes.MigrationList {
  const baseDir = path.join(prismaDir, "migrations");
  const lockPath = path.join(baseDir, "migration_lock.toml");
  return {
    baseDir,
    lockfile: {
      path: "migration_lock.toml",
      content: existsSync(lockPath) ? readFileSync(lockPath, "utf8") : null,
    },
    migrationDirectories: listMigrationDirs(prismaDir).map((m) => ({
      path: m.name,
      migrationFile: { path: "migration.sql", content: { tag: "ok", value: m.sql } },
    })),
    shadowDbInitScript: "",
  } as EngineTypes.MigrationList;
}

/** Apply pending migrations; returns the names applied now. */
export async function applyMigrations(
  adapterFactory: SqlMigrationAwareDriverAdapterFactory,
  prismaDir = defaultPrismaDir,
): Promise<string[]> {
  return oneEngineAtATime(async () => {
    const engine = await createEngine(adapterFactory, prismaDir);
    try {
      const out = await engine.applyMigrations({
        migrationsList: migrationsList(prismaDir),
        filters,
      });
      return out.appliedMigrationNames;
    } finally {
      engine.free();
    }
  });
}

export interface MigrationStatus {
  name: string;
  state: "applied" | "pending" | "failed" | "modified";
  appliedAt: string | null;
}

type Queryable = { $queryRawUnsafe<T = unknown>(sql: string): Promise<T> };

/** Applied/pending per migration directory, read from `_prisma_migrations` like Prisma does. */
export async function migrationStatus(
  db: Queryable,
  prismaDir = defaultPrismaDir,
): Promise<MigrationStatus[]> {
  const exists = await db.$queryRawUnsafe<{ t: string | null }[]>(
    "SELECT to_regclass('_prisma_migrations')::text AS t",
  );
  const rows = exists[0]?.t
    ? await db.$queryRawUnsafe<
        {
          migration_name: string;
          checksum: string;
          finished_at: Date | null;
          rolled_back_at: Date | null;
        }[]
      >("SELECT migration_name, checksum, finished_at, rolled_back_at FROM _prisma_migrations")
    : [];
  return listMigrationDirs(prismaDir).map((m) => {
    const row = rows.find((r) => r.migration_name === m.name && !r.rolled_back_at);
    if (!row) return { name: m.name, state: "pending", appliedAt: null };
    if (!row.finished_at) return { name: m.name, state: "failed", appliedAt: null };
    const checksum = createHash("sha256").update(m.sql).digest("hex");
    return {
      name: m.name,
      state: checksum === row.checksum ? "applied" : "modified",
      appliedAt: new Date(row.finished_at).toISOString(),
    };
  });
}

/**
 * SQL that takes the database built by the existing migrations to `schema.prisma`. Runs against
 * throwaway in-memory PGlite databases, so it needs no running database at all.
 */
export async function diffMigrationsToSchema(prismaDir = defaultPrismaDir): Promise<string> {
  const scratch = new PGlite();
  try {
    return await oneEngineAtATime(async () => {
      const engine = await createEngine(new PrismaPGlite(scratch), prismaDir);
      try {
        const schemaPath = path.join(prismaDir, "schema.prisma");
        const hasMigrations = listMigrationDirs(prismaDir).length > 0;
        const result = await engine.diff({
          from: hasMigrations
            ? { tag: "migrations", ...migrationsList(prismaDir) }
            : { tag: "empty" },
          to: {
            tag: "schemaDatamodel",
            files: [{ path: schemaPath, content: readFileSync(schemaPath, "utf8") }],
          },
          script: true,
          exitCode: null,
          filters,
        } as unknown as EngineTypes.DiffParams);
        return result.stdout ?? "";
      } finally {
        engine.free();
      }
    });
  } finally {
    await scratch.close();
  }
}

export function isEmptyMigration(sql: string): boolean {
  return (
    sql
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("--")).length === 0
  );
}

function timestamp(now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`;
}

/** Write `prisma/migrations/<timestamp>_<name>/migration.sql`; null when there is nothing to do. */
export async function createMigration(
  name: string,
  prismaDir = defaultPrismaDir,
  now = new Date(),
): Promise<{ dir: string; sql: string } | null> {
  if (!/^[a-z0-9_]+$/.test(name)) {
    throw new Error(
      `Migration name "${name}" must use only lower-case letters, digits and underscores.`,
    );
  }
  const sql = await diffMigrationsToSchema(prismaDir);
  if (isEmptyMigration(sql)) return null;
  const baseDir = path.join(prismaDir, "migrations");
  const dir = path.join(baseDir, `${timestamp(now)}_${name}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "migration.sql"), sql);
  const lockPath = path.join(baseDir, "migration_lock.toml");
  if (!existsSync(lockPath)) {
    writeFileSync(
      lockPath,
      '# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "postgresql"\n',
    );
  }
  return { dir, sql };
}

import { createHash } from "node:crypto";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { PrismaClient } from "~/generated/prisma/client";
import { ConfigError } from "./env.server";
import {
  acquireDirectoryLock,
  ensureWritableDirectory,
  type DirectoryLock,
} from "./pglite-lock.server";

export type { PrismaClient };
export type Tx = Parameters<Parameters<PrismaClient["$transaction"]>[0]>[0];

export type DatabaseTarget =
  { kind: "pglite"; dataDir: string } | { kind: "postgres"; url: string };

/** DATABASE_URL unset → embedded PGlite under DATA_DIR; postgres(ql):// → native Postgres. */
export function resolveDatabaseTarget(env: {
  DATABASE_URL?: string;
  DATA_DIR?: string;
}): DatabaseTarget {
  const url = env.DATABASE_URL?.trim();
  if (!url) return { kind: "pglite", dataDir: path.resolve(env.DATA_DIR || "./data") };
  if (url === "memory://") return { kind: "pglite", dataDir: "memory://" };
  if (/^postgres(ql)?:\/\//.test(url)) {
    try {
      const parsed = new URL(url);
      if (!parsed.hostname && !parsed.searchParams.get("host")) throw new Error("no host");
    } catch {
      throw new ConfigError(
        "DATABASE_URL is not a valid URL. Accepted: unset (embedded PGlite under DATA_DIR) or " +
          "postgresql://USER:PASSWORD@HOST:PORT/DATABASE.",
      );
    }
    return { kind: "postgres", url };
  }
  throw new ConfigError(
    `DATABASE_URL has an unsupported form (scheme "${url.split(":")[0]}"). Accepted: unset ` +
      "(embedded PGlite under DATA_DIR) or postgresql://USER:PASSWORD@HOST:PORT/DATABASE.",
  );
}

export interface Database {
  kind: DatabaseTarget["kind"];
  prisma: PrismaClient;
  /** The adapter factory, shared with the migration engine. */
  adapterFactory: PrismaPGlite | PrismaPg;
  /** Present for PGlite: the raw client (migrations, tests). */
  pglite?: PGlite;
  /**
   * One parameterised statement outside any transaction, for the few hot paths where Prisma's
   * per-statement cost matters (webhook ingestion, the event queue): on Postgres it goes through
   * a small `pg` pool of its own (≈ 0.1 ms of CPU instead of ≈ 0.4 ms); on PGlite, which has one
   * connection, through Prisma so it queues behind open transactions like everything else.
   * Results: use text/int/bool columns only, the two drivers convert other types differently.
   *
   * `prepare: true` (Postgres; ignored on PGlite) keeps the statement prepared on each pooled
   * connection, so Postgres parses and analyses it once per connection instead of every time:
   * for the webhook ingestion statement that was half of Postgres's CPU per event (0.6 → 0.3 ms,
   * docs/benchmarks.md). Only for statements whose text is one of a few fixed shapes: every
   * distinct text stays prepared on every connection for the life of the pool.
   */
  query<T>(text: string, params: unknown[], opts?: { prepare?: boolean }): Promise<T[]>;
  /** Human description without credentials, for logs. */
  description: string;
  close(): Promise<void>;
}

// A prepared statement's name is derived from its text, so one text always has one name on
// every connection (pg refuses a known name with a different text).
const statementNames = new Map<string, string>();
function preparedStatementName(text: string): string {
  let name = statementNames.get(text);
  if (!name) {
    name = `creditdesk_${createHash("sha256").update(text).digest("hex").slice(0, 24)}`;
    statementNames.set(text, name);
  }
  return name;
}

function describePostgres(url: string): string {
  const u = new URL(url);
  return `postgres ${u.hostname}${u.port ? `:${u.port}` : ""}${u.pathname}`;
}

export async function openDatabase(target: DatabaseTarget): Promise<Database> {
  if (target.kind === "postgres") {
    const adapterFactory = new PrismaPg({ connectionString: target.url, max: 10 });
    const prisma = new PrismaClient({ adapter: adapterFactory });
    const pool = new pg.Pool({ connectionString: target.url, max: 4 });
    // An idle connection that dies (server restart) must not crash the process.
    pool.on("error", () => undefined);
    return {
      kind: "postgres",
      prisma,
      adapterFactory,
      description: describePostgres(target.url),
      query: async <T>(text: string, params: unknown[], opts?: { prepare?: boolean }) =>
        (
          await pool.query(
            opts?.prepare
              ? { name: preparedStatementName(text), text, values: params }
              : { text, values: params },
          )
        ).rows as T[],
      async close() {
        await Promise.all([prisma.$disconnect(), pool.end()]);
      },
    };
  }
  let lock: DirectoryLock | undefined;
  if (target.dataDir !== "memory://") {
    ensureWritableDirectory(target.dataDir);
    lock = acquireDirectoryLock(target.dataDir);
  }
  let pglite: PGlite;
  try {
    pglite = new PGlite(
      target.dataDir === "memory://" ? undefined : path.join(target.dataDir, "pglite"),
    );
    await pglite.waitReady;
  } catch (error) {
    lock?.release();
    throw error;
  }
  const adapterFactory = new PrismaPGlite(pglite);
  const prisma = new PrismaClient({ adapter: adapterFactory });
  return {
    kind: "pglite",
    prisma,
    adapterFactory,
    pglite,
    query: <T>(text: string, params: unknown[]) => prisma.$queryRawUnsafe<T[]>(text, ...params),
    description:
      target.dataDir === "memory://"
        ? "embedded PGlite (in memory)"
        : `embedded PGlite at ${target.dataDir}`,
    async close() {
      await prisma.$disconnect();
      await pglite.close();
      lock?.release();
    },
  };
}

// The process-wide database. Services call getDb(); entry points (server, CLI, tests) install it.
// Kept on globalThis because the server (run by tsx) and the Remix build each load their own copy
// of this module, and both must see the one connection pool.
const holder = globalThis as typeof globalThis & { __creditdeskDatabase?: Database };

export function setDatabase(db: Database | undefined): void {
  holder.__creditdeskDatabase = db;
}

export function getDatabase(): Database {
  const current = holder.__creditdeskDatabase;
  if (!current)
    throw new Error("Database not opened: call openDatabase() and setDatabase() at start-up.");
  return current;
}

export function getDb(): PrismaClient {
  return getDatabase().prisma;
}

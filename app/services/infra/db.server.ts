import { remember } from "~/lib/remember";
import { createHash } from "node:crypto";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { PrismaClient } from "~/generated/prisma/client";
import { ConfigError } from "./env.server";
import { embeddedRunDir } from "./embedded-socket.server";
import {
  acquireDirectoryLock,
  DirectoryInUseError,
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
  /** Present when this process owns the embedded database: the raw client (migrations, tests). */
  pglite?: PGlite;
  /** The embedded database's directory (absent in memory and on Postgres). */
  dataDir?: string;
  /**
   * Set when another process (a running server) owns DATA_DIR and this one reaches its PGlite
   * through the owner's socket: the directory holding the sockets, and the owner's pid.
   */
  viaOwner?: { runDir: string; pid: number };
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

/**
 * Reach the PGlite of the process holding DATA_DIR through its socket (embedded-socket.server.ts),
 * with the same driver as native Postgres. Fails with the holder's message when it does not share
 * (not a server, an older version, or still starting).
 */
async function openThroughOwner(dataDir: string, inUse: DirectoryInUseError): Promise<Database> {
  const runDir = embeddedRunDir(dataDir);
  // One connection: PGlite runs one unit of work at a time anyway, and a second connection of
  // this process could only queue behind the first.
  const adapterFactory = new PrismaPg({
    host: runDir,
    port: 5432,
    user: "postgres",
    database: "postgres",
    max: 1,
    connectionTimeoutMillis: 10_000,
  });
  const prisma = new PrismaClient({ adapter: adapterFactory });
  try {
    await prisma.$queryRaw`SELECT 1`;
  } catch {
    await prisma.$disconnect().catch(() => undefined);
    throw new ConfigError(
      `${inUse.message} It does not share the database with other processes (no answer on ` +
        `${runDir}): if it is a creditdesk server that is still starting, try again in a few seconds.`,
    );
  }
  return {
    kind: "pglite",
    prisma,
    adapterFactory,
    dataDir,
    viaOwner: { runDir, pid: inUse.holderPid },
    // Not prepared: PGlite's one session is shared, a named statement would outlive this process.
    query: <T>(text: string, params: unknown[]) => prisma.$queryRawUnsafe<T[]>(text, ...params),
    description: `embedded PGlite at ${dataDir} (through the server, process ${inUse.holderPid})`,
    async close() {
      await prisma.$disconnect();
    },
  };
}

/**
 * `throughOwner`: when a live process holds DATA_DIR, use its database through its socket instead
 * of refusing (the CLI and `npm run jobs`; a server never does, it refuses to start twice).
 */
/** Connections of the raw `pg` pool per process (Prisma's pool is separate, up to 10). */
export const RAW_POOL_MAX = 16;

export async function openDatabase(
  target: DatabaseTarget,
  opts: { throughOwner?: boolean } = {},
): Promise<Database> {
  if (target.kind === "postgres") {
    const adapterFactory = new PrismaPg({ connectionString: target.url, max: 10 });
    const prisma = new PrismaClient({ adapter: adapterFactory });
    // The raw pool carries the hot path's statements (debits, webhook ingestion, fulfilment):
    // each debit of a different user is its own commit, and only as many commits as connections
    // can wait for the WAL flush together. With 4, debits spread over many users queued for a
    // connection and ran slower than one batched hot user (docs/benchmarks.md, "Debits").
    const pool = new pg.Pool({ connectionString: target.url, max: RAW_POOL_MAX });
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
    try {
      lock = acquireDirectoryLock(target.dataDir);
    } catch (error) {
      if (opts.throughOwner && error instanceof DirectoryInUseError)
        return openThroughOwner(target.dataDir, error);
      throw error;
    }
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
    dataDir: target.dataDir === "memory://" ? undefined : target.dataDir,
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
// Process state, remembered (app/lib/remember.ts): a re-evaluated module finds the one pool.
const holder = remember("database", (): { __creditdeskDatabase?: Database } => ({}));

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

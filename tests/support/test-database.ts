import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, inject } from "vitest";
import { openDatabase, setDatabase, type Database } from "../../app/services/infra/db.server";
import { listMigrationDirs } from "../../app/services/infra/migrations.server";

export type TestDbKind = "pglite" | "postgres";

export function testDbKind(): TestDbKind {
  return process.env.CREDITDESK_TEST_DB === "postgres" ? "postgres" : "pglite";
}

export interface TestDatabase extends Database {
  /** Connection URL for native Postgres test databases (for a second process or raw pg). */
  url?: string;
}

/** An empty database of the kind under test (not the pre-migrated template), for migration tests. */
export async function createEmptyDatabase(): Promise<Database> {
  if (testDbKind() === "pglite") return openDatabase({ kind: "pglite", dataDir: "memory://" });
  const admin = new pg.Client({ connectionString: inject("postgresAdminUrl") });
  await admin.connect();
  const name = `m_${randomBytes(5).toString("hex")}`;
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return openDatabase({
    kind: "postgres",
    url: inject("postgresAdminUrl").replace(/\/[^/]*$/, `/${name}`),
  });
}

/** A fresh, migrated database: in-memory PGlite, or a clone of the migrated Postgres template. */
export async function createTestDatabase(kind: TestDbKind = testDbKind()): Promise<TestDatabase> {
  if (kind === "pglite") {
    const db = await openDatabase({ kind: "pglite", dataDir: "memory://" });
    // Executing the migration files directly is equivalent and far faster than booting the
    // schema engine per file; the engine path itself is covered by the migration tests.
    for (const m of listMigrationDirs()) await db.pglite!.exec(m.sql);
    return db;
  }
  const adminUrl = inject("postgresAdminUrl");
  const name = `t_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name} TEMPLATE ${inject("postgresTemplate")}`);
  await admin.end();
  const url = adminUrl.replace(/\/[^/]*$/, `/${name}`);
  const db = await openDatabase({ kind: "postgres", url });
  return {
    ...db,
    url,
    async close() {
      await db.close();
      const drop = new pg.Client({ connectionString: adminUrl });
      await drop.connect();
      await drop.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await drop.end();
    },
  };
}

/** Give this test file its own database, installed as the process database for services. */
export function useTestDatabase(): { get db(): TestDatabase } {
  let db: TestDatabase | undefined;
  beforeAll(async () => {
    db = await createTestDatabase();
    setDatabase(db);
  });
  afterAll(async () => {
    setDatabase(undefined);
    await db?.close();
  });
  return {
    get db() {
      if (!db) throw new Error("test database not ready (use inside tests/hooks)");
      return db;
    },
  };
}

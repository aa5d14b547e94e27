import { createHash } from "node:crypto";
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createEmptyDatabase, createTestDatabase, testDbKind } from "../support/test-database";
import {
  applyMigrations,
  createMigration,
  defaultPrismaDir,
  listMigrationDirs,
  migrationStatus,
} from "../../app/services/infra/migrations.server";

const tmpDirs: string[] = [];
afterAll(() => tmpDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A copy of prisma/ to add a migration to, so the repository's own history is untouched. */
function scratchPrismaDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "creditdesk-prisma-"));
  tmpDirs.push(dir);
  cpSync(defaultPrismaDir, dir, { recursive: true });
  return dir;
}

describe(`offline migrations (${testDbKind()})`, () => {
  it("applies the history through the wasm engine and records it like prisma migrate deploy", async () => {
    const db = await createEmptyDatabase();
    try {
      expect((await migrationStatus(db.prisma)).every((m) => m.state === "pending")).toBe(true);
      const applied = await applyMigrations(db.adapterFactory);
      expect(applied).toEqual(listMigrationDirs().map((m) => m.name));
      // Same table and columns prisma migrate deploy reads, with the sha256 checksum of the file.
      const rows = await db.prisma.$queryRawUnsafe<
        {
          migration_name: string;
          checksum: string;
          finished_at: Date | null;
          applied_steps_count: number;
          logs: string | null;
        }[]
      >(
        "SELECT id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count FROM _prisma_migrations ORDER BY migration_name",
      );
      expect(rows.map((r) => r.migration_name)).toEqual(applied);
      for (const m of listMigrationDirs()) {
        const row = rows.find((r) => r.migration_name === m.name)!;
        expect(row.checksum).toBe(createHash("sha256").update(m.sql).digest("hex"));
        expect(row.finished_at).not.toBeNull();
      }
      expect((await migrationStatus(db.prisma)).every((m) => m.state === "applied")).toBe(true);
      // Applying again is a no-op.
      expect(await applyMigrations(db.adapterFactory)).toEqual([]);
      // The append-only trigger (a PL/pgSQL body with semicolons) survived the engine.
      const triggers = await db.prisma.$queryRawUnsafe<{ tgname: string }[]>(
        "SELECT tgname FROM pg_trigger WHERE tgname LIKE '%append_only'",
      );
      expect(triggers.map((r) => r.tgname).sort()).toEqual([
        "audit_logs_append_only",
        "credit_allocations_append_only",
        "ledger_entries_append_only",
        "outbound_attempts_append_only",
      ]);
      // So did the outbox triggers (a statement trigger with a transition table among them).
      const outbox = await db.prisma.$queryRawUnsafe<{ tgname: string }[]>(
        "SELECT DISTINCT tgname FROM pg_trigger WHERE tgname LIKE 'outbound_%' AND tgname NOT LIKE '%append_only'",
      );
      expect(outbox.map((r) => r.tgname).sort()).toEqual([
        "outbound_attention_raised",
        "outbound_ledger_events",
        "outbound_purchase_dispute",
        "outbound_purchase_refunded",
        "outbound_tier_changed",
      ]);
    } finally {
      await db.close();
    }
  });

  it("creates a migration from a schema change that then applies on this database", async () => {
    const prismaDir = scratchPrismaDir();
    const schemaPath = path.join(prismaDir, "schema.prisma");
    const schema = readFileSync(schemaPath, "utf8").replace(
      "  name             String?\n",
      '  name             String?\n  locale           String?  @default("en")\n',
    );
    writeFileSync(schemaPath, schema);
    const created = await createMigration(
      "add_user_locale",
      prismaDir,
      new Date("2030-01-01T00:00:00Z"),
    );
    expect(created).not.toBeNull();
    expect(path.basename(created!.dir)).toBe("20300101000000_add_user_locale");
    expect(created!.sql).toMatch(/ALTER TABLE "users" ADD COLUMN\s+"locale" TEXT DEFAULT 'en'/);
    // Nothing left to create once the migration exists.
    expect(await createMigration("again", prismaDir)).toBeNull();

    const db = await createEmptyDatabase();
    try {
      const applied = await applyMigrations(db.adapterFactory, prismaDir);
      expect(applied).toContain("20300101000000_add_user_locale");
      await db.prisma.$executeRawUnsafe(
        "INSERT INTO users (id, email, email_normalized, updated_at) VALUES ('m1', 'm1@x.io', 'm1@x.io', now())",
      );
      const rows = await db.prisma.$queryRawUnsafe<{ locale: string }[]>(
        "SELECT locale FROM users WHERE id = 'm1'",
      );
      expect(rows[0].locale).toBe("en");
      const status = await migrationStatus(db.prisma, prismaDir);
      expect(status.map((s) => s.state)).toEqual(
        readdirSync(path.join(prismaDir, "migrations"))
          .filter((d) => !d.endsWith(".toml"))
          .map(() => "applied"),
      );
    } finally {
      await db.close();
    }
  }, 180_000); // three full migration histories (two diffs and an apply): over a minute on a busy machine

  it("reports a migration edited after it was applied as modified", async () => {
    const prismaDir = scratchPrismaDir();
    const db = await createEmptyDatabase();
    try {
      await applyMigrations(db.adapterFactory, prismaDir);
      const first = listMigrationDirs(prismaDir)[0];
      writeFileSync(
        path.join(prismaDir, "migrations", first.name, "migration.sql"),
        first.sql + "\n-- edited\n",
      );
      const status = await migrationStatus(db.prisma, prismaDir);
      expect(status.find((s) => s.name === first.name)?.state).toBe("modified");
    } finally {
      await db.close();
    }
  });

  it("has migrations that match schema.prisma exactly", async () => {
    const db = await createTestDatabase();
    await db.close();
    const prismaDir = scratchPrismaDir();
    expect(await createMigration("drift_check", prismaDir)).toBeNull();
  });
});

import { getDatabase } from "../../app/services/infra/db.server";
import {
  applyMigrations,
  createMigration,
  migrationStatus,
} from "../../app/services/infra/migrations.server";
import { UsageError, type CliCommand } from "../cli-kit";

export const migrateCommand: CliCommand = {
  name: "migrate",
  summary: "Apply pending database migrations (--status lists applied and pending)",
  help: `Usage: npm run cli -- migrate [--status] [--json]

Applies every migration in prisma/migrations that the database has not seen, through Prisma's
WebAssembly schema engine. Writes the same _prisma_migrations table as \`prisma migrate deploy\`.

  --status   list each migration as applied / pending / failed / modified, change nothing
  --json     print one JSON object`,
  options: { status: { type: "boolean" } },
  needsDatabase: true,
  async run(ctx) {
    const db = getDatabase();
    if (ctx.values.status) {
      const status = await migrationStatus(db.prisma);
      if (ctx.json) ctx.emit({ database: db.description, migrations: status });
      for (const m of status)
        ctx.say(`${m.state.padEnd(8)} ${m.name}${m.appliedAt ? `  (${m.appliedAt})` : ""}`);
      const pending = status.filter((m) => m.state !== "applied").length;
      ctx.say(
        pending
          ? `${pending} migration(s) not applied on ${db.description}.`
          : `Database is up to date (${db.description}).`,
      );
      return status.some((m) => m.state === "failed" || m.state === "modified") ? 1 : 0;
    }
    const applied = await applyMigrations(db.adapterFactory);
    if (ctx.json) ctx.emit({ database: db.description, applied });
    ctx.say(
      applied.length
        ? `Applied ${applied.length} migration(s): ${applied.join(", ")}`
        : "No pending migrations.",
    );
    return 0;
  },
};

export const createMigrationCommand: CliCommand = {
  name: "db:migration",
  summary: "Write a new migration from the difference between prisma/migrations and schema.prisma",
  help: `Usage: npm run db:migration -- <name> [--json]

Computes the SQL that takes the database built by the existing migrations to prisma/schema.prisma
(on throwaway in-memory databases, nothing else is touched) and writes it to
prisma/migrations/<timestamp>_<name>/migration.sql. <name>: lower-case letters, digits, underscores.`,
  options: {},
  needsDatabase: false,
  async run(ctx) {
    const name = ctx.positionals[0];
    if (!name) throw new UsageError("a migration name is required");
    if (!/^[a-z0-9_]+$/.test(name))
      throw new UsageError(`migration name "${name}" may only use a-z, 0-9 and _`);
    const result = await createMigration(name);
    if (ctx.json) ctx.emit({ created: result?.dir ?? null, sql: result?.sql ?? "" });
    ctx.say(
      result
        ? `Created ${result.dir}/migration.sql`
        : "schema.prisma matches the migrations: nothing to create.",
    );
    return 0;
  },
};

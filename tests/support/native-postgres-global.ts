import pg from "pg";
import type { TestProject } from "vitest/node";
import { PrismaPg } from "@prisma/adapter-pg";
import { applyMigrations } from "../../app/services/infra/migrations.server";
import { startPostgresCluster } from "./native-postgres";

export const TEMPLATE_DB = "creditdesk_template";

declare module "vitest" {
  export interface ProvidedContext {
    postgresAdminUrl: string;
    postgresTemplate: string;
  }
}

/**
 * One throwaway cluster for the whole run. The template database is migrated once through the
 * WebAssembly schema engine; every test file then clones it (CREATE DATABASE … TEMPLATE), which
 * takes milliseconds and gives each file a database of its own.
 */
export default async function setup(project: TestProject) {
  const cluster = await startPostgresCluster();
  const admin = new pg.Client({ connectionString: cluster.url() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${TEMPLATE_DB}`);
  await admin.end();
  const factory = new PrismaPg({ connectionString: cluster.url(TEMPLATE_DB) });
  await applyMigrations(factory);
  // The migration engine's pooled connection stays open, and CREATE DATABASE … TEMPLATE refuses a
  // template anyone is connected to: close those sessions before test files start cloning.
  const closer = new pg.Client({ connectionString: cluster.url() });
  await closer.connect();
  await closer.query(
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
    [TEMPLATE_DB],
  );
  await closer.end();
  project.provide("postgresAdminUrl", cluster.url());
  project.provide("postgresTemplate", TEMPLATE_DB);
  return async () => {
    cluster.stop();
  };
}

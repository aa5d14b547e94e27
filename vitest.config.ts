import { existsSync, readdirSync } from "node:fs";
import { defineConfig } from "vitest/config";

// Native Postgres tests run whenever Debian's server binaries are installed; CI installs them,
// so there the native project always runs (scripts/test.mjs refuses to continue without it).
function nativePostgresAvailable(): boolean {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return false;
  return readdirSync(root).some((v) => existsSync(`${root}/${v}/bin/initdb`));
}

const integration = ["tests/integration/**/*.test.ts"];
const alias = { "~": new URL("./app", import.meta.url).pathname };

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      {
        resolve: { alias },
        test: {
          name: "unit",
          include: ["app/**/*.test.ts", "jobs/**/*.test.ts", "tests/unit/**/*.test.ts"],
          environment: "node",
        },
      },
      {
        resolve: { alias },
        test: {
          name: "emulator",
          include: ["tests/emulator/**/*.test.ts"],
          environment: "node",
          testTimeout: 30_000,
        },
      },
      {
        resolve: { alias },
        test: {
          name: "pglite",
          include: integration,
          environment: "node",
          env: { CREDITDESK_TEST_DB: "pglite" },
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      ...(nativePostgresAvailable()
        ? [
            {
              resolve: { alias },
              test: {
                name: "postgres",
                include: integration,
                environment: "node",
                env: { CREDITDESK_TEST_DB: "postgres" },
                globalSetup: ["tests/support/native-postgres-global.ts"],
                testTimeout: 60_000,
                hookTimeout: 60_000,
              },
            },
            {
              // The money proof (tests/proof/): property-based runs against native Postgres.
              resolve: { alias },
              test: {
                name: "proof",
                include: ["tests/proof/**/*.test.ts"],
                environment: "node",
                env: { CREDITDESK_TEST_DB: "postgres" },
                globalSetup: ["tests/support/native-postgres-global.ts"],
                testTimeout: 600_000,
                hookTimeout: 60_000,
              },
            },
          ]
        : []),
      {
        resolve: { alias },
        test: {
          name: "e2e",
          include: ["tests/e2e/**/*.test.ts"],
          environment: "node",
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 240_000,
        },
      },
    ],
  },
});

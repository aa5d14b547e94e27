#!/usr/bin/env node
// `npm test`: the whole suite — unit, emulator, integration on in-memory PGlite AND on a throwaway
// native Postgres cluster, and browser tests in Debian's Chromium. Locally a missing Postgres or
// Chromium is reported and those projects are left out; in CI (CI=true) that is an error, because
// tests that need them must run there.
import { existsSync, readdirSync } from "node:fs";
import { spawnSync } from "node:child_process";

const hasPostgres =
  existsSync("/usr/lib/postgresql") &&
  readdirSync("/usr/lib/postgresql").some((v) => existsSync(`/usr/lib/postgresql/${v}/bin/initdb`));
const hasChromium = existsSync(process.env.CHROMIUM_PATH ?? "/usr/bin/chromium");
const ci = process.env.CI === "true" || process.env.CI === "1";

const missing = [];
if (!hasPostgres) missing.push("PostgreSQL server (apt-get install -y postgresql)");
if (!hasChromium) missing.push("Chromium (apt-get install -y chromium)");
if (missing.length && ci) {
  console.error(`CI must run every test, but these are not installed: ${missing.join(", ")}`);
  process.exit(1);
}
if (missing.length) {
  console.warn(
    `Note: skipping tests that need ${missing.join(" and ")}. Install them to run the full suite.`,
  );
}

const projects = ["unit", "emulator", "pglite"];
if (hasPostgres) projects.push("postgres");
if (hasChromium) projects.push("e2e");

// Browser tests run against the built app, so build it first.
if (hasChromium) {
  const build = spawnSync("npx", ["remix", "build"], { stdio: "inherit" });
  if (build.status !== 0) process.exit(build.status ?? 1);
}

const args = [
  "vitest",
  "run",
  ...projects.flatMap((p) => ["--project", p]),
  ...process.argv.slice(2),
];
const result = spawnSync("npx", args, { stdio: "inherit" });
process.exit(result.status ?? 1);

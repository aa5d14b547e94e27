#!/usr/bin/env node
// `npm test`: the whole suite — unit, emulator, integration on in-memory PGlite AND on a throwaway
// native Postgres cluster, the money proof (property-based, on Postgres too), and browser tests
// in Debian's Chromium. Locally a missing Postgres or Chromium is reported and those projects are
// left out; in CI (CI=true) that is an error, because tests that need them must run there.
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
// `proof`: the money proof suite (tests/proof/), property-based runs on native Postgres.
if (hasPostgres) projects.push("postgres", "proof");

const extra = process.argv.slice(2);
const vitest = (names) =>
  spawnSync(
    "npx",
    ["vitest", "run", "--passWithNoTests", ...names.flatMap((p) => ["--project", p]), ...extra],
    {
      stdio: "inherit",
    },
  ).status ?? 1;

let status = vitest(projects);

// Browser and server-process tests run afterwards, alone: they start real servers and check how
// responsive those stay, which the integration tests' load would only blur. They need the build.
if (hasChromium && status === 0) {
  const build = spawnSync("npx", ["remix", "build"], { stdio: "inherit" });
  status = build.status ?? 1;
  if (status === 0) status = vitest(["e2e"]);
}
process.exit(status);

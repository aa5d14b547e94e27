#!/usr/bin/env node
// `npm run test:proof -- [--runs N] [--seed S] [--path P] [--commands C] [--verbose]`: the money
// proof (tests/proof/money.proof.test.ts) with a chosen number of generated runs — e.g. 2000
// before a release — or one failure replayed from the seed and path fast-check printed.
import { spawnSync } from "node:child_process";

const usage =
  "usage: npm run test:proof -- [--runs N] [--seed S] [--path P] [--commands C] [--verbose]";
const flags = {
  "--runs": "PROOF_RUNS",
  "--seed": "PROOF_SEED",
  "--path": "PROOF_PATH",
  "--commands": "PROOF_MAX_COMMANDS",
};
const env = { ...process.env };
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const [name, inline] = args[i].split(/=(.*)/s);
  if (name === "--verbose") {
    env.PROOF_VERBOSE = "1";
    continue;
  }
  if (name === "--help" || name === "-h") {
    console.log(usage);
    process.exit(0);
  }
  const variable = flags[name];
  const value = inline ?? args[++i];
  if (!variable) {
    console.error(`${name}: not understood.\n${usage}`);
    process.exit(2);
  }
  if (value === undefined || value === "") {
    console.error(`${name} needs a value.\n${usage}`);
    process.exit(2);
  }
  const pattern = name === "--seed" ? /^-?\d+$/ : /^[1-9]\d*$/;
  if (name !== "--path" && !pattern.test(value)) {
    console.error(
      `${name} must be a whole number${name === "--seed" ? "" : " above 0"}, got "${value}".\n${usage}`,
    );
    process.exit(2);
  }
  env[variable] = value;
}

const result = spawnSync("npx", ["vitest", "run", "--project", "proof"], { stdio: "inherit", env });
process.exit(result.status ?? 1);

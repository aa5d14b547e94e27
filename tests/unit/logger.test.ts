import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ConfigError, parseEnv } from "../../app/services/infra/env.server";
import { chooseLogFormat, formatPretty, progressBar } from "../../app/services/infra/logger.server";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const loggerModule = path.join(root, "app/services/infra/logger.server.ts");

/** Run a few lines against the real logger in a child process (stdout and stderr are pipes). */
function runWithLogger(body: string, env: Record<string, string>) {
  const script = `const log = await import(${JSON.stringify(loggerModule)});\n${body}`;
  const { LOG_FORMAT: _f, LOG_LEVEL: _l, NODE_ENV: _n, ...base } = process.env;
  const result = spawnSync("node", ["--import", "tsx", "--input-type=module", "-e", script], {
    cwd: root,
    env: { ...base, ...env } as unknown as NodeJS.ProcessEnv,
    encoding: "utf8",
    timeout: 60_000,
  });
  expect(result.status, result.stderr).toBe(0);
  return result;
}

describe("log format", () => {
  it("is LOG_FORMAT when set, otherwise human lines on a terminal and JSON lines elsewhere", () => {
    expect(chooseLogFormat(undefined, true, false)).toBe("pretty");
    expect(chooseLogFormat(undefined, false, false)).toBe("json");
    expect(chooseLogFormat("json", true, false)).toBe("json");
    expect(chooseLogFormat("pretty", false, false)).toBe("pretty");
  });

  it("stays JSON in production even on a terminal, unless LOG_FORMAT=pretty asks", () => {
    expect(chooseLogFormat(undefined, true, true)).toBe("json");
    expect(chooseLogFormat("pretty", true, true)).toBe("pretty");
  });

  it("LOG_FORMAT accepts pretty and json and stops the start with its name for anything else", () => {
    expect(parseEnv({ LOG_FORMAT: "json" }).LOG_FORMAT).toBe("json");
    expect(parseEnv({ LOG_FORMAT: "pretty" }).LOG_FORMAT).toBe("pretty");
    expect(parseEnv({ LOG_FORMAT: "" }).LOG_FORMAT).toBeUndefined();
    expect(() => parseEnv({ LOG_FORMAT: "xml" })).toThrow(ConfigError);
    expect(() => parseEnv({ LOG_FORMAT: "xml" })).toThrow(/LOG_FORMAT/);
  });

  it("turns a pino JSON line into one readable line with its fields", () => {
    const line = JSON.stringify({
      level: 30,
      time: new Date(2026, 0, 2, 9, 5, 7).getTime(),
      service: "creditdesk",
      database: "embedded PGlite at ./data/pglite",
      applied: ["20261122080000_init", "20261122090000_admin_search_indexes"],
      msg: "database ready",
    });
    expect(formatPretty(line)).toBe(
      '09:05:07 INFO  database ready  database="embedded PGlite at ./data/pglite" ' +
        "applied=20261122080000_init,20261122090000_admin_search_indexes\n",
    );
  });

  it("shows an error's message, and its stack only at error level", () => {
    const err = { type: "Error", message: "boom", stack: "Error: boom\n    at x (y.ts:1:1)" };
    const warn = formatPretty(JSON.stringify({ level: 40, time: 0, err, msg: "retrying" }));
    expect(warn).toMatch(/WARN {2}retrying {2}err=boom\n$/);
    expect(warn).not.toContain("at x");
    const error = formatPretty(JSON.stringify({ level: 50, time: 0, err, msg: "failed" }));
    expect(error).toContain("ERROR failed  err=boom\n    Error: boom\n        at x (y.ts:1:1)");
  });

  it("passes a line that is not JSON through unchanged", () => {
    expect(formatPretty("plain text")).toBe("plain text\n");
  });

  it("draws a progress bar in proportion, clamped to its ends", () => {
    expect(progressBar(0, 90, 10)).toBe("[░░░░░░░░░░]");
    expect(progressBar(45, 90, 10)).toBe("[█████░░░░░]");
    expect(progressBar(200, 90, 10)).toBe("[██████████]");
    expect(progressBar(1, 0, 4)).toBe("[░░░░]");
  });
});

// Each runs a child Node process with tsx: seconds on a busy machine.
describe("logger output", { timeout: 60_000 }, () => {
  it("writes JSON lines to stdout by default when stdout is not a terminal, secrets redacted", () => {
    const { stdout, stderr } = runWithLogger(
      'log.logger.info({ user: "u1", password: "hunter2" }, "signed in");',
      { LOG_LEVEL: "info" },
    );
    expect(stderr).toBe("");
    const record = JSON.parse(stdout.trim()) as Record<string, unknown>;
    expect(record).toMatchObject({ level: 30, msg: "signed in", user: "u1" });
    expect(record.password).toBe("[redacted]");
  });

  it("writes human lines with LOG_FORMAT=pretty, still redacted", () => {
    const { stdout } = runWithLogger(
      'log.logger.warn({ user: "u1", password: "hunter2" }, "odd sign-in");',
      { LOG_LEVEL: "info", LOG_FORMAT: "pretty" },
    );
    expect(stdout).toMatch(
      /^\d\d:\d\d:\d\d WARN {2}odd sign-in {2}user=u1 password=\[redacted\]\n$/,
    );
    expect(stdout).not.toContain("hunter2");
    expect(stdout).not.toContain("{");
  });

  it("sends every log line to stderr once the CLI chooses it, leaving stdout to the command", () => {
    const { stdout, stderr } = runWithLogger(
      'log.useLogDestination("stderr"); log.logger.info({ run: "r1" }, "reconciliation finished"); process.stdout.write("{\\"ok\\":true}\\n");',
      { LOG_LEVEL: "info" },
    );
    expect(JSON.parse(stdout)).toEqual({ ok: true });
    expect(JSON.parse(stderr.trim())).toMatchObject({ msg: "reconciliation finished", run: "r1" });
  });

  it("hides routine lines while a progress bar runs on the console, never warnings", () => {
    const { stdout } = runWithLogger(
      [
        "const end = log.hideRoutineLogs();",
        'log.logger.info("purchase credited");',
        'log.logger.info("purchase credited");',
        'log.logger.warn("webhook retried");',
        "const hidden = end();",
        'log.logger.info("after");',
        "log.printLine(`hidden ${hidden}`);",
      ].join("\n"),
      { LOG_LEVEL: "info", LOG_FORMAT: "pretty" },
    );
    const lines = stdout.trim().split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/WARN {2}webhook retried$/);
    expect(lines[1]).toMatch(/INFO {2}after$/);
    expect(lines[2]).toBe("hidden 2");
  });

  it("never hides anything from JSON logs", () => {
    const { stdout } = runWithLogger(
      'const end = log.hideRoutineLogs(); log.logger.info("purchase credited"); log.printLine(`hidden ${end()}`);',
      { LOG_LEVEL: "info", LOG_FORMAT: "json" },
    );
    const [first, second] = stdout.trim().split("\n");
    expect(JSON.parse(first)).toMatchObject({ msg: "purchase credited" });
    expect(second).toBe("hidden 0");
  });
});

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../app/services/infra/db.server";
import { ConfigError } from "../../app/services/infra/env.server";
import { LOCK_FILE } from "../../app/services/infra/pglite-lock.server";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir() {
  const d = mkdtempSync(path.join(os.tmpdir(), "creditdesk-data-"));
  dirs.push(d);
  return d;
}

/** Run the real CLI in a second process, as an operator would. */
function cli(args: string[], env: Record<string, string>) {
  const { DATABASE_URL: _ignored, ...base } = process.env;
  return spawnSync("npx", ["tsx", "jobs/cli.ts", ...args], {
    env: { ...base, ...env, LOG_LEVEL: "silent" },
    encoding: "utf8",
    timeout: 60_000,
  });
}

describe("embedded PGlite directory", () => {
  it("refuses a second process on the same DATA_DIR with a message naming the holder", async () => {
    const dataDir = tempDir();
    const db = await openDatabase({ kind: "pglite", dataDir });
    try {
      expect(existsSync(path.join(dataDir, LOCK_FILE))).toBe(true);
      const second = cli(["migrate", "--status"], { DATA_DIR: dataDir });
      expect(second.status).toBe(1);
      expect(second.stderr).toContain(`is in use by process ${process.pid}`);
      expect(second.stderr).toContain("PGlite allows one process per directory");
    } finally {
      await db.close();
    }
    // Released on close: the next process gets in.
    expect(existsSync(path.join(dataDir, LOCK_FILE))).toBe(false);
    const third = cli(["migrate", "--json"], { DATA_DIR: dataDir });
    expect(third.status).toBe(0);
    expect(JSON.parse(third.stdout.trim().split("\n").pop()!).applied.length).toBeGreaterThan(0);
  }, 90_000);

  it("takes over a lock left by a process that no longer exists", async () => {
    const dataDir = tempDir();
    writeFileSync(
      path.join(dataDir, LOCK_FILE),
      JSON.stringify({ pid: 2 ** 22 + 12345, startedAt: "2020-01-01" }),
    );
    const db = await openDatabase({ kind: "pglite", dataDir });
    await db.close();
  }, 60_000); // creating a PGlite database takes seconds, more on a busy machine

  it("fails with a clear error naming DATA_DIR when it is not writable", async () => {
    const file = path.join(tempDir(), "a-file");
    writeFileSync(file, "x");
    const target = path.join(file, "data");
    await expect(openDatabase({ kind: "pglite", dataDir: target })).rejects.toThrow(ConfigError);
    await expect(openDatabase({ kind: "pglite", dataDir: target })).rejects.toThrow(
      `DATA_DIR "${target}" is not a writable directory (ENOTDIR)`,
    );
    const viaCli = cli(["migrate"], { DATA_DIR: target });
    expect(viaCli.status).toBe(1);
    expect(viaCli.stderr).toContain("is not a writable directory");
  }, 60_000);

  it("reports a malformed DATABASE_URL by name from the CLI", () => {
    const r = cli(["migrate", "--status"], { DATABASE_URL: "mysql://user:hunter2@db/app" });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("DATABASE_URL has an unsupported form");
    expect(r.stderr).not.toContain("hunter2");
  }, 60_000);
});

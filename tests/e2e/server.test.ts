import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort, startPostgresCluster, type PostgresCluster } from "../support/native-postgres";
import {
  cleanEnv,
  runSync,
  startProcess,
  waitFor,
  type RunningProcess,
} from "../support/processes";

// The real server process, as `npm start` runs it (after the build `npm test` makes first).
const running: RunningProcess[] = [];
const dirs: string[] = [];
let cluster: PostgresCluster | undefined;
afterAll(async () => {
  await Promise.all(running.map((p) => p.stop("SIGKILL")));
  cluster?.stop();
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

const stripeEnv = {
  STRIPE_SECRET_KEY: "sk_test_server_e2e",
  STRIPE_API_BASE: "http://127.0.0.1:9",
  STRIPE_WEBHOOK_SECRET: "whsec_e2e",
};

function startServer(env: Record<string, string>) {
  const p = startProcess(
    "node",
    ["--import", "tsx", "server.ts"],
    cleanEnv({ SCHEDULER: "off", HOST: "127.0.0.1", ...stripeEnv, ...env }),
  );
  running.push(p);
  return p;
}

async function healthy(port: number) {
  return waitFor(
    `server on ${port}`,
    async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200,
    90_000,
  );
}

describe("server process on the embedded database", () => {
  it("serves health, login and the dashboard; refuses a second process; shuts down on SIGTERM", async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "creditdesk-e2e-"));
    dirs.push(dataDir);
    const env = cleanEnv({ DATA_DIR: dataDir, ...stripeEnv });
    const created = runSync(
      "npx",
      [
        "tsx",
        "jobs/cli.ts",
        "staff",
        "create",
        "--email",
        "ops@example.com",
        "--role",
        "admin",
        "--json",
      ],
      env,
      "a-long-enough-password\n",
    );
    expect(created.status, created.stderr).toBe(0);

    const port = await freePort();
    const server = startServer({ DATA_DIR: dataDir, PORT: String(port) });
    await healthy(port);
    const base = `http://127.0.0.1:${port}`;
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: "ok", database: "up" });

    const anonymous = await fetch(`${base}/`, { redirect: "manual" });
    expect(anonymous.status).toBe(302);
    expect(anonymous.headers.get("location")).toBe("/login?redirectTo=%2F");

    const login = await fetch(`${base}/login`, {
      method: "POST",
      redirect: "manual",
      body: new URLSearchParams({
        email: "ops@example.com",
        password: "a-long-enough-password",
        redirectTo: "/",
      }),
    });
    expect(login.status).toBe(302);
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0];
    expect(cookie).toMatch(/^cd_session=/);
    const home = await fetch(`${base}/`, { headers: { Cookie: cookie } });
    expect(home.status).toBe(200);
    const html = await home.text();
    expect(html).toContain("Sign out");
    expect(html).toContain("ops@example.com");

    const wrong = await fetch(`${base}/login`, {
      method: "POST",
      body: new URLSearchParams({ email: "ops@example.com", password: "nope-nope-nope" }),
    });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain("Email or password is incorrect.");

    // A second process on the same directory stops at once with a clear message.
    const second = startServer({ DATA_DIR: dataDir, PORT: String(await freePort()) });
    expect(await second.exited).toBe(1);
    expect(second.output()).toContain("is in use by process");

    // Graceful shutdown: exit 0, lock released, and the log never carried a secret.
    expect(await server.stop("SIGTERM")).toBe(0);
    expect(existsSync(path.join(dataDir, "creditdesk.lock"))).toBe(false);
    expect(server.output()).not.toContain("a-long-enough-password");
    expect(server.output()).not.toContain("whsec_e2e");
  }, 180_000);

  it("refuses to start in production without its secrets, naming them", async () => {
    const p = startProcess(
      "node",
      ["--import", "tsx", "server.ts"],
      cleanEnv({ NODE_ENV: "production", DATA_DIR: "/tmp/never-used" }),
    );
    running.push(p);
    expect(await p.exited).toBe(1);
    expect(p.output()).toContain(
      "Missing required configuration in production (NODE_ENV=production): SESSION_SECRET, STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET",
    );
  }, 60_000);
});

describe("server process on native Postgres", () => {
  it("migrates only with MIGRATE_ON_START=true and answers 503 on /healthz when the database goes away", async () => {
    cluster = await startPostgresCluster();
    const url = cluster.url();
    const port = await freePort();
    const server = startServer({ DATABASE_URL: url, MIGRATE_ON_START: "true", PORT: String(port) });
    await healthy(port);
    const status = runSync(
      "npx",
      ["tsx", "jobs/cli.ts", "migrate", "--status", "--json"],
      cleanEnv({ DATABASE_URL: url }),
    );
    expect(status.status).toBe(0);
    const migrations = JSON.parse(status.stdout.trim().split("\n").pop()!).migrations as {
      state: string;
    }[];
    expect(migrations.length).toBeGreaterThan(0);
    expect(migrations.every((m) => m.state === "applied")).toBe(true);

    cluster.stop();
    cluster = undefined;
    const down = await waitFor("503", async () => {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`);
      return r.status === 503 ? r : undefined;
    });
    expect(await down.json()).toEqual({ status: "unavailable", database: "down" });
    expect(server.output()).not.toMatch(/postgresql:\/\/postgres@/);
    await server.stop("SIGTERM");
  }, 180_000);
});

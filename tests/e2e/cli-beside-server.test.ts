import { spawn } from "node:child_process";
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type EmulatorHandle } from "../../emulator/index";
import { remoteLockStatus } from "../../app/services/infra/embedded-socket.server";
import { freePort } from "../support/native-postgres";
import { cleanEnv, startProcess, waitFor, type RunningProcess } from "../support/processes";

/**
 * CLI commands while a real server holds the embedded database: they reach its PGlite through
 * the server's socket in DATA_DIR/run/ and give the same results as with the server stopped.
 * Stripe is the project's emulator, in this process; the server and the CLI are child processes.
 */

const running: RunningProcess[] = [];
const dirs: string[] = [];
const emulators: EmulatorHandle[] = [];
afterAll(async () => {
  await Promise.all(running.map((p) => p.stop("SIGKILL")));
  await Promise.all(emulators.map((e) => e.stop()));
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

const SECRET_KEY = "sk_test_cli_beside_server";

interface Setup {
  dataDir: string;
  port: number;
  base: string;
  emu: EmulatorHandle;
  stripe: Stripe;
  env: NodeJS.ProcessEnv;
}

async function setUp(extraEnv: Record<string, string> = {}): Promise<Setup> {
  // Short: a Unix socket path must stay under ~100 bytes.
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "cd-cli-"));
  dirs.push(dataDir);
  const port = await freePort();
  const emu = await startEmulator({ host: "127.0.0.1" });
  emulators.push(emu);
  const endpoint = await emu.control.createWebhookEndpoint({
    url: `http://127.0.0.1:${port}/webhooks/stripe`,
    enabled_events: ["*"],
  });
  const stripe = new Stripe(SECRET_KEY, {
    host: "127.0.0.1",
    port: Number(new URL(emu.url).port),
    protocol: "http",
    maxNetworkRetries: 0,
  });
  const env = cleanEnv({
    DATA_DIR: dataDir,
    STRIPE_SECRET_KEY: SECRET_KEY,
    STRIPE_API_BASE: emu.url,
    STRIPE_WEBHOOK_SECRET: endpoint.secret,
    SCHEDULER: "off",
    HOST: "127.0.0.1",
    PORT: String(port),
    ...extraEnv,
  });
  return { dataDir, port, base: `http://127.0.0.1:${port}`, emu, stripe, env };
}

function startServer(s: Setup): RunningProcess {
  const p = startProcess("node", ["--import", "tsx", "server.ts"], s.env);
  running.push(p);
  return p;
}

async function healthy(s: Setup) {
  await waitFor(
    `server on ${s.port}`,
    async () => (await fetch(`${s.base}/healthz`)).status === 200,
    90_000,
  );
}

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The CLI as a child process, without blocking this process (the emulator answers its requests). */
function cli(s: Setup, args: string[], stdin?: string): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn("node", ["--import", "tsx", "jobs/cli.ts", ...args], {
      env: s.env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin ?? "");
  });
}

/** `--json` prints exactly one JSON object on stdout. */
function json<T = Record<string, unknown>>(r: CliRun): T {
  return JSON.parse(r.stdout) as T;
}

async function createPack(stripe: Stripe, credits: number) {
  const product = await stripe.products.create({ name: `Pack ${credits}` });
  return stripe.prices.create({
    product: product.id,
    unit_amount: 1000,
    currency: "usd",
    metadata: { credits: String(credits) },
  });
}

/** One statement through the server's socket, as any process of this user can. */
async function sql<T>(s: Setup, text: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({
    host: path.join(s.dataDir, "run"),
    port: 5432,
    user: "postgres",
    database: "postgres",
  });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

async function createUser(s: Setup, id: string) {
  await sql(
    s,
    `INSERT INTO users (id, email, email_normalized, updated_at) VALUES ($1, $2, $2, now())`,
    [id, `${id}@example.com`],
  );
}

async function balanceOf(s: Setup, id: string): Promise<number> {
  const [row] = await sql<{ balance: number }>(s, "SELECT balance FROM users WHERE id = $1", [id]);
  return row!.balance;
}

/** The TCP ports a process listens on, from its socket file descriptors and /proc/net/tcp{,6}. */
function listeningTcpPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // fd closed meanwhile
    }
  }
  const ports = new Set<number>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    if (!existsSync(table)) continue;
    for (const line of readFileSync(table, "utf8").split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const [, local, , state] = cols;
      if (state === "0A" && inodes.has(cols[9]!)) ports.add(parseInt(local!.split(":")[1]!, 16));
    }
  }
  return [...ports];
}

describe("CLI commands while the server holds the embedded database", () => {
  let s: Setup;
  let server: RunningProcess;
  let price: Stripe.Price;

  beforeAll(async () => {
    s = await setUp();
    price = await createPack(s.stripe, 100);
    server = startServer(s);
    await healthy(s);
  }, 120_000);

  it("creates staff and API keys, syncs packs, verifies the ledger and shows status through the server", async () => {
    const staff = await cli(
      s,
      ["staff", "create", "--email", "ops@example.com", "--role", "admin", "--json"],
      "a-long-enough-password\n",
    );
    expect(staff.code, staff.stderr).toBe(0);
    expect(json(staff)).toMatchObject({ email: "ops@example.com", role: "admin" });
    // The server sees the new staff member at once: sign-in works.
    const login = await fetch(`${s.base}/login`, {
      method: "POST",
      redirect: "manual",
      body: new URLSearchParams({
        email: "ops@example.com",
        password: "a-long-enough-password",
        redirectTo: "/",
      }),
    });
    expect(login.status).toBe(302);

    const created = await cli(s, [
      "apikey",
      "create",
      "--name",
      "product",
      "--scope",
      "all",
      "--json",
    ]);
    expect(created.code, created.stderr).toBe(0);
    const key = json<{ key: string }>(created).key;
    expect(key).toMatch(/^cdk_/);
    // The running server knows the key at once (401 is for keys it does not know).
    const unknownKey = await fetch(`${s.base}/api/v1/users/nobody`, {
      headers: { Authorization: "Bearer cdk_not_a_key_at_all_0000000000000000" },
    });
    expect(unknownKey.status).toBe(401);
    const known = await fetch(`${s.base}/api/v1/users/nobody`, {
      headers: { Authorization: `Bearer ${key}` },
    });
    expect(known.status).toBe(404);
    await createUser(s, "user_cli_1");

    const packs = await cli(s, ["packs", "sync", "--json"]);
    expect(packs.code, packs.stderr).toBe(0);

    const verify = await cli(s, ["ledger", "verify", "--json"]);
    expect(verify.code, verify.stderr).toBe(0);
    expect(json(verify)).toMatchObject({ ok: true, violations: [] });

    const status = await cli(s, ["demo", "status", "--json"]);
    expect(status.code, status.stderr).toBe(0);
    expect(json(status)).toMatchObject({ counts: { users: 1, staff: 1, purchases: 0 } });

    const migrate = await cli(s, ["migrate", "--json"]);
    expect(migrate.code, migrate.stderr).toBe(0);
    expect(json(migrate)).toMatchObject({ applied: [] });
    expect(json<{ database: string }>(migrate).database).toContain("through the server");
  }, 180_000);

  it("runs npm run jobs beside the server: its catch-up reconciliation goes through the server", async () => {
    const worker = startProcess("node", ["--import", "tsx", "jobs/worker.ts"], {
      ...s.env,
      LOG_LEVEL: "info",
    });
    running.push(worker);
    // No run yet, so the worker's scheduler catches up at once, through the server's socket.
    const [run] = await waitFor("the worker's catch-up run", async () => {
      const rows = await sql<{ trigger: string; status: string }>(
        s,
        "SELECT trigger, status::text AS status FROM reconciliation_runs WHERE status <> 'running'",
      );
      return rows.length ? rows : undefined;
    });
    expect(run).toMatchObject({ status: "completed" });
    expect(worker.output()).toContain("through the server");
    expect(await worker.stop("SIGTERM")).toBe(0);
  }, 300_000);

  it("credits each session once when a CLI reconciliation runs while webhooks arrive", async () => {
    const userId = "user_race";
    await createUser(s, userId);
    expect((await cli(s, ["packs", "sync", "--json"])).code).toBe(0);
    // Webhooks held back 0–2 s each (one endpoint delivers in order), a third never sent: the
    // reconciliation below runs while they arrive, and must credit the dropped ones.
    s.emu.control.setFaults({ delayMs: 2_000 });
    const sessions: string[] = [];
    for (let i = 0; i < 24; i++) {
      const session = await s.stripe.checkout.sessions.create({
        mode: "payment",
        line_items: [{ price: price.id, quantity: 1 }],
        success_url: "https://app.example/success",
        cancel_url: "https://app.example/cancel",
        client_reference_id: userId,
      });
      if (i % 3 === 0) s.emu.control.dropEventsFor(session.id);
      await s.emu.control.paySession(session.id, { card: "success" });
      sessions.push(session.id);
    }
    // Two CLI reconciliations at once beside the webhooks: whichever takes the lock runs, the other
    // either waits its turn out (exit 3) or, starting after it, finds everything credited.
    const runs = await Promise.all([
      cli(s, ["reconcile", "--json"]),
      new Promise<CliRun>((r) => setTimeout(r, 1_500)).then(() => cli(s, ["reconcile", "--json"])),
    ]);
    for (const r of runs) expect([0, 3], r.stderr).toContain(r.code);
    const completed = runs.filter((r) => r.code === 0);
    expect(completed.length).toBeGreaterThanOrEqual(1);
    await s.emu.control.waitForDeliveries({ timeoutMs: 60_000 });
    s.emu.control.setFaults({ delayMs: 0 });
    const last = await cli(s, ["reconcile", "--json"]);
    expect(last.code, last.stderr).toBe(0);
    expect(json(last)).toMatchObject({ status: "completed", creditedNow: 0 });

    // Exactly once: 24 purchases, 24 purchase entries, balance 24 × 100 — with the server running
    // and again with it stopped.
    await waitFor("webhook queue settled", async () => (await balanceOf(s, userId)) >= 2400);
    expect(await balanceOf(s, userId)).toBe(2400);
    const withServer = await cli(s, ["demo", "status", "--json"]);
    expect(json(withServer)).toMatchObject({ counts: { purchases: 24, ledgerEntries: 24 } });
    const verify = await cli(s, ["ledger", "verify", "--json"]);
    expect(json(verify)).toMatchObject({ ok: true, violations: [] });
    // The dropped ones at least were credited by the reconciliations.
    const creditedByReconciliation = completed
      .map((r) => json<{ creditedNow: number }>(r).creditedNow)
      .reduce((a, b) => a + b, 0);
    expect(creditedByReconciliation).toBeGreaterThanOrEqual(8);

    expect(await server.stop("SIGTERM")).toBe(0);
    const withoutServer = await cli(s, ["demo", "status", "--json"]);
    expect(withoutServer.code, withoutServer.stderr).toBe(0);
    expect(json(withoutServer)).toEqual(json(withServer));
    const verifyAlone = await cli(s, ["ledger", "verify", "--json"]);
    expect(json(verifyAlone)).toEqual(json(verify));
  }, 300_000);
});

describe("the embedded database's socket", () => {
  it("is owner-only, has no TCP port, survives a crashed server, and a second server still refuses", async () => {
    const s = await setUp();
    const server = startServer(s);
    await healthy(s);
    const runDir = path.join(s.dataDir, "run");
    expect(statSync(runDir).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(runDir, ".s.PGSQL.5432")).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(runDir, "locks.sock")).mode & 0o777).toBe(0o600);
    expect(listeningTcpPorts(server.child.pid!)).toEqual([s.port]);

    const second = startProcess("node", ["--import", "tsx", "server.ts"], {
      ...s.env,
      PORT: String(await freePort()),
    });
    running.push(second);
    expect(await second.exited).toBe(1);
    expect(second.output()).toContain("is in use by process");

    // A crash leaves the socket files; the CLI then sees a dead owner and opens the files itself.
    expect(await server.stop("SIGKILL")).toBe(null);
    expect(existsSync(path.join(runDir, ".s.PGSQL.5432"))).toBe(true);
    const alone = await cli(s, ["demo", "status", "--json"]);
    expect(alone.code, alone.stderr).toBe(0);
    expect(json<{ counts: { staff: number } }>(alone).counts.staff).toBe(0);

    // The next server replaces the stale socket, and the CLI goes through it again.
    const restarted = startServer(s);
    await healthy(s);
    const staff = await cli(
      s,
      ["staff", "create", "--email", "second@example.com", "--role", "support", "--json"],
      "another-long-password\n",
    );
    expect(staff.code, staff.stderr).toBe(0);
    const migrate = await cli(s, ["migrate", "--status", "--json"]);
    expect(json<{ database: string }>(migrate).database).toContain(
      `through the server, process ${restarted.child.pid}`,
    );
    expect(await restarted.stop("SIGTERM")).toBe(0);
    // A clean stop removes the sockets.
    expect(existsSync(path.join(runDir, ".s.PGSQL.5432"))).toBe(false);
  }, 300_000);

  it("refuses a CLI reconciliation (exit 3) while the server runs one", async () => {
    // The server's scheduler starts a catch-up run at once (no run yet); Stripe answering each
    // request after 20 s keeps it going while the CLI starts and asks for the lock.
    const s = await setUp({ SCHEDULER: "on" });
    s.emu.control.setFaults({ apiLatencyMs: 20_000 });
    const server = startServer(s);
    await healthy(s);
    const runDir = path.join(s.dataDir, "run");
    const held = await waitFor("the server's run to take the lock", async () => {
      const status = await remoteLockStatus(runDir, "reconciliation");
      return status.held && status.holder ? status : undefined;
    });
    const refused = await cli(s, ["reconcile", "--json"]);
    expect(refused.code, refused.stderr).toBe(3);
    expect(json(refused)).toMatchObject({
      ok: false,
      code: "reconciliation_locked",
      runningRunId: held.holder,
    });
    s.emu.control.setFaults({ apiLatencyMs: 0 });
    await waitFor("the server's run to finish", async () => {
      const status = await remoteLockStatus(runDir, "reconciliation");
      return !status.held;
    });
    const after = await cli(s, ["reconcile", "--json"]);
    expect(after.code, after.stderr).toBe(0);
    expect(await server.stop("SIGTERM")).toBe(0);
  }, 300_000);
});

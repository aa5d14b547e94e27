import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type EmulatorHandle } from "../../emulator/index";
import { cleanEnv } from "../support/processes";

/**
 * `--json` prints exactly one JSON object on stdout and nothing else — not a log line, not a
 * progress line — for every command, on success, on failure and on a usage error, so
 * `npm run cli -- … --json | jq` always works. The real CLI runs as a child process with the
 * default log level (info), so anything the code writes to stdout would show here. Each command
 * opens the embedded database itself (the same for every test database, so PGlite only).
 */
describe.skipIf(process.env.CREDITDESK_TEST_DB === "postgres")("--json on stdout", () => {
  let dataDir: string;
  let emu: EmulatorHandle;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), "cd-json-"));
    emu = await startEmulator({ host: "127.0.0.1" });
    const stripe = new Stripe("sk_test_cli_json", {
      host: "127.0.0.1",
      port: Number(new URL(emu.url).port),
      protocol: "http",
    });
    const product = await stripe.products.create({ name: "Pack" });
    await stripe.prices.create({
      product: product.id,
      unit_amount: 500,
      currency: "usd",
      metadata: { credits: "50" },
    });
    env = cleanEnv({
      DATA_DIR: dataDir,
      STRIPE_SECRET_KEY: "sk_test_cli_json",
      STRIPE_API_BASE: emu.url,
      STRIPE_WEBHOOK_SECRET: "whsec_cli_json",
      LOG_LEVEL: "info",
    });
  });
  afterAll(async () => {
    await emu?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Runs the CLI without blocking this process, whose emulator answers the CLI's Stripe calls. */
  function cli(args: string[], stdin = "") {
    return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn("node", ["--import", "tsx", "jobs/cli.ts", ...args], { env });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (c) => (stdout += c));
      child.stderr.on("data", (c) => (stderr += c));
      child.on("close", (code) => resolve({ code, stdout, stderr }));
      child.stdin.end(stdin);
    });
  }

  async function jsonOf(args: string[], expectedCode: number, stdin?: string) {
    const r = await cli([...args, "--json"], stdin);
    expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(expectedCode);
    expect(r.stdout.trimEnd().split("\n"), `${args.join(" ")} stdout`).toHaveLength(1);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  }

  it("prints one JSON object for every command", async () => {
    expect(await jsonOf(["migrate"], 0)).toMatchObject({ applied: expect.any(Array) });
    expect(
      await jsonOf(
        ["staff", "create", "--email", "json@example.com", "--role", "finance"],
        0,
        "a-long-enough-password\n",
      ),
    ).toMatchObject({ email: "json@example.com", role: "finance" });
    const key = await jsonOf(["apikey", "create", "--name", "json", "--scope", "all"], 0);
    expect(key).toMatchObject({ name: "json", key: expect.stringMatching(/^cdk_/) });
    expect(await jsonOf(["apikey", "list"], 0)).toMatchObject({ keys: [{ id: key.id }] });
    expect(await jsonOf(["apikey", "revoke", "--id", String(key.id)], 0)).toMatchObject({
      id: key.id,
    });
    expect(await jsonOf(["packs", "sync"], 0)).toBeTypeOf("object");
    expect(await jsonOf(["ledger", "verify"], 0)).toMatchObject({ ok: true });
    // Reconciliation logs as it goes (info): those lines must not reach stdout.
    expect(await jsonOf(["reconcile"], 0)).toMatchObject({ status: "completed" });
    expect(await jsonOf(["demo", "status"], 0)).toMatchObject({
      demoMode: false,
      counts: { staff: 1 },
    });
  }, 300_000);

  it("prints one JSON object for failures and usage errors too", async () => {
    // Not in demo mode (a Stripe key is set): refused, as an error object.
    expect(await jsonOf(["demo", "reset"], 1)).toMatchObject({ ok: false });
    expect(await jsonOf(["ledger", "verify", "--bogus"], 2)).toMatchObject({
      ok: false,
      code: "usage",
    });
    expect(await jsonOf(["frobnicate"], 2)).toMatchObject({
      ok: false,
      error: 'Unknown command "frobnicate".',
    });
    expect(await jsonOf(["reconcile", "--since", "yesterday"], 2)).toMatchObject({
      ok: false,
      code: "usage",
    });
  }, 120_000);
});

import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import type Stripe from "stripe";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { startEmulator, type EmulatorHandle } from "../../emulator/index";
import { openDatabase, setDatabase, type Database } from "../../app/services/infra/db.server";
import { applyMigrations } from "../../app/services/infra/migrations.server";
import { createStripeClient } from "../../app/services/infra/stripe-client.server";
import { freePort, startPostgresCluster, type PostgresCluster } from "./native-postgres";
import { cleanEnv, startProcess, waitFor, type RunningProcess } from "./processes";

/**
 * The built app as a user meets it: `server.ts` in its own process on a free port, a throwaway
 * native Postgres cluster (so the test process can seed and check the same database directly),
 * and the Stripe emulator in the test process with a webhook endpoint pointing at the app.
 * Browser tests drive it with Debian's Chromium through playwright-core.
 */

const ROOT = path.resolve(new URL("../..", import.meta.url).pathname);
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const SCREENSHOT_DIR = path.join(ROOT, "test-artifacts", "screenshots");

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(full));
    else newest = Math.max(newest, statSync(full).mtimeMs);
  }
  return newest;
}

/** Build the app unless build/ is newer than every source file it is made from. */
export function ensureBuild(): void {
  const serverBuild = path.join(ROOT, "build", "index.js");
  const clientManifest = path.join(ROOT, "public", "build");
  const sources = Math.max(
    newestMtime(path.join(ROOT, "app")),
    statSync(path.join(ROOT, "remix.config.js")).mtimeMs,
  );
  // A development build (jsxDEV calls) cannot be served with NODE_ENV=production: rebuild it too.
  if (
    existsSync(serverBuild) &&
    existsSync(clientManifest) &&
    statSync(serverBuild).mtimeMs >= sources &&
    !readFileSync(serverBuild, "utf8").includes("jsxDEV(")
  )
    return;
  // A production build, as `npm test` and `npm start` make it. Under vitest NODE_ENV is "test",
  // which would make Remix emit development JSX.
  const result = spawnSync("npx", ["remix", "build"], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 300_000,
    env: { ...process.env, NODE_ENV: "production" },
  });
  if (result.status !== 0)
    throw new Error(`remix build failed:\n${result.stdout}\n${result.stderr}`);
}

export interface E2eApp {
  baseUrl: string;
  emulator: EmulatorHandle;
  /** SDK pointed at the emulator, for creating prices and sessions as a customer would. */
  stripe: Stripe;
  webhookSecret: string;
  /** The test process's own connection to the app's database (installed for services too). */
  db: Database;
  server: RunningProcess;
  stop(): Promise<void>;
}

export async function startE2eApp(opts: { env?: Record<string, string> } = {}): Promise<E2eApp> {
  ensureBuild();
  let cluster: PostgresCluster | undefined;
  let emulator: EmulatorHandle | undefined;
  let db: Database | undefined;
  let server: RunningProcess | undefined;
  try {
    cluster = await startPostgresCluster();
    const admin = new pg.Client({ connectionString: cluster.url() });
    await admin.connect();
    await admin.query("CREATE DATABASE creditdesk_e2e");
    await admin.end();
    const databaseUrl = cluster.url("creditdesk_e2e");
    await applyMigrations(new PrismaPg({ connectionString: databaseUrl }));
    db = await openDatabase({ kind: "postgres", url: databaseUrl });
    setDatabase(db);

    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const webhookSecret = `whsec_${randomBytes(24).toString("hex")}`;
    emulator = await startEmulator({
      host: "127.0.0.1",
      webhookEndpoints: [
        { url: `${baseUrl}/webhooks/stripe`, secret: webhookSecret, description: "creditdesk e2e" },
      ],
    });
    server = startProcess(
      "node",
      ["--import", "tsx", "server.ts"],
      cleanEnv({
        NODE_ENV: "test",
        DATABASE_URL: databaseUrl,
        PORT: String(port),
        HOST: "127.0.0.1",
        APP_URL: baseUrl,
        SCHEDULER: "off",
        SESSION_SECRET: randomBytes(32).toString("hex"),
        STRIPE_SECRET_KEY: "sk_test_e2e",
        STRIPE_API_BASE: emulator.url,
        STRIPE_WEBHOOK_SECRET: webhookSecret,
        ...opts.env,
      }),
    );
    const running = server;
    await waitFor(
      "the app's /healthz",
      async () => {
        if (running.child.exitCode !== null) throw new Error(`server exited:\n${running.output()}`);
        return (await fetch(`${baseUrl}/healthz`)).status === 200;
      },
      90_000,
    );
    const stripe = createStripeClient({
      secretKey: "sk_test_e2e",
      apiBase: emulator.url,
      maxNetworkRetries: 0,
    });
    const parts = { cluster, emulator, db, server };
    return {
      baseUrl,
      emulator,
      stripe,
      webhookSecret,
      db,
      server,
      stop: () => stopAll(parts),
    };
  } catch (error) {
    await stopAll({ cluster, emulator, db, server });
    throw error;
  }
}

async function stopAll(p: {
  cluster?: PostgresCluster;
  emulator?: EmulatorHandle;
  db?: Database;
  server?: RunningProcess;
}) {
  await p.server?.stop("SIGTERM");
  await p.emulator?.stop();
  setDatabase(undefined);
  await p.db?.close();
  p.cluster?.stop();
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/**
 * A page that records what went wrong in the browser (uncaught errors, console errors such as
 * React hydration mismatches) so a test can assert there were none.
 */
export async function newPage(
  browser: Browser,
  opts: { width?: number; height?: number; timezoneId?: string } = {},
) {
  const context: BrowserContext = await browser.newContext({
    viewport: { width: opts.width ?? 1280, height: opts.height ?? 900 },
    timezoneId: opts.timezoneId ?? "Europe/Berlin",
    locale: "en-GB",
    acceptDownloads: true,
  });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    // The app serves no favicon; the browser's automatic request for it is not an app error.
    if (message.location().url.endsWith("/favicon.ico")) return;
    // A form answered with 400 (validation) or 403 is the app working as designed; the browser
    // still logs the status. Anything else (404 assets, 500s, hydration errors) is a problem.
    if (
      /Failed to load resource: the server responded with a status of 40[03]/.test(message.text())
    )
      return;
    problems.push(`console: ${message.text()}`);
  });
  return { context, page, problems };
}

export async function login(
  page: Page,
  baseUrl: string,
  email: string,
  password: string,
  redirectTo = "/",
) {
  await page.goto(`${baseUrl}/login?redirectTo=${encodeURIComponent(redirectTo)}`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await Promise.all([
    page.waitForURL((url) => !url.pathname.startsWith("/login")),
    page.getByRole("button", { name: "Sign in" }).click(),
  ]);
}

/** Full-page screenshot kept as a test artifact (test-artifacts/ is git-ignored). */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

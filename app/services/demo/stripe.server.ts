import { copyFileSync, existsSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import type Stripe from "stripe";
import { EmulatorClock, startEmulator, type EmulatorHandle } from "../../../emulator/index";
import { getEnv, parseEnv, setEnv, type Env } from "../infra/env.server";
import { createStripeClient, DEMO_SECRET_KEY, setStripe } from "../infra/stripe-client.server";
import { HANDLED_EVENT_TYPES } from "../webhooks/handlers.server";
import { demoFiles } from "./files.server";

/**
 * Demo mode's Stripe: the project's emulator, in this process, on a free loopback port, with its
 * state saved in DATA_DIR so the demo account survives restarts. The app talks to it exactly as
 * to Stripe (STRIPE_API_BASE + a test key), and it delivers signed webhooks to the app's real
 * endpoint, whose signing secret lives in the emulator's snapshot like any endpoint's.
 */

/** Marks the endpoint demo mode created, so a restart finds it again (and its secret). */
const ENDPOINT_METADATA = { creditdesk_demo: "app_endpoint" } as const;

/**
 * Demo defaults for settings the person has not set. The scheduler stays off so the missed
 * purchases wait for the reconciliation you start (its catch-up run would credit them at start);
 * the first run looks back 30 days, over the whole stretch where the demo dropped webhooks.
 */
export const DEMO_ENV_DEFAULTS: Readonly<Record<string, string>> = {
  SCHEDULER: "off",
  RECONCILE_LOOKBACK_DAYS: "30",
};

export interface DemoStripe {
  emulator: EmulatorHandle;
  /** The emulator's clock: seeding moves it back 90 days and forward again. */
  clock: EmulatorClock;
  stripe: Stripe;
  endpointId: string | null;
  webhookUrl: string | null;
  /** Point the app's endpoint at another URL (the server listened on another port than PORT). */
  pointEndpointAt(url: string): Promise<void>;
  /**
   * A new account is not saved after every change while it is being filled (each save rewrites
   * the whole, growing file: hundreds of times during the seeding). This saves it once and, from
   * then on, after every change, like a restarted demo does. No-op when the state was loaded.
   */
  persist(): Promise<void>;
  stop(): Promise<void>;
}

/** The environment view for demo mode: the emulator stands in for Stripe, demoMode stays true. */
export function demoEnv(apiBase: string, webhookSecret: string | null): Env {
  const source: Record<string, string | undefined> = { ...process.env };
  for (const [key, value] of Object.entries(DEMO_ENV_DEFAULTS)) {
    if (!source[key]?.trim()) source[key] = value;
  }
  const env = parseEnv({
    ...source,
    STRIPE_SECRET_KEY: DEMO_SECRET_KEY,
    STRIPE_API_BASE: apiBase,
    STRIPE_WEBHOOK_SECRET: webhookSecret ?? "",
  });
  // parseEnv sees a key and would call this test mode; the banner must still say "demo".
  return { ...env, demoMode: true };
}

async function findEndpoint(stripe: Stripe): Promise<Stripe.WebhookEndpoint | null> {
  for await (const endpoint of stripe.webhookEndpoints.list({ limit: 100 })) {
    if (endpoint.metadata?.creditdesk_demo === ENDPOINT_METADATA.creditdesk_demo) return endpoint;
  }
  return null;
}

/** Stripe shows an endpoint's secret only at creation; the emulator's saved state still has it. */
function savedSecret(emulator: EmulatorHandle, endpointId: string): string | null {
  const secrets = new Map(emulator.control.snapshot().ledgers.test.webhookSecrets);
  return secrets.get(endpointId) ?? null;
}

/**
 * Start the emulator and install it as this process's Stripe.
 * - `writable` (the server): state is loaded from and saved to DATA_DIR; the app's webhook
 *   endpoint is created on first start.
 * - read-only (CLI commands): a copy of the saved state is loaded and thrown away afterwards, so a
 *   command never overwrites what the server saved and never creates anything in the account.
 */
export async function startDemoStripe(opts: { writable: boolean }): Promise<DemoStripe> {
  const env = getEnv();
  const files = demoFiles(env.DATA_DIR);
  const host = "127.0.0.1";
  const fresh = opts.writable && !existsSync(files.stripeSnapshot);
  let snapshotPath: string | undefined;
  let scratch: string | undefined;
  if (opts.writable) {
    snapshotPath = fresh ? undefined : files.stripeSnapshot;
  } else if (existsSync(files.stripeSnapshot)) {
    scratch = path.join(
      os.tmpdir(),
      `creditdesk-demo-stripe-${process.pid}-${randomBytes(4).toString("hex")}.json`,
    );
    copyFileSync(files.stripeSnapshot, scratch);
    snapshotPath = scratch;
  }
  let clock = EmulatorClock.wall();
  let emulator = await startEmulator({ port: 0, host, clock, snapshotPath });
  let stripe = createStripeClient({ secretKey: DEMO_SECRET_KEY, apiBase: emulator.url });
  let persisted = !fresh;
  const cleanup = async () => {
    // An unsaved new account is saved on the way out, so database and Stripe state stay a pair.
    if (!persisted) await emulator.control.saveSnapshot(files.stripeSnapshot);
    await emulator.stop();
    if (scratch) rmSync(scratch, { force: true });
  };

  try {
    const webhookUrl = `${env.appUrl}/webhooks/stripe`;
    let endpoint = await findEndpoint(stripe);
    let secret: string | null = null;
    if (endpoint) {
      secret = savedSecret(emulator, endpoint.id);
      if (opts.writable && endpoint.url !== webhookUrl) {
        endpoint = await stripe.webhookEndpoints.update(endpoint.id, { url: webhookUrl });
      }
    } else if (opts.writable) {
      // Subscribed to exactly the types creditdesk handles, as docs/stripe-setup.md tells you to.
      endpoint = await stripe.webhookEndpoints.create({
        url: webhookUrl,
        enabled_events: [...HANDLED_EVENT_TYPES],
        description: "creditdesk demo mode: the app's webhook endpoint",
        metadata: { ...ENDPOINT_METADATA },
      });
      secret = endpoint.secret ?? null;
    }
    setEnv(demoEnv(emulator.url, secret));
    setStripe(stripe);
    const endpointId = endpoint?.id ?? null;
    let currentUrl = endpoint?.url ?? null;
    return {
      get emulator() {
        return emulator;
      },
      get clock() {
        return clock;
      },
      get stripe() {
        return stripe;
      },
      endpointId,
      get webhookUrl() {
        return currentUrl;
      },
      async pointEndpointAt(url: string) {
        if (!endpointId || currentUrl === url) return;
        await stripe.webhookEndpoints.update(endpointId, { url });
        currentUrl = url;
      },
      async persist() {
        if (persisted) return;
        persisted = true;
        await emulator.control.saveSnapshot(files.stripeSnapshot);
        const port = emulator.port;
        await emulator.stop();
        clock = EmulatorClock.wall();
        try {
          // The same port, so the app's STRIPE_API_BASE and open checkout URLs stay valid.
          emulator = await startEmulator({ port, host, clock, snapshotPath: files.stripeSnapshot });
        } catch {
          emulator = await startEmulator({
            port: 0,
            host,
            clock,
            snapshotPath: files.stripeSnapshot,
          });
          stripe = createStripeClient({ secretKey: DEMO_SECRET_KEY, apiBase: emulator.url });
          setEnv({ ...getEnv(), STRIPE_API_BASE: emulator.url });
          setStripe(stripe);
        }
      },
      stop: cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll } from "vitest";
import { getDb } from "../../app/services/infra/db.server";
import { syncPacks } from "../../app/services/packs.server";
import { listRunItems, type RunItem } from "../../app/services/reconciliation/queries.server";
import type { RunOptions, RunSummary } from "../../app/services/reconciliation/run.server";
import { runReconciliation } from "../../app/services/reconciliation/run.server";
import { readLimitedBody, receiveStripeWebhook } from "../../app/services/webhooks/ingest.server";
import { drainWebhookQueue } from "../../app/services/webhooks/queue.server";
import { randomBytes } from "node:crypto";
import { startEmulator } from "../../emulator/index";
import { parseEnv, setEnv, type Env } from "../../app/services/infra/env.server";
import { createStripeClient, setStripe } from "../../app/services/infra/stripe-client.server";
import { createPrice, createUser, uid, type MoneyPath } from "./money-path";

/**
 * Reconciliation test kit: the money-path emulator plus a real HTTP receiver for its webhooks
 * (a node server handing each request to the app's webhook handler), APP_URL pointing at it, and
 * helpers to start every test from a clean Stripe account and run history.
 */

export interface Receiver {
  url: string;
  requests: number;
  close(): Promise<void>;
}

/**
 * An HTTP server answering POST /webhooks/stripe with the app's receiver, then draining the
 * event queue before it answers, so that "the emulator delivered the webhook" also means "the
 * app acted on it" (the server's queue worker does that moments later; tests need it settled).
 */
export async function startWebhookReceiver(): Promise<Receiver> {
  let base = "";
  const state = { requests: 0 };
  const server: Server = createServer((req, res) => {
    state.requests += 1;
    void (async () => {
      try {
        const declared = req.headers["content-length"];
        const signature = req.headers["stripe-signature"];
        const response = await receiveStripeWebhook({
          body: await readLimitedBody(req, declared === undefined ? null : Number(declared)),
          signature: typeof signature === "string" ? signature : null,
          ip: "127.0.0.1",
        });
        await drainWebhookQueue();
        res.writeHead(response.status, { "Content-Type": "application/json" });
        res.end(JSON.stringify(response.body));
      } catch (error) {
        res.writeHead(500);
        res.end(String(error));
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    get requests() {
      return state.requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Fast pacing for tests: no rate cap, millisecond backoffs. */
export const TEST_TUNING: RunOptions["tuning"] = {
  // One listing per segment: request counts and checkpoints stay exact (lanes have their own tests).
  listLanes: 1,
  requestsPerSecond: Number.POSITIVE_INFINITY,
  backoffBaseMs: 5,
  backoffMaxMs: 50,
  maxRateLimitWaitMs: 60_000,
};

export interface ReconcileKit {
  mp: MoneyPath;
  receiver: Receiver;
  /** The emulator's endpoint pointing at the receiver (recreated by `fresh`). */
  endpointId: string;
}

/**
 * Like useMoneyPath, but `fresh()` gives each test a new emulator (a new random seed, so ids never
 * repeat against the file's database) with one endpoint at the receiver, and clears the run
 * history, attention items and delivery log so windows and alerts depend on the test alone.
 */
export function useReconcileKit(envOverrides: Record<string, string> = {}) {
  const secret = `whsec_${randomBytes(16).toString("hex")}`;
  let receiver: Receiver | undefined;
  let mp: MoneyPath | undefined;
  let endpointId = "";
  let baseEnv: Record<string, string | undefined> = {};
  let extra: Record<string, string> = {};
  const apply = () => setEnv(parseEnv({ ...baseEnv, ...envOverrides, ...extra }) as Env);

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
  });
  afterAll(async () => {
    setStripe(undefined);
    setEnv(undefined);
    await mp?.emu.stop();
    await receiver?.close();
  });

  const kit = {
    get ctx(): ReconcileKit {
      if (!receiver || !mp) throw new Error("reconcile kit not ready: call fresh() first");
      return { mp, receiver, endpointId };
    },
    /** Extra environment on top of the kit's (replaces the previous extra). */
    setEnv(patch: Record<string, string>) {
      extra = patch;
      apply();
    },
    async fresh(opts: { enabledEvents?: string[] } = {}) {
      await mp?.emu.stop();
      const emu = await startEmulator({ host: "127.0.0.1" });
      const stripe = createStripeClient({
        secretKey: "sk_test_creditdesk_tests",
        apiBase: emu.url,
        maxNetworkRetries: 0,
      });
      setStripe(stripe);
      mp = { emu, stripe, secret };
      baseEnv = {
        ...process.env,
        NODE_ENV: "test",
        STRIPE_SECRET_KEY: "sk_test_creditdesk_tests",
        STRIPE_API_BASE: emu.url,
        STRIPE_WEBHOOK_SECRET: secret,
        APP_URL: receiver!.url,
        DEMO_SEED: "false",
        SCHEDULER: "off",
        ALERT_WEBHOOK_URL: "",
      };
      extra = {};
      apply();
      const endpoint = await emu.control.createWebhookEndpoint({
        url: `${receiver!.url}/webhooks/stripe`,
        secret,
        enabled_events: opts.enabledEvents ?? ["*"],
      });
      endpointId = endpoint.id;
      const db = getDb();
      await db.reconciliationItem.deleteMany();
      await db.reconciliationRun.deleteMany();
      await db.attentionItem.deleteMany();
      await db.webhookDelivery.deleteMany();
      return endpoint;
    },
  };
  return kit;
}

/** A pack (price with metadata.credits, mirrored) and `n` users to buy it. */
export async function packAndUsers(
  mp: MoneyPath,
  n: number,
  opts: { credits?: number; unitAmount?: number } = {},
) {
  const price = await createPrice(mp.stripe, {
    credits: opts.credits ?? 100,
    unitAmount: opts.unitAmount ?? 1000,
  });
  await syncPacks();
  const users = [];
  for (let i = 0; i < n; i++) users.push(await createUser({ id: uid("rc") }));
  return { price, users };
}

export function reconcile(opts: Partial<RunOptions> = {}): Promise<RunSummary> {
  return runReconciliation({ trigger: "cli", tuning: TEST_TUNING, ...opts });
}

/** Every item of a run as the run page lists them, page by page (small pages, to page often). */
export async function allRunItems(runId: string): Promise<RunItem[]> {
  const items: RunItem[] = [];
  let after: string | null = null;
  do {
    const page = await listRunItems(runId, { limit: 7, after });
    items.push(...page.items);
    after = page.nextCursor;
  } while (after);
  return items;
}

export async function purchasesFor(sessionIds: string[]) {
  return getDb().purchase.findMany({ where: { checkoutSessionId: { in: sessionIds } } });
}

export async function ledgerKeysFor(sessionIds: string[]) {
  return getDb().ledgerEntry.findMany({
    where: { idempotencyKey: { in: sessionIds.map((id) => `checkout:${id}`) } },
    select: { idempotencyKey: true, userId: true, delta: true },
  });
}

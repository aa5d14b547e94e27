import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import Stripe from "stripe";
import {
  getDatabase,
  getDb,
  openDatabase,
  setDatabase,
  type Database,
} from "../../app/services/infra/db.server";
import { parseEnv, setEnv, type Env } from "../../app/services/infra/env.server";
import { syncPacks } from "../../app/services/packs.server";
import { createStripeClient, setStripe } from "../../app/services/infra/stripe-client.server";
import { stripeWebhookEndpoint } from "../../app/services/webhooks/http-endpoint.server";
import {
  settleWebhookQueue,
  startWebhookWorker,
  stopWebhookWorker,
} from "../../app/services/webhooks/queue.server";
import { startEmulator, type EmulatorHandle } from "../../emulator/index";
import type { FaultConfig } from "../../emulator/faults";
import { createApiFetch, makeApiKey, makeUser, type ApiFetch } from "./api-harness";
import { createTestDatabase, type TestDatabase } from "./test-database";

/**
 * The system under test of the money proof suite (tests/proof/): one fresh world per generated
 * run — a database cloned from the migrated Postgres template, a seeded Stripe emulator, the
 * app's real webhook endpoint (`stripeWebhookEndpoint`, as server.ts mounts it) on a real HTTP
 * port, the event-queue worker, and the Credits API routes through Remix's request handler.
 *
 * `stop()` / `start()` restart "the server" the way a deploy does: stop accepting requests and
 * let the ones in flight finish, stop the worker (it finishes the events in hand), close every
 * database connection; then reconnect, listen on the same port and start a new worker. While it
 * is down the emulator's deliveries fail to connect and are retried later, as Stripe's are.
 */

export const STARTING_GRANT = 1_000_000;

export type PackSpec = { credits: number; unitAmount: number };

export interface ProofWorldOptions {
  seed: number;
  faults: Partial<FaultConfig>;
  packs: PackSpec[];
  users: number;
  workerConcurrency?: number;
  /** The emulator's deliveries in flight per endpoint (1 keeps each endpoint's events in order). */
  deliveryConcurrency?: number;
}

export interface ProofWorld {
  emu: EmulatorHandle;
  /** The customer's / dashboard's side of Stripe (not the app's client), retrying faults. */
  stripe: Stripe;
  secret: string;
  url: string;
  api: ApiFetch;
  apiKey: string;
  staff: { id: string; email: string };
  users: { id: string; email: string }[];
  packs: (PackSpec & { priceId: string })[];
  planPriceId: string;
  /** Event types (prefixes) whose deliveries the emulator drops while listed. */
  lostTypes: Set<string>;
  up: boolean;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Settle: the emulator's due deliveries answered and the event queue empty. */
  settle(opts?: { flush?: boolean }): Promise<void>;
  close(): Promise<void>;
}

/** Retry the test's own Stripe calls through injected 429s and 500s (the SDK retries 500s itself). */
export async function withStripeRetries<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      const transient =
        error instanceof Stripe.errors.StripeRateLimitError ||
        error instanceof Stripe.errors.StripeAPIError ||
        error instanceof Stripe.errors.StripeConnectionError;
      if (!transient || attempt >= 20) throw error;
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

async function listen(server: Server, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

function webhookServer(): Server {
  const app = express();
  app.disable("x-powered-by");
  app.all("/webhooks/stripe", (req, res) => void stripeWebhookEndpoint(req, res));
  return createServer(app);
}

/** The API routes are loaded once per test file; every world uses them. */
let apiFetch: Promise<ApiFetch> | undefined;
let spareDatabase: Promise<TestDatabase> | undefined;

/** Drop the database cloned ahead for a next run that did not come (call once, after the runs). */
export async function closeSpareDatabase(): Promise<void> {
  const spare = spareDatabase;
  spareDatabase = undefined;
  await (await spare?.catch(() => undefined))?.close();
}

export async function openProofWorld(opts: ProofWorldOptions): Promise<ProofWorld> {
  // Cloning the template is most of a world's set-up: the next run's clone starts now.
  const template: TestDatabase = await (spareDatabase ?? createTestDatabase("postgres"));
  spareDatabase = createTestDatabase("postgres");
  spareDatabase.catch(() => undefined);
  const dbUrl = template.url!;
  let db: Database = await openDatabase({ kind: "postgres", url: dbUrl });
  setDatabase(db);

  let server = webhookServer();
  const port = await listen(server, 0);
  const url = `http://127.0.0.1:${port}`;
  const secret = `whsec_${randomBytes(16).toString("hex")}`;
  const emu = await startEmulator({
    host: "127.0.0.1",
    seed: opts.seed,
    faults: opts.faults,
    // Generous: an answered delivery must never count as a timeout on a busy machine.
    webhookTimeoutMs: 60_000,
    deliveryConcurrency: opts.deliveryConcurrency ?? 1,
    webhookEndpoints: [{ url: `${url}/webhooks/stripe`, secret, enabled_events: ["*"] }],
  });
  setStripe(
    createStripeClient({
      secretKey: "sk_test_creditdesk_proof",
      apiBase: emu.url,
      maxNetworkRetries: 3,
    }),
  );
  setEnv(
    parseEnv({
      ...process.env,
      NODE_ENV: "test",
      STRIPE_SECRET_KEY: "sk_test_creditdesk_proof",
      STRIPE_API_BASE: emu.url,
      STRIPE_WEBHOOK_SECRET: secret,
      APP_URL: url,
      DEMO_SEED: "false",
      SCHEDULER: "off",
      ALERT_WEBHOOK_URL: "",
    }) as Env,
  );
  const stripe = createStripeClient({
    secretKey: "sk_test_creditdesk_proof",
    apiBase: emu.url,
    maxNetworkRetries: 5,
  });

  const faults = emu.control.faults();
  // Catalogue and people are set up before the storm: no faults while making them.
  emu.control.setFaults({ api429Rate: 0, api500Rate: 0 });
  const [plan, ...packs] = await Promise.all([
    stripe.prices.create({
      product_data: { name: "Proof Pro plan" },
      unit_amount: 1500,
      currency: "usd",
      recurring: { interval: "month" },
      metadata: { tier: "pro" },
    }),
    ...opts.packs.map(async (spec, i) => {
      const price = await stripe.prices.create({
        product_data: { name: `Proof pack ${i + 1}` },
        unit_amount: spec.unitAmount,
        currency: "usd",
        metadata: { credits: String(spec.credits) },
      });
      return { ...spec, priceId: price.id };
    }),
  ]);
  await syncPacks();
  const users = [];
  for (let i = 0; i < opts.users; i++) users.push(await makeUser({ balance: STARTING_GRANT }));
  apiFetch ??= createApiFetch();
  const api = await apiFetch;
  const { key } = await makeApiKey("proof");
  // Staff who replays events; no password (signing in is not what this suite is about).
  const staff = await getDb().staffUser.create({
    data: {
      email: `proof.${randomBytes(4).toString("hex")}@staff.test`,
      role: "admin",
      passwordHash: "!",
    },
  });
  const lostTypes = new Set<string>();
  emu.control.setFaults({
    api429Rate: faults.api429Rate,
    api500Rate: faults.api500Rate,
    dropWhen: (event) => [...lostTypes].some((prefix) => event.type.startsWith(prefix)),
  });

  const concurrency = opts.workerConcurrency ?? 2;
  startWebhookWorker({ concurrency });

  const world: ProofWorld = {
    emu,
    stripe,
    secret,
    url,
    api,
    apiKey: key,
    staff: { id: staff.id, email: staff.email },
    users,
    packs,
    planPriceId: plan.id,
    lostTypes,
    up: true,
    async stop() {
      if (!world.up) return;
      world.up = false;
      // Stop accepting; requests in flight finish (and are recorded) before the database closes.
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await stopWebhookWorker();
      await db.close();
      setDatabase(undefined);
    },
    async start() {
      if (world.up) return;
      db = await openDatabase({ kind: "postgres", url: dbUrl });
      setDatabase(db);
      server = webhookServer();
      await listen(server, port);
      startWebhookWorker({ concurrency });
      world.up = true;
    },
    async settle(o = {}) {
      if (o.flush) await emu.control.flushDeliveries({ timeoutMs: 120_000 });
      else await emu.control.waitForDeliveries({ timeoutMs: 120_000 });
      if (world.up) await settleWebhookQueue();
    },
    async close() {
      await world.stop().catch(() => undefined);
      setStripe(undefined);
      setEnv(undefined);
      await emu.stop();
      await template.close();
    },
  };
  return world;
}

/**
 * Let the queue's backoff pass: events waiting for a retry after a transient failure (an injected
 * 429 or 500 from Stripe) are made due now. The test cannot wait out real backoffs of 10 s and
 * more; whether the retry then succeeds is still the app's business.
 */
export async function fastForwardQueue(): Promise<number> {
  const rows = await getDatabase().query<{ n: number }>(
    `WITH due AS (UPDATE stripe_events SET available_at = now()
                   WHERE status = 'received' AND available_at > now() RETURNING 1)
     SELECT count(*)::int AS n FROM due`,
    [],
  );
  return rows[0]?.n ?? 0;
}

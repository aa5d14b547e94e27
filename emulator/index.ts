import type { AddressInfo } from "node:net";
import { EmulatorClock } from "./clock";
import { createControl, type EmulatorControl, type WebhookEndpointInput } from "./control";
import { EmulatorCore, type ObservedBody } from "./core";
import { mergeFaults, NO_FAULTS, type FaultConfig } from "./faults";
import { createEmulatorServer } from "./http/server";
import { randomSeed } from "./random";
import {
  readSnapshotFile,
  restoreSnapshot,
  snapshotJson,
  writeSnapshotFile,
} from "./state/snapshot";

export { EmulatorClock } from "./clock";
export type { EmulatorControl, WebhookEndpointInput } from "./control";
export type { ObservedBody, RequestLogEntry } from "./core";
export type { FaultConfig } from "./faults";
export type { EmulatorSnapshot } from "./state/snapshot";
export type { DeliveryAttempt, DeliveryRecord } from "./webhooks/delivery-queue";
export type { SeedSessionsOptions } from "./actions/seed";
export type { PayOptions } from "./actions/checkout";
export { API_VERSION } from "./objects/events";
export type { StripeEvent, WebhookEndpoint } from "./objects/events";
export type { CheckoutSession } from "./objects/checkout-session";
export type { Charge, Dispute, PaymentIntent, Refund } from "./objects/payment";
export type { Invoice, Subscription } from "./objects/billing";

export interface EmulatorOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /** Makes ids, fault decisions and (unless `clock` says otherwise) the clock reproducible. */
  seed?: number;
  /**
   * A number freezes the clock at that unix time (it then moves only via `advanceClock`).
   * Default: frozen at start-up time when `seed` is given, otherwise the wall clock.
   */
  clock?: EmulatorClock | number;
  faults?: Partial<FaultConfig>;
  /** Loaded at start when the file exists; saved after changes (debounced) and on stop. */
  snapshotPath?: string;
  /** Divides webhook retry backoff (in real time): 60 turns "retry in 1 h" into 1 min. */
  timeFactor?: number;
  logRequests?: boolean;
  /** Endpoints created at start (and again after `reset()`), e.g. the app's webhook URL. */
  webhookEndpoints?: WebhookEndpointInput[];
  /** How long a webhook receiver may take before the attempt counts as failed. Default 10 s. */
  webhookTimeoutMs?: number;
  /** Concurrent deliveries per endpoint. Default 1, which keeps each endpoint's events in order. */
  deliveryConcurrency?: number;
  /** Called with every `/v1` response body, webhook payload and control result (the conformance tests). */
  onBody?: (observed: ObservedBody) => void;
}

export interface EmulatorHandle {
  /** e.g. "http://127.0.0.1:54321" — give it to the app as STRIPE_API_BASE. */
  url: string;
  port: number;
  seed: number;
  control: EmulatorControl;
  stop(): Promise<void>;
}

const SNAPSHOT_DEBOUNCE_MS = 300;

function chooseClock(opts: EmulatorOptions): EmulatorClock {
  if (opts.clock instanceof EmulatorClock) return opts.clock;
  if (typeof opts.clock === "number") return EmulatorClock.frozen(opts.clock);
  if (opts.seed !== undefined) return EmulatorClock.frozen(Date.now() / 1000);
  return EmulatorClock.wall();
}

function displayHost(host: string): string {
  if (host === "0.0.0.0" || host === "::") return "127.0.0.1";
  return host.includes(":") ? `[${host}]` : host;
}

export async function startEmulator(opts: EmulatorOptions = {}): Promise<EmulatorHandle> {
  const timeFactor = opts.timeFactor ?? 1;
  if (!(timeFactor > 0)) throw new RangeError("timeFactor must be a positive number");
  const snapshot = opts.snapshotPath ? readSnapshotFile(opts.snapshotPath) : undefined;
  const seed = opts.seed ?? snapshot?.seed ?? randomSeed();
  let baseUrl = "";
  const core = new EmulatorCore({
    seed,
    clock: chooseClock(opts),
    faults: mergeFaults(NO_FAULTS, opts.faults),
    timeFactor,
    webhookTimeoutMs: opts.webhookTimeoutMs ?? 10_000,
    deliveryConcurrency: opts.deliveryConcurrency ?? 1,
    baseUrl: () => baseUrl,
    onBody: opts.onBody,
  });
  // Filled in once the endpoints exist, so `reset()` recreates them with the same secrets.
  const standing: Array<WebhookEndpointInput & { secret: string }> = [];
  const control = createControl(core, {
    snapshotPath: opts.snapshotPath,
    standingEndpoints: standing,
  });

  const server = createEmulatorServer(core, control, opts.logRequests ?? false);
  const host = opts.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  baseUrl = `http://${displayHost(host)}:${port}`;

  if (snapshot) restoreSnapshot(core, snapshot);
  for (const endpoint of opts.webhookEndpoints ?? []) {
    const ledger = core.ledger(endpoint.livemode ? "live" : "test");
    const existing = ledger.webhookEndpoints.values().find((e) => e.url === endpoint.url);
    let secret: string;
    if (!existing) {
      secret = (await control.createWebhookEndpoint(endpoint)).secret;
    } else {
      // A restored endpoint keeps its secret unless one is given explicitly.
      secret = endpoint.secret ?? (ledger.webhookSecrets.get(existing.id) as string);
      ledger.webhookSecrets.set(existing.id, secret);
    }
    standing.push({ ...endpoint, secret });
  }

  let saveTimer: NodeJS.Timeout | undefined;
  let saving: Promise<void> = Promise.resolve();
  const save = () => {
    saveTimer = undefined;
    const path = opts.snapshotPath as string;
    saving = saving
      .then(() => writeSnapshotFile(path, snapshotJson(core)))
      .catch((err: unknown) => {
        console.error("[stripe-emulator] could not save snapshot:", err);
      });
    return saving;
  };
  if (opts.snapshotPath) {
    core.onChange(() => {
      if (saveTimer) return;
      saveTimer = setTimeout(save, SNAPSHOT_DEBOUNCE_MS);
      saveTimer.unref();
    });
  }

  let stopped = false;
  return {
    url: baseUrl,
    port,
    seed,
    control,
    async stop() {
      if (stopped) return;
      stopped = true;
      core.deliveries.stop();
      if (opts.snapshotPath) {
        clearTimeout(saveTimer);
        await save();
      }
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

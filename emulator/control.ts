import {
  expireSession,
  failAsyncPayment,
  paySession,
  succeedAsyncPayment,
  type PayOptions,
} from "./actions/checkout";
import { closeDispute, createRefund, openDispute } from "./actions/refunds-disputes";
import { seedCompletedSessions, type SeedSessionsOptions } from "./actions/seed";
import { nextRenewalAt, renewDueSubscriptions } from "./actions/subscriptions";
import { cancelSubscription } from "./actions/subscriptions";
import { createWebhookEndpoint } from "./actions/webhook-endpoints";
import { invalidRequest, resourceMissing } from "./api/stripe-error";
import type { EmulatorCore, RequestLogEntry } from "./core";
import type { FaultConfig } from "./faults";
import type { Subscription } from "./objects/billing";
import type { CheckoutSession } from "./objects/checkout-session";
import type { StripeObject } from "./objects/common";
import type { WebhookEndpoint } from "./objects/events";
import type { Charge, Dispute, PaymentIntent, Refund } from "./objects/payment";
import type { Ledger } from "./state/ledger";
import {
  snapshotJson,
  takeSnapshot,
  writeSnapshotFile,
  type EmulatorSnapshot,
} from "./state/snapshot";
import type { DeliveryRecord } from "./webhooks/delivery-queue";

export interface WebhookEndpointInput {
  url: string;
  /** Defaults to `["*"]`. */
  enabled_events?: string[];
  /** Test mode unless true. */
  livemode?: boolean;
  /** Use this signing secret instead of generating one (e.g. the app's configured secret). */
  secret?: string;
  description?: string;
}

/**
 * What a person or the outside world does to the Stripe account: pay, refund, dispute, let time
 * pass. The same operations are served over HTTP under `/_emulator/…`.
 */
export interface EmulatorControl {
  paySession(sessionId: string, opts?: PayOptions): Promise<CheckoutSession>;
  succeedAsyncPayment(sessionId: string): Promise<CheckoutSession>;
  failAsyncPayment(sessionId: string): Promise<CheckoutSession>;
  expireSession(sessionId: string): Promise<CheckoutSession>;
  /** Accepts a charge, a PaymentIntent or a (paid) Checkout Session id. */
  refund(
    id: string,
    opts?: { amount?: number; reason?: "duplicate" | "fraudulent" | "requested_by_customer" },
  ): Promise<Refund>;
  /** Accepts a charge, a PaymentIntent or a (paid) Checkout Session id. */
  openDispute(id: string, opts?: { reason?: string }): Promise<Dispute>;
  closeDispute(disputeId: string, outcome: "won" | "lost"): Promise<Dispute>;
  cancelSubscription(subscriptionId: string): Promise<Subscription>;
  /**
   * Whether the subscription's renewals are paid (default) or their payment fails
   * (`invoice.payment_failed`, subscription `past_due`) — until set again.
   */
  setRenewalOutcome(subscriptionId: string, outcome: "paid" | "failed"): Promise<Subscription>;
  /**
   * Moves the clock forward, stopping at every subscription period end on the way (each renewal
   * and its events are dated at its period's end), expires due sessions, and releases webhook
   * retries now due.
   */
  advanceClock(seconds: number): Promise<number>;
  now(): number;
  reset(): Promise<void>;
  requestLog(): RequestLogEntry[];
  setFaults(patch: Partial<FaultConfig>): FaultConfig;
  faults(): FaultConfig;
  /** Drops every webhook of the purchase this object belongs to (session, PI, charge, refund…). */
  dropEventsFor(id: string): void;
  createWebhookEndpoint(input: WebhookEndpointInput): Promise<WebhookEndpoint & { secret: string }>;
  deliveries(): DeliveryRecord[];
  /** Resolves when nothing is queued or in flight and no retry is due by the emulator clock. */
  waitForDeliveries(opts?: { timeoutMs?: number }): Promise<void>;
  /** Sends every scheduled retry now, then waits as `waitForDeliveries`. */
  flushDeliveries(opts?: { timeoutMs?: number }): Promise<void>;
  snapshot(): EmulatorSnapshot;
  saveSnapshot(path?: string): Promise<string>;
  /** Bulk-inserts completed, paid sessions without events (benchmarks, reconciliation). */
  seedCompletedSessions(n: number, opts: SeedSessionsOptions): Promise<string[]>;
}

export interface ControlOptions {
  snapshotPath?: string;
  /** Endpoints that exist from start-up and come back (same secret) after `reset()`. */
  standingEndpoints: Array<WebhookEndpointInput & { secret: string }>;
}

const DEFAULT_WAIT_MS = 30_000;

/** A detached copy: the same JSON the API would serve, so callers cannot alter stored state. */
function copy<T>(core: EmulatorCore, ledger: Ledger, obj: StripeObject): T {
  const presented = core.present(ledger, obj);
  if (core.observing) {
    const path = `control ${obj.object} ${obj.id}`;
    core.observe({
      kind: "control",
      method: "-",
      path,
      status: 0,
      body: JSON.stringify(presented),
    });
  }
  return structuredClone(presented) as T;
}

function find<T extends StripeObject>(
  core: EmulatorCore,
  id: string,
  object: string,
): { ledger: Ledger; obj: T } {
  const found = core.locate(id);
  if (!found || found.obj.object !== object) throw resourceMissing(object, id);
  return found as { ledger: Ledger; obj: T };
}

/** Resolves a charge from a charge, PaymentIntent or Checkout Session id. */
function findCharge(core: EmulatorCore, id: string): { ledger: Ledger; obj: Charge } {
  const found = core.locate(id);
  if (!found) throw resourceMissing("charge", id);
  const { ledger, obj } = found;
  let piId: string | null = null;
  if (obj.object === "charge") return { ledger, obj: obj as Charge };
  if (obj.object === "payment_intent") piId = obj.id;
  if (obj.object === "checkout.session") piId = (obj as CheckoutSession).payment_intent;
  const pi = piId ? ledger.paymentIntents.get(piId) : undefined;
  const charge = (pi as PaymentIntent | undefined)?.latest_charge;
  if (!charge) throw invalidRequest(`${id} has no successful charge.`);
  return { ledger, obj: ledger.charges.require(charge) };
}

export function createControl(core: EmulatorCore, options: ControlOptions): EmulatorControl {
  const session = (id: string) => {
    // Expire what is due first, so a session past `expires_at` cannot be paid.
    core.sweep();
    return find<CheckoutSession>(core, id, "checkout.session");
  };

  async function createEndpoint(input: WebhookEndpointInput) {
    const ledger = core.ledger(input.livemode ? "live" : "test");
    const { endpoint, secret } = createWebhookEndpoint(core, ledger, {
      url: input.url,
      enabledEvents: input.enabled_events ?? ["*"],
      description: input.description,
      secret: input.secret,
    });
    return { ...copy<WebhookEndpoint>(core, ledger, endpoint), secret };
  }

  const control: EmulatorControl = {
    async paySession(id, opts) {
      const { ledger, obj } = session(id);
      return copy(core, ledger, paySession(core, ledger, obj, opts));
    },
    async succeedAsyncPayment(id) {
      const { ledger, obj } = session(id);
      return copy(core, ledger, succeedAsyncPayment(core, ledger, obj));
    },
    async failAsyncPayment(id) {
      const { ledger, obj } = session(id);
      return copy(core, ledger, failAsyncPayment(core, ledger, obj));
    },
    async expireSession(id) {
      const { ledger, obj } = session(id);
      return copy(core, ledger, expireSession(core, ledger, obj, null));
    },
    async refund(id, opts = {}) {
      const { ledger, obj } = findCharge(core, id);
      return copy(
        core,
        ledger,
        createRefund(core, ledger, obj, { amount: opts.amount, reason: opts.reason }, null),
      );
    },
    async openDispute(id, opts = {}) {
      const { ledger, obj } = findCharge(core, id);
      return copy(core, ledger, openDispute(core, ledger, obj, { reason: opts.reason }, null));
    },
    async closeDispute(id, outcome) {
      const { ledger, obj } = find<Dispute>(core, id, "dispute");
      return copy(core, ledger, closeDispute(core, ledger, obj, outcome, null));
    },
    async cancelSubscription(id) {
      const { ledger, obj } = find<Subscription>(core, id, "subscription");
      return copy(core, ledger, cancelSubscription(core, ledger, obj, null));
    },
    async setRenewalOutcome(id, outcome) {
      const { ledger, obj } = find<Subscription>(core, id, "subscription");
      if (outcome === "failed") ledger.failingRenewals.add(obj.id);
      else ledger.failingRenewals.delete(obj.id);
      core.changed();
      return copy(core, ledger, obj);
    },
    async advanceClock(seconds) {
      if (!Number.isFinite(seconds) || seconds < 0) core.clock.advance(seconds); // throws
      const targetMs = core.clock.nowMs() + Math.round(seconds * 1000);
      // Stop at each period end on the way, so every renewal happens (and is dated) on time.
      for (;;) {
        const due = [core.ledger("test"), core.ledger("live")]
          .map(nextRenewalAt)
          .filter((t): t is number => t !== undefined && t * 1000 <= targetMs);
        if (due.length === 0) break;
        const stepMs = Math.min(...due) * 1000 - core.clock.nowMs();
        if (stepMs > 0) core.clock.advance(stepMs / 1000);
        core.sweep();
        // Direct as well: sweep() runs once per clock second and may have run this one already.
        for (const mode of ["test", "live"] as const)
          renewDueSubscriptions(core, core.ledger(mode));
        // Let this period's webhooks go out before the clock moves on: a jump of several periods
        // would otherwise leave the first renewals' events past the 30 days after which the
        // emulator forgets events, before they were ever sent. Endpoints that fail get their
        // retries scheduled as usual; this only waits for the first attempts.
        await core.deliveries.waitForIdle(DEFAULT_WAIT_MS).catch(() => undefined);
      }
      const now = core.clock.advance(Math.max(0, targetMs - core.clock.nowMs()) / 1000);
      core.sweep();
      core.pruneExpiredEvents();
      core.deliveries.promoteDue();
      core.changed();
      return now;
    },
    now: () => core.now(),
    async reset() {
      core.reset();
      for (const endpoint of options.standingEndpoints) await createEndpoint(endpoint);
    },
    requestLog: () => core.requestLog.map((entry) => ({ ...entry })),
    setFaults: (patch) => ({ ...core.setFaults(patch) }),
    faults: () => ({ ...core.faults }),
    dropEventsFor(id) {
      const found = core.locate(id);
      if (!found) throw resourceMissing("object", id);
      core.droppedPurchases.add(found.ledger.purchaseRoot(id));
    },
    createWebhookEndpoint: createEndpoint,
    deliveries: () => core.deliveries.list(),
    waitForDeliveries: (opts = {}) =>
      core.deliveries.waitForIdle(opts.timeoutMs ?? DEFAULT_WAIT_MS),
    async flushDeliveries(opts = {}) {
      core.deliveries.promoteAll();
      await core.deliveries.waitForIdle(opts.timeoutMs ?? DEFAULT_WAIT_MS);
    },
    snapshot: () => takeSnapshot(core),
    async saveSnapshot(path = options.snapshotPath) {
      if (!path)
        throw new Error("No snapshot path: pass one, or start the emulator with snapshotPath");
      await writeSnapshotFile(path, snapshotJson(core));
      return path;
    },
    async seedCompletedSessions(n, opts) {
      const found = core.locate(opts.priceId);
      if (!found || found.obj.object !== "price")
        throw resourceMissing("price", opts.priceId, "priceId");
      return seedCompletedSessions(
        core,
        found.ledger,
        found.ledger.prices.require(opts.priceId),
        n,
        opts,
      );
    },
  };
  return control;
}

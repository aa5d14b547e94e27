import type { ClockState, EmulatorClock } from "./clock";
import { type FaultConfig, mergeFaults } from "./faults";
import { IdFactory, type Mode } from "./ids";
import { expireSession } from "./actions/checkout";
import { renewDueSubscriptions } from "./actions/subscriptions";
import { planOf } from "./objects/catalog";
import type { Subscription } from "./objects/billing";
import type { LineItemRecord } from "./objects/checkout-session";
import { listOf, type StripeObject } from "./objects/common";
import { buildEvent, endpointWants, type EventRequest, type StripeEvent } from "./objects/events";
import type { Charge } from "./objects/payment";
import { Prng, type PrngState, streamFor } from "./random";
import { shape } from "./schema/shape";
import { Ledger } from "./state/ledger";
import { DeliveryQueue, type DeliveryRecord } from "./webhooks/delivery-queue";

export const EVENT_RETENTION_SECONDS = 30 * 86_400;
const REQUEST_LOG_LIMIT = 10_000;

export interface RequestLogEntry {
  id: string;
  method: string;
  path: string;
  status: number;
  livemode: boolean | null;
  idempotencyKey: string | null;
  replayed: boolean;
  fault: "rate_limit" | "api_error" | null;
  /** Emulator clock, unix seconds. */
  at: number;
  durationMs: number;
  params: Record<string, unknown>;
}

export interface EventSpec {
  type: string;
  object: StripeObject;
  previousAttributes?: Record<string, unknown>;
  /** A hand-made view of the object at that moment (e.g. a PaymentIntent before it succeeded). */
  asOf?: Record<string, unknown>;
}

/**
 * A body the emulator sent: a `/v1` response, a webhook delivery, or an object a control action
 * returned (for tests that check shapes).
 */
export interface ObservedBody {
  kind: "api" | "webhook" | "control";
  method: string;
  /** The API path, or the event type of a webhook payload. */
  path: string;
  status: number;
  body: string;
}

export interface CoreOptions {
  seed: number;
  clock: EmulatorClock;
  faults: FaultConfig;
  timeFactor: number;
  webhookTimeoutMs: number;
  deliveryConcurrency: number;
  baseUrl: () => string;
  onBody?: (observed: ObservedBody) => void;
}

/** State and shared machinery; the API handlers and control actions all work through it. */
export class EmulatorCore {
  readonly clock: EmulatorClock;
  readonly seed: number;
  readonly ledgers: Record<Mode, Ledger> = { test: new Ledger("test"), live: new Ledger("live") };
  readonly deliveries: DeliveryQueue;
  readonly initialFaults: FaultConfig;
  faults: FaultConfig;
  ids!: IdFactory;
  requestIds!: IdFactory;
  apiFaultStream!: Prng;
  idStream!: Prng;
  requestStream!: Prng;
  requestLog: RequestLogEntry[] = [];
  /** Purchases (checkout session ids) whose webhooks must all be dropped. */
  readonly droppedPurchases = new Set<string>();
  private lastSweep = -1;
  private changeListeners: Array<() => void> = [];
  private readonly initialClock: ClockState;

  constructor(private readonly options: CoreOptions) {
    this.clock = options.clock;
    this.initialClock = options.clock.state();
    this.seed = options.seed;
    this.initialFaults = options.faults;
    this.faults = options.faults;
    this.reseed();
    this.deliveries = new DeliveryQueue({
      clock: options.clock,
      seed: options.seed,
      timeFactor: options.timeFactor,
      timeoutMs: options.webhookTimeoutMs,
      concurrency: options.deliveryConcurrency,
      faults: () => this.faults,
      isTargetedDrop: (event) => this.isTargetedDrop(event),
      endpoint: (endpointId) => this.deliveryTarget(endpointId),
      payload: (eventId, livemode) => this.eventPayload(eventId, livemode),
      onProgress: (record) => this.onDeliveryProgress(record),
    });
  }

  private readonly warned = new Set<string>();

  /** Logs a warning the first time `key` comes up (per emulator, kept across `reset()`). */
  warnOnce(key: string, message: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    console.warn(message);
  }

  /** Whether anyone watches sent bodies (so callers can skip serializing for nobody). */
  get observing(): boolean {
    return this.options.onBody !== undefined;
  }

  /** Hands a sent body to the `onBody` observer, if one was given. */
  observe(observed: ObservedBody): void {
    this.options.onBody?.(observed);
  }

  get baseUrl(): string {
    return this.options.baseUrl();
  }

  ledger(mode: Mode): Ledger {
    return this.ledgers[mode];
  }

  /** Finds an object by id in either mode (control actions are not tied to an API key). */
  locate(id: string): { ledger: Ledger; obj: StripeObject } | undefined {
    for (const ledger of [this.ledgers.test, this.ledgers.live]) {
      const obj = ledger.find(id);
      if (obj) return { ledger, obj };
    }
    return undefined;
  }

  now(): number {
    return this.clock.now();
  }

  setFaults(patch: Partial<FaultConfig>): FaultConfig {
    this.faults = mergeFaults(this.faults, patch);
    return this.faults;
  }

  /** Creates the events in order and hands them to the webhook queue as one batch. */
  emit(ledger: Ledger, request: EventRequest | null, specs: EventSpec[]): StripeEvent[] {
    const created = this.now();
    const endpoints = ledger.webhookEndpoints.values();
    const batch = specs.map((spec) => {
      const event = buildEvent({
        id: this.ids.next("evt"),
        created,
        type: spec.type,
        livemode: ledger.livemode,
        object: structuredClone(spec.asOf ?? this.present(ledger, spec.object)),
        previousAttributes: spec.previousAttributes && structuredClone(spec.previousAttributes),
        request: request ?? { id: null, idempotency_key: null },
      });
      const endpointIds = endpoints.filter((e) => endpointWants(e, event.type)).map((e) => e.id);
      event.pending_webhooks = endpointIds.length;
      ledger.events.insert(event);
      return { event, endpointIds };
    });
    this.deliveries.enqueue(batch);
    this.changed();
    return batch.map((b) => b.event);
  }

  /** The object as the API serves it: derived sub-lists filled in from their own tables. */
  present(ledger: Ledger, obj: StripeObject): Record<string, unknown> {
    if (obj.object === "charge") {
      const charge = obj as Charge;
      const refunds = ledger.refunds.page({ limit: 100, where: { charge: charge.id } });
      return {
        ...charge,
        refunds: listOf(refunds.data, `/v1/charges/${charge.id}/refunds`, refunds.hasMore),
      };
    }
    if (obj.object === "subscription") {
      const sub = obj as Subscription;
      const data = sub.items.data.map((item) => {
        const price = ledger.prices.get(item.price.id) ?? item.price;
        return { ...item, price, plan: planOf(price) };
      });
      return { ...sub, items: { ...sub.items, data } };
    }
    return obj;
  }

  /** Line items as Stripe's `item` objects, with the full (current) price. */
  renderLineItems(ledger: Ledger, records: LineItemRecord[]): Record<string, unknown>[] {
    return records.map((record) => {
      const price = ledger.prices.require(record.price);
      const product = ledger.products.get(price.product);
      const amount = price.unit_amount * record.quantity;
      return shape<Record<string, unknown>>("LineItem", {
        id: record.id,
        object: "item",
        adjustable_quantity: null,
        amount_discount: 0,
        amount_subtotal: amount,
        amount_tax: 0,
        amount_total: amount,
        currency: price.currency,
        description: product?.name ?? null,
        metadata: {},
        price,
        quantity: record.quantity,
      });
    });
  }

  /**
   * Expires open sessions whose `expires_at` has passed and renews subscriptions whose period
   * ended; runs at most once per clock second.
   */
  sweep(): void {
    const now = this.now();
    if (now === this.lastSweep) return;
    this.lastSweep = now;
    for (const ledger of [this.ledgers.test, this.ledgers.live]) {
      const expired = ledger.sessions.matching("status", "open").filter((s) => s.expires_at <= now);
      for (const session of expired) expireSession(this, ledger, session, null);
      renewDueSubscriptions(this, ledger);
    }
  }

  /** Frees events past Stripe's 30-day retention (they are already invisible to the API). */
  pruneExpiredEvents(): void {
    const cutoff = this.now() - EVENT_RETENTION_SECONDS;
    for (const ledger of [this.ledgers.test, this.ledgers.live]) {
      for (const event of ledger.events.values()) {
        if (event.created > cutoff) break;
        ledger.events.remove(event.id);
      }
    }
  }

  eventVisible(event: StripeEvent): boolean {
    return event.created > this.now() - EVENT_RETENTION_SECONDS;
  }

  logRequest(entry: RequestLogEntry): void {
    this.requestLog.push(entry);
    if (this.requestLog.length > REQUEST_LOG_LIMIT) {
      this.requestLog.splice(0, this.requestLog.length - REQUEST_LOG_LIMIT);
    }
  }

  onChange(listener: () => void): void {
    this.changeListeners.push(listener);
  }

  changed(): void {
    for (const listener of this.changeListeners) listener();
  }

  /** Back to the start-up state: no data, the initial clock, and id streams restarted. */
  reset(): void {
    this.clock.restore(this.initialClock);
    this.deliveries.reset();
    this.ledgers.test.clear();
    this.ledgers.live.clear();
    this.requestLog = [];
    this.droppedPurchases.clear();
    this.faults = this.initialFaults;
    this.lastSweep = -1;
    this.reseed();
    this.changed();
  }

  /** Streams restart from the seed, or continue from saved states (snapshot restore). */
  reseed(states?: { ids: PrngState; requests: PrngState; apiFaults: PrngState }): void {
    this.idStream = states ? new Prng(states.ids) : streamFor(this.seed, "ids");
    this.requestStream = states ? new Prng(states.requests) : streamFor(this.seed, "requests");
    this.apiFaultStream = states ? new Prng(states.apiFaults) : streamFor(this.seed, "api-faults");
    this.ids = new IdFactory(this.idStream);
    this.requestIds = new IdFactory(this.requestStream);
  }

  private isTargetedDrop(event: StripeEvent): boolean {
    if (this.faults.dropWhen?.(event)) return true;
    if (this.droppedPurchases.size === 0) return false;
    const ledger = this.ledger(event.livemode ? "live" : "test");
    const id = typeof event.data.object.id === "string" ? event.data.object.id : "";
    return this.droppedPurchases.has(ledger.purchaseRoot(id));
  }

  private deliveryTarget(endpointId: string) {
    const found = this.locate(endpointId);
    if (!found || found.obj.object !== "webhook_endpoint") return undefined;
    const secret = found.ledger.webhookSecrets.get(endpointId);
    if (!secret) return undefined;
    return { url: String(found.obj.url), secret, enabled: found.obj.status === "enabled" };
  }

  private eventPayload(eventId: string, livemode: boolean): string | undefined {
    const event = this.ledger(livemode ? "live" : "test").events.get(eventId);
    if (!event || !this.eventVisible(event)) return undefined;
    // Stripe sends pretty-printed JSON; the signature covers these exact bytes.
    const body = JSON.stringify(event, null, 2);
    this.observe({ kind: "webhook", method: "POST", path: event.type, status: 0, body });
    return body;
  }

  private onDeliveryProgress(record: DeliveryRecord): void {
    const ledger = this.ledger(record.livemode ? "live" : "test");
    const event = ledger.events.get(record.eventId);
    if (event) {
      const pending = this.deliveries.pendingCount(record.eventId);
      ledger.events.update(event, (e) => {
        e.pending_webhooks = pending;
      });
    }
    this.changed();
  }
}

import type { EmulatorClock } from "../clock";
import type { FaultConfig } from "../faults";
import type { StripeEvent } from "../objects/events";
import { hashUnit } from "../random";
import { retryDelaySeconds } from "./retry-schedule";
import { signatureHeader, wrongSecretFor } from "./signature";

export type DeliveryState =
  "queued" | "in_flight" | "retry_scheduled" | "succeeded" | "failed" | "dropped";

export interface DeliveryAttempt {
  attempt: number;
  /** Emulator clock, unix seconds. */
  at: number;
  signature: "valid" | "wrong_secret";
  /** HTTP status, or null when the request failed or timed out. */
  status: number | null;
  error: string | null;
  durationMs: number;
}

export interface DeliveryRecord {
  id: string;
  eventId: string;
  eventType: string;
  endpointId: string;
  url: string;
  livemode: boolean;
  /** An extra copy injected by the `duplicateRate` fault; it is never retried. */
  duplicate: boolean;
  dropReason: "drop_rate" | "targeted" | null;
  state: DeliveryState;
  attempts: DeliveryAttempt[];
  nextAttemptAt: number | null;
}

export interface DeliveryTarget {
  url: string;
  secret: string;
  enabled: boolean;
}

export interface DeliveryHost {
  clock: EmulatorClock;
  seed: number;
  timeFactor: number;
  timeoutMs: number;
  concurrency: number;
  faults(): FaultConfig;
  isTargetedDrop(event: StripeEvent): boolean;
  endpoint(endpointId: string): DeliveryTarget | undefined;
  payload(eventId: string, livemode: boolean): string | undefined;
  /** Called whenever a primary delivery reaches a new state. */
  onProgress(record: DeliveryRecord): void;
}

interface Lane {
  queue: DeliveryRecord[];
  active: number;
}

/**
 * Sends events to webhook endpoints: one FIFO lane per endpoint (so the order of a payment's
 * events is kept unless `reorder` is on), retries on non-2xx and timeouts on Stripe's backoff
 * schedule compressed by `timeFactor`, and fault decisions that depend only on the seed and
 * (event, endpoint, attempt) so a run can be replayed.
 */
export class DeliveryQueue {
  private records: DeliveryRecord[] = [];
  private byEvent = new Map<string, DeliveryRecord[]>();
  private lanes = new Map<string, Lane>();
  private scheduled = new Map<DeliveryRecord, NodeJS.Timeout>();
  private delayTimers = new Set<NodeJS.Timeout>();
  private inFlight = 0;
  private waiters: Array<() => void> = [];
  private seq = 0;
  private generation = 0;
  private abort = new AbortController();

  constructor(private readonly host: DeliveryHost) {}

  enqueue(batch: Array<{ event: StripeEvent; endpointIds: string[] }>): void {
    const faults = this.host.faults();
    const perEndpoint = new Map<string, StripeEvent[]>();
    for (const { event, endpointIds } of batch) {
      for (const endpointId of endpointIds) {
        const list = perEndpoint.get(endpointId) ?? [];
        list.push(event);
        perEndpoint.set(endpointId, list);
      }
    }
    for (const [endpointId, events] of perEndpoint) {
      const ordered = faults.reorder ? this.shuffle(events, endpointId) : events;
      for (const event of ordered) this.admit(event, endpointId, faults);
    }
  }

  /** True when every primary delivery of the event reached its endpoint. */
  delivered(eventId: string): boolean {
    return (this.byEvent.get(eventId) ?? []).every((r) => r.state === "succeeded");
  }

  pendingCount(eventId: string): number {
    return (this.byEvent.get(eventId) ?? []).filter((r) => r.state !== "succeeded").length;
  }

  list(): DeliveryRecord[] {
    return this.records.map((r) => ({ ...r, attempts: r.attempts.map((a) => ({ ...a })) }));
  }

  /** Moves retries whose time has come (by the emulator clock) to their lanes. */
  promoteDue(): void {
    const now = this.host.clock.now();
    for (const record of [...this.scheduled.keys()]) {
      if (record.nextAttemptAt !== null && record.nextAttemptAt <= now) this.promote(record);
    }
  }

  /** Sends every scheduled retry now, whatever its due time. */
  promoteAll(): void {
    for (const record of [...this.scheduled.keys()]) this.promote(record);
  }

  waitForIdle(timeoutMs: number): Promise<void> {
    this.promoteDue();
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        reject(
          new Error(`Webhook deliveries still busy after ${timeoutMs} ms: ${this.busySummary()}`),
        );
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push(done);
    });
  }

  /** Forget everything; sends still in flight finish but are ignored. */
  reset(): void {
    this.stopTimers();
    this.abort.abort();
    this.abort = new AbortController();
    this.generation++;
    this.records = [];
    this.byEvent.clear();
    this.lanes.clear();
    this.inFlight = 0;
    this.seq = 0;
    this.notifyIfIdle();
  }

  stop(): void {
    this.stopTimers();
    this.abort.abort();
    this.generation++;
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  /** Restores records from a snapshot; unfinished ones are re-armed as retries. */
  restore(records: DeliveryRecord[], seq: number): void {
    this.reset();
    this.seq = seq;
    const now = this.host.clock.now();
    for (const record of records) {
      this.track(record);
      if (
        record.state === "queued" ||
        record.state === "in_flight" ||
        record.state === "retry_scheduled"
      ) {
        this.scheduleRetry(record, Math.max(0, (record.nextAttemptAt ?? now) - now));
      }
    }
  }

  sequence(): number {
    return this.seq;
  }

  private admit(event: StripeEvent, endpointId: string, faults: FaultConfig): void {
    const target = this.host.endpoint(endpointId);
    if (!target) return;
    const seed = this.host.seed;
    const record = this.newRecord(event, endpointId, target.url, false);
    if (this.host.isTargetedDrop(event)) {
      record.dropReason = "targeted";
    } else if (
      faults.dropRate > 0 &&
      hashUnit(seed, "drop", event.id, endpointId) < faults.dropRate
    ) {
      record.dropReason = "drop_rate";
    }
    if (record.dropReason) {
      record.state = "dropped";
      this.host.onProgress(record);
      return;
    }
    const delay =
      faults.delayMs > 0
        ? Math.floor(hashUnit(seed, "delay", event.id, endpointId) * faults.delayMs)
        : 0;
    this.dispatch(record, delay);
    if (
      faults.duplicateRate > 0 &&
      hashUnit(seed, "duplicate", event.id, endpointId) < faults.duplicateRate
    ) {
      this.dispatch(this.newRecord(event, endpointId, target.url, true), delay);
    }
  }

  private newRecord(
    event: StripeEvent,
    endpointId: string,
    url: string,
    duplicate: boolean,
  ): DeliveryRecord {
    const record: DeliveryRecord = {
      id: `dlv_${String(++this.seq).padStart(8, "0")}`,
      eventId: event.id,
      eventType: event.type,
      endpointId,
      url,
      livemode: event.livemode,
      duplicate,
      dropReason: null,
      state: "queued",
      attempts: [],
      nextAttemptAt: null,
    };
    this.track(record);
    return record;
  }

  private track(record: DeliveryRecord): void {
    this.records.push(record);
    if (!record.duplicate) {
      const list = this.byEvent.get(record.eventId) ?? [];
      list.push(record);
      this.byEvent.set(record.eventId, list);
    }
  }

  private dispatch(record: DeliveryRecord, delayMs: number): void {
    if (delayMs <= 0) {
      this.ready(record);
      return;
    }
    const timer = setTimeout(() => {
      this.delayTimers.delete(timer);
      this.ready(record);
    }, delayMs);
    this.delayTimers.add(timer);
  }

  private ready(record: DeliveryRecord): void {
    record.state = "queued";
    let lane = this.lanes.get(record.endpointId);
    if (!lane) this.lanes.set(record.endpointId, (lane = { queue: [], active: 0 }));
    lane.queue.push(record);
    this.pump(lane);
  }

  private pump(lane: Lane): void {
    while (lane.active < this.host.concurrency && lane.queue.length > 0) {
      const record = lane.queue.shift() as DeliveryRecord;
      lane.active++;
      this.inFlight++;
      const generation = this.generation;
      void this.attempt(record).finally(() => {
        if (generation !== this.generation) return;
        lane.active--;
        this.inFlight--;
        this.pump(lane);
        this.notifyIfIdle();
      });
    }
  }

  private async attempt(record: DeliveryRecord): Promise<void> {
    const generation = this.generation;
    record.state = "in_flight";
    const number = record.attempts.length + 1;
    const target = this.host.endpoint(record.endpointId);
    const payload = this.host.payload(record.eventId, record.livemode);
    const at = this.host.clock.now();
    if (!target || !target.enabled || payload === undefined) {
      record.attempts.push({
        attempt: number,
        at,
        signature: "valid",
        status: null,
        error: !target
          ? "endpoint deleted"
          : !target.enabled
            ? "endpoint disabled"
            : "event expired",
        durationMs: 0,
      });
      record.state = "failed";
      this.host.onProgress(record);
      return;
    }
    record.url = target.url;
    const wrong =
      hashUnit(
        this.host.seed,
        "wrong_secret",
        record.eventId,
        record.endpointId,
        number,
        record.duplicate ? 1 : 0,
      ) < this.host.faults().wrongSecretRate;
    const secret = wrong ? wrongSecretFor(target.secret) : target.secret;
    // Stripe signs with the time of sending; receivers compare it with their own clock.
    const header = signatureHeader(payload, secret, Math.floor(Date.now() / 1000));
    const started = performance.now();
    let status: number | null = null;
    let error: string | null = null;
    try {
      const response = await fetch(target.url, {
        method: "POST",
        headers: {
          "Content-Type": "application/json; charset=utf-8",
          "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
          "Stripe-Signature": header,
        },
        body: payload,
        redirect: "manual",
        signal: AbortSignal.any([AbortSignal.timeout(this.host.timeoutMs), this.abort.signal]),
      });
      status = response.status;
      await response.arrayBuffer().catch(() => undefined);
    } catch (err) {
      error = describeFetchError(err, this.host.timeoutMs);
    }
    if (generation !== this.generation) return;
    record.attempts.push({
      attempt: number,
      at,
      signature: wrong ? "wrong_secret" : "valid",
      status,
      error,
      durationMs: Math.round(performance.now() - started),
    });
    if (status !== null && status >= 200 && status < 300) {
      record.state = "succeeded";
    } else {
      const delay = record.duplicate
        ? null
        : retryDelaySeconds(record.livemode, record.attempts.length);
      if (delay === null) record.state = "failed";
      else this.scheduleRetry(record, delay);
    }
    if (!record.duplicate) this.host.onProgress(record);
  }

  private scheduleRetry(record: DeliveryRecord, delaySeconds: number): void {
    record.state = "retry_scheduled";
    record.nextAttemptAt = this.host.clock.now() + delaySeconds;
    const timer = setTimeout(
      () => this.promote(record),
      (delaySeconds * 1000) / this.host.timeFactor,
    );
    timer.unref();
    this.scheduled.set(record, timer);
  }

  private promote(record: DeliveryRecord): void {
    const timer = this.scheduled.get(record);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.scheduled.delete(record);
    record.nextAttemptAt = null;
    this.ready(record);
  }

  private shuffle(events: StripeEvent[], endpointId: string): StripeEvent[] {
    if (events.length < 2) return events;
    const ranked = events
      .map((event) => ({ event, rank: hashUnit(this.host.seed, "reorder", event.id, endpointId) }))
      .sort((a, b) => a.rank - b.rank)
      .map((r) => r.event);
    // A shuffle that happens to keep the original order would hide the fault.
    return ranked.every((e, i) => e === events[i]) ? [...events].reverse() : ranked;
  }

  private isIdle(): boolean {
    if (this.inFlight > 0 || this.delayTimers.size > 0) return false;
    for (const lane of this.lanes.values()) if (lane.queue.length > 0) return false;
    const now = this.host.clock.now();
    for (const record of this.scheduled.keys()) {
      if (record.nextAttemptAt !== null && record.nextAttemptAt <= now) return false;
    }
    return true;
  }

  private notifyIfIdle(): void {
    if (this.waiters.length === 0 || !this.isIdle()) return;
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  private busySummary(): string {
    const queued = [...this.lanes.values()].reduce((n, lane) => n + lane.queue.length, 0);
    return `${this.inFlight} in flight, ${queued} queued, ${this.delayTimers.size} delayed`;
  }

  private stopTimers(): void {
    for (const timer of this.scheduled.values()) clearTimeout(timer);
    for (const timer of this.delayTimers) clearTimeout(timer);
    this.scheduled.clear();
    this.delayTimers.clear();
  }
}

function describeFetchError(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError")) {
    return `timed out after ${timeoutMs} ms`;
  }
  const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : "";
  return `${err instanceof Error ? err.message : String(err)}${cause}`;
}

import { remember } from "~/lib/remember";
import { getDatabase } from "../infra/db.server";
import { getEnv } from "../infra/env.server";
import { logger, scrubSecrets } from "../infra/logger.server";
import { disableEndpointForFailures } from "./endpoints.server";
import { postSigned, type SendResult } from "./sender.server";
import { messageId, signedHeaders } from "./signing.server";
import {
  claimDeliveries,
  fanOutEvents,
  loadSigningData,
  recordAttempts,
  type AttemptResult,
  type ClaimedDelivery,
  type EndpointHealth,
} from "./store.server";

/**
 * The outbound delivery worker (one per process: the web server and `npm run jobs`). Each pass
 * fans new outbox rows out to subscribed endpoints, claims due deliveries (SKIP LOCKED, so any
 * number of processes share the tables) and sends them, each on its own: a slow endpoint holds at
 * most PER_ENDPOINT_CAP of the worker's slots, the others keep flowing. Results are written in
 * batches (store.server.ts recordAttempts), one statement for many attempts.
 *
 * At-least-once: a claim leases the delivery for LEASE_SECONDS; a process that dies before
 * recording the result leaves it due again when the lease ends, and it is sent again with the
 * same webhook-id (receivers deduplicate on it). Ordering is not guaranteed.
 */

export const LEASE_SECONDS = 30;
export const PER_ENDPOINT_CAP = 16;
export const DEFAULT_CONCURRENCY = 64;
/** An idle worker looks for new outbox rows this often (they are written by database triggers). */
export const POLL_MS = 250;
/** A delivery is retried for this long after its first attempt, then it has failed. */
export const RETRY_WINDOW_MS = 3 * 24 * 3600 * 1000;
/** An endpoint failing this long, or this many times in a row, is disabled. */
export const DISABLE_AFTER_MS = RETRY_WINDOW_MS;
export const DISABLE_AFTER_FAILURES = 1000;
const FAN_OUT_BATCH = 500;
const CLAIM_BATCH = 200;
const RECORD_BATCH = 100;
const RECORD_DELAY_MS = 5;
const SIGNING_TTL_MS = 2_000;
/** How often a worker looks for grants about to expire (credits.expiring). */
export const EXPIRING_PASS_MS = 60_000;

/**
 * Wait before the next attempt after `attempt` failures: 5 s × 3^(n-1), capped at 6 hours, with
 * ±25 % jitter so a receiver coming back is not hit by every retry at once. About 18 attempts fit
 * in the 3-day window.
 */
export function retryDelayMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(6 * 3600_000, 5_000 * 3 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.75 + random() * 0.5));
}

function blockPrivate(): boolean {
  const env = getEnv();
  return env.NODE_ENV === "production" && !env.OUTBOUND_ALLOW_PRIVATE;
}

interface Signing {
  url: string;
  enabled: boolean;
  secrets: string[];
  at: number;
}

interface Worker {
  concurrency: number;
  inFlight: number;
  perEndpoint: Map<string, number>;
  pumping: Promise<void> | null;
  again: boolean;
  stopped: boolean;
  timer: NodeJS.Timeout | null;
  results: AttemptResult[];
  flushTimer: NodeJS.Timeout | null;
  flushing: Promise<void>;
  idle: Set<() => void>;
  signing: Map<string, Signing>;
  lastExpiringPass: number;
}

function newWorker(concurrency: number): Worker {
  return {
    concurrency,
    inFlight: 0,
    perEndpoint: new Map(),
    pumping: null,
    again: false,
    stopped: false,
    timer: null,
    results: [],
    flushTimer: null,
    flushing: Promise.resolve(),
    idle: new Set(),
    signing: new Map(),
    lastExpiringPass: 0,
  };
}

const holder = remember("outbound-worker", (): { worker?: Worker } => ({}));

async function signingFor(w: Worker, ids: string[]): Promise<void> {
  const now = Date.now();
  const stale = [...new Set(ids)].filter((id) => {
    const s = w.signing.get(id);
    return !s || now - s.at > SIGNING_TTL_MS;
  });
  if (stale.length === 0) return;
  const rows = await loadSigningData(stale);
  for (const r of rows)
    w.signing.set(r.id, { url: r.url, enabled: r.enabled, secrets: r.secrets, at: now });
}

/** The body a receiver gets: `{type, timestamp, data}` (the data kept as the outbox stored it). */
export function payloadBody(type: string, createdAt: string, data: string): string {
  return `{"type":${JSON.stringify(type)},"timestamp":${JSON.stringify(createdAt)},"data":${data}}`;
}

function outcomeOf(
  d: ClaimedDelivery,
  sent: SendResult,
  startedAt: Date,
): AttemptResult & { gone: boolean } {
  const ok = sent.status !== null && sent.status >= 200 && sent.status < 300;
  const gone = sent.status === 410;
  let status: AttemptResult["status"] = "pending";
  let nextAttemptAt: Date | null = null;
  if (ok) status = "delivered";
  else if (gone || Date.now() - d.firstAttemptAt >= RETRY_WINDOW_MS) status = "failed";
  else nextAttemptAt = new Date(Date.now() + retryDelayMs(d.attempt));
  const error =
    sent.error ??
    (ok
      ? null
      : sent.status !== null && sent.status >= 300 && sent.status < 400
        ? `HTTP ${sent.status} (redirects are not followed)`
        : `HTTP ${sent.status}`);
  return {
    deliveryId: d.id,
    endpointId: d.endpointId,
    attempt: d.attempt,
    startedAt,
    durationMs: sent.durationMs,
    responseStatus: sent.status,
    responseBody: sent.body,
    error: error === null ? null : scrubSecrets(error).slice(0, 1000),
    ok,
    status,
    nextAttemptAt,
    gone,
  };
}

async function deliver(w: Worker, d: ClaimedDelivery): Promise<void> {
  const startedAt = new Date();
  const signing = w.signing.get(d.endpointId);
  // Disabled since the claim: nothing is sent or recorded; the lease runs out and the delivery
  // waits, pending, until the endpoint is enabled again.
  if (!signing || !signing.enabled) return;
  let sent: SendResult;
  if (signing.secrets.length === 0) {
    sent = { status: null, body: null, error: "endpoint has no signing secret", durationMs: 0 };
  } else {
    const body = payloadBody(d.type, d.createdAt, d.data);
    const headers = signedHeaders(
      signing.secrets,
      messageId(d.eventId),
      Math.floor(Date.now() / 1000),
      body,
    );
    sent = await postSigned(signing.url, { ...headers }, body, { blockPrivate: blockPrivate() });
  }
  const result = outcomeOf(d, sent, startedAt);
  w.results.push(result);
  if (result.gone)
    await disableEndpointForFailures(d.endpointId, "answered 410 Gone").catch(logError);
  scheduleFlush(w);
}

function logError(error: unknown): void {
  logger.error(
    { err: scrubSecrets((error as Error)?.message ?? String(error)) },
    "outbound events worker error",
  );
}

function scheduleFlush(w: Worker): void {
  if (w.results.length >= RECORD_BATCH) {
    void flush(w);
    return;
  }
  if (!w.flushTimer) {
    w.flushTimer = setTimeout(() => {
      w.flushTimer = null;
      void flush(w);
    }, RECORD_DELAY_MS);
  }
}

/** Write the buffered results (in order: one flush at a time). */
function flush(w: Worker): Promise<void> {
  const batch = w.results.splice(0);
  if (w.flushTimer) {
    clearTimeout(w.flushTimer);
    w.flushTimer = null;
  }
  w.flushing = w.flushing.then(async () => {
    if (batch.length === 0) return;
    try {
      const health = await recordAttempts(batch);
      await checkHealth(health);
    } catch (error) {
      // Unrecorded results: their leases run out and they are sent again (at-least-once).
      logError(error);
    }
  });
  return w.flushing;
}

async function checkHealth(health: EndpointHealth[]): Promise<void> {
  const now = Date.now();
  for (const h of health) {
    if (h.consecutiveFailures >= DISABLE_AFTER_FAILURES)
      await disableEndpointForFailures(
        h.endpointId,
        `failed ${h.consecutiveFailures} times in a row`,
      );
    else if (h.failingSince !== null && now - h.failingSince >= DISABLE_AFTER_MS)
      await disableEndpointForFailures(
        h.endpointId,
        `failing since ${new Date(h.failingSince).toISOString()} (3 days)`,
      );
  }
}

function start(w: Worker, d: ClaimedDelivery): void {
  w.inFlight += 1;
  w.perEndpoint.set(d.endpointId, (w.perEndpoint.get(d.endpointId) ?? 0) + 1);
  void deliver(w, d)
    .catch(logError)
    .finally(() => {
      w.inFlight -= 1;
      const n = (w.perEndpoint.get(d.endpointId) ?? 1) - 1;
      if (n <= 0) w.perEndpoint.delete(d.endpointId);
      else w.perEndpoint.set(d.endpointId, n);
      pump(w);
      if (w.inFlight === 0)
        for (const fn of [...w.idle]) {
          w.idle.delete(fn);
          fn();
        }
    });
}

/** One pass: fan out, then claim and start deliveries while slots are free. */
async function pass(w: Worker): Promise<void> {
  if (Date.now() - w.lastExpiringPass >= EXPIRING_PASS_MS) {
    w.lastExpiringPass = Date.now();
    await expiringPass();
  }
  while (!w.stopped) {
    const fanned = await fanOutEvents(FAN_OUT_BATCH);
    if (fanned.events < FAN_OUT_BATCH) break;
  }
  while (!w.stopped) {
    const free = w.concurrency - w.inFlight;
    if (free <= 0) return;
    const inFlight = Object.fromEntries(w.perEndpoint);
    const claimed = await claimDeliveries(
      Math.min(free, CLAIM_BATCH),
      PER_ENDPOINT_CAP,
      inFlight,
      LEASE_SECONDS,
    );
    if (claimed.length === 0) return;
    await signingFor(
      w,
      claimed.map((c) => c.endpointId),
    );
    for (const d of claimed) start(w, d);
    if (claimed.length < Math.min(free, CLAIM_BATCH)) return;
  }
}

function pump(w: Worker): void {
  if (w.stopped) return;
  if (w.pumping) {
    w.again = true;
    return;
  }
  w.again = false;
  w.pumping = pass(w)
    .catch(logError)
    .finally(() => {
      w.pumping = null;
      if (w.again) pump(w);
    });
}

/** Start this process's worker (idempotent). */
export function startOutboundWorker(opts: { concurrency?: number } = {}): void {
  if (holder.worker && !holder.worker.stopped) return;
  const w = newWorker(opts.concurrency ?? DEFAULT_CONCURRENCY);
  w.timer = setInterval(() => pump(w), POLL_MS);
  w.timer.unref();
  holder.worker = w;
  pump(w);
}

/** Look for new events now (after a change this process knows it made, e.g. a test event). */
export function wakeOutboundWorker(): void {
  if (holder.worker) pump(holder.worker);
}

/** Stop claiming; wait for deliveries in flight and write their results. */
export async function stopOutboundWorker(): Promise<void> {
  const w = holder.worker;
  if (!w) return;
  w.stopped = true;
  if (w.timer) clearInterval(w.timer);
  await w.pumping;
  if (w.inFlight > 0) await new Promise<void>((resolve) => w.idle.add(resolve));
  await flush(w);
  holder.worker = undefined;
}

/**
 * Deliver everything due now and wait for the results to be written (tests, the CLI, demo). Uses
 * the running worker if this process has one, else a temporary one. Retries scheduled for later
 * are not waited for.
 */
export async function drainOutbound(opts: { concurrency?: number } = {}): Promise<void> {
  const own = !holder.worker || holder.worker.stopped;
  const w = own ? newWorker(opts.concurrency ?? DEFAULT_CONCURRENCY) : holder.worker!;
  for (let round = 0; round < 10_000; round++) {
    await w.pumping;
    if (own) await pass(w);
    else {
      pump(w);
      await w.pumping;
    }
    if (w.inFlight > 0) await new Promise<void>((resolve) => w.idle.add(resolve));
    await flush(w);
    if (w.inFlight === 0 && w.pumping === null && !(await somethingDue())) break;
  }
}

/**
 * Queue credits.expiring for grants whose credits expire within OUTBOUND_EXPIRING_DAYS: once per
 * grant (a unique index on the outbox decides, so many workers may run it at once).
 */
export async function expiringPass(days = getEnv().OUTBOUND_EXPIRING_DAYS): Promise<number> {
  const [row] = await getDatabase().query<{ n: number }>(
    "SELECT outbound_expiring_pass($1::int) AS n",
    [days],
    { prepare: true },
  );
  return Number(row?.n ?? 0);
}

async function somethingDue(): Promise<boolean> {
  const [row] = await getDatabase().query<{ due: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM outbound_events WHERE dispatched_at IS NULL)
      OR EXISTS (SELECT 1 FROM outbound_deliveries d JOIN outbound_endpoints ep ON ep.id = d.endpoint_id
                 WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND ep.enabled) AS due`,
    [],
  );
  return Boolean(row?.due);
}

import { remember } from "~/lib/remember";
import pLimit from "p-limit";
import type Stripe from "stripe";
import { logger, scrubSecrets } from "../infra/logger.server";
import {
  claimDueEvents as claimDue,
  markGivenUp,
  queueBacklog,
  renewLeases as renewHeld,
  scheduleRetry,
  type ClaimedEvent,
} from "./event-store.server";
import { processStripeEvent, raiseFailedEvent } from "./handlers.server";

export { queueBacklog };

/**
 * The webhook event queue. The endpoint stores each verified event as `received` with
 * `available_at = now()`; workers claim due events with FOR UPDATE SKIP LOCKED (so any number of
 * processes can work the same table), push `available_at` forward by a short lease while they hold
 * one, and act on it through processStripeEvent — the same code reconciliation and replay use.
 *
 * Crash recovery in seconds: the lease is LEASE_SECONDS (8 s), and a heartbeat renews it every
 * HEARTBEAT_MS while this process still holds the event (claimed, waiting in its batch or being
 * acted on). A process that dies (SIGKILL, OOM, lost host) stops renewing, so its events are due
 * again at most 8 s later and the next poll (every 2 s) of any worker takes them: a restart costs
 * seconds, not the 5 minutes a fixed lease long enough for a slow event would. A lease rather than
 * a session advisory lock held by the claiming connection: the pool does not keep one connection
 * per event, a lock on a dead host's connection lives until TCP keepalive notices (minutes to
 * hours), and every client of the embedded database shares one PGlite session (pglite-socket), so
 * its advisory locks could not tell processes apart. A lease works the same on PGlite and Postgres.
 *
 * If a live process misses its heartbeats (event loop stalled > 6 s), another worker may take the
 * event while the first still acts on it. That is safe: acting twice credits once (the ledger's
 * unique idempotency key and the unique Purchase.checkoutSessionId), and re-running an event a
 * crash left half done is the same case. A handler hung for MAX_HOLD_SECONDS stops being renewed.
 *
 * - A transient failure (Stripe or the database unreachable) keeps it `received` and due again
 *   after a backoff; after MAX_ATTEMPTS it becomes `failed` with an attention item.
 * - Any other failure: `failed` + attention item at once (processStripeEvent does that).
 */

export const LEASE_SECONDS = 8;
/** Renew held leases this often: three missed heartbeats before a lease can run out. */
export const HEARTBEAT_MS = 2_000;
/** The old fixed lease: longer than any healthy event takes (Stripe calls time out at 30 s). */
export const MAX_HOLD_SECONDS = 300;
export const MAX_ATTEMPTS = 10;
const CLAIM_BATCH = 16;
const DEFAULT_CONCURRENCY = 4;
/** How often an idle worker looks for events it was not woken for (retries, other processes). */
const POLL_MS = 2_000;

/** Backoff after the n-th failed attempt: 10 s, 20 s, 40 s … capped at one hour. */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(3600, 10 * 2 ** Math.max(0, attempts - 1));
}

async function claimDueEvents(limit: number): Promise<ClaimedEvent[]> {
  const claimed = await claimDue(limit, LEASE_SECONDS);
  for (const event of claimed) hold(event.id);
  return claimed;
}

// Events this process holds (claimed and not yet finished): when it first claimed them, and how
// many of its drains hold them (two, if a stalled drain's lease ran out and another drain here
// took the event). Per module copy: each copy renews the events its own drains claimed.
const held = new Map<string, { since: number; holders: number }>();
let heartbeat: NodeJS.Timeout | null = null;
let renewing = false;

function hold(id: string): void {
  const entry = held.get(id);
  if (entry) entry.holders += 1;
  else held.set(id, { since: performance.now(), holders: 1 });
  if (!heartbeat) {
    heartbeat = setInterval(() => void renewLeases(), HEARTBEAT_MS);
    heartbeat.unref();
  }
}

function release(id: string): void {
  const entry = held.get(id);
  if (entry && --entry.holders > 0) return;
  held.delete(id);
  if (held.size === 0 && heartbeat) {
    clearInterval(heartbeat);
    heartbeat = null;
  }
}

/** Push the lease of every event this process still holds forward (event-store: renewLeases). */
async function renewLeases(): Promise<void> {
  if (renewing || held.size === 0) return;
  renewing = true;
  try {
    const cutoff = performance.now() - MAX_HOLD_SECONDS * 1000;
    const ids = [...held].filter(([, e]) => e.since > cutoff).map(([id]) => id);
    if (ids.length === 0) return;
    await renewHeld(ids, LEASE_SECONDS);
  } catch (error) {
    // The lease runs out and another worker (or this one) takes the event again: safe.
    logger.warn({ err: scrubSecrets((error as Error).message) }, "could not renew event leases");
  } finally {
    renewing = false;
  }
}

export type QueueOutcome = "processed" | "ignored" | "needs_attention" | "failed" | "retry";

/** Act on one claimed event; never throws. */
async function processClaimed(claimed: ClaimedEvent): Promise<QueueOutcome> {
  try {
    return await actOn(claimed);
  } finally {
    release(claimed.id);
  }
}

async function actOn(claimed: ClaimedEvent): Promise<QueueOutcome> {
  const event = JSON.parse(claimed.payload) as Stripe.Event;
  try {
    const result = await processStripeEvent(event, "webhook", { stored: true, queued: true });
    return result.status === "duplicate" ? "processed" : result.status;
  } catch (error) {
    // processStripeEvent only throws transient failures in queued mode.
    const message = scrubSecrets((error as Error)?.message ?? String(error)).slice(0, 2000);
    if (claimed.attempts >= MAX_ATTEMPTS) {
      await giveUp(event, claimed.attempts, message).catch((e: Error) =>
        logger.error({ eventId: event.id, err: scrubSecrets(e.message) }, "could not fail event"),
      );
      return "failed";
    }
    const delay = retryDelaySeconds(claimed.attempts);
    logger.warn(
      {
        eventId: event.id,
        type: event.type,
        attempt: claimed.attempts,
        retryInSeconds: delay,
        err: message,
      },
      "event processing failed transiently; will retry",
    );
    // If this fails too (database down), the lease runs out and the event is due again anyway.
    await scheduleRetry(
      event.id,
      delay,
      `transient (attempt ${claimed.attempts}): ${message}`,
    ).catch(() => undefined);
    return "retry";
  }
}

async function giveUp(event: Stripe.Event, attempts: number, message: string): Promise<void> {
  const detail = `Failed ${attempts} times with temporary errors; the last: ${message}`;
  await raiseFailedEvent(event, detail, "webhook");
  await markGivenUp(event.id, detail.slice(0, 2000));
  logger.error({ eventId: event.id, type: event.type, attempts }, "event failed permanently");
}

/**
 * While deliveries keep arriving (the endpoint woke the worker less than this long ago), the worker
 * acts on one event at a time. Acting on an event costs several times what receiving one does
 * (a Stripe call, the credit statement), on the same cores; during a burst those cores go to
 * answering Stripe quickly — a slow answer is a timeout and a redelivery, i.e. more load — and the
 * queue catches up once the burst ends. The customer is not kept waiting meanwhile: the success
 * page fulfils its own session directly.
 */
export const BURST_QUIET_MS = 50;

/**
 * Run `fn` over `items`, `concurrency` at a time (p-limit). While `busy()` says so the pool
 * narrows to one at a time (never none, so the queue always moves), looked at again every
 * BURST_QUIET_MS; tasks already started finish.
 */
export async function runPool<T>(
  items: T[],
  concurrency: number,
  fn: (item: T) => Promise<void>,
  busy: () => boolean = () => false,
): Promise<void> {
  const width = () => (busy() ? 1 : concurrency);
  const limit = pLimit(width());
  const timer = setInterval(() => {
    limit.concurrency = width();
  }, BURST_QUIET_MS);
  try {
    await Promise.all(items.map((item) => limit(() => fn(item))));
  } finally {
    clearInterval(timer);
  }
}

export interface DrainSummary {
  claimed: number;
  outcomes: Partial<Record<QueueOutcome, number>>;
}

/**
 * Process due events until none is left (events scheduled for a later retry are not waited
 * for). The worker runs this when woken; tests and the CLI call it directly.
 */
export async function drainWebhookQueue(
  opts: { concurrency?: number; shouldStop?: () => boolean; busy?: () => boolean } = {},
): Promise<DrainSummary> {
  const concurrency = opts.concurrency ?? DEFAULT_CONCURRENCY;
  const summary: DrainSummary = { claimed: 0, outcomes: {} };
  while (!opts.shouldStop?.()) {
    const batch = await claimDueEvents(Math.max(CLAIM_BATCH, concurrency * 2));
    if (batch.length === 0) break;
    summary.claimed += batch.length;
    await runPool(
      batch,
      concurrency,
      async (claimed) => {
        const outcome = await processClaimed(claimed);
        summary.outcomes[outcome] = (summary.outcomes[outcome] ?? 0) + 1;
      },
      opts.busy,
    );
  }
  return summary;
}

/**
 * Wait until this process has acted on every due event: whatever its worker holds, then
 * anything still due. For in-process callers that need webhooks settled before they go on
 * (demo seeding, a reconciliation run). Events waiting for a retry later are not waited for.
 */
export async function settleWebhookQueue(): Promise<void> {
  for (let round = 0; round < 100; round++) {
    await holder.__creditdeskWebhookWorker?.draining;
    if ((await drainWebhookQueue()).claimed === 0 && !holder.__creditdeskWebhookWorker?.draining)
      return;
  }
}

// The process's worker, remembered (app/lib/remember.ts): a re-evaluated module must wake the
// running worker, not start a second one.
interface Worker {
  concurrency: number;
  /** When the endpoint last woke it (performance.now()): deliveries are arriving. */
  wokenAt: number;
  draining: Promise<void> | null;
  again: boolean;
  stopped: boolean;
  timer: NodeJS.Timeout;
}
const holder = remember("webhook-worker", (): { __creditdeskWebhookWorker?: Worker } => ({}));

function runDrain(worker: Worker): void {
  if (worker.stopped) return;
  if (worker.draining) {
    worker.again = true;
    return;
  }
  worker.again = false;
  worker.draining = drainWebhookQueue({
    concurrency: worker.concurrency,
    shouldStop: () => worker.stopped,
    busy: () => performance.now() - worker.wokenAt < BURST_QUIET_MS,
  })
    .then(
      () => undefined,
      (error: Error) =>
        logger.error({ err: scrubSecrets(error.message) }, "webhook queue: could not claim events"),
    )
    .finally(() => {
      worker.draining = null;
      if (worker.again) runDrain(worker);
    });
}

/** Start this process's worker (idempotent). */
export function startWebhookWorker(opts: { concurrency?: number } = {}): void {
  if (holder.__creditdeskWebhookWorker && !holder.__creditdeskWebhookWorker.stopped) return;
  const worker: Worker = {
    concurrency: opts.concurrency ?? DEFAULT_CONCURRENCY,
    wokenAt: Number.NEGATIVE_INFINITY,
    draining: null,
    again: false,
    stopped: false,
    timer: setInterval(() => runDrain(worker), POLL_MS),
  };
  worker.timer.unref();
  holder.__creditdeskWebhookWorker = worker;
  runDrain(worker);
}

/** Ask the worker (if this process runs one) to look for due events now: one has just arrived. */
export function wakeWebhookWorker(): void {
  const worker = holder.__creditdeskWebhookWorker;
  if (!worker) return;
  worker.wokenAt = performance.now();
  runDrain(worker);
}

/** Stop claiming and wait for the events in hand (their leases renewed until they are done). */
export async function stopWebhookWorker(): Promise<void> {
  const worker = holder.__creditdeskWebhookWorker;
  if (!worker) return;
  worker.stopped = true;
  clearInterval(worker.timer);
  await worker.draining;
  holder.__creditdeskWebhookWorker = undefined;
}

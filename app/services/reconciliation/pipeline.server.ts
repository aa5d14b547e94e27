import type Stripe from "stripe";
import type { ItemRow, RunContext, Snapshot } from "./context.server";
import { isRateLimited } from "./pacing.server";

/**
 * The plumbing pages flow through: a Stripe list turned page by page (the next page requested
 * while this one is worked on, a 429 waited out), and the background writer that stores recorded
 * pages' items with the run's counters in one statement.
 */

/**
 * Page through a Stripe list with the SDK's auto-pagination, handing over one page at a time.
 * As soon as a page is complete the next one is requested, so Stripe's answer is on its way
 * while this page's database work runs (the run then takes about as long as paging alone).
 * A 429 while turning a page is waited out and the list restarted after the last processed page.
 */
export async function paged<T extends { id: string }, R extends { id: string } = T>(
  ctx: RunContext,
  list: (startingAfter: string | undefined) => Stripe.ApiListPromise<T>,
  onPage: (page: R[], startingAfter: string | undefined) => Promise<void>,
  keep: (item: T) => R = (item) => item as unknown as R,
  /** Ends the listing before the first item for which this is true (another lane has it). */
  stop?: (item: R) => boolean,
): Promise<void> {
  const size = ctx.tuning.pageSize;
  let cursor: string | undefined;
  let attempt = 0;
  let waited = 0;
  for (;;) {
    await ctx.gate.take();
    const iterator = list(cursor)[Symbol.asyncIterator]();
    const pull = () => {
      const next = iterator.next();
      // Awaited below; this only keeps a failure that lands during onPage from being "unhandled".
      next.catch(() => undefined);
      return next;
    };
    let pending = pull();
    let page: R[] = [];
    let restart = false;
    for (;;) {
      let next: IteratorResult<T>;
      try {
        next = await pending;
      } catch (error) {
        if (!isRateLimited(error)) throw error;
        const delay = ctx.gate.backoffMs(attempt++);
        if (waited + delay > ctx.tuning.maxRateLimitWaitMs) throw error;
        waited += delay;
        ctx.gate.slowDown();
        await new Promise((r) => setTimeout(r, delay));
        restart = true;
        break;
      }
      if (next.done) break;
      const item = keep(next.value);
      if (stop?.(item)) break;
      page.push(item);
      if (page.length < size) {
        pending = pull();
        continue;
      }
      await ctx.gate.take();
      pending = pull();
      await onPage(page, cursor);
      cursor = page[page.length - 1].id;
      page = [];
      attempt = 0;
      waited = 0;
      ctx.checkAbort();
    }
    if (restart) continue;
    if (page.length > 0) await onPage(page, cursor);
    return;
  }
}

/** Pages gathered into one write at most before the listing waits for the database. */
const MAX_BATCH_PAGES = 10;

export interface WriteBatch {
  items: ItemRow[];
  /** Added to the stored counts (the lookups add theirs themselves, so these are increments). */
  scanned: number;
  alreadyCredited: number;
  snap: Snapshot;
  pages: number;
  sessions: number;
  lookupMs: number;
  started: number;
}

/** Recorded pages waiting to be written, and the write under way; one per sessions pass. */
export class PageWriter {
  private batch: WriteBatch | null = null;
  private writer: Promise<void> | null = null;
  private writeError: unknown = null;

  constructor(private readonly ctx: RunContext) {}

  queue(part: WriteBatch) {
    const b = this.batch;
    if (b) {
      for (const item of part.items) b.items.push(item);
      b.scanned += part.scanned;
      b.alreadyCredited += part.alreadyCredited;
      b.snap = part.snap;
      b.pages += part.pages;
      b.sessions += part.sessions;
      b.lookupMs += part.lookupMs;
    } else {
      this.batch = part;
    }
    this.writer ??= this.runWriter();
  }

  private async runWriter(): Promise<void> {
    try {
      while (this.batch) {
        const b = this.batch;
        this.batch = null;
        const started = performance.now();
        await this.writePage(b);
        const writeMs = performance.now() - started;
        this.ctx.emit(
          {
            pages: b.pages,
            sessions: b.sessions,
            dbMs: (b.lookupMs + writeMs) / b.pages,
            totalMs: performance.now() - b.started,
          },
          b.snap,
        );
      }
    } catch (error) {
      this.writeError ??= error;
      this.batch = null;
    } finally {
      this.writer = null;
    }
  }

  /** Wait until every recorded page is written; throws the first write error. */
  async flush() {
    while (this.writer) await this.writer;
    if (this.writeError !== null) throw this.writeError;
  }

  /**
   * Recorded pages' remaining items and the run's counters, in one round trip. Scanned and
   * already-credited are increments: the lookups add the sessions they record to them as they go
   * (so the stored counts always cover every stored item). Through the raw driver
   * (getDatabase().query): a fraction of the CPU Prisma spends on it.
   */
  private async writePage(batch: WriteBatch) {
    const { items } = batch;
    const { c, checkpoint } = batch.snap;
    const column = <K extends keyof ItemRow>(key: K) => items.map((i) => i[key] ?? null);
    const created = items.map((i) => new Date(i.sessionCreatedAt).getTime() / 1000);
    await this.ctx.database.query(
      `WITH inserted AS (
        INSERT INTO reconciliation_items (run_id, checkout_session_id, outcome, user_id, purchase_id,
          amount_total, currency, detail, session_created_at)
        SELECT $1::text, x.s, x.o, x.u, x.p, x.a, x.c, x.d, to_timestamp(x.t)
        FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::int4[], $7::text[], $8::text[],
          $9::float8[]) AS x(s, o, u, p, a, c, d, t)
        RETURNING 1
      )
      UPDATE reconciliation_runs SET pages = $10::int4, scanned = scanned + $11::int4,
        credited_now = $12::int4, already_credited = already_credited + $13::int4,
        needs_attention = $14::int4, undelivered_events = $15::int4,
        errors = $16::int4, stripe_requests = $17::int4, checkpoint = $18::timestamptz
      WHERE id = $1::text`,
      [
        this.ctx.run.id,
        column("checkoutSessionId"),
        column("outcome"),
        column("userId"),
        column("purchaseId"),
        column("amountTotal"),
        column("currency"),
        column("detail"),
        created,
        c.pages,
        batch.scanned,
        c.creditedNow,
        batch.alreadyCredited,
        c.needsAttention,
        c.undeliveredEvents,
        c.errors,
        c.stripeRequests,
        checkpoint ? checkpoint.toISOString() : null,
      ],
      { prepare: true },
    );
  }

  /** While a full batch is being gathered behind a write, the listing waits for it; throws a write error. */
  async backpressure() {
    if (this.batch && this.batch.pages >= MAX_BATCH_PAGES) await this.writer;
    if (this.writeError !== null) throw this.writeError;
  }
}

import pLimit, { type LimitFunction } from "p-limit";
import type Stripe from "stripe";
import { attentionKeys, raiseAttention } from "../../attention.server";
import { fulfillCheckoutSession, type FulfillOrDryRunResult } from "../../fulfillment.server";
import { logger } from "../../infra/logger.server";
import {
  errorText,
  isRunFatal,
  type ItemOutcome,
  type ItemRow,
  type RunContext,
} from "../context.server";
import { PageWriter, paged } from "../pipeline.server";
import type { WindowSegment } from "../window.server";
import { formatMoney } from "~/shared/format";

/**
 * Pass 1: the window's completed Checkout Sessions, newest first. One lookup query per page (or
 * per few pages) records the credited ones; each paid, uncredited one goes through
 * fulfillCheckoutSession(…, "reconciliation") — the one fulfillment path. Pages are recorded in
 * order per lane, so the checkpoint only ever covers fully processed pages.
 */

type Session = Stripe.Checkout.Session;
const PAID = new Set(["paid", "no_payment_required"]);

/**
 * What a run keeps of a listed session. The SDK's full objects are dropped as soon as they arrive,
 * so they die young instead of being carried through a page's database round trips.
 */
interface SessionRow {
  id: string;
  created: number;
  amountTotal: number | null;
  currency: string | null;
  paymentStatus: string;
}

function sessionRow(s: Session): SessionRow {
  return {
    id: s.id,
    created: s.created,
    amountTotal: s.amount_total ?? null,
    currency: s.currency ? s.currency.toLowerCase() : null,
    paymentStatus: s.payment_status,
  };
}

interface PageResult {
  /** Items still to write (the lookup wrote the page's already_credited ones itself). */
  items: ItemRow[];
  /** Sessions the lookup recorded as already_credited (already counted). */
  recorded: number;
  fatal: unknown;
  lookupMs: number;
}

/**
 * A listed session the lookup did not record: no purchase (`id` null) or a purchase whose amount
 * or currency differs from Stripe's.
 */
type UnsettledRow = {
  session: string;
  id: string | null;
  userId: string | null;
  amountTotal: number | null;
  currency: string | null;
};

interface LookupAnswer {
  unsettled: Map<string, UnsettledRow>;
  ms: number;
}

interface PendingLookup {
  page: SessionRow[];
  resolve: (answer: LookupAnswer) => void;
  reject: (error: unknown) => void;
}

interface InFlightPage {
  page: SessionRow[];
  started: number;
  settled: boolean;
  work: Promise<PageResult>;
}

/**
 * One listing of part of a window segment (newest first), with the pages it has listed but not
 * yet recorded. A segment has one lane, or two once split: [floor, until] and the older rest.
 */
interface Lane {
  /** Oldest `created` (seconds) this lane covers; sessions older than this belong to the next lane. */
  floor: number;
  /** Pages listed but not yet recorded (their fulfilment may still run), oldest first. */
  inFlight: InFlightPage[];
  /** The first run-ending error of this lane (listing, a page's fulfilment or lookup). */
  failure: unknown;
  /** Oldest `created` (seconds) of the pages recorded in order with no failure before them. */
  oldest: number | null;
  /** Listed to its floor and every page recorded, without a failure. */
  complete: boolean;
}

function newLane(floor: number): Lane {
  return { floor, inFlight: [], failure: null, oldest: null, complete: false };
}

/**
 * Pages per lane whose fulfilment may run behind the listing; bounds memory (slim rows, a few
 * hundred KB) and the gap to the checkpoint. Deep enough that a page of fulfilments does not stall the listing.
 */
const MAX_PAGES_IN_FLIGHT = 32;
/**
 * Pages answered by one lookup query at most. One lookup runs at a time; pages listed meanwhile
 * wait and go together in the next one, so a busy database gets fewer, larger queries.
 */
const MAX_LOOKUP_PAGES = 10;
/** A segment is split into two lanes only when each would span at least this (seconds). */
const MIN_LANE_SECONDS = 60;

class SessionsPass {
  /** The current segment's lanes, newest first. */
  private lanes: Lane[] = [];
  /** Fulfilments at once, across the pages in flight. */
  private readonly fulfilLimit: LimitFunction;
  /** Pages waiting for their lookup, and whether one is under way. */
  private readonly lookupQueue: PendingLookup[] = [];
  private lookingUp = false;
  private readonly writer: PageWriter;

  constructor(private readonly ctx: RunContext) {
    this.fulfilLimit = pLimit(ctx.tuning.fulfillConcurrency);
    this.writer = new PageWriter(ctx);
  }

  async segment(segment: WindowSegment) {
    const gte = Math.floor(segment.since.getTime() / 1000);
    const lte = Math.floor(segment.until.getTime() / 1000);
    if (lte < gte) return;
    const listParams = (since: number, until: number): Stripe.Checkout.SessionListParams => ({
      status: "complete",
      created: { gte: since, lte: until },
      limit: this.ctx.tuning.pageSize,
    });
    const runLane = async (lane: Lane, params: Stripe.Checkout.SessionListParams) => {
      let listError: unknown = null;
      try {
        await paged(
          this.ctx,

          (after) =>
            this.ctx.stripe.checkout.sessions.list({
              ...params,
              ...(after ? { starting_after: after } : {}),
            }),
          (page, after) => {
            if (lane === first) splitOnFirstPage(page);
            return this.sessionPage(lane, page, after, params);
          },
          sessionRow,
          (s) => s.created < lane.floor,
        );
      } catch (error) {
        listError = error;
      }
      // Pages still being fulfilled are finished and recorded, even when the listing failed.
      try {
        await this.recordPages(lane, 0);
      } catch (error) {
        lane.failure ??= error;
      }
      lane.failure ??= listError;
      if (lane.failure === null) {
        lane.complete = true;
        this.advanceCheckpoint();
      }
    };

    const first = newLane(gte);
    this.lanes = [first];
    let second: Promise<void> | null = null;
    let splitDecided = false;
    // Split once the first page is back and full: the older part of what is left below it (half
    // of the remaining time range) gets its own listing.
    const splitOnFirstPage = (page: SessionRow[]) => {
      if (splitDecided) return;
      splitDecided = true;
      if (this.ctx.tuning.listLanes < 2 || page.length < this.ctx.tuning.pageSize) return;
      const oldest = Math.min(...page.map((p) => p.created));
      const mid = gte + Math.floor((oldest - gte) / 2);
      if (mid - gte < MIN_LANE_SECONDS || oldest - mid < MIN_LANE_SECONDS) return;
      first.floor = mid;
      const older = newLane(gte);
      this.lanes.push(older);
      second = runLane(older, listParams(gte, mid - 1));
    };
    await runLane(first, listParams(gte, lte));
    if (second) await second;
    let failure: unknown = null;
    for (const lane of this.lanes) failure ??= lane.failure;
    try {
      await this.writer.flush();
    } catch (error) {
      failure ??= error;
    }
    this.lanes = [];
    if (failure !== null) throw failure;
    // The whole segment is done, down to its start.
    if (!this.ctx.checkpoint || segment.since < this.ctx.checkpoint)
      this.ctx.checkpoint = segment.since;
    await this.ctx.saveProgress();
  }

  /**
   * The checkpoint covers, newest first, every complete lane and then the oldest page recorded in
   * order by the first incomplete one: everything from there to the segment's end was processed.
   */
  private advanceCheckpoint() {
    let reached: number | null = null;
    for (const lane of this.lanes) {
      if (lane.complete) {
        reached = lane.floor;
        continue;
      }
      if (lane.oldest !== null) reached = lane.oldest;
      break;
    }
    if (reached === null) return;
    const at = new Date(reached * 1000);
    if (!this.ctx.checkpoint || at < this.ctx.checkpoint) this.ctx.checkpoint = at;
  }

  private sessionItem(s: SessionRow, outcome: ItemOutcome, extra: Partial<ItemRow> = {}): ItemRow {
    return {
      runId: this.ctx.run.id,
      checkoutSessionId: s.id,
      outcome,
      amountTotal: s.amountTotal,
      currency: s.currency,
      sessionCreatedAt: new Date(s.created * 1000),
      ...extra,
    };
  }

  /**
   * One page: its lookup (gathered with the pages listed meanwhile) and the fulfilment of its
   * uncredited sessions run in the background, so paging goes on meanwhile. Each lane records its
   * pages strictly in order, so the checkpoint only ever covers fully processed pages.
   */
  private async sessionPage(
    lane: Lane,
    page: SessionRow[],
    startingAfter: string | undefined,
    params: Stripe.Checkout.SessionListParams,
  ) {
    const entry: InFlightPage = {
      page,
      started: performance.now(),
      settled: false,
      work: Promise.resolve({ items: [], recorded: 0, fatal: null, lookupMs: 0 }),
    };
    entry.work = (async (): Promise<PageResult> => {
      let recorded = 0;
      try {
        const looked = await this.lookupPage(page);
        recorded = looked.recorded;
        if (looked.uncredited.length === 0)
          return { items: looked.items, recorded, fatal: null, lookupMs: looked.ms };
        const done = await this.fulfilPage(looked.uncredited, startingAfter, params);
        return {
          items: looked.items.concat(done.items),
          recorded,
          fatal: done.fatal,
          lookupMs: looked.ms,
        };
      } catch (error) {
        return { items: [], recorded, fatal: error, lookupMs: 0 };
      }
    })().finally(() => {
      entry.settled = true;
    });
    lane.inFlight.push(entry);
    await this.recordPages(lane, MAX_PAGES_IN_FLIGHT);
    if (lane.failure !== null) throw lane.failure;
  }

  /** Which of a page's sessions are credited already: queued for the next lookup query. */
  private lookup(page: SessionRow[]) {
    return new Promise<LookupAnswer>((resolve, reject) => {
      this.lookupQueue.push({ page, resolve, reject });
      if (!this.lookingUp) void this.runLookups();
    });
  }

  /**
   * One query at a time for every page queued meanwhile (at most MAX_LOOKUP_PAGES): the one query
   * per page of the design, or fewer. The query settles the usual case itself: a session whose
   * purchase matches Stripe's amount and currency is recorded as already_credited (one
   * reconciliation_credited_batches row for the whole batch, and the counts) in the same
   * statement, and only the rest come back. So 99 of a typical page's 100
   * sessions never travel back and forth as rows. Through the raw driver, about a quarter of
   * Prisma's CPU.
   */
  private async runLookups() {
    this.lookingUp = true;
    try {
      while (this.lookupQueue.length > 0) {
        const batch = this.lookupQueue.splice(0, MAX_LOOKUP_PAGES);
        const sessions = batch.flatMap((b) => b.page);
        const started = performance.now();
        try {
          const rows = await this.ctx.database.query<UnsettledRow>(
            `WITH listed AS (
               SELECT x.s, x.a, x.c, x.o
               FROM unnest($2::text[], $3::int4[], $4::text[]) WITH ORDINALITY AS x(s, a, c, o)
             ), found AS (
               SELECT l.s, l.a, l.c, l.o, p.id, p.user_id, p.amount_total, p.currency,
                 coalesce(p.amount_total = coalesce(l.a, 0) AND p.currency = coalesce(l.c, ''), false) AS settled
               FROM listed l LEFT JOIN purchases p ON p.checkout_session_id = l.s
             ), recorded AS (
               INSERT INTO reconciliation_credited_batches (run_id, checkout_session_ids, purchase_ids)
               SELECT $1::text, array_agg(s ORDER BY o), array_agg(id ORDER BY o)
               FROM found WHERE settled
               HAVING count(*) > 0
               RETURNING cardinality(checkout_session_ids) AS n
             ), counted AS (
               UPDATE reconciliation_runs
               SET scanned = scanned + coalesce((SELECT n FROM recorded), 0),
                 already_credited = already_credited + coalesce((SELECT n FROM recorded), 0)
               WHERE id = $1::text
             )
             SELECT s AS session, id, user_id AS "userId", amount_total AS "amountTotal", currency
             FROM found WHERE NOT settled`,
            [
              this.ctx.run.id,
              sessions.map((s) => s.id),
              sessions.map((s) => s.amountTotal),
              sessions.map((s) => s.currency),
            ],
            // Planned once per connection, not once per page: ~1,000 pages a night.
            { prepare: true },
          );
          const unsettled = new Map(rows.map((r) => [r.session, r]));
          // Counted here, as the statement counted them: the stored counts never trail the items.
          const recorded = sessions.length - rows.length;
          this.ctx.c.scanned += recorded;
          this.ctx.c.alreadyCredited += recorded;
          // Each page is charged its share of the query's time.
          const ms = (performance.now() - started) / batch.length;
          for (const b of batch) b.resolve({ unsettled, ms });
        } catch (error) {
          for (const b of batch) b.reject(error);
        }
      }
    } finally {
      this.lookingUp = false;
    }
  }

  /**
   * The page's lookup and the items it decides; the uncredited, paid sessions are returned. The
   * lookup has recorded the already-credited ones (`recorded`).
   */
  private async lookupPage(page: SessionRow[]) {
    const { unsettled, ms } = await this.lookup(page);
    const items: ItemRow[] = [];
    const uncredited: SessionRow[] = [];
    let recorded = 0;
    for (const s of page) {
      const row = unsettled.get(s.id);
      if (!row) {
        recorded += 1;
        continue;
      }
      if (row.id !== null) {
        const total = s.amountTotal ?? 0;
        const currency = s.currency ?? "";
        const detail = `Credited for ${formatMoney(row.amountTotal ?? 0, row.currency ?? currency)}, but Stripe's session total is ${formatMoney(total, currency)}.`;
        if (!this.ctx.dryRun) {
          await raiseAttention({
            kind: "amount_mismatch",
            dedupeKey: attentionKeys.amountMismatch(s.id),
            title: `Purchase for ${s.id} does not match what Stripe charged`,
            detail: `${detail} Check the purchase against Stripe and correct the balance with a manual adjustment if needed.`,
            checkoutSessionId: s.id,
            userId: row.userId,
            purchaseId: row.id,
            runId: this.ctx.run.id,
            data: {
              credited: row.amountTotal,
              creditedCurrency: row.currency,
              stripe: total,
              stripeCurrency: currency,
            },
          });
        }
        items.push(
          this.sessionItem(s, "amount_mismatch", {
            userId: row.userId,
            purchaseId: row.id,
            detail,
          }),
        );
      } else if (!PAID.has(s.paymentStatus)) {
        items.push(
          this.sessionItem(s, "not_paid", {
            detail: `payment_status is ${s.paymentStatus}: waiting for the payment to settle.`,
          }),
        );
      } else {
        uncredited.push(s);
      }
    }
    return { items, uncredited, recorded, ms };
  }

  private async fulfilPage(
    uncredited: SessionRow[],
    startingAfter: string | undefined,
    params: Stripe.Checkout.SessionListParams,
  ): Promise<{ items: ItemRow[]; fatal: unknown }> {
    // Fulfillment needs line items. One re-list of this page with them expanded costs one request
    // however many sessions need it; a single session is cheaper to retrieve on its own.
    const expanded = new Map<string, Session>();
    if (uncredited.length >= 2) {
      try {
        const relisted = await this.ctx.gate.call(() =>
          this.ctx.stripe.checkout.sessions.list({
            ...params,
            ...(startingAfter ? { starting_after: startingAfter } : {}),
            // The charge gives the purchase its paid-at time (fulfillment.server.ts, paidAtOf).
            expand: ["data.line_items", "data.payment_intent.latest_charge"],
          }),
        );
        const wanted = new Set(uncredited.map((s) => s.id));
        for (const s of relisted.data) if (wanted.has(s.id)) expanded.set(s.id, s);
      } catch (error) {
        if (isRunFatal(error)) return { items: [], fatal: error };
        // Otherwise each session is retrieved on its own by fulfillment.
      }
    }
    const results = await Promise.all(
      uncredited.map((s) => this.fulfilLimit(() => this.fulfil(s, expanded.get(s.id)))),
    );
    const items: ItemRow[] = [];
    let fatal: unknown = null;
    for (const r of results) {
      if ("fatal" in r) fatal ??= r.fatal;
      else items.push(r.item);
    }
    return { items, fatal };
  }

  /**
   * Record the finished pages at the head of the queue — items, counters and checkpoint in one
   * write — until at most `keep` pages are in flight (0: all of them, waiting as needed).
   */
  private async recordPages(lane: Lane, keep: number) {
    const inFlight = lane.inFlight;
    for (;;) {
      const ready: InFlightPage[] = [];
      while (inFlight.length > 0 && inFlight[0].settled) ready.push(inFlight.shift()!);
      if (ready.length === 0) {
        if (inFlight.length <= keep) return;
        await inFlight[0].work;
        continue;
      }
      const results: PageResult[] = [];
      for (const entry of ready) results.push(await entry.work);
      const items: ItemRow[] = [];
      const before = { scanned: this.ctx.c.scanned, alreadyCredited: this.ctx.c.alreadyCredited };
      for (let k = 0; k < ready.length; k++) {
        const { page } = ready[k];
        const done = results[k];
        items.push(...done.items);
        this.ctx.tally(done.items);
        // The sessions the lookup recorded were counted then.
        if (done.fatal) {
          this.ctx.c.scanned += done.items.length;
          lane.failure ??= done.fatal;
          continue;
        }
        this.ctx.c.scanned += page.length - done.recorded;
        this.ctx.c.pages += 1;
        // Only while every earlier page of the lane was complete: no gap behind the checkpoint.
        if (lane.failure === null) {
          const oldest = Math.min(...page.map((s) => s.created));
          if (lane.oldest === null || oldest < lane.oldest) lane.oldest = oldest;
        }
      }
      this.advanceCheckpoint();
      // Written in the background, in order, with the counters as of these pages. While a write is
      // under way the next pages gather into one batch, so a slow database gets fewer, larger writes.
      this.writer.queue({
        items,
        scanned: this.ctx.c.scanned - before.scanned,
        alreadyCredited: this.ctx.c.alreadyCredited - before.alreadyCredited,
        snap: this.ctx.snapshot(),
        pages: ready.length,
        sessions: ready.reduce((sum, e) => sum + e.page.length, 0),
        lookupMs: results.reduce((sum, r) => sum + r.lookupMs, 0),
        started: ready[0].started,
      });
      await this.writer.backpressure();
      if (inFlight.length <= keep) return;
    }
  }

  private async fulfil(
    s: SessionRow,
    expanded: Session | undefined,
  ): Promise<{ item: ItemRow } | { fatal: unknown }> {
    try {
      const result = await this.ctx.gate.call(() =>
        fulfillCheckoutSession(s.id, "reconciliation", {
          // Without line items fulfillment retrieves the session itself.
          ...(expanded ? { session: expanded } : {}),
          dryRun: this.ctx.dryRun,
          // This page's lookup found no purchase; fulfillment's own check would repeat it.
          checkedUncredited: true,
        }),
      );
      return { item: this.fromFulfillment(s, result) };
    } catch (error) {
      if (isRunFatal(error)) return { fatal: error };
      const message = errorText(error);
      logger.error(
        { runId: this.ctx.run.id, sessionId: s.id, err: message },
        "reconciliation could not process a session",
      );
      if (!this.ctx.dryRun) await this.ctx.raiseError(s.id, message);
      return { item: this.sessionItem(s, "error", { detail: message }) };
    }
  }

  private fromFulfillment(s: SessionRow, r: FulfillOrDryRunResult): ItemRow {
    switch (r.outcome) {
      case "credited":
        return this.sessionItem(s, "credited_now", {
          userId: r.userId,
          purchaseId: r.purchase.id,
          detail: `Credited ${r.credits} credits to user ${r.userId} (matched by ${r.resolvedBy}); its webhook never did.`,
        });
      case "would_credit":
        // A dry run's item keeps the outcome a real run would record.
        return this.sessionItem(s, "credited_now", {
          userId: r.userId,
          purchaseId: null,
          detail: `Dry run: would credit ${r.credits} credits to user ${r.userId} (matched by ${r.resolvedBy}).`,
        });
      case "already_credited":
        // Credited between our query and fulfillment (the webhook got there first).
        return this.sessionItem(s, "already_credited", {
          userId: r.purchase.userId,
          purchaseId: r.purchase.id,
        });
      case "not_paid":
        return this.sessionItem(s, "not_paid", {
          detail: `payment_status is ${r.paymentStatus}: waiting for the payment to settle.`,
        });
      case "no_credits":
        return this.sessionItem(s, "no_credits", { detail: r.detail });
      case "unmatched_user":
      case "unknown_price":
      case "amount_mismatch":
        return this.sessionItem(s, r.outcome, {
          detail: this.ctx.dryRun
            ? `Dry run: ${r.detail}`
            : `${r.detail} Not credited; see the attention queue.`,
        });
    }
  }
}

/** Every segment of the window in turn (newest first, as planned). */
export async function sessionsPass(ctx: RunContext, segments: readonly WindowSegment[]) {
  const pass = new SessionsPass(ctx);
  for (const segment of segments) await pass.segment(segment);
}

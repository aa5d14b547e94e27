import type Stripe from "stripe";
import { apiKeyActor, createApiKey, type ApiPrincipal } from "../api-keys.server";
import { createCheckoutSession } from "../api/checkout.server";
import { debitCredits } from "../api/debits.server";
import { upsertUser } from "../api/users.server";
import { setAppClock } from "../infra/clock.server";
import { getDb } from "../infra/db.server";
import { syncPacks } from "../packs.server";
import {
  DEMO_DAYS,
  DEMO_PACKS,
  DEMO_SUBSCRIPTION,
  DemoRandom,
  planDemo,
  type DemoPlan,
  type PackCode,
  type PlannedAction,
} from "./seed-plan.server";
import { writeSeedState, type SeedExpectations } from "./seed-state.server";
import type { DemoStripe } from "./stripe.server";
import { settleWebhookQueue } from "../webhooks/queue.server";

/**
 * First-start demo data, made the way real data is made: products and prices are created in
 * Stripe (the emulator) and mirrored with syncPacks(); users are upserted and sessions opened
 * through the same services the Credits API uses; customers pay on the emulator, which signs and
 * POSTs the webhooks to this server's /webhooks/stripe, where the real ingestion and fulfillment
 * credit them. Nothing here writes a purchase, a ledger entry or a balance itself.
 */

/** The demo always tells the same story (the dates move with today). */
export const DEMO_SEED = 20_261_122;

const MAIN_APP_URL = "https://app.example.com";
const USAGE_DESCRIPTIONS = [
  "Image generation",
  "Video render (1080p)",
  "Voice synthesis",
  "Batch upscale",
  "API usage",
  "Background removal",
];

export class SeedAborted extends Error {
  constructor() {
    super("Demo seeding stopped because the server is shutting down.");
  }
}

export interface SeedOptions {
  demo: DemoStripe;
  signal: AbortSignal;
  /** One human line of progress. */
  log(line: string): void;
  /**
   * Called after each simulated day; when given, it replaces the every-15-days progress lines
   * (the console draws a progress bar with it).
   */
  progress?(p: SeedProgress): void;
  seed?: number;
  /** Defaults to the real time; tests may pin it. */
  now?: Date;
}

export interface SeedProgress {
  day: number;
  days: number;
  purchases: number;
  refunds: number;
  subscriptions: number;
  usageDebits: number;
  elapsedMs: number;
}

export interface SeedSummary {
  durationMs: number;
  /** CPU time of this process meanwhile (the server's share of the work included). */
  cpuMs: number;
  expected: SeedExpectations;
  purchasesAtEnd: number;
}

interface Catalog {
  priceOf: Record<PackCode, string>;
  amountOf: Record<PackCode, number>;
  proPrice: string;
}

async function createCatalog(stripe: Stripe): Promise<Catalog> {
  const priceOf = {} as Record<PackCode, string>;
  const amountOf = {} as Record<PackCode, number>;
  for (const pack of DEMO_PACKS) {
    const product = await stripe.products.create({
      name: pack.name,
      description: pack.description,
    });
    const price = await stripe.prices.create({
      product: product.id,
      currency: "usd",
      unit_amount: pack.unitAmount,
      metadata: { credits: String(pack.credits) },
    });
    priceOf[pack.code] = price.id;
    amountOf[pack.code] = pack.unitAmount;
  }
  const pro = await stripe.products.create({
    name: DEMO_SUBSCRIPTION.name,
    description: DEMO_SUBSCRIPTION.description,
  });
  const proPrice = await stripe.prices.create({
    product: pro.id,
    currency: "usd",
    unit_amount: DEMO_SUBSCRIPTION.unitAmount,
    recurring: { interval: "month" },
    metadata: { tier: DEMO_SUBSCRIPTION.tier },
  });
  return { priceOf, amountOf, proPrice: proPrice.id };
}

const fmt = (n: number) => n.toLocaleString("en-US");

export async function seedDemo(opts: SeedOptions): Promise<SeedSummary> {
  const started = Date.now();
  const cpuAtStart = process.cpuUsage();
  const seed = opts.seed ?? DEMO_SEED;
  const startedAt = new Date(started).toISOString();
  const { demo, signal, log } = opts;
  const { control } = demo.emulator;
  const stripe = demo.stripe;
  const nowSeconds = Math.floor((opts.now ?? new Date()).getTime() / 1000);
  const plan: DemoPlan = planDemo(seed, nowSeconds);
  const usageRng = new DemoRandom(seed ^ 0x5eed);
  // Database work on the embedded database resolves as promise callbacks without passing through
  // the event loop, so a long run of it would starve the server's own requests; each step yields.
  const check = async () => {
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (signal.aborted) throw new SeedAborted();
  };

  await writeSeedState({ status: "running", seed, startedAt });
  log(
    `Seeding demo data (first start only): ${plan.users.length} users and ${fmt(plan.purchases.length)} ` +
      `purchases over ${DEMO_DAYS} days, paid on the Stripe emulator and credited by the webhook endpoint…`,
  );

  // The emulator's clock only moves forward through its API; going back to day 0 is the one
  // jump made here, before the account holds anything dated.
  demo.clock.restore({
    frozenAtMs: null,
    offsetMs: (plan.startDay + 7 * 3600) * 1000 - Date.now(),
  });
  // The app records its own times (ledger entries, credited-at, dispute closings) on the same
  // simulated clock while the story plays, so the demo's November is November everywhere.
  setAppClock(() => demo.clock.nowMs());
  try {
    return await actOut();
  } finally {
    setAppClock(undefined);
  }

  async function actOut(): Promise<SeedSummary> {
    const moveClockTo = async (at: number) => {
      const ms = at * 1000 - demo.clock.nowMs();
      if (ms > 0) await control.advanceClock(ms / 1000);
    };

    const catalog = await createCatalog(stripe);
    const packs = await syncPacks();
    if (packs.errors.length > 0) {
      throw new Error(
        `syncPacks could not mirror the demo prices: ${packs.errors.map((e) => e.error).join("; ")}`,
      );
    }
    log(
      `  catalog: Starter, Creator and Professional packs and the Pro plan created in Stripe; ${packs.created.length} packs synced`,
    );

    // The demo's "main app": its calls are attributed to this key (the key itself is discarded).
    const { apiKey } = await createApiKey(
      { name: "Demo main app" },
      { type: "system", label: "demo mode" },
    );
    const principal: ApiPrincipal = { id: apiKey.id, name: apiKey.name, prefix: apiKey.prefix };
    const actor = apiKeyActor(principal);
    for (const user of plan.users) {
      await check();
      await upsertUser(user.id, { email: user.email, name: user.name }, actor);
    }
    log(`  ${plan.users.length} users created through the users service`);

    const sessionOf = new Map<number, string>();
    const subscriptionOf = new Map<number, string>();
    const expected: SeedExpectations = {
      users: plan.users.length,
      purchasesPlanned: plan.purchases.length,
      purchasesCreditedByWebhook: 0,
      droppedPurchases: 0,
      droppedSessionIds: [],
      unmatchedSessions: 0,
      unmatchedSessionIds: [],
      refunds: 0,
      disputes: 0,
      subscriptions: 0,
      subscriptionCancellations: 0,
      usageDebits: 0,
    };
    const returnUrls = {
      success_url: `${MAIN_APP_URL}/billing/success`,
      cancel_url: `${MAIN_APP_URL}/billing`,
    };

    const perform = async (action: PlannedAction) => {
      switch (action.kind) {
        case "purchase": {
          const purchase = plan.purchases[action.purchase];
          const user = plan.users[purchase.user];
          const session = await createCheckoutSession(
            {
              userId: user.id,
              priceId: catalog.priceOf[purchase.pack],
              quantity: purchase.quantity,
              successUrl: returnUrls.success_url,
              cancelUrl: returnUrls.cancel_url,
            },
            principal,
          );
          sessionOf.set(purchase.index, session.id);
          if (purchase.fate === "dropped") {
            control.dropEventsFor(session.id);
            expected.droppedPurchases++;
            expected.droppedSessionIds.push(session.id);
          } else {
            expected.purchasesCreditedByWebhook++;
          }
          await control.paySession(session.id, { email: user.email, name: user.name });
          return;
        }
        case "refund": {
          const purchase = plan.purchases[action.purchase];
          const sessionId = sessionOf.get(purchase.index);
          if (!sessionId) return;
          const amount = catalog.amountOf[purchase.pack] * purchase.quantity;
          await control.refund(sessionId, {
            amount: action.partial ? Math.round(amount / 2) : undefined,
            reason: "requested_by_customer",
          });
          expected.refunds++;
          return;
        }
        case "dispute": {
          const sessionId = sessionOf.get(action.purchase);
          if (!sessionId) return;
          await control.openDispute(sessionId, { reason: "fraudulent" });
          expected.disputes++;
          return;
        }
        case "subscribe": {
          const user = plan.users[action.user];
          const row = await getDb().user.findUnique({
            where: { id: user.id },
            select: { stripeCustomerId: true },
          });
          // The main app opens subscription sessions itself (the Credits API sells one-time packs).
          const session = await stripe.checkout.sessions.create({
            mode: "subscription",
            line_items: [{ price: catalog.proPrice, quantity: 1 }],
            client_reference_id: user.id,
            metadata: { user_id: user.id },
            subscription_data: { metadata: { user_id: user.id } },
            ...(row?.stripeCustomerId
              ? { customer: row.stripeCustomerId }
              : { customer_email: user.email }),
            ...returnUrls,
          });
          const paid = await control.paySession(session.id, { email: user.email, name: user.name });
          const subscription = paid.subscription as string | { id: string } | null;
          if (subscription)
            subscriptionOf.set(
              action.user,
              typeof subscription === "string" ? subscription : subscription.id,
            );
          expected.subscriptions++;
          return;
        }
        case "cancel_subscription": {
          const subscription = subscriptionOf.get(action.user);
          if (!subscription) return;
          await control.cancelSubscription(subscription);
          expected.subscriptionCancellations++;
          return;
        }
        case "unmatched": {
          // A payment link shared outside the app: no client_reference_id, an email nobody has.
          const session = await stripe.checkout.sessions.create({
            mode: "payment",
            line_items: [{ price: catalog.priceOf[action.pack], quantity: 1 }],
            customer_email: action.email,
            ...returnUrls,
          });
          await control.paySession(session.id, { email: action.email });
          expected.unmatchedSessions++;
          expected.unmatchedSessionIds.push(session.id);
          return;
        }
      }
    };

    const spend = async (day: number) => {
      const holders = await getDb().user.findMany({
        where: { balance: { gt: 0 } },
        select: { id: true, balance: true },
        orderBy: { id: "asc" },
      });
      for (const holder of holders) {
        if (usageRng.next() >= 0.035) continue;
        await check();
        const share = 0.1 + 0.4 * usageRng.next();
        const amount = Math.max(
          1,
          Math.min(holder.balance, Math.round((holder.balance * share) / 5) * 5),
        );
        await debitCredits(
          holder.id,
          {
            amount,
            idempotencyKey: `demo-usage-day-${day}`,
            description: usageRng.pick(USAGE_DESCRIPTIONS),
          },
          principal,
        );
        expected.usageDebits++;
      }
    };

    for (let day = 0; day < DEMO_DAYS; day++) {
      for (const action of plan.days[day]) {
        await check();
        await moveClockTo(action.at);
        await perform(action);
      }
      // Let the day's webhooks land before time moves on (and before customers spend the credits).
      await control.waitForDeliveries({ timeoutMs: 60_000 });
      await settleWebhookQueue();
      await check();
      await spend(day);
      opts.progress?.({
        day: day + 1,
        days: DEMO_DAYS,
        purchases: sessionOf.size,
        refunds: expected.refunds,
        subscriptions: expected.subscriptions,
        usageDebits: expected.usageDebits,
        elapsedMs: Date.now() - started,
      });
      if (!opts.progress && ((day + 1) % 15 === 0 || day === DEMO_DAYS - 1)) {
        log(
          `  day ${day + 1}/${DEMO_DAYS}: ${fmt(sessionOf.size)} purchases, ${expected.refunds} refunds, ` +
            `${expected.disputes} dispute, ${expected.subscriptions} subscriptions, ${fmt(expected.usageDebits)} usage debits ` +
            `(${((Date.now() - started) / 1000).toFixed(1)} s)`,
        );
      }
    }

    // Back to real time, and deliver anything still waiting for a retry.
    await control.advanceClock(Math.max(0, (Date.now() - demo.clock.nowMs()) / 1000));
    await control.flushDeliveries({ timeoutMs: 60_000 });
    await settleWebhookQueue();
    await demo.persist();
    const purchasesAtEnd = await getDb().purchase.count();
    const durationMs = Date.now() - started;
    const cpu = process.cpuUsage(cpuAtStart);
    await writeSeedState({
      status: "done",
      seed,
      startedAt,
      finishedAt: new Date().toISOString(),
      durationMs,
      cpuMs: Math.round((cpu.user + cpu.system) / 1000),
      expected,
      purchasesAtEnd,
    });
    return {
      durationMs,
      cpuMs: Math.round((cpu.user + cpu.system) / 1000),
      expected,
      purchasesAtEnd,
    };
  }
}

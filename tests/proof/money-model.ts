import fc from "fast-check";
import Stripe from "stripe";
import { fulfillCheckoutSession } from "../../app/services/fulfillment.server";
import { postLedgerEntry } from "../../app/services/ledger.server";
import { replayEvent } from "../../app/services/admin/webhook-events.server";
import { getDb } from "../../app/services/infra/db.server";
import { isTransientError } from "../../app/services/infra/transient.server";
import { readJson } from "../support/api-harness";
import { withStripeRetries, type ProofWorld } from "../support/proof-harness";

/**
 * The model of the money proof (tests/proof/money.proof.test.ts): what Stripe did and what the
 * main app spent, kept from the generated commands alone — never read back from the database.
 * The expected balance of a user is
 *
 *   starting grant + Σ credits of their paid sessions − Σ credits taken back − Σ debits answered 201
 *
 * where a session's credits taken back follow docs/credits.md: refunds claw
 * clawTotal(credits, amount, refunded) (cumulative rounding), an open or lost dispute holds
 * everything the refunds left (so the whole purchase is gone), a won dispute gives the hold back.
 */

export type Attribution = "client_reference_id" | "metadata" | "email";
export type PayState = "paid" | "async_pending" | "async_failed" | "open" | "expired";

export interface SessionModel {
  id: string;
  kind: "pack" | "plan";
  /** Index into world.users, or null for a buyer who matches no user. */
  user: number | null;
  credits: number;
  amount: number;
  pay: PayState;
  refunded: number;
  refunds: number;
  dispute: { id: string; status: "open" | "won" | "lost" } | null;
  subscriptionId: string | null;
  canceled: boolean;
}

export interface DebitModel {
  user: number;
  key: string;
  amount: number;
  description: string;
}

/** Deliberate defects, to show that the property notices them (see the test file). */
export type Mutation = "none" | "success_page_credits_again" | "model_forgets_refunds";

export interface MoneyModel {
  users: number;
  sessions: SessionModel[];
  debits: DebitModel[];
  debited: number[];
  up: boolean;
  /** Valid deliveries the test itself sent (redeliveries), per event id. */
  redelivered: Map<string, number>;
  nextKey: number;
  mutation: Mutation;
}

/**
 * A step of a run: `check` says whether it applies to the model now (a refund needs something
 * paid; the app's side needs the server up) — steps that do not apply are skipped — `run` does it
 * and updates the model. toString is what a failure report prints.
 */
export interface MoneyCommand {
  check(m: MoneyModel): boolean;
  run(m: MoneyModel, w: ProofWorld): Promise<void>;
  toString(): string;
}

/** fast-check prints values through this symbol: reports show `Refund(paid#0, the rest)`. */
abstract class Step {
  [fc.toStringMethod]() {
    return this.toString();
  }
}

export function newModel(users: number, mutation: Mutation = "none"): MoneyModel {
  return {
    users,
    sessions: [],
    debits: [],
    debited: Array.from({ length: users }, () => 0),
    up: true,
    redelivered: new Map(),
    nextKey: 0,
    mutation,
  };
}

/** docs/credits.md, "Rounding": credits clawed back once `refunded` of `amount` went back. */
export function clawTotal(credits: number, amount: number, refunded: number): number {
  if (refunded <= 0) return 0;
  if (refunded >= amount) return credits;
  return Math.floor((credits * refunded) / amount);
}

export function creditedSession(s: SessionModel): boolean {
  return s.kind === "pack" && s.user !== null && s.pay === "paid";
}

/** Credits of a paid pack session that the user no longer has (refunds, disputes). */
export function takenBack(s: SessionModel, mutation: Mutation = "none"): number {
  if (s.dispute && s.dispute.status !== "won") return s.credits;
  if (mutation === "model_forgets_refunds") return 0;
  return clawTotal(s.credits, s.amount, s.refunded);
}

export function expectedBalance(model: MoneyModel, user: number, grant: number): number {
  let balance = grant - model.debited[user];
  for (const s of model.sessions) {
    if (s.user !== user || !creditedSession(s)) continue;
    balance += s.credits - takenBack(s, model.mutation);
  }
  return balance;
}

export function expectedTier(model: MoneyModel, user: number): string {
  return model.sessions.some((s) => s.user === user && s.subscriptionId && !s.canceled)
    ? "pro"
    : "free";
}

const pick = <T>(items: T[], k: number): T | undefined =>
  items.length ? items[k % items.length] : undefined;
const who = (u: number | null) => (u === null ? "stranger" : `user${u}`);

function fail(message: string): never {
  throw new Error(message);
}

// ---------------------------------------------------------------------------------------------
// What customers and Stripe do (allowed while the server is down: Stripe does not wait for it)

class Buy extends Step implements MoneyCommand {
  constructor(
    readonly user: number | null,
    readonly pack: number,
    readonly quantity: number,
    readonly attribution: Attribution,
    readonly card: "success" | "async",
  ) {
    super();
  }
  check = () => true;
  async run(m: MoneyModel, w: ProofWorld) {
    const user = this.user === null ? null : this.user % w.users.length;
    const pack = w.packs[this.pack % w.packs.length];
    const email =
      user === null ? `stranger.${m.sessions.length}@buyers.example` : w.users[user].email;
    const params: Stripe.Checkout.SessionCreateParams = {
      mode: "payment",
      line_items: [{ price: pack.priceId, quantity: this.quantity }],
      success_url: "https://app.example/success?session_id={CHECKOUT_SESSION_ID}",
      cancel_url: "https://app.example/cancel",
    };
    if (user !== null && this.attribution === "client_reference_id")
      params.client_reference_id = w.users[user].id;
    else if (user !== null && this.attribution === "metadata")
      params.metadata = { user_id: w.users[user].id };
    else params.customer_email = this.attribution === "email" ? email.toUpperCase() : email;
    const session = await withStripeRetries(() => w.stripe.checkout.sessions.create(params));
    await w.emu.control.paySession(session.id, { card: this.card, email });
    m.sessions.push({
      id: session.id,
      kind: "pack",
      user,
      credits: pack.credits * this.quantity,
      amount: pack.unitAmount * this.quantity,
      pay: this.card === "success" ? "paid" : "async_pending",
      refunded: 0,
      refunds: 0,
      dispute: null,
      subscriptionId: null,
      canceled: false,
    });
  }
  toString() {
    return `Buy(${who(this.user)}, pack${this.pack}×${this.quantity}, by ${this.attribution}, ${this.card})`;
  }
}

class Abandon extends Step implements MoneyCommand {
  constructor(
    readonly user: number,
    readonly expire: boolean,
  ) {
    super();
  }
  check = () => true;
  async run(m: MoneyModel, w: ProofWorld) {
    const user = this.user % w.users.length;
    const session = await withStripeRetries(() =>
      w.stripe.checkout.sessions.create({
        mode: "payment",
        line_items: [{ price: w.packs[0].priceId, quantity: 1 }],
        client_reference_id: w.users[user].id,
        success_url: "https://app.example/success",
        cancel_url: "https://app.example/cancel",
      }),
    );
    if (this.expire) await w.emu.control.expireSession(session.id);
    m.sessions.push({
      id: session.id,
      kind: "pack",
      user,
      credits: w.packs[0].credits,
      amount: w.packs[0].unitAmount,
      pay: this.expire ? "expired" : "open",
      refunded: 0,
      refunds: 0,
      dispute: null,
      subscriptionId: null,
      canceled: false,
    });
  }
  toString() {
    return `Abandon(user${this.user}${this.expire ? ", expired" : ""})`;
  }
}

class AsyncResult extends Step implements MoneyCommand {
  constructor(
    readonly k: number,
    readonly succeed: boolean,
  ) {
    super();
  }
  private candidates = (m: MoneyModel) => m.sessions.filter((s) => s.pay === "async_pending");
  check = (m: MoneyModel) => this.candidates(m).length > 0;
  async run(m: MoneyModel, w: ProofWorld) {
    const s = pick(this.candidates(m), this.k)!;
    if (this.succeed) await w.emu.control.succeedAsyncPayment(s.id);
    else await w.emu.control.failAsyncPayment(s.id);
    s.pay = this.succeed ? "paid" : "async_failed";
  }
  toString() {
    return `AsyncPayment${this.succeed ? "Succeeds" : "Fails"}(pending#${this.k})`;
  }
}

/** Paid pack sessions Stripe lets us refund: money left, no open or lost dispute. */
const refundable = (m: MoneyModel) =>
  m.sessions.filter(
    (s) =>
      s.kind === "pack" &&
      s.pay === "paid" &&
      s.refunded < s.amount &&
      (!s.dispute || s.dispute.status === "won"),
  );

class Refund extends Step implements MoneyCommand {
  /** percent of what is left to refund, or 100 = all of it */
  constructor(
    readonly k: number,
    readonly percent: number,
  ) {
    super();
  }
  check = (m: MoneyModel) => refundable(m).length > 0;
  async run(m: MoneyModel, w: ProofWorld) {
    const s = pick(refundable(m), this.k)!;
    const left = s.amount - s.refunded;
    const amount =
      this.percent >= 100 ? left : Math.max(1, Math.floor((left * this.percent) / 100));
    await w.emu.control.refund(s.id, { amount });
    s.refunded += amount;
    s.refunds += 1;
  }
  toString() {
    return `Refund(paid#${this.k}, ${this.percent >= 100 ? "the rest" : `${this.percent}% of the rest`})`;
  }
}

const disputable = (m: MoneyModel) =>
  m.sessions.filter(
    (s) => s.kind === "pack" && s.pay === "paid" && s.refunded < s.amount && !s.dispute,
  );

class OpenDispute extends Step implements MoneyCommand {
  constructor(readonly k: number) {
    super();
  }
  check = (m: MoneyModel) => disputable(m).length > 0;
  async run(m: MoneyModel, w: ProofWorld) {
    const s = pick(disputable(m), this.k)!;
    const dispute = await w.emu.control.openDispute(s.id);
    s.dispute = { id: dispute.id, status: "open" };
  }
  toString() {
    return `OpenDispute(paid#${this.k})`;
  }
}

const openDisputes = (m: MoneyModel) => m.sessions.filter((s) => s.dispute?.status === "open");

class CloseDispute extends Step implements MoneyCommand {
  constructor(
    readonly k: number,
    readonly outcome: "won" | "lost",
  ) {
    super();
  }
  check = (m: MoneyModel) => openDisputes(m).length > 0;
  async run(m: MoneyModel, w: ProofWorld) {
    const s = pick(openDisputes(m), this.k)!;
    await w.emu.control.closeDispute(s.dispute!.id, this.outcome);
    s.dispute!.status = this.outcome;
  }
  toString() {
    return `CloseDispute(open#${this.k}, ${this.outcome})`;
  }
}

class Subscribe extends Step implements MoneyCommand {
  constructor(readonly user: number) {
    super();
  }
  check = () => true;
  async run(m: MoneyModel, w: ProofWorld) {
    const user = this.user % w.users.length;
    const session = await withStripeRetries(() =>
      w.stripe.checkout.sessions.create({
        mode: "subscription",
        line_items: [{ price: w.planPriceId, quantity: 1 }],
        client_reference_id: w.users[user].id,
        subscription_data: { metadata: { user_id: w.users[user].id } },
        success_url: "https://app.example/success",
        cancel_url: "https://app.example/cancel",
      }),
    );
    const paid = await w.emu.control.paySession(session.id, { email: w.users[user].email });
    const subscriptionId = paid.subscription;
    if (!subscriptionId) fail(`paying subscription session ${session.id} made no subscription`);
    m.sessions.push({
      id: session.id,
      kind: "plan",
      user,
      credits: 0,
      amount: 1500,
      pay: "paid",
      refunded: 0,
      refunds: 0,
      dispute: null,
      subscriptionId,
      canceled: false,
    });
  }
  toString() {
    return `Subscribe(user${this.user}, Pro plan)`;
  }
}

const liveSubscriptions = (m: MoneyModel) =>
  m.sessions.filter((s) => s.subscriptionId && !s.canceled);

type SubscriptionChange = "cancel" | "cancel_at_period_end" | "metadata";

class ChangeSubscription extends Step implements MoneyCommand {
  constructor(
    readonly k: number,
    readonly change: SubscriptionChange,
  ) {
    super();
  }
  check = (m: MoneyModel) => liveSubscriptions(m).length > 0;
  async run(m: MoneyModel, w: ProofWorld) {
    const s = pick(liveSubscriptions(m), this.k)!;
    const id = s.subscriptionId!;
    if (this.change === "cancel") {
      await w.emu.control.cancelSubscription(id);
      s.canceled = true;
    } else if (this.change === "cancel_at_period_end") {
      // Still active until the period ends (the emulator never renews or ends it).
      await withStripeRetries(() =>
        w.stripe.subscriptions.update(id, { cancel_at_period_end: true }),
      );
    } else {
      await withStripeRetries(() =>
        w.stripe.subscriptions.update(id, { metadata: { note: `changed ${m.nextKey++}` } }),
      );
    }
  }
  toString() {
    return `ChangeSubscription(live#${this.k}, ${this.change})`;
  }
}

// ---------------------------------------------------------------------------------------------
// What the main app and staff do (need the server up)

async function debit(w: ProofWorld, d: DebitModel) {
  const res = await w.api.fetch(
    "POST",
    `/api/v1/users/${encodeURIComponent(w.users[d.user].id)}/debits`,
    {
      key: w.apiKey,
      json: { amount: d.amount, idempotencyKey: d.key, description: d.description },
    },
  );
  return { status: res.status, body: await readJson(res) };
}

class Debits extends Step implements MoneyCommand {
  /** Concurrent debits for one user; `retryFirst` sends the first one twice at once. */
  constructor(
    readonly user: number,
    readonly amounts: number[],
    readonly retryFirst: boolean,
  ) {
    super();
  }
  check = (m: MoneyModel) => m.up;
  async run(m: MoneyModel, w: ProofWorld) {
    const user = this.user % w.users.length;
    const batch = this.amounts.map((amount) => ({
      user,
      amount,
      key: `proof-${m.nextKey++}`,
      description: `usage ${amount}`,
    }));
    const sends = this.retryFirst ? [batch[0], ...batch] : batch;
    const answers = await Promise.all(sends.map((d) => debit(w, d)));
    for (const d of batch) {
      const mine = answers.filter((_, i) => sends[i] === d);
      const statuses = mine.map((a) => a.status).sort();
      const want = mine.length === 1 ? [201] : [200, 201];
      if (JSON.stringify(statuses) !== JSON.stringify(want))
        fail(
          `debit ${d.key} of ${d.amount} for user${user}: answered ${statuses.join(", ")}, expected ${want.join(", ")} ` +
            `(${JSON.stringify(mine.map((a) => a.body))})`,
        );
      m.debits.push(d);
      m.debited[user] += d.amount;
    }
  }
  toString() {
    return `Debits(user${this.user}, [${this.amounts.join(", ")}]${this.retryFirst ? ", first sent twice at once" : ""})`;
  }
}

class DebitAgain extends Step implements MoneyCommand {
  constructor(
    readonly k: number,
    readonly conflicting: boolean,
  ) {
    super();
  }
  check = (m: MoneyModel) => m.up && m.debits.length > 0;
  async run(m: MoneyModel, w: ProofWorld) {
    const d = pick(m.debits, this.k)!;
    const sent = this.conflicting ? { ...d, amount: d.amount + 1 } : d;
    const { status, body } = await debit(w, sent);
    const want = this.conflicting ? 409 : 200;
    if (status !== want)
      fail(
        `replayed debit ${d.key}${this.conflicting ? " with another amount" : ""}: ${status} ${JSON.stringify(body)}, expected ${want}`,
      );
  }
  toString() {
    return `DebitAgain(debit#${this.k}${this.conflicting ? ", other amount" : ""})`;
  }
}

class Overdraft extends Step implements MoneyCommand {
  constructor(readonly user: number) {
    super();
  }
  check = (m: MoneyModel) => m.up;
  async run(m: MoneyModel, w: ProofWorld) {
    const d = {
      user: this.user % w.users.length,
      amount: 1_000_000_000,
      key: `proof-${m.nextKey++}`,
      description: "more than anyone has",
    };
    const { status, body } = await debit(w, d);
    if (status !== 402)
      fail(`overdraft debit answered ${status} ${JSON.stringify(body)}, expected 402`);
  }
  toString() {
    return `Overdraft(user${this.user})`;
  }
}

class SuccessPage extends Step implements MoneyCommand {
  constructor(readonly k: number) {
    super();
  }
  check = (m: MoneyModel) => m.up && m.sessions.length > 0;
  async run(m: MoneyModel) {
    const s = pick(m.sessions, this.k)!;
    let outcome: string;
    try {
      const r = await fulfillCheckoutSession(s.id, "success_page");
      outcome = r.outcome;
      if (
        m.mutation === "success_page_credits_again" &&
        (r.outcome === "credited" || r.outcome === "already_credited")
      ) {
        // The incident this project exists to end: a second path credits on its own.
        const credits = r.outcome === "credited" ? r.credits : r.purchase.credits;
        await postLedgerEntry({
          userId: r.outcome === "credited" ? r.userId : r.purchase.userId,
          kind: "manual_credit",
          delta: credits,
          idempotencyKey: `success_page:${s.id}`,
          reason: "success page (mutant)",
        });
      }
    } catch (error) {
      // A 429 from Stripe while the customer waits: the page says "try again"; nothing credited.
      if (isTransientError(error) || error instanceof Stripe.errors.StripeError) return;
      throw error;
    }
    const want: string[] =
      s.kind === "plan"
        ? ["no_credits"]
        : s.pay !== "paid"
          ? ["not_paid"]
          : s.user === null
            ? ["unmatched_user"]
            : ["credited", "already_credited"];
    if (!want.includes(outcome))
      fail(
        `success page for ${s.id} (${who(s.user)}, ${s.pay}): ${outcome}, expected ${want.join(" or ")}`,
      );
  }
  toString() {
    return `SuccessPage(session#${this.k})`;
  }
}

class Redeliver extends Step implements MoneyCommand {
  /** Stripe sends an event it already sent (a retry after a lost answer). */
  constructor(readonly k: number) {
    super();
  }
  check = (m: MoneyModel) => m.up && m.sessions.length > 0;
  async run(m: MoneyModel, w: ProofWorld) {
    const eventIds = [...new Set(w.emu.control.deliveries().map((d) => d.eventId))];
    const eventId = pick(eventIds, this.k);
    if (!eventId) return;
    const event = await withStripeRetries(() => w.stripe.events.retrieve(eventId));
    const payload = JSON.stringify(event, null, 2);
    const res = await fetch(`${w.url}/webhooks/stripe`, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        "Stripe-Signature": Stripe.webhooks.generateTestHeaderString({ payload, secret: w.secret }),
      },
      body: payload,
    });
    m.redelivered.set(eventId, (m.redelivered.get(eventId) ?? 0) + 1);
    if (res.status !== 200) fail(`redelivery of ${eventId}: ${res.status} ${await res.text()}`);
  }
  toString() {
    return `Redeliver(event#${this.k})`;
  }
}

class StaffReplay extends Step implements MoneyCommand {
  constructor(readonly k: number) {
    super();
  }
  check = (m: MoneyModel) => m.up && m.sessions.length > 0;
  async run(_m: MoneyModel, w: ProofWorld) {
    const events = await getDb().stripeEvent.findMany({
      select: { id: true },
      orderBy: { id: "asc" },
    });
    const event = pick(events, this.k);
    if (!event) return;
    try {
      await replayEvent(event.id, { id: w.staff.id, email: w.staff.email });
    } catch (error) {
      if (isTransientError(error) || error instanceof Stripe.errors.StripeError) return;
      throw error;
    }
  }
  toString() {
    return `StaffReplay(stored event#${this.k})`;
  }
}

// ---------------------------------------------------------------------------------------------
// The server's life

class Restart extends Step implements MoneyCommand {
  check = (m: MoneyModel) => m.up;
  async run(_m: MoneyModel, w: ProofWorld) {
    await w.stop();
    await w.start();
  }
  toString() {
    return "Restart()";
  }
}

class ServerDown extends Step implements MoneyCommand {
  check = (m: MoneyModel) => m.up;
  async run(m: MoneyModel, w: ProofWorld) {
    await w.stop();
    m.up = false;
  }
  toString() {
    return "ServerDown()";
  }
}

class ServerUp extends Step implements MoneyCommand {
  check = (m: MoneyModel) => !m.up;
  async run(m: MoneyModel, w: ProofWorld) {
    await w.start();
    m.up = true;
  }
  toString() {
    return "ServerUp()";
  }
}

export const LOSABLE = [
  "checkout.session",
  "charge.refunded",
  "charge.dispute",
  "customer.subscription",
] as const;

class LoseWebhooks extends Step implements MoneyCommand {
  /** From now on Stripe's deliveries of these events are lost (until RestoreWebhooks). */
  constructor(readonly prefix: (typeof LOSABLE)[number]) {
    super();
  }
  check = () => true;
  async run(_m: MoneyModel, w: ProofWorld) {
    w.lostTypes.add(this.prefix);
  }
  toString() {
    return `LoseWebhooks(${this.prefix}.*)`;
  }
}

class RestoreWebhooks extends Step implements MoneyCommand {
  check = () => true;
  async run(_m: MoneyModel, w: ProofWorld) {
    w.lostTypes.clear();
  }
  toString() {
    return "RestoreWebhooks()";
  }
}

class Settle extends Step implements MoneyCommand {
  /** Wait until the emulator's due deliveries are answered and the queue is empty. */
  check = () => true;
  async run(_m: MoneyModel, w: ProofWorld) {
    await w.settle();
  }
  toString() {
    return "Settle()";
  }
}

// ---------------------------------------------------------------------------------------------

/** One generated command, weighted towards what moves money. */
export function moneyCommand(users: number, packs: number): fc.Arbitrary<MoneyCommand> {
  const user = fc.nat({ max: users - 1 });
  const k = fc.nat({ max: 30 });
  const buyer = fc.oneof(
    { weight: 6, arbitrary: user },
    { weight: 1, arbitrary: fc.constant(null) },
  );
  const buy = fc
    .tuple(
      buyer,
      fc.nat({ max: packs - 1 }),
      fc.integer({ min: 1, max: 3 }),
      fc.constantFrom<Attribution>("client_reference_id", "metadata", "email"),
      fc.constantFrom<"success" | "async">("success", "success", "async"),
    )
    .map(([u, p, q, a, c]) => new Buy(u, p, q, a, c));
  const refund = fc
    .tuple(k, fc.oneof(fc.constant(100), fc.integer({ min: 1, max: 99 })))
    .map(([i, p]) => new Refund(i, p));
  const debits = fc
    .tuple(
      user,
      fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 4 }),
      fc.boolean(),
    )
    .map(([u, a, r]) => new Debits(u, a, r));
  const w = (weight: number, arbitrary: fc.Arbitrary<MoneyCommand>) => ({ weight, arbitrary });
  return fc.oneof(
    w(6, buy),
    w(
      2,
      fc.tuple(user, fc.boolean()).map(([u, e]) => new Abandon(u, e)),
    ),
    w(
      2,
      fc.tuple(k, fc.boolean()).map(([i, ok]) => new AsyncResult(i, ok)),
    ),
    w(4, refund),
    w(
      2,
      k.map((i) => new OpenDispute(i)),
    ),
    w(
      2,
      fc
        .tuple(k, fc.constantFrom<"won" | "lost">("won", "lost"))
        .map(([i, o]) => new CloseDispute(i, o)),
    ),
    w(
      2,
      user.map((u) => new Subscribe(u)),
    ),
    w(
      2,
      fc
        .tuple(k, fc.constantFrom<SubscriptionChange>("cancel", "cancel_at_period_end", "metadata"))
        .map(([i, c]) => new ChangeSubscription(i, c)),
    ),
    w(4, debits),
    w(
      2,
      fc.tuple(k, fc.boolean()).map(([i, c]) => new DebitAgain(i, c)),
    ),
    w(
      1,
      user.map((u) => new Overdraft(u)),
    ),
    w(
      3,
      k.map((i) => new SuccessPage(i)),
    ),
    w(
      2,
      k.map((i) => new Redeliver(i)),
    ),
    w(
      2,
      k.map((i) => new StaffReplay(i)),
    ),
    w(1, fc.constant(new Restart())),
    w(1, fc.constant(new ServerDown())),
    w(2, fc.constant(new ServerUp())),
    w(2, fc.constant(new Settle())),
    w(
      2,
      fc.constantFrom(...LOSABLE).map((p) => new LoseWebhooks(p)),
    ),
    w(1, fc.constant(new RestoreWebhooks())),
  );
}

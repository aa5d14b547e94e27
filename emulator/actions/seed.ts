import { invalidRequest } from "../api/stripe-error";
import type { EmulatorCore } from "../core";
import type { Price } from "../objects/catalog";
import { buildCheckoutSession, customerDetails } from "../objects/checkout-session";
import type { Metadata } from "../objects/common";
import { buildCharge, buildPaymentIntent, receiptNumber } from "../objects/payment";
import type { Ledger } from "../state/ledger";
import { SESSION_LIFETIME_SECONDS } from "./checkout";

export interface SeedSessionsOptions {
  priceId: string;
  /** `created` of the sessions is spread evenly over [createdFrom, createdTo] (unix seconds). */
  createdFrom: number;
  createdTo: number;
  quantity?: number;
  customerEmail?: string | ((i: number) => string);
  /**
   * A `cus_…` of the same mode: the sessions, PaymentIntents and charges name it, and
   * `customer_details.email` is the customer's email unless `customerEmail` is given.
   */
  customer?: string;
  /**
   * Seconds between a session's `created` and its payment (default 0): the PaymentIntent and
   * charge are created then, as when a customer pays some time after opening Checkout.
   */
  paidAfterSeconds?: number;
  clientReferenceId?: (i: number) => string | null;
  metadata?: (i: number) => Metadata;
}

/**
 * Inserts completed, paid payment-mode sessions (with their PaymentIntent and Charge) directly,
 * without events or webhooks: the fast path for benchmarks and reconciliation scenarios.
 */
export function seedCompletedSessions(
  core: EmulatorCore,
  ledger: Ledger,
  price: Price,
  n: number,
  opts: SeedSessionsOptions,
): string[] {
  if (!Number.isInteger(n) || n < 0) throw invalidRequest("n must be a non-negative integer", "n");
  if (price.type !== "one_time") {
    throw invalidRequest(
      "Seeded sessions are payment-mode purchases and need a one-time price.",
      "priceId",
    );
  }
  if (opts.createdTo < opts.createdFrom)
    throw invalidRequest("createdTo must not be before createdFrom", "createdTo");
  const customer =
    opts.customer === undefined ? undefined : ledger.customers.require(opts.customer, "customer");
  const paidAfter = opts.paidAfterSeconds ?? 0;
  if (!Number.isInteger(paidAfter) || paidAfter < 0 || paidAfter >= SESSION_LIFETIME_SECONDS) {
    throw invalidRequest(
      "paidAfterSeconds must be a whole number of seconds within the session's 24 hours.",
      "paidAfterSeconds",
    );
  }
  const quantity = opts.quantity ?? 1;
  const amount = price.unit_amount * quantity;
  const span = opts.createdTo - opts.createdFrom;
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const created = opts.createdFrom + (n > 1 ? Math.floor((i * span) / (n - 1)) : 0);
    const paidAt = created + paidAfter;
    const email =
      typeof opts.customerEmail === "function"
        ? opts.customerEmail(i)
        : (opts.customerEmail ?? customer?.email ?? `buyer${i}@example.com`);
    const id = core.ids.checkoutSession(ledger.mode);
    const pi = buildPaymentIntent({
      id: core.ids.next("pi"),
      created: paidAt,
      livemode: ledger.livemode,
      amount,
      currency: price.currency,
      customer: customer?.id ?? null,
      paymentMethod: core.ids.next("pm"),
      clientSecretSuffix: core.ids.random(25),
      status: "succeeded",
    });
    const charge = buildCharge({
      id: core.ids.next("ch"),
      created: paidAt,
      livemode: ledger.livemode,
      amount,
      currency: price.currency,
      customer: customer?.id ?? null,
      paymentIntent: pi.id,
      paymentMethod: pi.payment_method as string,
      balanceTransaction: core.ids.next("txn"),
      billingEmail: email,
      receiptNumber: receiptNumber(ledger.charges.size + 1),
    });
    pi.latest_charge = charge.id;
    const session = buildCheckoutSession({
      id,
      created,
      expiresAt: created + SESSION_LIFETIME_SECONDS,
      livemode: ledger.livemode,
      mode: "payment",
      amount,
      currency: price.currency,
      url: null,
      customer: customer?.id ?? null,
      customerEmail: null,
      customerCreation: "if_required",
      clientReferenceId: opts.clientReferenceId?.(i) ?? null,
      metadata: opts.metadata?.(i) ?? {},
      successUrl: null,
      cancelUrl: null,
    });
    session.status = "complete";
    session.payment_status = "paid";
    session.payment_intent = pi.id;
    session.customer_details = customerDetails(email, customer?.name ?? null);
    ledger.paymentIntents.insert(pi);
    ledger.charges.insert(charge);
    ledger.sessions.insert(session);
    ledger.sessionDetails.set(id, {
      lineItems: [{ id: core.ids.next("li"), price: price.id, quantity }],
      paymentIntentMetadata: {},
      subscriptionMetadata: {},
    });
    ledger.purchaseOf.set(pi.id, id);
    ledger.purchaseOf.set(charge.id, id);
    ids.push(id);
  }
  core.changed();
  return ids;
}

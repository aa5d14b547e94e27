import { invalidRequest } from "../api/stripe-error";
import type { EmulatorCore, EventSpec } from "../core";
import type { Price } from "../objects/catalog";
import {
  buildCheckoutSession,
  customerDetails,
  type CheckoutSession,
  type SessionMode,
  type UiMode,
} from "../objects/checkout-session";
import type { Metadata } from "../objects/common";
import type { Customer } from "../objects/customer";
import type { EventRequest } from "../objects/events";
import type { Ledger } from "../state/ledger";
import { captureCharge, chargeCard, createdView, newPaymentIntent } from "./charges";
import { insertCustomer } from "./customers";
import { startSubscription } from "./subscriptions";

export const SESSION_LIFETIME_SECONDS = 24 * 3600;

export interface SessionInput {
  mode: SessionMode;
  lines: Array<{ price: Price; quantity: number }>;
  customer: Customer | null;
  customerEmail: string | null;
  customerCreation: "always" | "if_required" | null;
  clientReferenceId: string | null;
  metadata: Metadata;
  successUrl: string | null;
  cancelUrl: string | null;
  expiresAt: number | null;
  locale: string | null;
  paymentIntentMetadata: Metadata;
  subscriptionMetadata: Metadata;
  uiMode?: UiMode;
  returnUrl?: string | null;
}

export function checkoutUrl(core: EmulatorCore, sessionId: string): string {
  return `${core.baseUrl}/_emulator/checkout/${sessionId}`;
}

export function createCheckoutSession(
  core: EmulatorCore,
  ledger: Ledger,
  input: SessionInput,
): CheckoutSession {
  const now = core.now();
  const id = core.ids.checkoutSession(ledger.mode);
  const amount = input.lines.reduce((sum, line) => sum + line.price.unit_amount * line.quantity, 0);
  const session = buildCheckoutSession({
    id,
    created: now,
    expiresAt: input.expiresAt ?? now + SESSION_LIFETIME_SECONDS,
    livemode: ledger.livemode,
    mode: input.mode,
    amount,
    currency: input.lines[0].price.currency,
    url: checkoutUrl(core, id),
    customer: input.customer?.id ?? null,
    customerEmail: input.customerEmail,
    customerCreation: input.customerCreation,
    clientReferenceId: input.clientReferenceId,
    metadata: input.metadata,
    successUrl: input.successUrl,
    cancelUrl: input.cancelUrl,
    locale: input.locale,
    uiMode: input.uiMode,
    returnUrl: input.returnUrl,
    // Drawn only for such sessions, so hosted sessions keep their seeded ids.
    clientSecret:
      input.uiMode && input.uiMode !== "hosted_page" ? `${id}_secret_${core.ids.random(24)}` : null,
  });
  ledger.sessions.insert(session);
  ledger.sessionDetails.set(id, {
    lineItems: input.lines.map((line) => ({
      id: core.ids.next("li"),
      price: line.price.id,
      quantity: line.quantity,
    })),
    paymentIntentMetadata: input.paymentIntentMetadata,
    subscriptionMetadata: input.subscriptionMetadata,
  });
  core.changed();
  return session;
}

export function expireSession(
  core: EmulatorCore,
  ledger: Ledger,
  session: CheckoutSession,
  request: EventRequest | null,
): CheckoutSession {
  if (session.status !== "open") {
    throw invalidRequest(
      `Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of "${session.status}".`,
    );
  }
  // Stripe fills `customer_details.email` "at time of session expiry" from the session's Customer.
  const customer = session.customer ? ledger.customers.get(session.customer) : undefined;
  ledger.sessions.update(session, (s) => {
    s.status = "expired";
    s.url = null;
    if (customer && !s.customer_details) {
      s.customer_details = customerDetails(customer.email, customer.name);
    }
  });
  core.emit(ledger, request, [{ type: "checkout.session.expired", object: session }]);
  return session;
}

export interface PayOptions {
  /** "async" starts a delayed-notification payment (bank debit): settled later by control. */
  card?: "success" | "async";
  email?: string;
  name?: string;
}

/** What the customer does on the hosted page: pay, producing Stripe's objects and events. */
export function paySession(
  core: EmulatorCore,
  ledger: Ledger,
  session: CheckoutSession,
  opts: PayOptions = {},
): CheckoutSession {
  if (session.status !== "open") {
    throw invalidRequest(
      `This Checkout Session is ${session.status}; only open sessions can be paid.`,
    );
  }
  const details = ledger.sessionDetails.get(session.id);
  if (!details) throw new Error(`Session ${session.id} has no stored line items`);
  const async = opts.card === "async";
  if (async && session.mode !== "payment") {
    throw invalidRequest(
      "The emulator offers async (delayed notification) payments in payment mode only.",
    );
  }
  const events: EventSpec[] = [];
  let customer = session.customer ? ledger.customers.get(session.customer) : undefined;
  const email =
    opts.email ??
    session.customer_email ??
    customer?.email ??
    `buyer.${core.ids.random(8).toLowerCase()}@example.com`;
  const name = opts.name ?? customer?.name ?? null;
  if (!customer && (session.mode === "subscription" || session.customer_creation === "always")) {
    const made = insertCustomer(core, ledger, { email, name });
    customer = made.customer;
    ledger.purchaseOf.set(customer.id, session.id);
    events.push(made.event);
  }
  const completed = {
    status: "complete" as const,
    url: null,
    customer: customer?.id ?? null,
    customer_details: customerDetails(email, name),
  };

  if (session.mode === "subscription") {
    const started = startSubscription(core, ledger, {
      customer: customer as Customer,
      lines: details.lineItems.map((line) => ({
        price: ledger.prices.require(line.price),
        quantity: line.quantity,
      })),
      metadata: details.subscriptionMetadata,
      purchase: session.id,
    });
    events.push(...started.events);
    ledger.sessions.update(session, (s) => {
      Object.assign(s, completed, {
        payment_status: "paid",
        subscription: started.subscription.id,
        invoice: started.invoice.id,
      });
    });
  } else {
    const payment = {
      amount: session.amount_total,
      currency: session.currency,
      customer: customer?.id ?? null,
      email,
      name,
      metadata: details.paymentIntentMetadata,
      purchase: session.id,
    };
    if (async) {
      const pi = newPaymentIntent(core, ledger, payment, "processing");
      events.push(
        { type: "payment_intent.created", object: pi, asOf: createdView(pi) },
        { type: "payment_intent.processing", object: pi },
      );
      ledger.sessions.update(session, (s) =>
        Object.assign(s, completed, { payment_intent: pi.id }),
      );
    } else {
      const charged = chargeCard(core, ledger, payment);
      events.push(...charged.events);
      ledger.sessions.update(session, (s) =>
        Object.assign(s, completed, { payment_status: "paid", payment_intent: charged.pi.id }),
      );
    }
  }
  events.push({ type: "checkout.session.completed", object: session });
  core.emit(ledger, null, events);
  return session;
}

function pendingAsyncIntent(ledger: Ledger, session: CheckoutSession) {
  const pi = session.payment_intent ? ledger.paymentIntents.get(session.payment_intent) : undefined;
  if (
    session.status !== "complete" ||
    session.payment_status !== "unpaid" ||
    !pi ||
    pi.status !== "processing"
  ) {
    throw invalidRequest(`Checkout Session ${session.id} has no async payment in progress.`);
  }
  return pi;
}

export function succeedAsyncPayment(
  core: EmulatorCore,
  ledger: Ledger,
  session: CheckoutSession,
): CheckoutSession {
  const pi = pendingAsyncIntent(ledger, session);
  const email = session.customer_details?.email ?? null;
  const charge = captureCharge(core, ledger, pi, {
    email,
    name: session.customer_details?.name,
    purchase: session.id,
  });
  ledger.sessions.update(session, (s) => {
    s.payment_status = "paid";
  });
  core.emit(ledger, null, [
    { type: "payment_intent.succeeded", object: pi },
    { type: "charge.succeeded", object: charge },
    { type: "checkout.session.async_payment_succeeded", object: session },
  ]);
  return session;
}

export function failAsyncPayment(
  core: EmulatorCore,
  ledger: Ledger,
  session: CheckoutSession,
): CheckoutSession {
  const pi = pendingAsyncIntent(ledger, session);
  ledger.paymentIntents.update(pi, (p) => {
    p.status = "requires_payment_method";
    p.processing = null;
    p.last_payment_error = {
      code: "payment_method_provider_decline",
      decline_code: "insufficient_funds",
      message: "The customer's bank declined the debit.",
      type: "card_error",
    };
  });
  core.emit(ledger, null, [
    { type: "payment_intent.payment_failed", object: pi },
    { type: "checkout.session.async_payment_failed", object: session },
  ]);
  return session;
}

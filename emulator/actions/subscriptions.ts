import { invalidRequest, parameterMissing, resourceMissing } from "../api/stripe-error";
import type { EmulatorCore, EventSpec } from "../core";
import {
  addInterval,
  buildPaidInvoice,
  buildSubscription,
  buildSubscriptionItem,
  cancellationDetails,
  type Invoice,
  type Subscription,
  type SubscriptionItem,
} from "../objects/billing";
import { planOf, type Price } from "../objects/catalog";
import { listOf, type Metadata } from "../objects/common";
import type { Customer } from "../objects/customer";
import type { EventRequest } from "../objects/events";
import type { Charge, PaymentIntent } from "../objects/payment";
import type { Ledger } from "../state/ledger";
import { captureCharge, newPaymentIntent } from "./charges";

export interface SubscriptionLine {
  price: Price;
  quantity: number;
}

/**
 * Starts an active subscription and pays its first invoice by card. Returns the events in the
 * order the caller should emit them (the checkout flow appends `checkout.session.completed`).
 */
export function startSubscription(
  core: EmulatorCore,
  ledger: Ledger,
  input: { customer: Customer; lines: SubscriptionLine[]; metadata: Metadata; purchase?: string },
): {
  subscription: Subscription;
  invoice: Invoice;
  pi: PaymentIntent;
  charge: Charge;
  events: EventSpec[];
} {
  const lines = input.lines;
  assertRecurringSameCurrency(lines);
  const now = core.now();
  const subId = core.ids.next("sub");
  const items = lines.map((line) =>
    buildSubscriptionItem({
      id: core.ids.next("si"),
      created: now,
      subscription: subId,
      price: line.price,
      quantity: line.quantity,
      periodStart: now,
    }),
  );
  const subscription = ledger.subscriptions.insert(
    buildSubscription({
      id: subId,
      created: now,
      livemode: ledger.livemode,
      customer: input.customer.id,
      currency: lines[0].price.currency,
      items,
      metadata: input.metadata,
      defaultPaymentMethod: null,
    }),
  );
  const invoiceId = core.ids.next("in");
  const invoice = ledger.invoices.insert(
    buildPaidInvoice({
      id: invoiceId,
      created: now,
      livemode: ledger.livemode,
      customerId: input.customer.id,
      customerEmail: input.customer.email,
      customerName: input.customer.name,
      subscription,
      number: `${String(input.customer.invoice_prefix)}-${String(++ledger.invoiceCount).padStart(4, "0")}`,
      lineIds: items.map(() => core.ids.next("il")),
    }),
  );
  const pi = newPaymentIntent(
    core,
    ledger,
    {
      amount: Number(invoice.amount_paid),
      currency: subscription.currency,
      customer: input.customer.id,
      email: input.customer.email,
      description: "Subscription creation",
      purchase: input.purchase,
    },
    "succeeded",
  );
  const charge = captureCharge(core, ledger, pi, {
    email: input.customer.email,
    purchase: input.purchase,
  });
  ledger.subscriptions.update(subscription, (s) => {
    s.latest_invoice = invoice.id;
    s.default_payment_method = pi.payment_method;
  });
  if (input.purchase) {
    ledger.purchaseOf.set(subscription.id, input.purchase);
    ledger.purchaseOf.set(invoice.id, input.purchase);
  }
  return {
    subscription,
    invoice,
    pi,
    charge,
    events: [
      { type: "customer.subscription.created", object: subscription },
      { type: "payment_intent.succeeded", object: pi },
      { type: "charge.succeeded", object: charge },
      { type: "invoice.paid", object: invoice },
    ],
  };
}

export interface SubscriptionChange {
  /** Items as Stripe's `items` param: `{ id, price?, quantity?, deleted? }` or `{ price, quantity }`. */
  items?: Array<{ id?: string; price?: Price; quantity?: number; deleted?: boolean }>;
  metadata?: Metadata;
  cancelAtPeriodEnd?: boolean;
}

export function updateSubscription(
  core: EmulatorCore,
  ledger: Ledger,
  subscription: Subscription,
  change: SubscriptionChange,
  request: EventRequest | null,
): Subscription {
  if (
    subscription.status === "canceled" &&
    (change.items || change.cancelAtPeriodEnd !== undefined)
  ) {
    throw invalidRequest(
      "A canceled subscription can only update its cancellation_details and metadata.",
    );
  }
  const previous: Record<string, unknown> = {};
  let items = subscription.items.data;
  if (change.items) {
    items = applyItemChanges(core, subscription, change.items);
    assertRecurringSameCurrency(items.map((i) => ({ price: i.price, quantity: i.quantity })));
    previous.items = structuredClone(core.present(ledger, subscription).items);
  }
  if (change.metadata && !sameRecord(change.metadata, subscription.metadata)) {
    previous.metadata = subscription.metadata;
  }
  if (
    change.cancelAtPeriodEnd !== undefined &&
    change.cancelAtPeriodEnd !== subscription.cancel_at_period_end
  ) {
    previous.cancel_at_period_end = subscription.cancel_at_period_end;
    previous.cancel_at = subscription.cancel_at;
  }
  ledger.subscriptions.update(subscription, (s) => {
    if (change.items) s.items = listOf(items, s.items.url);
    if (change.metadata) s.metadata = change.metadata;
    if (change.cancelAtPeriodEnd !== undefined) {
      s.cancel_at_period_end = change.cancelAtPeriodEnd;
      s.cancel_at = change.cancelAtPeriodEnd ? (items[0]?.current_period_end ?? null) : null;
    }
  });
  if (Object.keys(previous).length > 0) {
    core.emit(ledger, request, [
      { type: "customer.subscription.updated", object: subscription, previousAttributes: previous },
    ]);
  }
  return subscription;
}

export function cancelSubscription(
  core: EmulatorCore,
  ledger: Ledger,
  subscription: Subscription,
  request: EventRequest | null,
): Subscription {
  if (subscription.status === "canceled") {
    throw resourceMissing("subscription", subscription.id);
  }
  const now = core.now();
  ledger.subscriptions.update(subscription, (s) => {
    s.status = "canceled";
    s.canceled_at = now;
    s.ended_at = now;
    s.cancellation_details = cancellationDetails({ reason: "cancellation_requested" });
  });
  core.emit(ledger, request, [{ type: "customer.subscription.deleted", object: subscription }]);
  return subscription;
}

function applyItemChanges(
  core: EmulatorCore,
  subscription: Subscription,
  changes: NonNullable<SubscriptionChange["items"]>,
): SubscriptionItem[] {
  const items = [...subscription.items.data];
  changes.forEach((change, i) => {
    if (change.id) {
      const index = items.findIndex((item) => item.id === change.id);
      if (index < 0) {
        throw invalidRequest(
          `No such subscription item: '${change.id}'`,
          `items[${i}][id]`,
          "resource_missing",
        );
      }
      if (change.deleted) {
        items.splice(index, 1);
        return;
      }
      const current = items[index];
      const price = change.price ?? current.price;
      items[index] = {
        ...current,
        price,
        plan: planOf(price),
        quantity: change.quantity ?? current.quantity,
      };
      return;
    }
    if (!change.price) throw parameterMissing(`items[${i}][price]`);
    const now = core.now();
    items.push(
      buildSubscriptionItem({
        id: core.ids.next("si"),
        created: now,
        subscription: subscription.id,
        price: change.price,
        quantity: change.quantity ?? 1,
        periodStart: items[0]?.current_period_start ?? now,
      }),
    );
  });
  if (items.length === 0) {
    throw invalidRequest("A subscription must have at least one active plan.", "items");
  }
  return items;
}

function assertRecurringSameCurrency(lines: SubscriptionLine[]): void {
  if (lines.length === 0) throw parameterMissing("items");
  for (const line of lines) {
    if (line.price.type !== "recurring") {
      throw invalidRequest(
        `The price specified is set to \`type=one_time\` but this field only accepts prices with \`type=recurring\`.`,
        "items",
      );
    }
  }
  const currencies = new Set(lines.map((l) => l.price.currency));
  if (currencies.size > 1) {
    throw invalidRequest("All prices on a subscription must have the same currency.", "items");
  }
}

function sameRecord(a: Metadata, b: Metadata): boolean {
  const ak = Object.keys(a);
  return ak.length === Object.keys(b).length && ak.every((k) => a[k] === b[k]);
}

/** Statuses whose subscriptions still renew (a `past_due` one keeps invoicing, as by default). */
const RENEWING = ["active", "past_due"] as const;

/** The earliest period end among renewing subscriptions, or undefined when none renews. */
export function nextRenewalAt(ledger: Ledger): number | undefined {
  let next: number | undefined;
  for (const status of RENEWING) {
    for (const sub of ledger.subscriptions.matching("status", status)) {
      const end = sub.items.data[0]?.current_period_end;
      if (end !== undefined && (next === undefined || end < next)) next = end;
    }
  }
  return next;
}

/**
 * Renews every subscription whose period has ended by `now`, one period at a time (a clock that
 * jumped several periods gets one invoice per period): a new period on its items and a
 * `subscription_cycle` invoice, paid by card — or, for a subscription marked with
 * `setRenewalOutcome(id, "failed")`, left open with `invoice.payment_failed` and the subscription
 * `past_due`. A subscription set to cancel at period end is canceled instead.
 */
export function renewDueSubscriptions(core: EmulatorCore, ledger: Ledger): void {
  const now = core.now();
  for (const status of RENEWING) {
    for (const sub of ledger.subscriptions.matching("status", status)) {
      let end = sub.items.data[0]?.current_period_end;
      while (end !== undefined && end <= now && RENEWING.some((s) => s === sub.status)) {
        renewOnce(core, ledger, sub, end);
        end = sub.items.data[0]?.current_period_end;
      }
    }
  }
}

function renewOnce(core: EmulatorCore, ledger: Ledger, sub: Subscription, boundary: number): void {
  const cancelAt = sub.cancel_at as number | null;
  if (sub.cancel_at_period_end || (cancelAt !== null && cancelAt <= boundary)) {
    ledger.subscriptions.update(sub, (s) => {
      s.status = "canceled";
      s.canceled_at ??= boundary;
      s.ended_at = boundary;
      s.cancellation_details = cancellationDetails({ reason: "cancellation_requested" });
    });
    core.emit(ledger, null, [{ type: "customer.subscription.deleted", object: sub }]);
    return;
  }
  const customer = ledger.customers.get(sub.customer);
  const before = structuredClone(core.present(ledger, sub).items);
  const previousInvoice = sub.latest_invoice;
  const previousStart = sub.items.data[0].current_period_start;
  // The new period bills each item's current price (a price update since applies from now on).
  const items = sub.items.data.map((item) => {
    const price = ledger.prices.get(item.price.id) ?? item.price;
    return {
      ...item,
      price,
      plan: planOf(price),
      current_period_start: boundary,
      current_period_end: nextPeriodEnd(sub.billing_cycle_anchor as number, price, boundary),
    };
  });
  ledger.subscriptions.update(sub, (s) => {
    s.items = listOf(items, s.items.url);
  });
  const paid = !ledger.failingRenewals.has(sub.id);
  const invoice = ledger.invoices.insert(
    buildPaidInvoice({
      id: core.ids.next("in"),
      created: boundary,
      livemode: ledger.livemode,
      customerId: sub.customer,
      customerEmail: customer?.email ?? null,
      customerName: customer?.name ?? null,
      subscription: sub,
      number: `${String(customer?.invoice_prefix ?? "EMU")}-${String(++ledger.invoiceCount).padStart(4, "0")}`,
      lineIds: items.map(() => core.ids.next("il")),
      billingReason: "subscription_cycle",
      paid,
      periodStart: previousStart,
      periodEnd: boundary,
    }),
  );
  const purchase = ledger.purchaseOf.get(sub.id);
  if (purchase) ledger.purchaseOf.set(invoice.id, purchase);
  ledger.subscriptions.update(sub, (s) => {
    s.latest_invoice = invoice.id;
  });
  const events: EventSpec[] = [
    {
      type: "customer.subscription.updated",
      object: sub,
      // As it stands now: the new period, before the payment changes its status.
      asOf: structuredClone(core.present(ledger, sub)),
      previousAttributes: { items: before, latest_invoice: previousInvoice },
    },
  ];
  const pi = newPaymentIntent(
    core,
    ledger,
    {
      amount: Number(invoice.amount_due),
      currency: sub.currency,
      customer: sub.customer,
      email: customer?.email ?? null,
      description: "Subscription update",
      purchase,
    },
    paid ? "succeeded" : "requires_payment_method",
  );
  const statusBefore = sub.status;
  if (paid) {
    const charge = captureCharge(core, ledger, pi, { email: customer?.email ?? null, purchase });
    events.push(
      { type: "payment_intent.succeeded", object: pi },
      { type: "charge.succeeded", object: charge },
      { type: "invoice.paid", object: invoice },
    );
    if (statusBefore !== "active") ledger.subscriptions.update(sub, (s) => (s.status = "active"));
  } else {
    ledger.paymentIntents.update(pi, (p) => {
      p.last_payment_error = {
        code: "card_declined",
        decline_code: "insufficient_funds",
        message: "Your card has insufficient funds.",
        type: "card_error",
      };
    });
    events.push(
      { type: "payment_intent.payment_failed", object: pi },
      { type: "invoice.payment_failed", object: invoice },
    );
    if (statusBefore !== "past_due") {
      ledger.subscriptions.update(sub, (s) => (s.status = "past_due"));
    }
  }
  if (sub.status !== statusBefore) {
    events.push({
      type: "customer.subscription.updated",
      object: sub,
      previousAttributes: { status: statusBefore },
    });
  }
  core.emit(ledger, null, events);
}

/**
 * The period end after `boundary`, counted from the billing cycle anchor as Stripe does, so a
 * subscription anchored on the 31st bills on Feb 28 and then on Mar 31 again (not on Mar 28).
 */
function nextPeriodEnd(anchor: number, price: Price, boundary: number): number {
  let periods = 1;
  while (addInterval(anchor, price.recurring, periods) <= boundary) periods++;
  return addInterval(anchor, price.recurring, periods);
}

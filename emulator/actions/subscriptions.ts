import { invalidRequest, parameterMissing, resourceMissing } from "../api/stripe-error";
import type { EmulatorCore, EventSpec } from "../core";
import {
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

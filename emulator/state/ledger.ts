import type { Mode } from "../ids";
import type { Invoice, Subscription } from "../objects/billing";
import type { Price, Product } from "../objects/catalog";
import type { CheckoutSession, LineItemRecord } from "../objects/checkout-session";
import type { Metadata, StripeObject } from "../objects/common";
import type { Customer } from "../objects/customer";
import type { StripeEvent, WebhookEndpoint } from "../objects/events";
import type { Charge, Dispute, PaymentIntent, Refund } from "../objects/payment";
import { Collection } from "./collection";

/** What a session needs later but Stripe does not show on the session itself. */
export interface SessionDetails {
  lineItems: LineItemRecord[];
  paymentIntentMetadata: Metadata;
  subscriptionMetadata: Metadata;
}

export interface IdempotentResult {
  fingerprint: string;
  status: number;
  body: string;
  createdAt: number;
}

/**
 * Everything one mode (test or live) of the emulated account holds. Test keys never see live
 * objects and vice versa, as in Stripe.
 */
export class Ledger {
  readonly livemode: boolean;
  readonly products = new Collection<Product>("product", { active: (p) => String(p.active) });
  readonly prices = new Collection<Price>("price", {
    product: (p) => p.product,
    active: (p) => String(p.active),
  });
  readonly customers = new Collection<Customer>("customer", { email: (c) => c.email });
  readonly sessions = new Collection<CheckoutSession>("checkout.session", {
    status: (s) => s.status,
    customer: (s) => s.customer,
    payment_intent: (s) => s.payment_intent,
    subscription: (s) => s.subscription,
  });
  readonly paymentIntents = new Collection<PaymentIntent>("payment_intent", {
    customer: (p) => p.customer,
  });
  readonly charges = new Collection<Charge>("charge", {
    customer: (c) => c.customer,
    payment_intent: (c) => c.payment_intent,
  });
  readonly refunds = new Collection<Refund>("refund", {
    charge: (r) => r.charge,
    payment_intent: (r) => r.payment_intent,
  });
  readonly disputes = new Collection<Dispute>("dispute", {
    charge: (d) => d.charge,
    payment_intent: (d) => d.payment_intent,
  });
  readonly subscriptions = new Collection<Subscription>("subscription", {
    customer: (s) => s.customer,
    status: (s) => s.status,
  });
  readonly invoices = new Collection<Invoice>("invoice", {
    customer: (i) => i.customer,
    status: (i) => i.status,
    subscription: (i) => i.parent?.subscription_details?.subscription,
  });
  readonly events = new Collection<StripeEvent>("event", { type: (e) => e.type });
  readonly webhookEndpoints = new Collection<WebhookEndpoint>("webhook_endpoint");

  readonly sessionDetails = new Map<string, SessionDetails>();
  readonly webhookSecrets = new Map<string, string>();
  readonly idempotency = new Map<string, IdempotentResult>();
  /** Object id → the purchase (checkout session) it belongs to, for targeted webhook drops. */
  readonly purchaseOf = new Map<string, string>();
  /** Deleted customers (id → `object`): Stripe still answers for them with `deleted: true`. */
  readonly deleted = new Map<string, string>();
  /** Subscriptions whose renewal payments fail (control `setRenewalOutcome`) until switched back. */
  readonly failingRenewals = new Set<string>();
  invoiceCount = 0;
  private readonly byPrefix: Record<string, Collection<StripeObject>>;

  constructor(readonly mode: Mode) {
    this.livemode = mode === "live";
    const t = this.tables();
    this.byPrefix = {
      prod: t.products,
      price: t.prices,
      cus: t.customers,
      cs: t.sessions,
      pi: t.paymentIntents,
      ch: t.charges,
      re: t.refunds,
      dp: t.disputes,
      sub: t.subscriptions,
      in: t.invoices,
      evt: t.events,
      we: t.webhookEndpoints,
    };
  }

  /** The table an id belongs to, from its prefix (used by `expand` and control actions). */
  collectionFor(id: string): Collection<StripeObject> | undefined {
    return this.byPrefix[id.slice(0, id.indexOf("_"))];
  }

  find(id: string): StripeObject | undefined {
    return this.collectionFor(id)?.get(id);
  }

  /** `{ id, object, deleted: true }` for an object deleted earlier that Stripe still answers for. */
  tombstone(id: string): { id: string; object: string; deleted: true } | undefined {
    const object = this.deleted.get(id);
    return object === undefined ? undefined : { id, object, deleted: true };
  }

  purchaseRoot(id: string): string {
    return this.purchaseOf.get(id) ?? id;
  }

  clear(): void {
    for (const table of Object.values(this.byPrefix)) table.clear();
    this.sessionDetails.clear();
    this.webhookSecrets.clear();
    this.idempotency.clear();
    this.purchaseOf.clear();
    this.deleted.clear();
    this.failingRenewals.clear();
    this.invoiceCount = 0;
  }

  tables(): Record<string, Collection<StripeObject>> {
    return {
      products: this.products,
      prices: this.prices,
      customers: this.customers,
      sessions: this.sessions,
      paymentIntents: this.paymentIntents,
      charges: this.charges,
      refunds: this.refunds,
      disputes: this.disputes,
      subscriptions: this.subscriptions,
      invoices: this.invoices,
      events: this.events,
      webhookEndpoints: this.webhookEndpoints,
    } as unknown as Record<string, Collection<StripeObject>>;
  }
}

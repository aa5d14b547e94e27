import { type Price, type Recurring, planOf } from "./catalog";
import { shape } from "../schema/shape";
import { EMPTY_ARRAY, listOf, type ListObject, type Metadata, type StripeObject } from "./common";

export type SubscriptionStatus = "active" | "canceled" | "past_due" | "incomplete";

export interface SubscriptionItem {
  id: string;
  object: "subscription_item";
  created: number;
  current_period_end: number;
  current_period_start: number;
  metadata: Metadata;
  price: Price;
  quantity: number;
  subscription: string;
  [key: string]: unknown;
}

export interface Subscription extends StripeObject {
  object: "subscription";
  cancel_at_period_end: boolean;
  canceled_at: number | null;
  cancellation_details: Record<string, string | null>;
  currency: string;
  customer: string;
  ended_at: number | null;
  items: ListObject<SubscriptionItem>;
  latest_invoice: string | null;
  livemode: boolean;
  metadata: Metadata;
  status: SubscriptionStatus;
}

export interface Invoice extends StripeObject {
  object: "invoice";
  amount_paid: number;
  customer: string;
  livemode: boolean;
  status: "draft" | "open" | "paid" | "void";
  parent: {
    quote_details: null;
    subscription_details: { metadata: Metadata | null; subscription: string } | null;
    type: string;
  } | null;
}

const AUTOMATIC_TAX_OFF = Object.freeze(shape("Subscription.AutomaticTax", { enabled: false }));
const INVOICE_AUTOMATIC_TAX_OFF = Object.freeze(shape("Invoice.AutomaticTax", { enabled: false }));
const CLASSIC_BILLING = Object.freeze({ flexible: null, type: "classic" });
const SELF_ISSUER = Object.freeze({ type: "self" });
const SUB_INVOICE_SETTINGS = Object.freeze(
  shape("Subscription.InvoiceSettings", { issuer: SELF_ISSUER }),
);
const SUB_PAYMENT_SETTINGS = Object.freeze({
  payment_method_options: null,
  payment_method_types: null,
  save_default_payment_method: "off",
});
const TRIAL_SETTINGS = Object.freeze({
  end_behavior: Object.freeze(
    shape("Subscription.TrialSettings.EndBehavior", { missing_payment_method: "create_invoice" }),
  ),
});

/** `cancellation_details` as the SDK declares it (every field present, null when unknown). */
export function cancellationDetails(
  fields: { comment?: string; feedback?: string; reason?: string } = {},
): Subscription["cancellation_details"] {
  return shape("Subscription.CancellationDetails", fields);
}
const INVOICE_PAYMENT_SETTINGS = Object.freeze({
  default_mandate: null,
  payment_method_options: null,
  payment_method_types: null,
});
const INVOICE_RENDERING = Object.freeze({
  amount_tax_display: null,
  pdf: Object.freeze({ page_size: "auto" }),
  template: null,
  template_version: null,
});

/** Adds whole billing intervals in UTC, clamping to month ends as Stripe does (Jan 31 → Feb 28). */
export function addInterval(start: number, recurring: Recurring | null, count = 1): number {
  const interval = recurring?.interval ?? "month";
  const n = (recurring?.interval_count ?? 1) * count;
  if (interval === "day") return start + n * 86_400;
  if (interval === "week") return start + n * 7 * 86_400;
  const d = new Date(start * 1000);
  const months = interval === "year" ? 12 * n : n;
  const day = d.getUTCDate();
  const target = new Date(
    Date.UTC(
      d.getUTCFullYear(),
      d.getUTCMonth() + months,
      1,
      d.getUTCHours(),
      d.getUTCMinutes(),
      d.getUTCSeconds(),
    ),
  );
  const lastDay = new Date(
    Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0),
  ).getUTCDate();
  target.setUTCDate(Math.min(day, lastDay));
  return Math.floor(target.getTime() / 1000);
}

export function buildSubscriptionItem(fields: {
  id: string;
  created: number;
  subscription: string;
  price: Price;
  quantity: number;
  periodStart: number;
}): SubscriptionItem {
  return shape<SubscriptionItem>("SubscriptionItem", {
    id: fields.id,
    object: "subscription_item",
    billing_thresholds: null,
    created: fields.created,
    current_period_end: addInterval(fields.periodStart, fields.price.recurring),
    current_period_start: fields.periodStart,
    discounts: EMPTY_ARRAY,
    metadata: {},
    plan: planOf(fields.price),
    price: fields.price,
    quantity: fields.quantity,
    subscription: fields.subscription,
    tax_rates: EMPTY_ARRAY,
  });
}

export function buildSubscription(fields: {
  id: string;
  created: number;
  livemode: boolean;
  customer: string;
  currency: string;
  items: SubscriptionItem[];
  metadata: Metadata;
  defaultPaymentMethod: string | null;
}): Subscription {
  return shape<Subscription>("Subscription", {
    id: fields.id,
    object: "subscription",
    application: null,
    application_fee_percent: null,
    automatic_tax: AUTOMATIC_TAX_OFF,
    billing_cycle_anchor: fields.created,
    billing_cycle_anchor_config: null,
    billing_mode: CLASSIC_BILLING,
    billing_schedules: EMPTY_ARRAY,
    billing_thresholds: null,
    cancel_at: null,
    cancel_at_period_end: false,
    canceled_at: null,
    cancellation_details: cancellationDetails(),
    collection_method: "charge_automatically",
    created: fields.created,
    currency: fields.currency,
    customer: fields.customer,
    customer_account: null,
    days_until_due: null,
    default_payment_method: fields.defaultPaymentMethod,
    default_source: null,
    default_tax_rates: EMPTY_ARRAY,
    description: null,
    discounts: EMPTY_ARRAY,
    ended_at: null,
    invoice_settings: SUB_INVOICE_SETTINGS,
    items: listOf(fields.items, `/v1/subscription_items?subscription=${fields.id}`),
    latest_invoice: null,
    livemode: fields.livemode,
    managed_payments: null,
    metadata: fields.metadata,
    next_pending_invoice_item_invoice: null,
    on_behalf_of: null,
    pause_collection: null,
    payment_settings: SUB_PAYMENT_SETTINGS,
    pending_invoice_item_interval: null,
    pending_setup_intent: null,
    pending_update: null,
    schedule: null,
    start_date: fields.created,
    status: "active",
    test_clock: null,
    transfer_data: null,
    trial_end: null,
    trial_settings: TRIAL_SETTINGS,
    trial_start: null,
  });
}

/**
 * A subscription invoice: the first period's (`subscription_create`, paid at once) or a renewal's
 * (`subscription_cycle`), paid or — when its payment failed — left `open`. Its lines bill the
 * subscription items' current periods, so build it after the items moved to the new period.
 */
export function buildPaidInvoice(fields: {
  id: string;
  created: number;
  livemode: boolean;
  customerId: string;
  customerEmail: string | null;
  customerName: string | null;
  subscription: Subscription;
  number: string;
  lineIds: string[];
  billingReason?: "subscription_create" | "subscription_cycle";
  /** false: the payment attempt failed; the invoice stays `open` with nothing paid. */
  paid?: boolean;
  /** The invoice's own period (for a renewal, the period that just ended, as at Stripe). */
  periodStart?: number;
  periodEnd?: number;
}): Invoice {
  const sub = fields.subscription;
  const paid = fields.paid ?? true;
  const lines = sub.items.data.map((item, i) => {
    const amount = item.price.unit_amount * item.quantity;
    return shape<{ amount: number }>("InvoiceLineItem", {
      id: fields.lineIds[i],
      object: "line_item",
      amount,
      currency: sub.currency,
      description: `${item.quantity} × subscription (at ${item.price.unit_amount} / ${item.price.recurring?.interval ?? "month"})`,
      discount_amounts: EMPTY_ARRAY,
      discountable: true,
      discounts: EMPTY_ARRAY,
      invoice: fields.id,
      livemode: fields.livemode,
      metadata: {},
      parent: {
        invoice_item_details: null,
        subscription_item_details: {
          invoice_item: null,
          proration: false,
          proration_details: { credited_items: null },
          subscription: sub.id,
          subscription_item: item.id,
        },
        type: "subscription_item_details",
      },
      period: { end: item.current_period_end, start: item.current_period_start },
      pretax_credit_amounts: EMPTY_ARRAY,
      pricing: {
        price_details: { price: item.price.id, product: item.price.product },
        type: "price_details",
        unit_amount_decimal: String(item.price.unit_amount),
      },
      quantity: item.quantity,
      quantity_decimal: String(item.quantity),
      subscription: sub.id,
      subtotal: amount,
      taxes: EMPTY_ARRAY,
    });
  });
  const total = lines.reduce((sum, line) => sum + line.amount, 0);
  const periodEnd = sub.items.data[0]?.current_period_end ?? fields.created;
  // The pinned version has no top-level `subscription`: it is `parent.subscription_details`.
  return shape<Invoice>("Invoice", {
    id: fields.id,
    object: "invoice",
    account_country: "US",
    account_name: "creditdesk emulator",
    account_tax_ids: null,
    amount_due: total,
    amount_overpaid: 0,
    amount_paid: paid ? total : 0,
    amount_remaining: paid ? 0 : total,
    amount_shipping: 0,
    application: null,
    attempt_count: 1,
    attempted: true,
    auto_advance: false,
    automatic_tax: INVOICE_AUTOMATIC_TAX_OFF,
    automatically_finalizes_at: null,
    billing_reason: fields.billingReason ?? "subscription_create",
    collection_method: "charge_automatically",
    created: fields.created,
    currency: sub.currency,
    custom_fields: null,
    customer: fields.customerId,
    customer_account: null,
    customer_address: null,
    customer_email: fields.customerEmail,
    customer_name: fields.customerName,
    customer_phone: null,
    customer_shipping: null,
    customer_tax_exempt: "none",
    customer_tax_ids: EMPTY_ARRAY,
    default_payment_method: null,
    default_source: null,
    default_tax_rates: EMPTY_ARRAY,
    description: null,
    discounts: EMPTY_ARRAY,
    due_date: null,
    effective_at: fields.created,
    ending_balance: 0,
    footer: null,
    from_invoice: null,
    hosted_invoice_url: null,
    invoice_pdf: null,
    issuer: SELF_ISSUER,
    last_finalization_error: null,
    latest_revision: null,
    lines: listOf(lines, `/v1/invoices/${fields.id}/lines`),
    livemode: fields.livemode,
    metadata: {},
    next_payment_attempt: null,
    number: fields.number,
    on_behalf_of: null,
    parent: {
      quote_details: null,
      subscription_details: { metadata: sub.metadata, subscription: sub.id },
      type: "subscription_details",
    },
    payment_settings: INVOICE_PAYMENT_SETTINGS,
    period_end: fields.periodEnd ?? periodEnd,
    period_start: fields.periodStart ?? fields.created,
    post_payment_credit_notes_amount: 0,
    pre_payment_credit_notes_amount: 0,
    receipt_number: null,
    rendering: INVOICE_RENDERING,
    shipping_cost: null,
    shipping_details: null,
    starting_balance: 0,
    statement_descriptor: null,
    status: paid ? "paid" : "open",
    status_transitions: {
      finalized_at: fields.created,
      marked_uncollectible_at: null,
      paid_at: paid ? fields.created : null,
      voided_at: null,
    },
    subtotal: total,
    subtotal_excluding_tax: total,
    test_clock: null,
    total,
    total_discount_amounts: EMPTY_ARRAY,
    total_excluding_tax: total,
    total_pretax_credit_amounts: EMPTY_ARRAY,
    total_taxes: EMPTY_ARRAY,
    webhooks_delivered_at: fields.created,
  });
}

import {
  cancelSubscription,
  startSubscription,
  updateSubscription,
} from "../actions/subscriptions";
import type { Price } from "../objects/catalog";
import { listInOrder } from "../objects/common";
import { expandPaths } from "./expand";
import { applyMetadata, Params } from "./params";
import { retrieveFrom, route, serve, serveList, type ApiContext, type Route } from "./router";
import { parameterMissing } from "./stripe-error";

const SUBSCRIPTION_CREATE = [
  "add_invoice_items",
  "application_fee_percent",
  "automatic_tax",
  "backdate_start_date",
  "billing_cycle_anchor",
  "billing_cycle_anchor_config",
  "billing_mode",
  "billing_schedules",
  "billing_thresholds",
  "cancel_at",
  "cancel_at_period_end",
  "collection_method",
  "currency",
  "customer",
  "customer_account",
  "days_until_due",
  "default_payment_method",
  "default_source",
  "default_tax_rates",
  "description",
  "discounts",
  "invoice_settings",
  "items",
  "metadata",
  "off_session",
  "on_behalf_of",
  "payment_behavior",
  "payment_settings",
  "pending_invoice_item_interval",
  "proration_behavior",
  "transfer_data",
  "trial_end",
  "trial_from_plan",
  "trial_period_days",
  "trial_settings",
];
const SUBSCRIPTION_UPDATE = [
  "add_invoice_items",
  "application_fee_percent",
  "automatic_tax",
  "billing_cycle_anchor",
  "billing_schedules",
  "billing_thresholds",
  "cancel_at",
  "cancel_at_period_end",
  "cancellation_details",
  "collection_method",
  "days_until_due",
  "default_payment_method",
  "default_source",
  "default_tax_rates",
  "description",
  "discounts",
  "invoice_settings",
  "items",
  "metadata",
  "off_session",
  "on_behalf_of",
  "pause_collection",
  "payment_behavior",
  "payment_settings",
  "pending_invoice_item_interval",
  "proration_behavior",
  "proration_date",
  "transfer_data",
  "trial_end",
  "trial_from_plan",
  "trial_settings",
];
const ITEM_FIELDS = [
  "billing_thresholds",
  "clear_usage",
  "deleted",
  "discounts",
  "id",
  "metadata",
  "price",
  "price_data",
  "quantity",
  "tax_rates",
];
const STATUSES = [
  "active",
  "all",
  "canceled",
  "ended",
  "incomplete",
  "incomplete_expired",
  "past_due",
  "paused",
  "trialing",
  "unpaid",
] as const;

function itemPrice(ctx: ApiContext, item: Params): Price | undefined {
  const id = item.string("price");
  return id === undefined ? undefined : ctx.ledger.prices.require(id, item.name("price"));
}

function createSubscription(ctx: ApiContext) {
  const p = Params.check(ctx.raw, SUBSCRIPTION_CREATE);
  const customerId = p.string("customer", { required: true }) as string;
  const customer = ctx.ledger.customers.require(customerId, "customer");
  const items = p.list("items");
  if (!items || items.length === 0) throw parameterMissing("items");
  const lines = items.map((item) => {
    item.known(ITEM_FIELDS);
    const price = itemPrice(ctx, item);
    if (!price) throw parameterMissing(item.name("price"));
    return { price, quantity: item.integer("quantity", { min: 1 }) ?? 1 };
  });
  const started = startSubscription(ctx.core, ctx.ledger, {
    customer,
    lines,
    metadata: applyMetadata({}, p.metadata()),
  });
  ctx.core.emit(ctx.ledger, ctx.request, started.events);
  return serve(ctx, started.subscription, p);
}

function update(ctx: ApiContext) {
  const p = Params.check(ctx.raw, SUBSCRIPTION_UPDATE);
  const subscription = ctx.ledger.subscriptions.require(ctx.path[0]);
  const items = p.list("items")?.map((item) => {
    item.known(ITEM_FIELDS);
    return {
      id: item.string("id"),
      price: itemPrice(ctx, item),
      quantity: item.integer("quantity", { min: 0 }),
      deleted: item.boolean("deleted"),
    };
  });
  const metadata = p.metadata();
  updateSubscription(
    ctx.core,
    ctx.ledger,
    subscription,
    {
      items,
      metadata: metadata === undefined ? undefined : applyMetadata(subscription.metadata, metadata),
      cancelAtPeriodEnd: p.boolean("cancel_at_period_end"),
    },
    ctx.request,
  );
  return serve(ctx, subscription, p);
}

function cancel(ctx: ApiContext) {
  const p = Params.check(ctx.raw, ["cancellation_details", "invoice_now", "prorate"]);
  const subscription = ctx.ledger.subscriptions.require(ctx.path[0]);
  return serve(ctx, cancelSubscription(ctx.core, ctx.ledger, subscription, ctx.request), p);
}

function listSubscriptions(ctx: ApiContext) {
  const p = Params.check(
    ctx.raw,
    [
      "automatic_tax",
      "collection_method",
      "created",
      "current_period_end",
      "current_period_start",
      "customer",
      "customer_account",
      "plan",
      "price",
      "status",
      "test_clock",
    ],
    { list: true },
  );
  const status = p.enumValue("status", STATUSES);
  const price = p.string("price") ?? p.string("plan");
  return serveList(ctx, p, ctx.ledger.subscriptions, "/v1/subscriptions", {
    created: p.timestampRange("created"),
    where: {
      customer: p.string("customer"),
      status: status === undefined || status === "all" || status === "ended" ? undefined : status,
    },
    filter: (s) =>
      // Without a status filter Stripe leaves canceled subscriptions out.
      (status !== undefined || s.status !== "canceled") &&
      (status !== "ended" || s.status === "canceled") &&
      (price === undefined || s.items.data.some((item) => item.price.id === price)),
  });
}

function listInvoices(ctx: ApiContext) {
  const p = Params.check(
    ctx.raw,
    [
      "collection_method",
      "created",
      "customer",
      "customer_account",
      "due_date",
      "status",
      "subscription",
    ],
    {
      list: true,
    },
  );
  return serveList(ctx, p, ctx.ledger.invoices, "/v1/invoices", {
    created: p.timestampRange("created"),
    where: {
      customer: p.string("customer"),
      subscription: p.string("subscription"),
      status: p.enumValue("status", ["draft", "open", "paid", "uncollectible", "void"] as const),
    },
  });
}

/** `invoices.listLineItems`: an invoice's lines in their own order, with `expand` on them. */
function listInvoiceLines(ctx: ApiContext) {
  const p = Params.check(ctx.raw, [], { list: true });
  const invoice = ctx.ledger.invoices.require(ctx.path[0]);
  const lines = (invoice.lines as { data: Array<{ id: string }> }).data;
  const list = listInOrder(lines, `/v1/invoices/${invoice.id}/lines`, {
    label: "line item",
    limit: p.integer("limit", { min: 1, max: 100 }) ?? 10,
    startingAfter: p.string("starting_after"),
    endingBefore: p.string("ending_before"),
  });
  return expandPaths(ctx.core, ctx.ledger, { ...list }, p.expand());
}

export const billingRoutes: Route[] = [
  route("POST", "/v1/subscriptions", createSubscription),
  route("GET", "/v1/subscriptions", listSubscriptions),
  route("GET", "/v1/subscriptions/:id", retrieveFrom("subscriptions")),
  route("POST", "/v1/subscriptions/:id", update),
  route("DELETE", "/v1/subscriptions/:id", cancel),
  route("GET", "/v1/invoices", listInvoices),
  route("GET", "/v1/invoices/:id", retrieveFrom("invoices")),
  route("GET", "/v1/invoices/:id/lines", listInvoiceLines),
];

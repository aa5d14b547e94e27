import { shape } from "../schema/shape";
import { EMPTY_ARRAY, type Metadata, type StripeObject } from "./common";

export interface Product extends StripeObject {
  object: "product";
  active: boolean;
  default_price: string | null;
  description: string | null;
  livemode: boolean;
  metadata: Metadata;
  name: string;
  updated: number;
}

export interface Recurring {
  interval: "day" | "week" | "month" | "year";
  interval_count: number;
  meter: null;
  trial_period_days: number | null;
  usage_type: "licensed";
}

export interface Price extends StripeObject {
  object: "price";
  active: boolean;
  currency: string;
  livemode: boolean;
  lookup_key: string | null;
  metadata: Metadata;
  nickname: string | null;
  product: string;
  recurring: Recurring | null;
  type: "one_time" | "recurring";
  unit_amount: number;
}

export function buildProduct(fields: {
  id: string;
  created: number;
  livemode: boolean;
  name: string;
  description?: string;
  active?: boolean;
  metadata?: Metadata;
  images?: string[];
  url?: string;
  unitLabel?: string;
}): Product {
  return shape<Product>("Product", {
    id: fields.id,
    object: "product",
    active: fields.active ?? true,
    created: fields.created,
    default_price: null,
    description: fields.description ?? null,
    images: fields.images ?? EMPTY_ARRAY,
    livemode: fields.livemode,
    marketing_features: EMPTY_ARRAY,
    metadata: fields.metadata ?? {},
    name: fields.name,
    package_dimensions: null,
    shippable: null,
    statement_descriptor: null,
    tax_code: null,
    type: "service",
    unit_label: fields.unitLabel ?? null,
    updated: fields.created,
    url: fields.url ?? null,
  });
}

export function buildPrice(fields: {
  id: string;
  created: number;
  livemode: boolean;
  product: string;
  currency: string;
  unitAmount: number;
  recurring: Recurring | null;
  active?: boolean;
  metadata?: Metadata;
  nickname?: string;
  lookupKey?: string;
}): Price {
  return shape<Price>("Price", {
    id: fields.id,
    object: "price",
    active: fields.active ?? true,
    billing_scheme: "per_unit",
    created: fields.created,
    currency: fields.currency,
    custom_unit_amount: null,
    livemode: fields.livemode,
    lookup_key: fields.lookupKey ?? null,
    metadata: fields.metadata ?? {},
    nickname: fields.nickname ?? null,
    product: fields.product,
    recurring: fields.recurring,
    tax_behavior: "unspecified",
    tiers_mode: null,
    transform_quantity: null,
    type: fields.recurring ? "recurring" : "one_time",
    unit_amount: fields.unitAmount,
    unit_amount_decimal: String(fields.unitAmount),
  });
}

/** The legacy `plan` view of a recurring price that subscription items still carry. */
export function planOf(price: Price): Record<string, unknown> {
  return shape("Plan", {
    id: price.id,
    object: "plan",
    active: price.active,
    amount: price.unit_amount,
    amount_decimal: String(price.unit_amount),
    billing_scheme: "per_unit",
    created: price.created,
    currency: price.currency,
    interval: price.recurring?.interval ?? "month",
    interval_count: price.recurring?.interval_count ?? 1,
    livemode: price.livemode,
    metadata: price.metadata,
    meter: null,
    nickname: price.nickname,
    product: price.product,
    tiers_mode: null,
    transform_usage: null,
    trial_period_days: null,
    usage_type: "licensed",
  });
}

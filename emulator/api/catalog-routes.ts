import { insertCustomer } from "../actions/customers";
import type { EventSpec } from "../core";
import {
  buildPrice,
  buildProduct,
  type Price,
  type Product,
  type Recurring,
} from "../objects/catalog";
import type { Customer } from "../objects/customer";
import { applyMetadata, Params } from "./params";
import { retrieveFrom, route, serve, serveList, type ApiContext, type Route } from "./router";
import { invalidRequest, parameterMissing } from "./stripe-error";
import { updateWithPrevious } from "./updates";

// Parameters Stripe accepts; the emulator stores the ones it models and ignores the rest.
const PRODUCT_CREATE = [
  "name",
  "active",
  "default_price_data",
  "description",
  "id",
  "images",
  "marketing_features",
  "metadata",
  "package_dimensions",
  "shippable",
  "statement_descriptor",
  "tax_code",
  "tax_details",
  "type",
  "unit_label",
  "url",
];
const PRODUCT_UPDATE = [
  "active",
  "default_price",
  "description",
  "images",
  "marketing_features",
  "metadata",
  "name",
  "package_dimensions",
  "shippable",
  "statement_descriptor",
  "tax_code",
  "tax_details",
  "unit_label",
  "url",
];
const PRICE_CREATE = [
  "currency",
  "active",
  "billing_scheme",
  "currency_options",
  "custom_unit_amount",
  "lookup_key",
  "metadata",
  "nickname",
  "product",
  "product_data",
  "recurring",
  "tax_behavior",
  "tiers",
  "tiers_mode",
  "transfer_lookup_key",
  "transform_quantity",
  "unit_amount",
  "unit_amount_decimal",
];
const PRICE_UPDATE = [
  "active",
  "currency_options",
  "lookup_key",
  "metadata",
  "nickname",
  "tax_behavior",
  "transfer_lookup_key",
];
const CUSTOMER_FIELDS = [
  "address",
  "balance",
  "business_name",
  "cash_balance",
  "description",
  "email",
  "individual_name",
  "invoice_prefix",
  "invoice_settings",
  "metadata",
  "name",
  "next_invoice_sequence",
  "payment_method",
  "phone",
  "preferred_locales",
  "shipping",
  "source",
  "tax",
  "tax_exempt",
  "tax_id_data",
  "test_clock",
  "validate",
  "default_source",
];

export function readCurrency(p: Params, key = "currency"): string {
  const currency = p.string(key, { required: true }) as string;
  if (!/^[a-zA-Z]{3}$/.test(currency))
    throw invalidRequest(`Invalid currency: ${currency}`, p.name(key));
  return currency.toLowerCase();
}

function readRecurring(p: Params): Recurring | null {
  const r = p.object("recurring");
  if (!r) return null;
  r.known([
    "interval",
    "interval_count",
    "meter",
    "trial_period_days",
    "usage_type",
    "aggregate_usage",
  ]);
  return {
    interval: r.enumValue("interval", ["day", "week", "month", "year"] as const, {
      required: true,
    }) as Recurring["interval"],
    interval_count: r.integer("interval_count", { min: 1 }) ?? 1,
    meter: null,
    trial_period_days: r.integer("trial_period_days", { min: 0 }) ?? null,
    usage_type: "licensed",
  };
}

function readUnitAmount(p: Params): number {
  const amount = p.integer("unit_amount", { min: 0 });
  if (amount !== undefined) return amount;
  const decimal = p.string("unit_amount_decimal");
  if (decimal !== undefined) {
    if (!/^\d+$/.test(decimal))
      throw invalidRequest(
        "The emulator supports whole-unit unit_amount_decimal values only.",
        "unit_amount_decimal",
      );
    return Number(decimal);
  }
  throw parameterMissing("unit_amount");
}

export function newProduct(ctx: ApiContext, p: Params, id?: string): Product {
  const { core, ledger } = ctx;
  const product = buildProduct({
    id: id ?? core.ids.next("prod"),
    created: core.now(),
    livemode: ledger.livemode,
    name: p.string("name", { required: true, maxLength: 250 }) as string,
    description: p.string("description"),
    active: p.boolean("active"),
    metadata: applyMetadata({}, p.metadata()),
    images: p.stringList("images"),
    url: p.string("url"),
    unitLabel: p.string("unit_label"),
  });
  return ledger.products.insert(product);
}

/** Creates a price from `unit_amount`, `currency`, `recurring`, … (used by prices and `price_data`). */
export function newPrice(
  ctx: ApiContext,
  p: Params,
  product: Product,
  opts: { inline?: boolean } = {},
): Price {
  const { core, ledger } = ctx;
  return ledger.prices.insert(
    buildPrice({
      id: core.ids.next("price"),
      created: core.now(),
      livemode: ledger.livemode,
      product: product.id,
      currency: readCurrency(p),
      unitAmount: readUnitAmount(p),
      recurring: readRecurring(p),
      // Inline prices (`price_data`) are archived at once, as Stripe does.
      active: opts.inline ? false : p.boolean("active"),
      metadata: applyMetadata({}, p.metadata()),
      nickname: p.string("nickname"),
      lookupKey: p.string("lookup_key"),
    }),
  );
}

function createProduct(ctx: ApiContext) {
  const p = Params.check(ctx.raw, PRODUCT_CREATE);
  const customId = p.string("id");
  if (customId && ctx.ledger.products.get(customId)) {
    throw invalidRequest(`Product already exists.`, "id", "resource_already_exists");
  }
  const product = newProduct(ctx, p, customId);
  const events: EventSpec[] = [{ type: "product.created", object: product }];
  const priceData = p.object("default_price_data");
  if (priceData) {
    priceData.known([
      "currency",
      "currency_options",
      "custom_unit_amount",
      "metadata",
      "recurring",
      "tax_behavior",
      "unit_amount",
      "unit_amount_decimal",
    ]);
    const price = newPrice(ctx, priceData, product);
    ctx.ledger.products.update(product, (prod) => {
      prod.default_price = price.id;
    });
    events.push({ type: "price.created", object: price });
  }
  ctx.core.emit(ctx.ledger, ctx.request, events);
  return serve(ctx, product, p);
}

function updateProduct(ctx: ApiContext) {
  const p = Params.check(ctx.raw, PRODUCT_UPDATE);
  const product = ctx.ledger.products.require(ctx.path[0]);
  const defaultPrice = p.nullableString("default_price");
  if (defaultPrice) {
    const price = ctx.ledger.prices.require(defaultPrice, "default_price");
    if (price.product !== product.id) {
      throw invalidRequest("The default price must belong to this product.", "default_price");
    }
  }
  const name = p.string("name");
  const description = p.nullableString("description");
  const active = p.boolean("active");
  const url = p.nullableString("url");
  const images = p.stringList("images");
  const metadata = p.metadata();
  const previous = updateWithPrevious(ctx.ledger.products, product, (prod) => {
    if (name !== undefined) prod.name = name;
    if (description !== undefined) prod.description = description;
    if (active !== undefined) prod.active = active;
    if (url !== undefined) prod.url = url;
    if (images !== undefined) prod.images = images;
    if (defaultPrice !== undefined) prod.default_price = defaultPrice;
    prod.metadata = applyMetadata(prod.metadata, metadata);
    prod.updated = ctx.core.now();
  });
  delete previous.updated;
  if (Object.keys(previous).length > 0) {
    ctx.core.emit(ctx.ledger, ctx.request, [
      { type: "product.updated", object: product, previousAttributes: previous },
    ]);
  }
  return serve(ctx, product, p);
}

function deleteProduct(ctx: ApiContext) {
  Params.check(ctx.raw, []);
  const product = ctx.ledger.products.require(ctx.path[0]);
  if (ctx.ledger.prices.matching("product", product.id).length > 0) {
    throw invalidRequest(
      "This product cannot be deleted because it has one or more user-created prices.",
    );
  }
  ctx.ledger.products.remove(product.id);
  ctx.core.emit(ctx.ledger, ctx.request, [{ type: "product.deleted", object: product }]);
  return { id: product.id, object: "product", deleted: true };
}

function listProducts(ctx: ApiContext) {
  const p = Params.check(ctx.raw, ["active", "created", "ids", "shippable", "type", "url"], {
    list: true,
  });
  const active = p.boolean("active");
  const ids = p.stringList("ids");
  return serveList(ctx, p, ctx.ledger.products, "/v1/products", {
    created: p.timestampRange("created"),
    where: { active: active === undefined ? undefined : String(active) },
    filter: ids ? (prod) => ids.includes(prod.id) : undefined,
  });
}

function createPrice(ctx: ApiContext) {
  const p = Params.check(ctx.raw, PRICE_CREATE);
  const productId = p.string("product");
  const productData = p.object("product_data");
  if (productId && productData) {
    throw invalidRequest(
      "You may only specify one of these parameters: product, product_data.",
      "product",
    );
  }
  const events: EventSpec[] = [];
  let product: Product;
  if (productData) {
    productData.known([
      "name",
      "active",
      "id",
      "metadata",
      "statement_descriptor",
      "tax_code",
      "tax_details",
      "unit_label",
    ]);
    product = newProduct(ctx, productData, productData.string("id"));
    events.push({ type: "product.created", object: product });
  } else if (productId) {
    product = ctx.ledger.products.require(productId, "product");
  } else {
    throw parameterMissing("product");
  }
  const price = newPrice(ctx, p, product);
  events.push({ type: "price.created", object: price });
  ctx.core.emit(ctx.ledger, ctx.request, events);
  return serve(ctx, price, p);
}

function updatePrice(ctx: ApiContext) {
  const p = Params.check(ctx.raw, PRICE_UPDATE);
  const price = ctx.ledger.prices.require(ctx.path[0]);
  const active = p.boolean("active");
  const nickname = p.nullableString("nickname");
  const lookupKey = p.nullableString("lookup_key");
  const metadata = p.metadata();
  const previous = updateWithPrevious(ctx.ledger.prices, price, (pr) => {
    if (active !== undefined) pr.active = active;
    if (nickname !== undefined) pr.nickname = nickname;
    if (lookupKey !== undefined) pr.lookup_key = lookupKey;
    pr.metadata = applyMetadata(pr.metadata, metadata);
  });
  if (Object.keys(previous).length > 0) {
    ctx.core.emit(ctx.ledger, ctx.request, [
      { type: "price.updated", object: price, previousAttributes: previous },
    ]);
  }
  return serve(ctx, price, p);
}

function listPrices(ctx: ApiContext) {
  const p = Params.check(
    ctx.raw,
    ["active", "created", "currency", "lookup_keys", "product", "recurring", "type"],
    { list: true },
  );
  const active = p.boolean("active");
  const currency = p.string("currency")?.toLowerCase();
  const type = p.enumValue("type", ["one_time", "recurring"] as const);
  const lookupKeys = p.stringList("lookup_keys");
  const recurring = p.object("recurring")?.known(["interval", "meter", "usage_type"]);
  const interval = recurring?.enumValue("interval", ["day", "week", "month", "year"] as const);
  return serveList(ctx, p, ctx.ledger.prices, "/v1/prices", {
    created: p.timestampRange("created"),
    where: {
      product: p.string("product"),
      active: active === undefined ? undefined : String(active),
    },
    filter: (price) =>
      (currency === undefined || price.currency === currency) &&
      (type === undefined || price.type === type) &&
      (lookupKeys === undefined ||
        (price.lookup_key !== null && lookupKeys.includes(price.lookup_key))) &&
      (interval === undefined || price.recurring?.interval === interval),
  });
}

function createCustomer(ctx: ApiContext) {
  const p = Params.check(ctx.raw, CUSTOMER_FIELDS);
  const { customer, event } = insertCustomer(ctx.core, ctx.ledger, {
    email: p.string("email", { maxLength: 512 }),
    name: p.string("name", { maxLength: 256 }),
    phone: p.string("phone", { maxLength: 20 }),
    description: p.string("description"),
    metadata: applyMetadata({}, p.metadata()),
  });
  ctx.core.emit(ctx.ledger, ctx.request, [event]);
  return serve(ctx, customer, p);
}

function updateCustomer(ctx: ApiContext) {
  const p = Params.check(ctx.raw, CUSTOMER_FIELDS);
  const customer = ctx.ledger.customers.require(ctx.path[0]);
  const email = p.nullableString("email", { maxLength: 512 });
  const name = p.nullableString("name", { maxLength: 256 });
  const phone = p.nullableString("phone", { maxLength: 20 });
  const description = p.nullableString("description");
  const metadata = p.metadata();
  const previous = updateWithPrevious(ctx.ledger.customers, customer, (c: Customer) => {
    if (email !== undefined) c.email = email;
    if (name !== undefined) c.name = name;
    if (phone !== undefined) c.phone = phone;
    if (description !== undefined) c.description = description;
    c.metadata = applyMetadata(c.metadata, metadata);
  });
  if (Object.keys(previous).length > 0) {
    ctx.core.emit(ctx.ledger, ctx.request, [
      { type: "customer.updated", object: customer, previousAttributes: previous },
    ]);
  }
  return serve(ctx, customer, p);
}

function deleteCustomer(ctx: ApiContext) {
  Params.check(ctx.raw, []);
  const customer = ctx.ledger.customers.require(ctx.path[0]);
  ctx.ledger.customers.remove(customer.id);
  ctx.ledger.deleted.set(customer.id, "customer");
  ctx.core.emit(ctx.ledger, ctx.request, [{ type: "customer.deleted", object: customer }]);
  return { id: customer.id, object: "customer", deleted: true };
}

/** A deleted customer is still answered for, as `{ id, object: "customer", deleted: true }`. */
function retrieveCustomer(ctx: ApiContext) {
  const p = Params.check(ctx.raw, []);
  const gone = ctx.ledger.tombstone(ctx.path[0]);
  if (gone?.object === "customer") return gone;
  return serve(ctx, ctx.ledger.customers.require(ctx.path[0]), p);
}

function listCustomers(ctx: ApiContext) {
  const p = Params.check(ctx.raw, ["created", "email", "test_clock"], { list: true });
  return serveList(ctx, p, ctx.ledger.customers, "/v1/customers", {
    created: p.timestampRange("created"),
    where: { email: p.string("email", { maxLength: 512 }) },
  });
}

export const catalogRoutes: Route[] = [
  route("POST", "/v1/products", createProduct),
  route("GET", "/v1/products", listProducts),
  route("GET", "/v1/products/:id", retrieveFrom("products")),
  route("POST", "/v1/products/:id", updateProduct),
  route("DELETE", "/v1/products/:id", deleteProduct),
  route("POST", "/v1/prices", createPrice),
  route("GET", "/v1/prices", listPrices),
  route("GET", "/v1/prices/:id", retrieveFrom("prices")),
  route("POST", "/v1/prices/:id", updatePrice),
  route("POST", "/v1/customers", createCustomer),
  route("GET", "/v1/customers", listCustomers),
  route("GET", "/v1/customers/:id", retrieveCustomer),
  route("POST", "/v1/customers/:id", updateCustomer),
  route("DELETE", "/v1/customers/:id", deleteCustomer),
];

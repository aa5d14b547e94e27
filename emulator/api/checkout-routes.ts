import { createCheckoutSession, expireSession, type SessionInput } from "../actions/checkout";
import type { Price } from "../objects/catalog";
import type { UiMode } from "../objects/checkout-session";
import { STRIPE_SCHEMA } from "../schema/shape";
import { listInOrder } from "../objects/common";
import { newPrice, newProduct } from "./catalog-routes";
import { applyMetadata, Params } from "./params";
import { retrieveFrom, route, serve, serveList, type ApiContext, type Route } from "./router";
import { invalidRequest, parameterMissing } from "./stripe-error";
import { expandPaths } from "./expand";

const SESSION_CREATE = [
  "adaptive_pricing",
  "after_expiration",
  "allow_promotion_codes",
  "allowed_payment_method_types",
  "automatic_tax",
  "billing_address_collection",
  "branding_settings",
  "cancel_url",
  "client_reference_id",
  "consent_collection",
  "currency",
  "custom_fields",
  "custom_text",
  "customer",
  "customer_account",
  "customer_creation",
  "customer_email",
  "customer_update",
  "discounts",
  "excluded_payment_method_types",
  "expires_at",
  "integration_identifier",
  "invoice_creation",
  "line_items",
  "locale",
  "managed_payments",
  "metadata",
  "mode",
  "name_collection",
  "optional_items",
  "origin_context",
  "payment_intent_data",
  "payment_method_collection",
  "payment_method_configuration",
  "payment_method_data",
  "payment_method_options",
  "payment_method_types",
  "permissions",
  "phone_number_collection",
  "redirect_on_completion",
  "return_url",
  "saved_payment_method_options",
  "setup_intent_data",
  "shipping_address_collection",
  "shipping_options",
  "submit_type",
  "subscription_data",
  "success_url",
  "tax_id_collection",
  "ui_mode",
  "wallet_options",
];
const LINE_ITEM = [
  "adjustable_quantity",
  "dynamic_tax_rates",
  "metadata",
  "price",
  "price_data",
  "quantity",
  "tax_rates",
];
const PRICE_DATA = [
  "currency",
  "product",
  "product_data",
  "recurring",
  "tax_behavior",
  "unit_amount",
  "unit_amount_decimal",
];

function readLines(ctx: ApiContext, p: Params, mode: SessionInput["mode"]): SessionInput["lines"] {
  const items = p.list("line_items");
  if (!items || items.length === 0) throw parameterMissing("line_items");
  const lines = items.map((item) => {
    item.known(LINE_ITEM);
    const quantity = item.integer("quantity", { required: true, min: 1 }) as number;
    const priceId = item.string("price");
    const priceData = item.object("price_data");
    if (priceId && priceData) {
      throw invalidRequest(
        "You may only specify one of these parameters: price, price_data.",
        item.name("price"),
      );
    }
    let price: Price;
    if (priceId) {
      price = ctx.ledger.prices.require(priceId, item.name("price"));
      if (!price.active) {
        throw invalidRequest(
          "The price specified is inactive. This field only accepts active prices.",
          item.name("price"),
        );
      }
    } else if (priceData) {
      priceData.known(PRICE_DATA);
      const productId = priceData.string("product");
      const productData = priceData.object("product_data");
      let product;
      if (productId) product = ctx.ledger.products.require(productId, priceData.name("product"));
      else if (productData) {
        productData.known([
          "name",
          "description",
          "images",
          "metadata",
          "tax_code",
          "tax_details",
          "unit_label",
        ]);
        product = newProduct(ctx, productData);
      } else throw parameterMissing(priceData.name("product"));
      price = newPrice(ctx, priceData, product, { inline: true });
    } else {
      throw parameterMissing(item.name("price"));
    }
    if (mode === "payment" && price.type === "recurring") {
      throw invalidRequest(
        "You specified `payment` mode but passed a recurring price. Either switch to `subscription` mode or use only one-time prices.",
        item.name("price"),
      );
    }
    return { price, quantity };
  });
  if (mode === "subscription" && !lines.some((l) => l.price.type === "recurring")) {
    throw invalidRequest(
      "You must provide at least one recurring price in `subscription` mode when using prices.",
      "line_items",
    );
  }
  if (new Set(lines.map((l) => l.price.currency)).size > 1) {
    throw invalidRequest("All line items must use the same currency.", "line_items");
  }
  return lines;
}

function createSession(ctx: ApiContext) {
  const p = Params.check(ctx.raw, SESSION_CREATE);
  const mode = p.enumValue("mode", ["payment", "setup", "subscription"] as const, {
    required: true,
  });
  if (mode === "setup") {
    throw invalidRequest(
      "The emulator supports Checkout Sessions in payment and subscription mode only.",
      "mode",
    );
  }
  const sessionMode = mode as SessionInput["mode"];
  const customerId = p.string("customer");
  const customerEmail = p.string("customer_email", { maxLength: 800 });
  if (customerId && customerEmail) {
    throw invalidRequest(
      "You may only specify one of these parameters: customer, customer_email.",
      "customer_email",
    );
  }
  const customer = customerId ? ctx.ledger.customers.require(customerId, "customer") : null;
  const customerCreation = p.enumValue("customer_creation", ["always", "if_required"] as const);
  if (customerCreation && sessionMode !== "payment") {
    throw invalidRequest(
      "`customer_creation` can only be used in `payment` mode.",
      "customer_creation",
    );
  }
  if (customerCreation && customer) {
    throw invalidRequest(
      "You may only specify one of these parameters: customer, customer_creation.",
      "customer_creation",
    );
  }
  const now = ctx.core.now();
  const expiresAt = p.integer("expires_at");
  if (expiresAt !== undefined && (expiresAt < now + 1800 || expiresAt > now + 86_400)) {
    throw invalidRequest(
      "The `expires_at` timestamp must be at least 30 minutes and at most 24 hours from Checkout Session creation.",
      "expires_at",
    );
  }
  const uiMode = p.enumValue("ui_mode", STRIPE_SCHEMA.checkoutUiModes as UiMode[]) ?? "hosted_page";
  // The SDK's parameter docs: not allowed with the page embedded in (or built on) the merchant's own.
  if (uiMode === "embedded_page" || uiMode === "elements") {
    for (const param of ["success_url", "cancel_url"]) {
      if (p.has(param)) {
        throw invalidRequest(
          `\`${param}\` is not allowed with \`ui_mode: ${uiMode}\`; use \`return_url\`.`,
          param,
        );
      }
    }
  }
  const paymentIntentData = p.object("payment_intent_data");
  const subscriptionData = p.object("subscription_data");
  if (paymentIntentData && sessionMode !== "payment") {
    throw invalidRequest(
      "`payment_intent_data` can only be used in `payment` mode.",
      "payment_intent_data",
    );
  }
  if (subscriptionData && sessionMode !== "subscription") {
    throw invalidRequest(
      "`subscription_data` can only be used in `subscription` mode.",
      "subscription_data",
    );
  }
  const session = createCheckoutSession(ctx.core, ctx.ledger, {
    mode: sessionMode,
    lines: readLines(ctx, p, sessionMode),
    customer,
    customerEmail: customerEmail ?? null,
    customerCreation:
      customerCreation ?? (sessionMode === "payment" && !customer ? "if_required" : null),
    clientReferenceId: p.string("client_reference_id", { maxLength: 200 }) ?? null,
    metadata: applyMetadata({}, p.metadata()),
    successUrl: p.string("success_url", { maxLength: 5000 }) ?? null,
    cancelUrl: p.string("cancel_url", { maxLength: 5000 }) ?? null,
    expiresAt: expiresAt ?? null,
    locale: p.string("locale") ?? null,
    paymentIntentMetadata: applyMetadata({}, paymentIntentData?.metadata()),
    subscriptionMetadata: applyMetadata({}, subscriptionData?.metadata()),
    uiMode,
    returnUrl: p.string("return_url", { maxLength: 5000 }) ?? null,
  });
  return serve(ctx, session, p);
}

function updateSession(ctx: ApiContext) {
  const p = Params.check(ctx.raw, [
    "collected_information",
    "line_items",
    "metadata",
    "payment_intent_data",
    "shipping_options",
  ]);
  const session = ctx.ledger.sessions.require(ctx.path[0]);
  if (p.has("line_items") || p.has("shipping_options") || p.has("collected_information")) {
    throw invalidRequest("The emulator can update a Checkout Session's metadata only.");
  }
  const metadata = p.metadata();
  ctx.ledger.sessions.update(session, (s) => {
    s.metadata = applyMetadata(s.metadata, metadata);
  });
  ctx.core.changed();
  return serve(ctx, session, p);
}

function listSessions(ctx: ApiContext) {
  const p = Params.check(
    ctx.raw,
    [
      "created",
      "customer",
      "customer_account",
      "customer_details",
      "payment_intent",
      "payment_link",
      "status",
      "subscription",
    ],
    { list: true },
  );
  const email = p.object("customer_details")?.known(["email"]).string("email", { required: true });
  return serveList(ctx, p, ctx.ledger.sessions, "/v1/checkout/sessions", {
    created: p.timestampRange("created"),
    where: {
      status: p.enumValue("status", ["open", "complete", "expired"] as const),
      customer: p.string("customer"),
      payment_intent: p.string("payment_intent"),
      subscription: p.string("subscription"),
    },
    filter: email === undefined ? undefined : (s) => s.customer_details?.email === email,
  });
}

function listLineItems(ctx: ApiContext) {
  const p = Params.check(ctx.raw, [], { list: true });
  const session = ctx.ledger.sessions.require(ctx.path[0]);
  const limit = p.integer("limit", { min: 1, max: 100 }) ?? 10;
  const all = ctx.core.renderLineItems(
    ctx.ledger,
    ctx.ledger.sessionDetails.get(session.id)?.lineItems ?? [],
  );
  // Line items keep their own order (as given at creation), not newest first.
  const list = listInOrder(
    all as Array<{ id: string }>,
    `/v1/checkout/sessions/${session.id}/line_items`,
    {
      label: "line item",
      limit,
      startingAfter: p.string("starting_after"),
      endingBefore: p.string("ending_before"),
    },
  );
  return expandPaths(ctx.core, ctx.ledger, { ...list }, p.expand());
}

function expire(ctx: ApiContext) {
  const p = Params.check(ctx.raw, []);
  const session = ctx.ledger.sessions.require(ctx.path[0]);
  return serve(ctx, expireSession(ctx.core, ctx.ledger, session, ctx.request), p);
}

export const checkoutRoutes: Route[] = [
  route("POST", "/v1/checkout/sessions", createSession),
  route("GET", "/v1/checkout/sessions", listSessions),
  route("GET", "/v1/checkout/sessions/:id", retrieveFrom("sessions")),
  route("POST", "/v1/checkout/sessions/:id", updateSession),
  route("GET", "/v1/checkout/sessions/:id/line_items", listLineItems),
  route("POST", "/v1/checkout/sessions/:id/expire", expire),
];

import { captureCharge, newPaymentIntent } from "../actions/charges";
import { closeDispute, createRefund, openDispute } from "../actions/refunds-disputes";
import type { EventSpec } from "../core";
import type { PaymentIntent } from "../objects/payment";
import type { Ledger } from "../state/ledger";
import { readCurrency } from "./catalog-routes";
import { applyMetadata, Params } from "./params";
import { retrieveFrom, route, serve, serveList, type ApiContext, type Route } from "./router";
import { invalidRequest, parameterMissing, StripeApiError } from "./stripe-error";

const PAYMENT_INTENT_CREATE = [
  "amount",
  "currency",
  "allowed_payment_method_types",
  "amount_details",
  "application_fee_amount",
  "automatic_payment_methods",
  "capture_method",
  "confirm",
  "confirmation_method",
  "confirmation_token",
  "customer",
  "customer_account",
  "description",
  "error_on_requires_action",
  "excluded_payment_method_types",
  "hooks",
  "mandate",
  "mandate_data",
  "metadata",
  "off_session",
  "on_behalf_of",
  "payment_details",
  "payment_method",
  "payment_method_configuration",
  "payment_method_data",
  "payment_method_options",
  "payment_method_types",
  "radar_options",
  "receipt_email",
  "return_url",
  "setup_future_usage",
  "shipping",
  "statement_descriptor",
  "statement_descriptor_suffix",
  "transfer_data",
  "transfer_group",
  "use_stripe_sdk",
];
const PAYMENT_INTENT_CONFIRM = [
  "capture_method",
  "confirmation_token",
  "error_on_requires_action",
  "mandate",
  "mandate_data",
  "off_session",
  "payment_details",
  "payment_method",
  "payment_method_data",
  "payment_method_options",
  "payment_method_types",
  "radar_options",
  "receipt_email",
  "return_url",
  "setup_future_usage",
  "shipping",
  "use_stripe_sdk",
];

// Stripe's test payment methods that the emulator understands (the Stripe CLI triggers use them).
const DECLINING = new Set([
  "pm_card_chargeDeclined",
  "pm_card_visa_chargeDeclined",
  "pm_card_chargeDeclinedInsufficientFunds",
]);
const DISPUTING: Record<string, { inquiry: boolean }> = {
  pm_card_createDispute: { inquiry: false },
  pm_card_createDisputeInquiry: { inquiry: true },
};

/** Confirms with a test payment method: succeed (maybe followed by a dispute) or decline. */
function confirm(
  ctx: ApiContext,
  pi: PaymentIntent,
  paymentMethod: string,
  events: EventSpec[],
): void {
  const { core, ledger } = ctx;
  if (pi.status !== "requires_payment_method" && pi.status !== "requires_confirmation") {
    throw invalidRequest(
      `You cannot confirm this PaymentIntent because it has a status of ${pi.status}.`,
      undefined,
      "payment_intent_unexpected_state",
    );
  }
  if (DECLINING.has(paymentMethod)) {
    const error = {
      code: "card_declined",
      decline_code: paymentMethod.endsWith("InsufficientFunds")
        ? "insufficient_funds"
        : "generic_decline",
      message: "Your card was declined.",
      type: "card_error",
    };
    ledger.paymentIntents.update(pi, (p) => {
      p.status = "requires_payment_method";
      p.last_payment_error = error;
    });
    core.emit(ledger, ctx.request, [
      ...events,
      { type: "payment_intent.payment_failed", object: pi },
    ]);
    throw new StripeApiError(402, {
      type: "card_error",
      code: error.code,
      decline_code: error.decline_code,
      message: error.message,
    });
  }
  const customer = pi.customer ? ledger.customers.get(pi.customer) : undefined;
  const charge = captureCharge(core, ledger, pi, {
    email: customer?.email ?? null,
    name: customer?.name ?? null,
  });
  events.push(
    { type: "payment_intent.succeeded", object: pi },
    { type: "charge.succeeded", object: charge },
  );
  core.emit(ledger, ctx.request, events);
  const dispute = DISPUTING[paymentMethod];
  if (dispute)
    openDispute(core, ledger, charge, { reason: "fraudulent", inquiry: dispute.inquiry }, null);
}

function createPaymentIntent(ctx: ApiContext) {
  const p = Params.check(ctx.raw, PAYMENT_INTENT_CREATE);
  const amount = p.integer("amount", { required: true, min: 1 }) as number;
  const currency = readCurrency(p);
  const customerId = p.string("customer");
  if (customerId) ctx.ledger.customers.require(customerId, "customer");
  const paymentMethod = p.string("payment_method");
  const pi = newPaymentIntent(
    ctx.core,
    ctx.ledger,
    {
      amount,
      currency,
      customer: customerId ?? null,
      email: null,
      metadata: applyMetadata({}, p.metadata()),
      description: p.string("description"),
    },
    paymentMethod ? "requires_confirmation" : "requires_payment_method",
  );
  if (paymentMethod)
    ctx.ledger.paymentIntents.update(pi, (x) => (x.payment_method = paymentMethod));
  const events: EventSpec[] = [{ type: "payment_intent.created", object: pi, asOf: { ...pi } }];
  if (p.boolean("confirm")) {
    if (!paymentMethod) throw parameterMissing("payment_method");
    confirm(ctx, pi, paymentMethod, events);
  } else {
    ctx.core.emit(ctx.ledger, ctx.request, events);
  }
  return serve(ctx, pi, p);
}

function confirmPaymentIntent(ctx: ApiContext) {
  const p = Params.check(ctx.raw, PAYMENT_INTENT_CONFIRM);
  const pi = ctx.ledger.paymentIntents.require(ctx.path[0]);
  const paymentMethod = p.string("payment_method") ?? pi.payment_method;
  if (!paymentMethod) throw parameterMissing("payment_method");
  ctx.ledger.paymentIntents.update(pi, (x) => (x.payment_method = paymentMethod));
  confirm(ctx, pi, paymentMethod, []);
  return serve(ctx, pi, p);
}

function cancelPaymentIntent(ctx: ApiContext) {
  const p = Params.check(ctx.raw, ["cancellation_reason"]);
  const pi = ctx.ledger.paymentIntents.require(ctx.path[0]);
  if (pi.status === "succeeded" || pi.status === "canceled") {
    throw invalidRequest(
      `You cannot cancel this PaymentIntent because it has a status of ${pi.status}.`,
      undefined,
      "payment_intent_unexpected_state",
    );
  }
  const reason = p.enumValue("cancellation_reason", [
    "duplicate",
    "fraudulent",
    "requested_by_customer",
    "abandoned",
  ] as const);
  ctx.ledger.paymentIntents.update(pi, (x) => {
    x.status = "canceled";
    x.canceled_at = ctx.core.now();
    x.cancellation_reason = reason ?? null;
  });
  ctx.core.emit(ctx.ledger, ctx.request, [{ type: "payment_intent.canceled", object: pi }]);
  return serve(ctx, pi, p);
}

function chargeFor(ledger: Ledger, p: Params) {
  const chargeId = p.string("charge");
  const piId = p.string("payment_intent");
  if (chargeId && piId) {
    throw invalidRequest(
      "You may only specify one of these parameters: charge, payment_intent.",
      "payment_intent",
    );
  }
  if (chargeId) return ledger.charges.require(chargeId, "charge");
  if (!piId) throw parameterMissing("charge");
  const pi = ledger.paymentIntents.require(piId, "payment_intent");
  const charge = pi.latest_charge ? ledger.charges.get(pi.latest_charge) : undefined;
  if (!charge) {
    throw invalidRequest(
      `This PaymentIntent (${pi.id}) does not have a successful charge to refund.`,
      "payment_intent",
    );
  }
  return charge;
}

function createRefundRoute(ctx: ApiContext) {
  const p = Params.check(ctx.raw, [
    "amount",
    "charge",
    "currency",
    "customer",
    "instructions_email",
    "metadata",
    "origin",
    "payment_intent",
    "reason",
    "refund_application_fee",
    "reverse_transfer",
  ]);
  const charge = chargeFor(ctx.ledger, p);
  const refund = createRefund(
    ctx.core,
    ctx.ledger,
    charge,
    {
      amount: p.integer("amount", { min: 1 }),
      reason:
        p.enumValue("reason", ["duplicate", "fraudulent", "requested_by_customer"] as const) ??
        null,
      metadata: applyMetadata({}, p.metadata()),
    },
    ctx.request,
  );
  return serve(ctx, refund, p);
}

function updateRefund(ctx: ApiContext) {
  const p = Params.check(ctx.raw, ["metadata"]);
  const refund = ctx.ledger.refunds.require(ctx.path[0]);
  const metadata = p.metadata();
  ctx.ledger.refunds.update(refund, (r) => {
    r.metadata = applyMetadata(r.metadata, metadata);
  });
  ctx.core.emit(ctx.ledger, ctx.request, [{ type: "refund.updated", object: refund }]);
  return serve(ctx, refund, p);
}

function updateDispute(ctx: ApiContext) {
  const p = Params.check(ctx.raw, ["evidence", "intended_submission_method", "metadata", "submit"]);
  const dispute = ctx.ledger.disputes.require(ctx.path[0]);
  const metadata = p.metadata();
  const submit = p.boolean("submit");
  const previous = { status: dispute.status, metadata: dispute.metadata };
  ctx.ledger.disputes.update(dispute, (d) => {
    d.metadata = applyMetadata(d.metadata, metadata);
    if (submit && d.status === "needs_response") d.status = "under_review";
    if (submit && d.status === "warning_needs_response") d.status = "warning_under_review";
  });
  ctx.core.emit(ctx.ledger, ctx.request, [
    { type: "charge.dispute.updated", object: dispute, previousAttributes: previous },
  ]);
  return serve(ctx, dispute, p);
}

function closeDisputeRoute(ctx: ApiContext) {
  const p = Params.check(ctx.raw, []);
  const dispute = ctx.ledger.disputes.require(ctx.path[0]);
  return serve(ctx, closeDispute(ctx.core, ctx.ledger, dispute, "accepted", ctx.request), p);
}

function listPaymentIntents(ctx: ApiContext) {
  const p = Params.check(ctx.raw, ["created", "customer", "customer_account"], { list: true });
  return serveList(ctx, p, ctx.ledger.paymentIntents, "/v1/payment_intents", {
    created: p.timestampRange("created"),
    where: { customer: p.string("customer") },
  });
}

function listCharges(ctx: ApiContext) {
  const p = Params.check(ctx.raw, ["created", "customer", "payment_intent", "transfer_group"], {
    list: true,
  });
  return serveList(ctx, p, ctx.ledger.charges, "/v1/charges", {
    created: p.timestampRange("created"),
    where: { customer: p.string("customer"), payment_intent: p.string("payment_intent") },
  });
}

function listChargeRefunds(ctx: ApiContext) {
  const p = Params.check(ctx.raw, [], { list: true });
  const charge = ctx.ledger.charges.require(ctx.path[0]);
  return serveList(ctx, p, ctx.ledger.refunds, `/v1/charges/${charge.id}/refunds`, {
    where: { charge: charge.id },
  });
}

function listRefunds(ctx: ApiContext) {
  const p = Params.check(ctx.raw, ["charge", "created", "payment_intent"], { list: true });
  return serveList(ctx, p, ctx.ledger.refunds, "/v1/refunds", {
    created: p.timestampRange("created"),
    where: { charge: p.string("charge"), payment_intent: p.string("payment_intent") },
  });
}

function listDisputes(ctx: ApiContext) {
  const p = Params.check(ctx.raw, ["charge", "created", "payment_intent"], { list: true });
  return serveList(ctx, p, ctx.ledger.disputes, "/v1/disputes", {
    created: p.timestampRange("created"),
    where: { charge: p.string("charge"), payment_intent: p.string("payment_intent") },
  });
}

export const paymentRoutes: Route[] = [
  route("POST", "/v1/payment_intents", createPaymentIntent),
  route("GET", "/v1/payment_intents", listPaymentIntents),
  route("GET", "/v1/payment_intents/:id", retrieveFrom("paymentIntents", ["client_secret"])),
  route("POST", "/v1/payment_intents/:id/confirm", confirmPaymentIntent),
  route("POST", "/v1/payment_intents/:id/cancel", cancelPaymentIntent),
  route("GET", "/v1/charges", listCharges),
  route("GET", "/v1/charges/:id", retrieveFrom("charges")),
  route("GET", "/v1/charges/:id/refunds", listChargeRefunds),
  route("POST", "/v1/refunds", createRefundRoute),
  route("GET", "/v1/refunds", listRefunds),
  route("GET", "/v1/refunds/:id", retrieveFrom("refunds")),
  route("POST", "/v1/refunds/:id", updateRefund),
  route("GET", "/v1/disputes", listDisputes),
  route("GET", "/v1/disputes/:id", retrieveFrom("disputes")),
  route("POST", "/v1/disputes/:id", updateDispute),
  route("POST", "/v1/disputes/:id/close", closeDisputeRoute),
];

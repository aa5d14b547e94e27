import { shape } from "../schema/shape";
import { EMPTY_ARRAY, NULL_ADDRESS, type Metadata, type StripeObject } from "./common";

export type SessionMode = "payment" | "subscription";
export type SessionStatus = "open" | "complete" | "expired";
export type PaymentStatus = "paid" | "unpaid" | "no_payment_required";
/** The pinned version's `ui_mode` values (stripe-objects.json `checkoutUiModes`). */
export type UiMode = "hosted_page" | "embedded_page" | "elements" | "form";

export interface CustomerDetails {
  address: typeof NULL_ADDRESS | null;
  business_name: null;
  email: string | null;
  individual_name: null;
  name: string | null;
  phone: null;
  tax_exempt: "none";
  tax_ids: readonly never[];
}

export interface CheckoutSession extends StripeObject {
  object: "checkout.session";
  amount_subtotal: number;
  amount_total: number;
  cancel_url: string | null;
  client_reference_id: string | null;
  currency: string;
  customer: string | null;
  customer_creation: "always" | "if_required" | null;
  customer_details: CustomerDetails | null;
  customer_email: string | null;
  expires_at: number;
  invoice: string | null;
  livemode: boolean;
  metadata: Metadata;
  mode: SessionMode;
  payment_intent: string | null;
  payment_status: PaymentStatus;
  status: SessionStatus;
  subscription: string | null;
  success_url: string | null;
  ui_mode: UiMode;
  url: string | null;
}

/** Line items are stored beside the session: Stripe only returns them when asked. */
export interface LineItemRecord {
  id: string;
  price: string;
  quantity: number;
}

const TOTAL_DETAILS_ZERO = Object.freeze({ amount_discount: 0, amount_shipping: 0, amount_tax: 0 });
const AUTOMATIC_TAX_OFF = Object.freeze({
  enabled: false,
  liability: null,
  provider: null,
  status: null,
});
const CUSTOM_TEXT_NONE = Object.freeze({
  after_submit: null,
  shipping_address: null,
  submit: null,
  terms_of_service_acceptance: null,
});
const CARD_ONLY = Object.freeze(["card"]);
const ADAPTIVE_PRICING_OFF = Object.freeze({ enabled: false });
const PHONE_COLLECTION_OFF = Object.freeze({ enabled: false });
const CARD_OPTIONS = Object.freeze({
  card: Object.freeze({ request_three_d_secure: "automatic" }),
});
const SAVED_PM_OPTIONS = Object.freeze({
  allow_redisplay_filters: Object.freeze(["always"]),
  payment_method_remove: null,
  payment_method_save: null,
});
const INVOICE_CREATION_OFF = Object.freeze({
  enabled: false,
  invoice_data: Object.freeze({
    account_tax_ids: null,
    custom_fields: null,
    description: null,
    footer: null,
    issuer: null,
    metadata: Object.freeze({}),
    rendering_options: null,
  }),
});

export function customerDetails(email: string | null, name: string | null = null): CustomerDetails {
  return {
    address: NULL_ADDRESS,
    business_name: null,
    email,
    individual_name: null,
    name,
    phone: null,
    tax_exempt: "none",
    tax_ids: EMPTY_ARRAY,
  };
}

export function buildCheckoutSession(fields: {
  id: string;
  created: number;
  expiresAt: number;
  livemode: boolean;
  mode: SessionMode;
  amount: number;
  currency: string;
  url: string | null;
  customer: string | null;
  customerEmail: string | null;
  customerCreation: "always" | "if_required" | null;
  clientReferenceId: string | null;
  metadata: Metadata;
  successUrl: string | null;
  cancelUrl: string | null;
  locale?: string | null;
  uiMode?: UiMode;
  /** Sessions shown outside the hosted page are driven by a client secret instead of a URL. */
  clientSecret?: string | null;
  returnUrl?: string | null;
}): CheckoutSession {
  const uiMode = fields.uiMode ?? "hosted_page";
  return shape<CheckoutSession>("Checkout.Session", {
    id: fields.id,
    object: "checkout.session",
    adaptive_pricing: ADAPTIVE_PRICING_OFF,
    after_expiration: null,
    allow_promotion_codes: null,
    amount_subtotal: fields.amount,
    amount_total: fields.amount,
    automatic_tax: AUTOMATIC_TAX_OFF,
    billing_address_collection: null,
    cancel_url: fields.cancelUrl,
    client_reference_id: fields.clientReferenceId,
    client_secret: uiMode === "hosted_page" ? null : (fields.clientSecret ?? null),
    collected_information: null,
    consent: null,
    consent_collection: null,
    created: fields.created,
    currency: fields.currency,
    currency_conversion: null,
    custom_fields: EMPTY_ARRAY,
    custom_text: CUSTOM_TEXT_NONE,
    customer: fields.customer,
    customer_account: null,
    customer_creation: fields.customerCreation,
    customer_details: null,
    customer_email: fields.customerEmail,
    discounts: EMPTY_ARRAY,
    expires_at: fields.expiresAt,
    integration_identifier: null,
    invoice: null,
    invoice_creation: fields.mode === "payment" ? INVOICE_CREATION_OFF : null,
    livemode: fields.livemode,
    locale: fields.locale ?? null,
    managed_payments: null,
    metadata: fields.metadata,
    mode: fields.mode,
    origin_context: null,
    payment_intent: null,
    payment_link: null,
    payment_method_collection: fields.mode === "subscription" ? "always" : null,
    payment_method_configuration_details: null,
    payment_method_options: CARD_OPTIONS,
    payment_method_types: CARD_ONLY,
    payment_status: "unpaid",
    permissions: null,
    phone_number_collection: PHONE_COLLECTION_OFF,
    recovered_from: null,
    ...(fields.returnUrl ? { return_url: fields.returnUrl } : {}),
    saved_payment_method_options: SAVED_PM_OPTIONS,
    setup_intent: null,
    shipping_address_collection: null,
    shipping_cost: null,
    shipping_options: EMPTY_ARRAY,
    status: "open",
    submit_type: null,
    subscription: null,
    success_url: fields.successUrl,
    total_details: TOTAL_DETAILS_ZERO,
    ui_mode: uiMode,
    url: uiMode === "hosted_page" ? fields.url : null,
    wallet_options: null,
  });
}

import { shape } from "../schema/shape";
import {
  CARD_DETAILS,
  EMPTY_OBJECT,
  NULL_ADDRESS,
  type Metadata,
  type StripeObject,
} from "./common";

export type PaymentIntentStatus =
  "requires_payment_method" | "requires_confirmation" | "processing" | "succeeded" | "canceled";

export interface PaymentIntent extends StripeObject {
  object: "payment_intent";
  amount: number;
  amount_received: number;
  currency: string;
  customer: string | null;
  description: string | null;
  last_payment_error: Record<string, unknown> | null;
  latest_charge: string | null;
  livemode: boolean;
  metadata: Metadata;
  payment_method: string | null;
  status: PaymentIntentStatus;
}

export interface Charge extends StripeObject {
  object: "charge";
  amount: number;
  amount_captured: number;
  amount_refunded: number;
  currency: string;
  customer: string | null;
  disputed: boolean;
  livemode: boolean;
  metadata: Metadata;
  payment_intent: string | null;
  refunded: boolean;
  status: "succeeded" | "pending" | "failed";
}

export interface Refund extends StripeObject {
  object: "refund";
  amount: number;
  charge: string;
  currency: string;
  metadata: Metadata;
  payment_intent: string | null;
  reason: string | null;
  status: "succeeded";
}

export interface BalanceTransaction extends StripeObject {
  object: "balance_transaction";
  amount: number;
  fee: number;
  net: number;
  reporting_category: string;
}

export type DisputeStatus =
  | "warning_needs_response"
  | "warning_under_review"
  | "warning_closed"
  | "needs_response"
  | "under_review"
  | "won"
  | "lost";

export interface Dispute extends StripeObject {
  object: "dispute";
  amount: number;
  charge: string;
  currency: string;
  livemode: boolean;
  metadata: Metadata;
  payment_intent: string | null;
  reason: string;
  status: DisputeStatus;
  balance_transactions: BalanceTransaction[];
}

const CARD_PM_OPTIONS = Object.freeze({
  card: Object.freeze({
    installments: null,
    mandate_options: null,
    network: null,
    request_three_d_secure: "automatic",
  }),
});
const CARD_ONLY = Object.freeze(["card"]);
const AMOUNT_DETAILS = Object.freeze({ tip: EMPTY_OBJECT });
const APPROVED_OUTCOME = Object.freeze({
  advice_code: null,
  network_advice_code: null,
  network_decline_code: null,
  network_status: "approved_by_network",
  reason: null,
  risk_level: "normal",
  risk_score: 32,
  seller_message: "Payment complete.",
  type: "authorized",
});
// `reference` (the acquirer reference number) is a string once the network assigns it and absent
// until then, never null.
const REFUND_DESTINATION = Object.freeze({
  card: Object.freeze({
    reference_status: "pending",
    reference_type: "acquirer_reference_number",
    type: "refund",
  }),
  type: "card",
});
const DISPUTE_CARD_DETAILS = Object.freeze({
  card: Object.freeze({
    brand: "visa",
    case_type: "chargeback",
    network: "visa",
    network_reason_code: "10.4",
  }),
  type: "card",
});
const DISPUTE_INQUIRY_CARD_DETAILS = Object.freeze({
  card: Object.freeze({
    brand: "visa",
    case_type: "inquiry",
    network: "visa",
    network_reason_code: "10.4",
  }),
  type: "card",
});
const EMPTY_EVIDENCE = Object.freeze({
  access_activity_log: null,
  billing_address: null,
  cancellation_policy: null,
  cancellation_policy_disclosure: null,
  cancellation_rebuttal: null,
  customer_communication: null,
  customer_email_address: null,
  customer_name: null,
  customer_purchase_ip: null,
  customer_signature: null,
  duplicate_charge_documentation: null,
  duplicate_charge_explanation: null,
  duplicate_charge_id: null,
  enhanced_evidence: EMPTY_OBJECT,
  product_description: null,
  receipt: null,
  refund_policy: null,
  refund_policy_disclosure: null,
  refund_refusal_explanation: null,
  service_date: null,
  service_documentation: null,
  shipping_address: null,
  shipping_carrier: null,
  shipping_date: null,
  shipping_documentation: null,
  shipping_tracking_number: null,
  uncategorized_file: null,
  uncategorized_text: null,
});

export function buildPaymentIntent(fields: {
  id: string;
  created: number;
  livemode: boolean;
  amount: number;
  currency: string;
  customer: string | null;
  paymentMethod: string | null;
  clientSecretSuffix: string;
  status: PaymentIntentStatus;
  metadata?: Metadata;
  description?: string | null;
  receiptEmail?: string | null;
}): PaymentIntent {
  return shape<PaymentIntent>("PaymentIntent", {
    id: fields.id,
    object: "payment_intent",
    amount: fields.amount,
    amount_capturable: 0,
    amount_details: AMOUNT_DETAILS,
    amount_received: fields.status === "succeeded" ? fields.amount : 0,
    application: null,
    application_fee_amount: null,
    automatic_payment_methods: null,
    canceled_at: null,
    cancellation_reason: null,
    capture_method: "automatic_async",
    client_secret: `${fields.id}_secret_${fields.clientSecretSuffix}`,
    confirmation_method: "automatic",
    created: fields.created,
    currency: fields.currency,
    customer: fields.customer,
    customer_account: null,
    description: fields.description ?? null,
    excluded_payment_method_types: null,
    last_payment_error: null,
    latest_charge: null,
    livemode: fields.livemode,
    managed_payments: null,
    metadata: fields.metadata ?? {},
    next_action: null,
    on_behalf_of: null,
    payment_method: fields.paymentMethod,
    payment_method_configuration_details: null,
    payment_method_options: CARD_PM_OPTIONS,
    payment_method_types: CARD_ONLY,
    processing: fields.status === "processing" ? { type: "card" } : null,
    receipt_email: fields.receiptEmail ?? null,
    review: null,
    setup_future_usage: null,
    shipping: null,
    source: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: fields.status,
    transfer_data: null,
    transfer_group: null,
  });
}

export function buildCharge(fields: {
  id: string;
  created: number;
  livemode: boolean;
  amount: number;
  currency: string;
  customer: string | null;
  paymentIntent: string | null;
  paymentMethod: string;
  balanceTransaction: string;
  billingEmail: string | null;
  billingName?: string | null;
  description?: string | null;
  metadata?: Metadata;
  /** Stripe's `NNNN-NNNN` transaction number of the emailed receipt (see `receiptNumber`). */
  receiptNumber?: string | null;
}): Charge {
  return shape<Charge>("Charge", {
    id: fields.id,
    object: "charge",
    amount: fields.amount,
    amount_captured: fields.amount,
    amount_refunded: 0,
    application: null,
    application_fee: null,
    application_fee_amount: null,
    balance_transaction: fields.balanceTransaction,
    billing_details: {
      address: NULL_ADDRESS,
      email: fields.billingEmail,
      name: fields.billingName ?? null,
      phone: null,
      tax_id: null,
    },
    calculated_statement_descriptor: "CREDITDESK",
    captured: true,
    created: fields.created,
    currency: fields.currency,
    customer: fields.customer,
    description: fields.description ?? null,
    disputed: false,
    failure_balance_transaction: null,
    failure_code: null,
    failure_message: null,
    fraud_details: {},
    livemode: fields.livemode,
    metadata: fields.metadata ?? {},
    on_behalf_of: null,
    outcome: APPROVED_OUTCOME,
    paid: true,
    payment_intent: fields.paymentIntent,
    payment_method: fields.paymentMethod,
    payment_method_details: CARD_DETAILS,
    // A paid charge's receipt goes to the billing email, as Checkout's email receipts do.
    receipt_email: fields.receiptNumber ? fields.billingEmail : null,
    receipt_number: fields.receiptNumber ?? null,
    receipt_url: null,
    refunded: false,
    // Rendered from the refunds table whenever the charge is served.
    refunds: null,
    review: null,
    shipping: null,
    source: null,
    source_transfer: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: "succeeded",
    transfer_data: null,
    transfer_group: null,
  });
}

/** Days the merchant has to respond to a dispute in the emulator (card networks give 7–21). */
export const DISPUTE_RESPONSE_DAYS = 7;

/**
 * A dispute's `evidence_details.due_by`: the last second (23:59:59 UTC) of the day
 * `DISPUTE_RESPONSE_DAYS` after it was opened — Stripe's due dates end a day, as its sample
 * dispute's `1723679999` (2024-08-14T23:59:59Z) does.
 */
export function evidenceDueBy(created: number): number {
  const day = Math.floor((created + DISPUTE_RESPONSE_DAYS * 86_400) / 86_400);
  return day * 86_400 + 86_399;
}

/**
 * Stripe's receipt numbers look like `1234-5678`. The emulator numbers a mode's paid charges in
 * order (`1000-0001`, `1000-0002`, …), so they are unique per mode, reproducible and need no
 * random draws (which would shift every later id of a seeded run).
 */
export function receiptNumber(sequence: number): string {
  const high = 1000 + Math.floor(sequence / 10_000);
  return `${high}-${String(sequence % 10_000).padStart(4, "0")}`;
}

export function buildRefund(fields: {
  id: string;
  created: number;
  amount: number;
  charge: Charge;
  balanceTransaction: string;
  reason: string | null;
  metadata: Metadata;
}): Refund {
  return shape<Refund>("Refund", {
    id: fields.id,
    object: "refund",
    amount: fields.amount,
    balance_transaction: fields.balanceTransaction,
    charge: fields.charge.id,
    created: fields.created,
    currency: fields.charge.currency,
    customer: fields.charge.customer,
    customer_account: null,
    destination_details: REFUND_DESTINATION,
    metadata: fields.metadata,
    payment_intent: fields.charge.payment_intent,
    payment_method: fields.charge.payment_method,
    reason: fields.reason,
    receipt_number: null,
    source_transfer_reversal: null,
    status: "succeeded",
    transfer_reversal: null,
  });
}

export function buildDispute(fields: {
  id: string;
  created: number;
  charge: Charge;
  reason: string;
  inquiry: boolean;
  /** The withdrawal's id; inquiries move no money and have none. */
  balanceTransaction: string;
}): Dispute {
  const amount = fields.charge.amount - fields.charge.amount_refunded;
  return shape<Dispute>("Dispute", {
    id: fields.id,
    object: "dispute",
    amount,
    balance_transactions: fields.inquiry
      ? []
      : [
          disputeBalanceTransaction({
            id: fields.balanceTransaction,
            created: fields.created,
            dispute: fields.id,
            charge: fields.charge.id,
            amount,
            currency: fields.charge.currency,
            direction: "withdrawal",
          }),
        ],
    charge: fields.charge.id,
    created: fields.created,
    currency: fields.charge.currency,
    enhanced_eligibility_types: [],
    evidence: EMPTY_EVIDENCE,
    evidence_details: {
      due_by: evidenceDueBy(fields.created),
      enhanced_eligibility: {},
      has_evidence: false,
      past_due: false,
      submission_count: 0,
      submission_method: "not_submitted",
    },
    is_charge_refundable: fields.inquiry,
    livemode: fields.charge.livemode,
    metadata: {},
    payment_intent: fields.charge.payment_intent,
    payment_method_details: fields.inquiry ? DISPUTE_INQUIRY_CARD_DETAILS : DISPUTE_CARD_DETAILS,
    reason: fields.reason,
    status: fields.inquiry ? "warning_needs_response" : "needs_response",
  });
}

/** The fee Stripe (US) charges on a chargeback, in cents; the emulator does not return it. */
export const DISPUTE_FEE = 1_500;

/**
 * The money a dispute moves, as Stripe lists it on `dispute.balance_transactions`: the disputed
 * amount (plus the dispute fee) withdrawn when it opens, and the amount reinstated if it is won.
 */
export function disputeBalanceTransaction(fields: {
  id: string;
  created: number;
  dispute: string;
  charge: string;
  amount: number;
  currency: string;
  direction: "withdrawal" | "reinstatement";
}): BalanceTransaction {
  const withdrawal = fields.direction === "withdrawal";
  const amount = withdrawal ? -fields.amount : fields.amount;
  const fee = withdrawal ? DISPUTE_FEE : 0;
  return shape<BalanceTransaction>("BalanceTransaction", {
    id: fields.id,
    object: "balance_transaction",
    amount,
    available_on: fields.created,
    balance_type: "payments",
    created: fields.created,
    currency: fields.currency,
    description: `Chargeback ${withdrawal ? "withdrawal" : "reversal"} for ${fields.charge}`,
    exchange_rate: null,
    fee,
    fee_details: withdrawal
      ? [
          {
            amount: fee,
            application: null,
            currency: fields.currency,
            description: "Dispute fee",
            type: "stripe_fee",
          },
        ]
      : [],
    net: amount - fee,
    reporting_category: withdrawal ? "dispute" : "dispute_reversal",
    source: fields.dispute,
    status: "available",
    type: "adjustment",
  });
}

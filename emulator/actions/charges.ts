import type { EmulatorCore, EventSpec } from "../core";
import type { Metadata } from "../objects/common";
import {
  buildCharge,
  buildPaymentIntent,
  receiptNumber,
  type Charge,
  type PaymentIntent,
} from "../objects/payment";
import type { Ledger } from "../state/ledger";

export interface PaymentInput {
  amount: number;
  currency: string;
  customer: string | null;
  email: string | null;
  name?: string | null;
  metadata?: Metadata;
  description?: string | null;
  /** Ties the PaymentIntent and Charge to a purchase for targeted webhook drops. */
  purchase?: string;
}

export function newPaymentIntent(
  core: EmulatorCore,
  ledger: Ledger,
  input: PaymentInput,
  status: PaymentIntent["status"],
): PaymentIntent {
  const pi = ledger.paymentIntents.insert(
    buildPaymentIntent({
      id: core.ids.next("pi"),
      created: core.now(),
      livemode: ledger.livemode,
      amount: input.amount,
      currency: input.currency,
      customer: input.customer,
      paymentMethod: core.ids.next("pm"),
      clientSecretSuffix: core.ids.random(25),
      status,
      metadata: input.metadata,
      description: input.description,
      receiptEmail: null,
    }),
  );
  if (input.purchase) ledger.purchaseOf.set(pi.id, input.purchase);
  return pi;
}

/** The PaymentIntent as it looked when it was created, for `payment_intent.created`. */
export function createdView(pi: PaymentIntent): Record<string, unknown> {
  return {
    ...pi,
    status: "requires_payment_method",
    amount_received: 0,
    latest_charge: null,
    processing: null,
  };
}

/** Captures the PaymentIntent's amount with a new succeeded Charge. */
export function captureCharge(
  core: EmulatorCore,
  ledger: Ledger,
  pi: PaymentIntent,
  input: Pick<PaymentInput, "email" | "name" | "purchase">,
): Charge {
  const charge = ledger.charges.insert(
    buildCharge({
      id: core.ids.next("ch"),
      created: core.now(),
      livemode: ledger.livemode,
      amount: pi.amount,
      currency: pi.currency,
      customer: pi.customer,
      paymentIntent: pi.id,
      paymentMethod: pi.payment_method ?? core.ids.next("pm"),
      balanceTransaction: core.ids.next("txn"),
      billingEmail: input.email,
      billingName: input.name ?? null,
      description: pi.description,
      metadata: pi.metadata,
      receiptNumber: receiptNumber(ledger.charges.size + 1),
    }),
  );
  ledger.paymentIntents.update(pi, (p) => {
    p.status = "succeeded";
    p.amount_received = p.amount;
    p.latest_charge = charge.id;
    p.processing = null;
    p.last_payment_error = null;
  });
  if (input.purchase) ledger.purchaseOf.set(charge.id, input.purchase);
  return charge;
}

/** A card payment that succeeds at once: PaymentIntent + Charge and their events. */
export function chargeCard(
  core: EmulatorCore,
  ledger: Ledger,
  input: PaymentInput,
): { pi: PaymentIntent; charge: Charge; events: EventSpec[] } {
  const pi = newPaymentIntent(core, ledger, input, "succeeded");
  const created = createdView(pi);
  const charge = captureCharge(core, ledger, pi, input);
  return {
    pi,
    charge,
    events: [
      { type: "payment_intent.created", object: pi, asOf: created },
      { type: "payment_intent.succeeded", object: pi },
      { type: "charge.succeeded", object: charge },
    ],
  };
}

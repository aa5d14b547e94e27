import { invalidRequest } from "../api/stripe-error";
import type { EmulatorCore } from "../core";
import { formatMoney, type Metadata } from "../objects/common";
import type { EventRequest } from "../objects/events";
import {
  buildDispute,
  buildRefund,
  disputeBalanceTransaction,
  type Charge,
  type Dispute,
  type Refund,
} from "../objects/payment";
import type { Ledger } from "../state/ledger";

const OPEN_DISPUTE: ReadonlySet<Dispute["status"]> = new Set([
  "needs_response",
  "under_review",
  "warning_needs_response",
  "warning_under_review",
]);

export function createRefund(
  core: EmulatorCore,
  ledger: Ledger,
  charge: Charge,
  input: { amount?: number; reason?: string | null; metadata?: Metadata },
  request: EventRequest | null,
): Refund {
  if (charge.status !== "succeeded") {
    throw invalidRequest(
      `Charge ${charge.id} has not succeeded; only succeeded charges can be refunded.`,
      "charge",
    );
  }
  if (charge.refunded) {
    throw invalidRequest(
      `Charge ${charge.id} has already been refunded.`,
      "charge",
      "charge_already_refunded",
    );
  }
  const chargedBack = ledger.disputes
    .matching("charge", charge.id)
    .some((d) => d.status === "lost" || OPEN_DISPUTE.has(d.status));
  if (chargedBack) {
    throw invalidRequest(
      `Charge ${charge.id} has been charged back; cannot issue a refund.`,
      "charge",
      "charge_disputed",
    );
  }
  const remaining = charge.amount - charge.amount_refunded;
  const amount = input.amount ?? remaining;
  if (amount > remaining) {
    throw invalidRequest(
      `Refund amount (${formatMoney(amount, charge.currency)}) is greater than unrefunded amount on charge (${formatMoney(remaining, charge.currency)})`,
      "amount",
      "amount_too_large",
    );
  }
  const refund = ledger.refunds.insert(
    buildRefund({
      id: core.ids.next("re"),
      created: core.now(),
      amount,
      charge,
      balanceTransaction: core.ids.next("txn"),
      reason: input.reason ?? null,
      metadata: input.metadata ?? {},
    }),
  );
  ledger.purchaseOf.set(refund.id, ledger.purchaseRoot(charge.id));
  const previous = { amount_refunded: charge.amount_refunded, refunded: charge.refunded };
  ledger.charges.update(charge, (c) => {
    c.amount_refunded += amount;
    c.refunded = c.amount_refunded === c.amount;
  });
  core.emit(ledger, request, [
    { type: "charge.refunded", object: charge, previousAttributes: previous },
    { type: "refund.created", object: refund },
  ]);
  return refund;
}

export function openDispute(
  core: EmulatorCore,
  ledger: Ledger,
  charge: Charge,
  input: { reason?: string; inquiry?: boolean },
  request: EventRequest | null,
): Dispute {
  if (charge.status !== "succeeded") {
    throw invalidRequest(`Charge ${charge.id} has not succeeded and cannot be disputed.`);
  }
  if (charge.disputed) throw invalidRequest(`Charge ${charge.id} is already disputed.`);
  const dispute = ledger.disputes.insert(
    buildDispute({
      id: core.ids.next("dp"),
      created: core.now(),
      charge,
      reason: input.reason ?? "fraudulent",
      inquiry: input.inquiry ?? false,
      balanceTransaction: core.ids.next("txn"),
    }),
  );
  ledger.purchaseOf.set(dispute.id, ledger.purchaseRoot(charge.id));
  ledger.charges.update(charge, (c) => {
    c.disputed = true;
  });
  core.emit(ledger, request, [{ type: "charge.dispute.created", object: dispute }]);
  return dispute;
}

/** `won`/`lost` come from the card network; `accepted` is the merchant closing it via the API. */
export function closeDispute(
  core: EmulatorCore,
  ledger: Ledger,
  dispute: Dispute,
  outcome: "won" | "lost" | "accepted",
  request: EventRequest | null,
): Dispute {
  if (!OPEN_DISPUTE.has(dispute.status)) {
    throw invalidRequest(`This dispute is already closed (status ${dispute.status}).`);
  }
  const inquiry = dispute.status.startsWith("warning_");
  const status: Dispute["status"] = inquiry ? "warning_closed" : outcome === "won" ? "won" : "lost";
  const previous = { status: dispute.status };
  // A won chargeback gives the money back: a second balance transaction, the reinstatement.
  const reinstatement =
    status === "won"
      ? disputeBalanceTransaction({
          id: core.ids.next("txn"),
          created: core.now(),
          dispute: dispute.id,
          charge: dispute.charge,
          amount: dispute.amount,
          currency: dispute.currency,
          direction: "reinstatement",
        })
      : null;
  ledger.disputes.update(dispute, (d) => {
    d.status = status;
    if (reinstatement) d.balance_transactions = [...d.balance_transactions, reinstatement];
  });
  core.emit(ledger, request, [
    { type: "charge.dispute.closed", object: dispute, previousAttributes: previous },
  ]);
  return dispute;
}

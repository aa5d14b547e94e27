import { describe, expect, it } from "vitest";
import type { LedgerEntry, Purchase } from "~/generated/prisma/client";
import {
  isCredited,
  needsAttention,
  purchaseOf,
  summary,
  userOf,
} from "~/services/fulfillment-result.server";
import type { FulfillOrDryRunResult, SessionFacts } from "~/services/fulfillment.server";

const session = { id: "cs_test_1" } as SessionFacts;
const purchase = { id: "pur_1", userId: "u_1" } as Purchase;

const results: Record<FulfillOrDryRunResult["outcome"], FulfillOrDryRunResult> = {
  credited: {
    outcome: "credited",
    purchase,
    entry: {} as LedgerEntry,
    resolvedBy: "email",
    userId: "u_1",
    credits: 50,
    session,
  },
  would_credit: {
    outcome: "would_credit",
    resolvedBy: "email",
    userId: "u_1",
    credits: 50,
    session,
  },
  already_credited: { outcome: "already_credited", purchase, session },
  not_paid: { outcome: "not_paid", paymentStatus: "unpaid", session },
  unmatched_user: {
    outcome: "unmatched_user",
    attentionItemId: null,
    detail: "No user has x@y.",
    session,
  },
  unknown_price: {
    outcome: "unknown_price",
    priceIds: ["price_1"],
    attentionItemId: null,
    detail: "price_1 is no pack.",
    session,
  },
  amount_mismatch: {
    outcome: "amount_mismatch",
    attentionItemId: null,
    detail: "Paid 5, packs cost 10.",
    session,
  },
  no_credits: { outcome: "no_credits", detail: "A subscription.", session },
};

describe("reading a fulfillment result", () => {
  it("counts only real credits as credited, never a dry run's", () => {
    const credited = Object.values(results)
      .filter(isCredited)
      .map((r) => r.outcome);
    expect(credited).toEqual(["credited", "already_credited"]);
    expect(purchaseOf(results.credited)).toBe(purchase);
    expect(purchaseOf(results.already_credited)).toBe(purchase);
    expect(purchaseOf(results.would_credit)).toBeNull();
    expect(purchaseOf(results.unmatched_user)).toBeNull();
  });

  it("needs a person for exactly the three attention outcomes", () => {
    const attention = Object.values(results)
      .filter(needsAttention)
      .map((r) => r.outcome);
    expect(attention).toEqual(["unmatched_user", "unknown_price", "amount_mismatch"]);
  });

  it("names the user when one is known", () => {
    expect(userOf(results.credited)).toBe("u_1");
    expect(userOf(results.would_credit)).toBe("u_1");
    expect(userOf(results.already_credited)).toBe("u_1");
    expect(userOf(results.not_paid)).toBeNull();
  });

  it("summarises each outcome in one line (the event row's detail)", () => {
    expect(summary(results.credited)).toBe("credited 50 credits (user resolved by email)");
    expect(summary(results.would_credit)).toBe("would credit 50 credits (user resolved by email)");
    expect(summary(results.already_credited)).toBe("already credited");
    expect(summary(results.not_paid)).toBe("payment unpaid: waiting for the async payment result");
    expect(summary(results.unknown_price)).toBe("unknown_price: price_1 is no pack.");
    expect(summary(results.no_credits)).toBe("A subscription.");
  });
});

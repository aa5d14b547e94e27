/**
 * Counterexamples the money proof (money.proof.test.ts) found, replayed here step by step so the
 * fix stays proven whatever the generator happens to try next.
 *
 * 1. A dispute acted on before an earlier partial refund (the refund's webhook lost, or its
 *    processing waiting for a retry after a 429): the hold was computed as if nothing had been
 *    refunded and rounded down, then the refund clawed its own share rounded down, and the user
 *    kept a credit of a purchase whose money had all gone back. Shrunk by the proof to:
 *      Buy(user0, 1 credit for 50), Refund(35 of 50), OpenDispute — with the refund applied last.
 *    Fixed in app/services/disputes.server.ts: refunds Stripe already has are applied before the
 *    hold is computed.
 */
import { afterAll, describe, expect, it } from "vitest";
import { getDb } from "../../app/services/infra/db.server";
import { settleWebhookQueue } from "../../app/services/webhooks/queue.server";
import {
  closeSpareDatabase,
  fastForwardQueue,
  openProofWorld,
  STARTING_GRANT,
  type ProofWorld,
} from "../support/proof-harness";
import { reconcile } from "../support/reconcile-kit";

afterAll(() => closeSpareDatabase());

async function buy(w: ProofWorld) {
  const session = await w.stripe.checkout.sessions.create({
    mode: "payment",
    line_items: [{ price: w.packs[0].priceId, quantity: 1 }],
    client_reference_id: w.users[0].id,
    success_url: "https://app.example/success",
    cancel_url: "https://app.example/cancel",
  });
  await w.emu.control.paySession(session.id, { card: "success" });
  await w.settle();
  return session.id;
}

async function creditsKept(w: ProofWorld) {
  await w.settle();
  await fastForwardQueue();
  await settleWebhookQueue();
  const run = await reconcile();
  expect(run.status).toBe("completed");
  const user = await getDb().user.findUniqueOrThrow({ where: { id: w.users[0].id } });
  const kinds = await getDb().ledgerEntry.findMany({
    where: { userId: w.users[0].id, kind: { not: "grant" } },
    orderBy: { seq: "asc" },
    select: { kind: true, delta: true },
  });
  return { kept: user.balance - STARTING_GRANT, kinds };
}

describe("a dispute acted on before an earlier partial refund", () => {
  it.each([
    { credits: 1, unitAmount: 50, refund: 35, close: null },
    { credits: 10, unitAmount: 3, refund: 1, close: "lost" as const },
    { credits: 10, unitAmount: 3, refund: 1, close: "won" as const },
  ])(
    "$credits credits for $unitAmount, refund $refund, dispute $close: the user keeps what was paid for",
    async ({ credits, unitAmount, refund, close }) => {
      const w = await openProofWorld({
        seed: 5,
        faults: {},
        packs: [{ credits, unitAmount }],
        users: 1,
      });
      try {
        const sessionId = await buy(w);
        // The refund's webhook is lost: only the reconciliation (or the dispute) can apply it.
        w.lostTypes.add("charge.refunded");
        await w.emu.control.refund(sessionId, { amount: refund });
        const dispute = await w.emu.control.openDispute(sessionId);
        if (close) await w.emu.control.closeDispute(dispute.id, close);
        const { kept, kinds } = await creditsKept(w);
        // Open or lost: all the money went back, so all the credits are gone. Won: only the
        // refund's share (rounded down, docs/credits.md) is gone.
        const want = close === "won" ? credits - Math.floor((credits * refund) / unitAmount) : 0;
        expect(kept, JSON.stringify(kinds)).toBe(want);
        // The refund was applied before the hold, as if its webhook had arrived in time.
        expect(kinds.map((k) => k.kind).slice(0, 3)).toEqual(
          Math.floor((credits * refund) / unitAmount) > 0
            ? ["purchase", "refund_clawback", "dispute_hold"]
            : ["purchase", "dispute_hold", ...(close === "won" ? ["dispute_release"] : [])],
        );
      } finally {
        await w.close();
      }
    },
    120_000,
  );
});

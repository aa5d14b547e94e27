import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import {
  action as approvalsAction,
  loader as approvalsLoader,
} from "../../app/routes/_app.approvals/route";
import { loader as previewLoader } from "../../app/routes/_app.users.$userId.session-preview";
import {
  action as userAction,
  loader as userLoader,
} from "../../app/routes/_app.users.$userId/route";
import { issueFormNonce, signFormNonce } from "../../app/services/admin/adjustments.server";
import type {
  CreditSessionView,
  SessionPreview,
} from "../../app/services/admin/user-actions.server";
import { fulfillCheckoutSession } from "../../app/services/fulfillment.server";
import { getDb } from "../../app/services/infra/db.server";
import { postLedgerEntry } from "../../app/services/ledger.server";
import { callAction, callLoader } from "../support/admin";
import {
  balanceOf,
  createPrice,
  createUser,
  paidSession,
  useMoneyPath,
} from "../support/money-path";
import { createStaffWithSession } from "../support/staff";
import { useTestDatabase } from "../support/test-database";

/**
 * Issue 20's corrections, through the routes as the dashboard posts them, against the emulator:
 * reversal (linked, once), the four-eyes sum over a rolling window, withdraw, server-signed nonces,
 * crediting a session to a user it does not name, and finding the session from pi_/ch_.
 */

useTestDatabase();
const mp = useMoneyPath({ ADJUSTMENT_APPROVAL_THRESHOLD: "1000" });

type StaffSession = Awaited<ReturnType<typeof createStaffWithSession>>;
let alice: StaffSession;
let bob: StaffSession;

beforeAll(async () => {
  alice = await createStaffWithSession("support");
  bob = await createStaffWithSession("support");
});

interface Reply {
  intent: string;
  fieldErrors: Record<string, string>;
  values: Record<string, string>;
  outcome?: CreditSessionView;
}

function post(userId: string, form: Record<string, string>, who: StaffSession = alice) {
  return callAction<Reply>(userAction, `/users/${userId}`, form, {
    cookie: who.cookie,
    params: { userId },
  });
}

function adjust(userId: string, amount: number, who: StaffSession = alice) {
  return post(
    userId,
    {
      intent: "adjust",
      amount: String(amount),
      reason: "Goodwill after a support call",
      nonce: issueFormNonce(who.staff.id, userId),
    },
    who,
  );
}

const entriesOf = (userId: string) =>
  getDb().ledgerEntry.findMany({ where: { userId }, orderBy: { seq: "asc" } });

describe("reverse a manual ledger entry", () => {
  it("posts a linked reversal of the opposite sign, shows 'reversed by #n', and refuses a second reversal", async () => {
    const user = await createUser();
    await adjust(user.id, 500);
    const [credit] = await entriesOf(user.id);
    expect(credit).toMatchObject({ kind: "manual_credit", delta: 500, seq: 1 });

    const noReason = await post(user.id, { intent: "reverse", entryId: String(credit.id) });
    expect(noReason.status).toBe(400);
    expect(noReason.data?.fieldErrors.reason).toBe("Write a reason.");

    const first = await post(user.id, {
      intent: "reverse",
      entryId: String(credit.id),
      reason: "Credited the wrong account",
    });
    expect(first.status).toBe(302);
    const entries = await entriesOf(user.id);
    expect(entries).toHaveLength(2);
    expect(entries[1]).toMatchObject({
      kind: "reversal",
      delta: -500,
      balanceAfter: 0,
      reversesId: credit.id,
      idempotencyKey: `reversal:${credit.id}`,
      staffId: alice.staff.id,
      reason: "Credited the wrong account",
    });
    expect(await balanceOf(user.id)).toBe(0);
    expect(
      await getDb().auditLog.count({
        where: { action: "credits.reverse", targetId: user.id, actorId: alice.staff.id },
      }),
    ).toBe(1);

    const second = await post(
      user.id,
      { intent: "reverse", entryId: String(credit.id), reason: "Trying a second time" },
      bob,
    );
    expect(second.status).toBe(409);
    expect(second.data?.fieldErrors.entryId).toBe(
      "Entry #1 was already reversed by #2; nothing more was changed.",
    );
    expect(await entriesOf(user.id)).toHaveLength(2);

    const page = await callLoader<{
      detail: {
        ledger: {
          entries: {
            seq: number;
            reversedBySeq: number | null;
            reversesSeq: number | null;
            reversible: boolean;
          }[];
        };
      };
    }>(userLoader, `/users/${user.id}`, { cookie: alice.cookie, params: { userId: user.id } });
    const bySeq = new Map(page.data!.detail.ledger.entries.map((e) => [e.seq, e]));
    expect(bySeq.get(1)).toMatchObject({ reversedBySeq: 2, reversible: false });
    expect(bySeq.get(2)).toMatchObject({ reversesSeq: 1, reversible: false });
  });

  it("reverses a manual debit (a credit back) and refuses purchases and other users' entries", async () => {
    const user = await createUser();
    await adjust(user.id, 300);
    await adjust(user.id, -100);
    const debit = (await entriesOf(user.id))[1];
    const ok = await post(user.id, {
      intent: "reverse",
      entryId: String(debit.id),
      reason: "Debited by mistake",
    });
    expect(ok.status).toBe(302);
    expect(await balanceOf(user.id)).toBe(300);

    const price = await createPrice(mp.ctx.stripe, { credits: 40 });
    const session = await paidSession(mp.ctx, { priceId: price.id, clientReferenceId: user.id });
    await fulfillCheckoutSession(session.id, "webhook");
    const purchaseEntry = (await entriesOf(user.id)).find((e) => e.kind === "purchase")!;
    const refused = await post(user.id, {
      intent: "reverse",
      entryId: String(purchaseEntry.id),
      reason: "Customer asked for it",
    });
    expect(refused.status).toBe(400);
    expect(refused.data?.fieldErrors.entryId).toBe(
      `Entry #${purchaseEntry.seq} is a purchase: refund it in Stripe, and the refund takes the credits back.`,
    );

    const other = await createUser();
    const foreign = await post(other.id, {
      intent: "reverse",
      entryId: String(debit.id),
      reason: "Wrong page entirely",
    });
    expect(foreign.status).toBe(400);
    expect(foreign.data?.fieldErrors.entryId).toBe("That ledger entry is not one of this user's.");
  });
});

describe("four eyes on the sum of one person's manual credits to one user (rolling 24 h)", () => {
  it("five credits of exactly the threshold: the first posts, the other four wait for approval", async () => {
    const user = await createUser();
    const results = [];
    for (let i = 0; i < 5; i += 1) results.push(await adjust(user.id, 1000));
    expect(results.map((r) => r.status)).toEqual([302, 302, 302, 302, 302]);
    expect(await balanceOf(user.id)).toBe(1000);
    const requests = await getDb().adjustmentRequest.findMany({
      where: { userId: user.id },
      orderBy: { createdAt: "asc" },
    });
    expect(requests.map((r) => [r.amount, r.status, r.requestedById])).toEqual(
      Array.from({ length: 4 }, () => [1000, "pending", alice.staff.id]),
    );
    const audit = await getDb().auditLog.findFirstOrThrow({
      where: { action: "adjustment.request", targetId: user.id },
      orderBy: { createdAt: "asc" },
    });
    expect(audit.after).toMatchObject({ amount: 1000, windowTotal: 1000, threshold: 1000 });

    // Small steps add up too: 600 then 500 by the same person is above 1,000.
    const other = await createUser();
    await adjust(other.id, 600);
    await adjust(other.id, 500);
    expect(await balanceOf(other.id)).toBe(600);
    expect(await getDb().adjustmentRequest.count({ where: { userId: other.id } })).toBe(1);

    // The sum is per staff member: bob's own first credit is judged on its own.
    await adjust(other.id, 400, bob);
    expect(await balanceOf(other.id)).toBe(1000);
  });

  it("an approved request does not count again; entries older than the window do not count", async () => {
    const user = await createUser();
    await adjust(user.id, 900);
    await adjust(user.id, 900); // 1,800 in 24 h → request
    const request = await getDb().adjustmentRequest.findFirstOrThrow({
      where: { userId: user.id, status: "pending" },
    });
    const approved = await callAction<Reply>(
      approvalsAction,
      "/approvals",
      { intent: "approve", requestId: request.id, note: "Checked the ticket" },
      { cookie: bob.cookie },
    );
    expect(approved.status).toBe(302);
    expect(await balanceOf(user.id)).toBe(1800);
    // Window total is still 900 (the approved entry had its second pair of eyes): 100 more passes.
    await adjust(user.id, 100);
    expect(await balanceOf(user.id)).toBe(1900);

    // A credit 25 hours old is outside the window: 1,000 more today is exactly the threshold.
    const later = await createUser();
    await postLedgerEntry({
      userId: later.id,
      delta: 1000,
      kind: "manual_credit",
      idempotencyKey: `old:${later.id}`,
      staffId: alice.staff.id,
      reason: "Yesterday's goodwill",
      at: new Date(Date.now() - 25 * 3_600_000),
    });
    await adjust(later.id, 1000);
    expect(await balanceOf(later.id)).toBe(2000);
    expect(await getDb().adjustmentRequest.count({ where: { userId: later.id } })).toBe(0);
  });

  it("refuses a nonce the server did not sign, or signed for another user", async () => {
    const user = await createUser();
    const other = await createUser();
    const cases = [
      randomUUID(),
      `${randomUUID()}.${"A".repeat(43)}`,
      issueFormNonce(alice.staff.id, other.id),
      issueFormNonce(bob.staff.id, user.id),
    ];
    for (const nonce of cases) {
      const result = await post(user.id, {
        intent: "adjust",
        amount: "5",
        reason: "Goodwill after a support call",
        nonce,
      });
      expect(result.status).toBe(400);
      expect(result.data?.fieldErrors.nonce).toBe(
        "This form has expired. Reload the page and try again.",
      );
    }
    expect(await entriesOf(user.id)).toHaveLength(0);
    // The request id is the nonce's id, chosen by the server.
    const id = randomUUID();
    await post(user.id, {
      intent: "adjust",
      amount: "5000",
      reason: "Enterprise migration credit",
      nonce: signFormNonce(id, alice.staff.id, user.id),
    });
    expect((await getDb().adjustmentRequest.findUniqueOrThrow({ where: { id } })).amount).toBe(
      5000,
    );
  });
});

describe("withdraw one's own pending request", () => {
  it("only the requester withdraws; it is audited, and a withdrawn request cannot be approved", async () => {
    const user = await createUser();
    await adjust(user.id, 5000);
    const request = await getDb().adjustmentRequest.findFirstOrThrow({
      where: { userId: user.id },
    });

    const byBob = await post(user.id, { intent: "withdraw", requestId: request.id }, bob);
    expect(byBob.status).toBe(403);
    expect(byBob.data?.fieldErrors.form).toBe(
      "Only the person who made a request can withdraw it; approve or reject it instead.",
    );

    const mine = await post(user.id, { intent: "withdraw", requestId: request.id });
    expect(mine.status).toBe(302);
    const after = await getDb().adjustmentRequest.findUniqueOrThrow({ where: { id: request.id } });
    expect(after).toMatchObject({ status: "withdrawn", decidedById: alice.staff.id });
    const audit = await getDb().auditLog.findFirstOrThrow({
      where: { action: "adjustment.withdraw", targetId: request.id },
    });
    expect(audit).toMatchObject({ actorId: alice.staff.id });

    const again = await post(user.id, { intent: "withdraw", requestId: request.id });
    expect(again.status).toBe(409);
    expect(again.data?.fieldErrors.form).toBe("This request was already withdrawn.");
    const approve = await callAction<Reply>(
      approvalsAction,
      "/approvals",
      { intent: "approve", requestId: request.id, note: "too late" },
      { cookie: bob.cookie },
    );
    expect(approve.status).toBe(409);
    expect(await balanceOf(user.id)).toBe(0);

    // The approvals page offers the requester "Withdraw" too.
    await adjust(user.id, 4000);
    const second = await getDb().adjustmentRequest.findFirstOrThrow({
      where: { userId: user.id, status: "pending" },
    });
    const viaApprovals = await callAction<Reply>(
      approvalsAction,
      "/approvals",
      { intent: "withdraw", requestId: second.id },
      { cookie: alice.cookie },
    );
    expect(viaApprovals.status).toBe(302);
    expect(
      (await getDb().adjustmentRequest.findUniqueOrThrow({ where: { id: second.id } })).status,
    ).toBe("withdrawn");
  });
});

describe("double-credit guard", () => {
  it("the approver sees every credit the user received since the request", async () => {
    const user = await createUser();
    await adjust(user.id, 1500);
    const request = await getDb().adjustmentRequest.findFirstOrThrow({
      where: { userId: user.id },
    });
    const price = await createPrice(mp.ctx.stripe, { credits: 1500 });
    const session = await paidSession(mp.ctx, { priceId: price.id, clientReferenceId: user.id });
    await fulfillCheckoutSession(session.id, "reconciliation");
    const page = await callLoader<{
      pending: { id: string; creditsSince: { kind: string; delta: number; seq: number }[] }[];
    }>(approvalsLoader, "/approvals", { cookie: bob.cookie });
    const mine = page.data!.pending.find((r) => r.id === request.id)!;
    expect(mine.creditsSince).toEqual([expect.objectContaining({ kind: "purchase", delta: 1500 })]);
  });

  it("the user page hands the adjust dialog the purchase credits of the last 7 days", async () => {
    const user = await createUser();
    const price = await createPrice(mp.ctx.stripe, { credits: 1500 });
    const session = await paidSession(mp.ctx, { priceId: price.id, clientReferenceId: user.id });
    await fulfillCheckoutSession(session.id, "webhook");
    const page = await callLoader<{
      detail: { recentCredits: { kind: string; delta: number }[] };
    }>(userLoader, `/users/${user.id}`, { cookie: alice.cookie, params: { userId: user.id } });
    expect(page.data!.detail.recentCredits).toEqual([
      expect.objectContaining({ kind: "purchase", delta: 1500 }),
    ]);
  });
});

describe("credit a session from cs_, pi_ or ch_, with a preview; another user's session needs approval", () => {
  async function preview(userId: string, ref: string) {
    const result = await callLoader(
      previewLoader,
      `/users/${userId}/session-preview?ref=${encodeURIComponent(ref)}`,
      { cookie: alice.cookie, params: { userId } },
    );
    return {
      status: result.status,
      data: (await result.response!.json()) as {
        ok: boolean;
        preview?: SessionPreview;
        error?: string;
      },
    };
  }

  it("finds the session from its payment intent and its charge, previews, and credits once", async () => {
    const user = await createUser();
    const price = await createPrice(mp.ctx.stripe, { credits: 1200, unitAmount: 1499 });
    const session = await paidSession(mp.ctx, { priceId: price.id, clientReferenceId: user.id });
    const paid = await mp.ctx.stripe.checkout.sessions.retrieve(session.id);
    const pi = paid.payment_intent as string;
    const charges = await mp.ctx.stripe.charges.list({ payment_intent: pi });
    const ch = charges.data[0].id;

    const byPi = await preview(user.id, pi);
    expect(byPi.data?.preview).toMatchObject({
      sessionId: session.id,
      outcome: "would_credit",
      namedUserId: user.id,
      namesAnotherUser: false,
      credits: 1200,
      amount: 1499,
      currency: "usd",
      paymentIntentId: pi,
    });
    expect(await balanceOf(user.id)).toBe(0);

    const credited = await post(user.id, { intent: "credit-session", sessionId: ch });
    expect(credited.data?.outcome).toMatchObject({
      outcome: "credited",
      sessionId: session.id,
      credits: 1200,
    });
    const again = await post(user.id, { intent: "credit-session", sessionId: pi });
    expect(again.data?.outcome).toMatchObject({ outcome: "already_credited" });
    expect(await balanceOf(user.id)).toBe(1200);
    const byCh = await preview(user.id, ch);
    expect(byCh.data?.preview).toMatchObject({ outcome: "already_credited" });

    const unknown = await preview(user.id, "pi_test_nope");
    expect(unknown.status).toBe(400);
    expect(unknown.data?.error).toBe(
      "pi_test_nope was not found in creditdesk or Stripe. Check the id (test and live ids differ).",
    );
    const malformed = await preview(user.id, "receipt 1000-0001");
    expect(malformed.status).toBe(400);
  });

  it("assigning a session that names another user files an approval request; a second person's approval credits it", async () => {
    const user = await createUser();
    const named = await createUser();
    const price = await createPrice(mp.ctx.stripe, { credits: 800 });
    const session = await paidSession(mp.ctx, { priceId: price.id, clientReferenceId: named.id });

    const p = await preview(user.id, session.id);
    expect(p.data?.preview).toMatchObject({
      outcome: "would_credit",
      namedUserId: named.id,
      namesAnotherUser: true,
      credits: 800,
    });

    const noReason = await post(user.id, {
      intent: "credit-session",
      sessionId: session.id,
      assign: "yes",
    });
    expect(noReason.status).toBe(400);
    expect(noReason.data?.fieldErrors.reason).toMatch(/names another user/);

    const requested = await post(user.id, {
      intent: "credit-session",
      sessionId: session.id,
      assign: "yes",
      reason: "Customer paid from the family account",
    });
    expect(requested.data?.outcome).toMatchObject({
      outcome: "approval_requested",
      credits: 800,
      namedUserId: named.id,
      created: true,
    });
    expect(await getDb().purchase.count({ where: { checkoutSessionId: session.id } })).toBe(0);
    expect(await balanceOf(user.id)).toBe(0);
    const request = await getDb().adjustmentRequest.findFirstOrThrow({
      where: { userId: user.id, checkoutSessionId: session.id },
    });

    const own = await callAction<Reply>(
      approvalsAction,
      "/approvals",
      { intent: "approve", requestId: request.id, note: "self" },
      { cookie: alice.cookie },
    );
    expect(own.status).toBe(403);
    expect(await getDb().purchase.count({ where: { checkoutSessionId: session.id } })).toBe(0);

    const ok = await callAction<Reply>(
      approvalsAction,
      "/approvals",
      { intent: "approve", requestId: request.id, note: "Receipt matches the ticket" },
      { cookie: bob.cookie },
    );
    expect(ok.status).toBe(302);
    const purchase = await getDb().purchase.findUniqueOrThrow({
      where: { checkoutSessionId: session.id },
    });
    expect(purchase).toMatchObject({ userId: user.id, userResolvedBy: "manual", credits: 800 });
    expect(await balanceOf(user.id)).toBe(800);
    expect(await balanceOf(named.id)).toBe(0);
    const closed = await getDb().adjustmentRequest.findUniqueOrThrow({ where: { id: request.id } });
    expect(closed.status).toBe("approved");
    expect(closed.ledgerEntryId).not.toBeNull();
  });

  it("a session that names nobody is assigned at once, and crediting without assign goes to the user it names", async () => {
    const user = await createUser();
    const price = await createPrice(mp.ctx.stripe, { credits: 75 });
    const nobody = await paidSession(mp.ctx, { priceId: price.id, email: "stranger@example.org" });
    const p = await preview(user.id, nobody.id);
    expect(p.data?.preview).toMatchObject({ outcome: "unmatched_user", credits: 75 });
    const assigned = await post(user.id, {
      intent: "credit-session",
      sessionId: nobody.id,
      assign: "yes",
    });
    expect(assigned.data?.outcome).toMatchObject({ outcome: "credited", userId: user.id });

    const named = await createUser();
    const theirs = await paidSession(mp.ctx, { priceId: price.id, clientReferenceId: named.id });
    const plain = await post(user.id, { intent: "credit-session", sessionId: theirs.id });
    expect(plain.data?.outcome).toMatchObject({
      outcome: "credited",
      userId: named.id,
      otherUser: true,
    });
    expect(await balanceOf(named.id)).toBe(75);
  });
});

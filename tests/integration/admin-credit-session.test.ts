import { beforeAll, describe, expect, it } from "vitest";
import { action as userAction } from "../../app/routes/_app.users.$userId/route";
import type { CreditSessionView } from "../../app/services/admin/user-actions.server";
import { getDb } from "../../app/services/infra/db.server";
import { callAction } from "../support/admin";
import {
  createPrice,
  createSession,
  createUser,
  paidSession,
  useMoneyPath,
} from "../support/money-path";
import { createStaffWithSession } from "../support/staff";
import { useTestDatabase } from "../support/test-database";

useTestDatabase();
const mp = useMoneyPath();

let cookie = "";
let staffId = "";
beforeAll(async () => {
  const s = await createStaffWithSession("support");
  cookie = s.cookie;
  staffId = s.staff.id;
});

interface Result {
  fieldErrors: Record<string, string>;
  outcome?: CreditSessionView;
}

function credit(userId: string, sessionId: string, extra: Record<string, string> = {}) {
  return callAction<Result>(
    userAction,
    `/users/${userId}`,
    { intent: "credit-session", sessionId, ...extra },
    { cookie, params: { userId } },
  );
}

describe("credit a Checkout Session by id from the user page", () => {
  it("credits a paid session once through the shared fulfillment, then reports it as already credited", async () => {
    const user = await createUser();
    const price = await createPrice(mp.ctx.stripe, { credits: 300 });
    const session = await paidSession(mp.ctx, { priceId: price.id, clientReferenceId: user.id });
    const first = await credit(user.id, session.id);
    expect(first.status).toBe(200);
    expect(first.data?.outcome).toMatchObject({
      outcome: "credited",
      credits: 300,
      userId: user.id,
      otherUser: false,
    });
    const purchase = await getDb().purchase.findUniqueOrThrow({
      where: { checkoutSessionId: session.id },
    });
    expect(purchase.creditedVia).toBe("manual");
    expect((await getDb().user.findUniqueOrThrow({ where: { id: user.id } })).balance).toBe(300);
    expect(
      await getDb().auditLog.count({
        where: { action: "checkout.manual_fulfill", targetId: user.id, actorId: staffId },
      }),
    ).toBe(1);

    const second = await credit(user.id, session.id);
    expect(second.data?.outcome).toMatchObject({
      outcome: "already_credited",
      purchaseId: purchase.id,
    });
    expect((await getDb().user.findUniqueOrThrow({ where: { id: user.id } })).balance).toBe(300);
  });

  it("says when the session belongs to another user", async () => {
    const owner = await createUser();
    const other = await createUser();
    const price = await createPrice(mp.ctx.stripe, { credits: 50 });
    const session = await paidSession(mp.ctx, { priceId: price.id, clientReferenceId: owner.id });
    const result = await credit(other.id, session.id);
    expect(result.data?.outcome).toMatchObject({
      outcome: "credited",
      userId: owner.id,
      otherUser: true,
    });
  });

  it("reports an unpaid session without crediting", async () => {
    const user = await createUser();
    const price = await createPrice(mp.ctx.stripe, { credits: 10 });
    const session = await createSession(mp.ctx.stripe, {
      priceId: price.id,
      clientReferenceId: user.id,
    });
    const result = await credit(user.id, session.id);
    expect(result.data?.outcome).toMatchObject({ outcome: "not_paid", paymentStatus: "unpaid" });
    expect(await getDb().purchase.count({ where: { checkoutSessionId: session.id } })).toBe(0);
  });

  it("offers an unmatched session to this user, and credits it when assigned", async () => {
    const user = await createUser();
    const price = await createPrice(mp.ctx.stripe, { credits: 75 });
    const session = await paidSession(mp.ctx, {
      priceId: price.id,
      email: "somebody-else@example.org",
    });
    const first = await credit(user.id, session.id);
    expect(first.data?.outcome).toMatchObject({ outcome: "unmatched_user", sessionId: session.id });
    expect(
      await getDb().attentionItem.count({
        where: { checkoutSessionId: session.id, status: "open" },
      }),
    ).toBe(1);

    const assigned = await credit(user.id, session.id, { assign: "yes" });
    expect(assigned.data?.outcome).toMatchObject({
      outcome: "credited",
      userId: user.id,
      credits: 75,
    });
    const purchase = await getDb().purchase.findUniqueOrThrow({
      where: { checkoutSessionId: session.id },
    });
    expect(purchase).toMatchObject({
      userId: user.id,
      userResolvedBy: "manual",
      creditedVia: "manual",
    });
    expect(
      await getDb().attentionItem.count({
        where: { checkoutSessionId: session.id, status: "open" },
      }),
    ).toBe(0);
  });

  it("reports a price that is not a credit pack", async () => {
    const user = await createUser();
    const price = await createPrice(mp.ctx.stripe, { credits: null });
    const session = await paidSession(mp.ctx, { priceId: price.id, clientReferenceId: user.id });
    const result = await credit(user.id, session.id);
    expect(result.data?.outcome).toMatchObject({ outcome: "unknown_price", priceIds: [price.id] });
    expect((await getDb().user.findUniqueOrThrow({ where: { id: user.id } })).balance).toBe(0);
  });

  it("validates the id and explains an id Stripe does not know", async () => {
    const user = await createUser();
    const bad = await credit(user.id, "cus_123");
    expect(bad.status).toBe(400);
    expect(bad.data?.fieldErrors.sessionId).toMatch(
      /starts with cs_ \(Checkout Session\), pi_ \(payment intent\) or ch_ \(charge\)/,
    );
    for (const id of ["cs_test_doesnotexist", "pi_test_doesnotexist", "ch_test_doesnotexist"]) {
      const unknown = await credit(user.id, id);
      expect(unknown.status).toBe(400);
      expect(unknown.data?.fieldErrors.sessionId).toBe(
        `${id} was not found in creditdesk or Stripe. Check the id (test and live ids differ).`,
      );
    }
  });
});

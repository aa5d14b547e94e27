import { beforeAll, describe, expect, it } from "vitest";
import { getDb } from "../../app/services/infra/db.server";
import { verifyLedger } from "../../app/services/ledger-verify.server";
import { syncPacks } from "../../app/services/packs.server";
import { expireDueGrants } from "../../app/services/grants/expiry.server";
import { applyInvoicePaid } from "../../app/services/grants/allowances.server";
import {
  balanceOf,
  createPrice,
  createUser,
  deliver,
  eventsFor,
  paidSession,
  useMoneyPath,
} from "../support/money-path";
import { useTestDatabase } from "../support/test-database";

useTestDatabase();
const mp = useMoneyPath();

let monthly: string;
beforeAll(async () => {
  monthly = (await createPrice(mp.ctx.stripe, { credits: 50, recurring: true, unitAmount: 2000 }))
    .id;
  await syncPacks();
});

/** Deliver every event of a type about an object; their outcomes. */
async function deliverAll(objectId: string, type: string) {
  const outcomes: unknown[] = [];
  for (const event of await eventsFor(mp.ctx.stripe, objectId, type))
    outcomes.push((await deliver(mp.ctx, event)).outcome);
  return outcomes;
}

async function paidInvoices(subId: string) {
  const list = await mp.ctx.stripe.invoices.list({ subscription: subId, limit: 100 });
  return list.data.filter((i) => i.status === "paid").reverse();
}

describe("subscription allowances", () => {
  it("grant each paid period's credits once, none for an unpaid period, none after cancelling", async () => {
    const user = await createUser();
    const session = await paidSession(mp.ctx, {
      priceId: monthly,
      mode: "subscription",
      clientReferenceId: user.id,
      email: `${user.id}@example.com`,
    });
    const subId = (await mp.ctx.stripe.checkout.sessions.retrieve(session.id))
      .subscription as string;
    await deliverAll(session.id, "checkout.session.completed");
    await deliverAll(subId, "customer.subscription.created");
    // Period 1: credited by the Checkout Session; its invoice grants nothing more.
    expect(await balanceOf(user.id)).toBe(50);
    const [first] = await paidInvoices(subId);
    expect(await applyInvoicePaid(first)).toEqual({
      outcome: "no_credits",
      detail: "first period: credited by its Checkout Session",
    });
    expect(await balanceOf(user.id)).toBe(50);

    // Period 2 paid, period 3 unpaid, period 4 paid; each delivered as it happens (Stripe lists
    // only the last 30 days of events), then redelivered: credited once.
    const deliverNewest = async () => {
      const [newest] = await paidInvoices(subId).then((l) => l.slice(-1));
      expect(await deliverAll(newest.id!, "invoice.paid")).toEqual(["processed"]);
      expect(await deliverAll(newest.id!, "invoice.paid")).toEqual(["duplicate"]);
    };
    await mp.ctx.emu.control.advanceClock(32 * 86_400);
    await deliverNewest();
    expect(await balanceOf(user.id)).toBe(100);
    await mp.ctx.emu.control.setRenewalOutcome(subId, "failed");
    await mp.ctx.emu.control.advanceClock(31 * 86_400);
    expect(await paidInvoices(subId)).toHaveLength(2);
    await mp.ctx.emu.control.setRenewalOutcome(subId, "paid");
    await mp.ctx.emu.control.advanceClock(31 * 86_400);
    await deliverNewest();
    const paid = await paidInvoices(subId);
    expect(paid).toHaveLength(3);
    expect(await balanceOf(user.id)).toBe(150);
    const allowances = await getDb().creditGrant.findMany({
      where: { userId: user.id, source: "subscription_period" },
      orderBy: { id: "asc" },
    });
    expect(allowances.map((g) => [g.invoiceId, g.subscriptionId, g.granted, g.amountPaid])).toEqual(
      paid.slice(1).map((i) => [i.id, subId, 50, 2000]),
    );
    // Each expires at the end of the period it paid for.
    for (const [i, g] of allowances.entries())
      expect(g.expiresAt!.getTime()).toBe(paid[i + 1].lines.data[0].period.end * 1000);
    // The purchased first period is a purchase grant, untouched by the allowances.
    expect(
      await getDb().creditGrant.findFirstOrThrow({
        where: { userId: user.id, source: "purchase" },
      }),
    ).toMatchObject({ granted: 50, remaining: 50 });

    // Once both allowances' periods have ended, the expiry pass takes them; the purchase stays.
    const end = allowances[1].expiresAt!;
    await expireDueGrants({ now: new Date(end.getTime() + 1000) });
    expect(await balanceOf(user.id)).toBe(50);

    await mp.ctx.stripe.subscriptions.cancel(subId);
    await mp.ctx.emu.control.advanceClock(62 * 86_400);
    expect(await paidInvoices(subId)).toHaveLength(3);
    expect((await verifyLedger()).violations).toEqual([]);
  });
});

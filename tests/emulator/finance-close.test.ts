/**
 * What the month close asks Stripe (issue 21), through the official SDK: when a Checkout Session
 * was paid (not only created), refunds and disputes by their own `created` across a month
 * boundary, paged, and a dispute's evidence due date.
 */
import type Stripe from "stripe";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  createPackPrice,
  createPaymentSession,
  startHarness,
  type Harness,
} from "./support/harness";

const utc = (iso: string) => Date.parse(iso) / 1000;
const NOV_30_2300 = utc("2026-11-30T23:00:00Z");
const NOV = { gte: utc("2026-11-01T00:00:00Z"), lt: utc("2026-12-01T00:00:00Z") };
const DEC = { gte: utc("2026-12-01T00:00:00Z"), lt: utc("2027-01-01T00:00:00Z") };

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ clock: NOV_30_2300 });
});
afterAll(() => h.emulator.stop());
beforeEach(() => h.emulator.control.reset());

/** Moves the emulator clock to `at` (it only moves forward). */
async function clockTo(at: number) {
  const now = await h.emulator.control.now();
  if (at > now) await h.emulator.control.advanceClock(at - now);
}

/** When Stripe took the money for a session: its charge's `created`. */
async function paidAt(sessionId: string): Promise<number> {
  const session = await h.stripe.checkout.sessions.retrieve(sessionId, {
    expand: ["payment_intent.latest_charge"],
  });
  const pi = session.payment_intent as Stripe.PaymentIntent;
  return (pi.latest_charge as Stripe.Charge).created;
}

describe("when a session was paid", () => {
  it("keeps the payment's own time: opened on Nov 30, paid on Dec 1 is December money", async () => {
    const price = await createPackPrice(h.stripe, 1_499);
    const early = await createPaymentSession(h.stripe, price);
    const late = await createPaymentSession(h.stripe, price);
    await clockTo(utc("2026-11-30T23:59:00Z"));
    await h.emulator.control.paySession(early.id);
    await clockTo(utc("2026-12-01T00:30:00Z"));
    await h.emulator.control.paySession(late.id);

    expect((await h.stripe.checkout.sessions.retrieve(late.id)).created).toBe(NOV_30_2300);
    expect(await paidAt(early.id)).toBe(utc("2026-11-30T23:59:00Z"));
    expect(await paidAt(late.id)).toBe(utc("2026-12-01T00:30:00Z"));

    // The completion event carries the same time.
    const completed = await h.stripe.events.list({ type: "checkout.session.completed" });
    const when = new Map(
      completed.data.map((e) => [(e.data.object as Stripe.Checkout.Session).id, e.created]),
    );
    expect(when.get(early.id)).toBe(utc("2026-11-30T23:59:00Z"));
    expect(when.get(late.id)).toBe(utc("2026-12-01T00:30:00Z"));

    // Listing by `created` finds both in November (the sessions' creation), so a "paid in
    // December" report lists from the month's start minus the sessions' 24 h lifetime and keeps
    // those whose charge falls in the month.
    const listed = await h.stripe.checkout.sessions
      .list({
        status: "complete",
        created: { gte: DEC.gte - 24 * 3600, lt: DEC.lt },
        expand: ["data.payment_intent.latest_charge"],
      })
      .autoPagingToArray({ limit: 100 });
    const paidInDecember = listed.filter((s) => {
      const charge = (s.payment_intent as Stripe.PaymentIntent).latest_charge as Stripe.Charge;
      return charge.created >= DEC.gte && charge.created < DEC.lt;
    });
    expect(paidInDecember.map((s) => s.id)).toEqual([late.id]);
  });

  it("dates an async payment by when it succeeded", async () => {
    const price = await createPackPrice(h.stripe, 2_000);
    const session = await createPaymentSession(h.stripe, price);
    await h.emulator.control.paySession(session.id, { card: "async" });
    await clockTo(utc("2026-12-03T10:00:00Z"));
    await h.emulator.control.succeedAsyncPayment(session.id);
    expect(await paidAt(session.id)).toBe(utc("2026-12-03T10:00:00Z"));
  });
});

describe("refunds and disputes by their own dates", () => {
  it("lists refunds by created across the month boundary, whatever month the purchase was in", async () => {
    const price = await createPackPrice(h.stripe, 1_000);
    const sessions = await h.emulator.control.seedCompletedSessions(25, {
      priceId: price.id,
      createdFrom: utc("2026-11-10T00:00:00Z"),
      createdTo: utc("2026-11-20T00:00:00Z"),
    });
    // 12 refunds on Nov 30 23:00…23:55, 13 on Dec 1 00:00…01:00 (every 5 minutes).
    const refunds: { id: string; created: number }[] = [];
    for (const id of sessions) {
      refunds.push(await h.emulator.control.refund(id, { amount: 100 }));
      await h.emulator.control.advanceClock(300);
    }
    const november = refunds.filter((r) => r.created < NOV.lt).map((r) => r.id);
    const december = refunds.filter((r) => r.created >= DEC.gte).map((r) => r.id);
    expect([november.length, december.length]).toEqual([12, 13]);

    const inNov = await h.stripe.refunds.list({ created: NOV, limit: 5 }).autoPagingToArray({
      limit: 100,
    });
    expect(inNov.map((r) => r.id)).toEqual([...november].reverse());
    const inDec = await h.stripe.refunds.list({ created: DEC, limit: 5 }).autoPagingToArray({
      limit: 100,
    });
    expect(inDec.map((r) => r.id)).toEqual([...december].reverse());

    const page = await h.stripe.refunds.list({ created: DEC, limit: 10 });
    expect(page.has_more).toBe(true);
    const rest = await h.stripe.refunds.list({
      created: DEC,
      limit: 10,
      starting_after: page.data[9].id,
    });
    expect(rest.data).toHaveLength(3);
    expect(rest.has_more).toBe(false);
    const before = await h.stripe.refunds.list({
      created: DEC,
      limit: 10,
      ending_before: rest.data[0].id,
    });
    expect(before.data.map((r) => r.id)).toEqual(page.data.map((r) => r.id));
  });

  it("lists disputes by created, each with its evidence due date", async () => {
    const price = await createPackPrice(h.stripe, 3_000);
    const [a, b, c] = await h.emulator.control.seedCompletedSessions(3, {
      priceId: price.id,
      createdFrom: utc("2026-11-01T00:00:00Z"),
      createdTo: utc("2026-11-05T00:00:00Z"),
    });
    const first = await h.emulator.control.openDispute(a);
    await clockTo(utc("2026-12-01T09:15:00Z"));
    const second = await h.emulator.control.openDispute(b);
    await clockTo(utc("2026-12-02T18:00:00Z"));
    const third = await h.emulator.control.openDispute(c);
    await h.emulator.control.closeDispute(third.id, "lost");

    const inDec = await h.stripe.disputes.list({ created: DEC, limit: 1 }).autoPagingToArray({
      limit: 100,
    });
    expect(inDec.map((d) => d.id)).toEqual([third.id, second.id]);
    expect(inDec.map((d) => d.status)).toEqual(["lost", "needs_response"]);
    expect((await h.stripe.disputes.list({ created: NOV })).data.map((d) => d.id)).toEqual([
      first.id,
    ]);

    // Due at the end of the day a week after opening, like Stripe's …23:59:59 due dates.
    const due = await h.stripe.disputes.retrieve(second.id);
    expect(due.evidence_details.due_by).toBe(utc("2026-12-08T23:59:59Z"));
    expect(due.evidence_details).toMatchObject({ has_evidence: false, submission_count: 0 });
    expect((await h.stripe.disputes.retrieve(first.id)).evidence_details.due_by).toBe(
      utc("2026-12-07T23:59:59Z"),
    );
  });
});

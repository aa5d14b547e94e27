import { beforeAll, describe, expect, it } from "vitest";
import { loader as searchLoader } from "../../app/routes/_app.search/route";
import { loader as stripeLoader } from "../../app/routes/_app.users.$userId.stripe-payments";
import type { SearchResult } from "../../app/services/admin/global-search.server";
import type { StripeCheck } from "../../app/services/admin/stripe-lookup.server";
import { fulfillCheckoutSession } from "../../app/services/fulfillment.server";
import { getDb } from "../../app/services/infra/db.server";
import { createStripeClient, setStripe } from "../../app/services/infra/stripe-client.server";
import { callLoader } from "../support/admin";
import {
  createPrice,
  createSession,
  createUser,
  paidSession,
  uid,
  useMoneyPath,
} from "../support/money-path";
import { createStaffWithSession } from "../support/staff";
import { useTestDatabase } from "../support/test-database";

/**
 * Issue 20's lookups through the emulator: "Check Stripe" on the user page (by customer, by every
 * spelling of the email, what creditdesk did with each session, Stripe down) and the header's
 * global search (surname, Stripe ids, receipt numbers, unknown and malformed ids).
 */

useTestDatabase();
const mp = useMoneyPath();
let cookie = "";
let financeCookie = "";

beforeAll(async () => {
  cookie = (await createStaffWithSession("support")).cookie;
  financeCookie = (await createStaffWithSession("finance")).cookie;
});

async function check(userId: string, query = "") {
  const result = await callLoader(stripeLoader, `/users/${userId}/stripe-payments${query}`, {
    cookie,
    params: { userId },
  });
  return {
    status: result.status,
    body: (await result.response!.json()) as { ok: boolean; check?: StripeCheck; error?: string },
  };
}

function search(q: string, who = cookie) {
  return callLoader<{ q: string; result: SearchResult }>(
    searchLoader,
    `/search?q=${encodeURIComponent(q)}`,
    { cookie: who },
  );
}

describe("Check Stripe on the user page", () => {
  it("lists sessions by customer and by email (any case), newest first, with what creditdesk did", async () => {
    const id = uid("user");
    const customer = await mp.ctx.stripe.customers.create({ email: `${id}@example.com` });
    const user = await createUser({
      id,
      email: `${id.toUpperCase()}@Example.com`,
      stripeCustomerId: customer.id,
    });
    const price = await createPrice(mp.ctx.stripe, { credits: 500, unitAmount: 1499 });
    // 1. paid for the customer and credited
    const credited = await paidSession(mp.ctx, { priceId: price.id, customer: customer.id });
    await fulfillCheckoutSession(credited.id, "webhook");
    // 2. paid with only the email (lower case), webhook never arrived
    const missed = await paidSession(mp.ctx, { priceId: price.id, email: `${id}@example.com` });
    // 3. opened, never paid
    const unpaid = await createSession(mp.ctx.stripe, { priceId: price.id, customer: customer.id });
    // someone else's session is not listed
    const other = await paidSession(mp.ctx, { priceId: price.id, email: "other@example.com" });

    const { status, body } = await check(user.id);
    expect(status).toBe(200);
    const rows = body.check!.rows;
    const ids = rows.map((r) => r.id);
    expect(new Set(ids)).toEqual(new Set([credited.id, missed.id, unpaid.id]));
    expect(ids).not.toContain(other.id);
    const created = rows.map((r) => r.created);
    expect([...created].sort().reverse()).toEqual(created);

    const byId = new Map(rows.map((r) => [r.id, r]));
    const purchase = await getDb().purchase.findUniqueOrThrow({
      where: { checkoutSessionId: credited.id },
    });
    expect(byId.get(credited.id)).toMatchObject({
      amount: 1499,
      currency: "usd",
      paymentStatus: "paid",
      foundBy: expect.arrayContaining(["customer"]),
      verdict: { state: "credited", purchaseId: purchase.id, entrySeq: 1, creditedToOther: null },
    });
    expect(byId.get(missed.id)).toMatchObject({
      foundBy: ["email"],
      verdict: { state: "not_credited", why: "webhook_never_received" },
    });
    expect(byId.get(unpaid.id)?.verdict).toMatchObject({
      state: "not_paid",
      paymentStatus: "unpaid",
    });
  });

  it("pages through Stripe's list", async () => {
    const id = uid("user");
    const customer = await mp.ctx.stripe.customers.create({ email: `${id}@example.com` });
    const user = await createUser({ id, stripeCustomerId: customer.id });
    const price = await createPrice(mp.ctx.stripe, { credits: 10 });
    for (let i = 0; i < 22; i += 1) {
      await createSession(mp.ctx.stripe, { priceId: price.id, customer: customer.id });
    }
    const first = await check(user.id);
    expect(first.body.check!.rows).toHaveLength(20);
    expect(first.body.check!.next).toMatch(/^[A-Za-z0-9_-]+$/);
    const second = await check(user.id, `?after=${first.body.check!.next}`);
    expect(second.body.check!.rows).toHaveLength(2);
    expect(second.body.check!.next).toBeNull();
    const all = [...first.body.check!.rows, ...second.body.check!.rows].map((r) => r.id);
    expect(new Set(all).size).toBe(22);

    const bad = await check(user.id, "?days=12");
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe("days must be one of 7, 30, 90, 365.");
  });

  it("says so when Stripe cannot be reached, and credits nothing", async () => {
    const user = await createUser({ stripeCustomerId: "cus_unreachable" });
    setStripe(
      createStripeClient({
        secretKey: "sk_test_creditdesk_tests",
        apiBase: "http://127.0.0.1:9",
        maxNetworkRetries: 0,
      }),
    );
    try {
      const { status, body } = await check(user.id);
      expect(status).toBe(502);
      expect(body.ok).toBe(false);
      expect(body.error).toMatch(/^Stripe could not be asked for this user's payments: .+/);
    } finally {
      setStripe(mp.ctx.stripe);
    }
    expect(await getDb().ledgerEntry.count({ where: { userId: user.id } })).toBe(0);
  });
});

describe("global search", () => {
  it("finds a user by surname (a word inside the email or name), and lists several by kind", async () => {
    const a = await createUser({ email: `ada.lovelace.${uid("x")}@example.com` });
    await getDb().user.update({ where: { id: a.id }, data: { name: "Ada Lovelace" } });
    const one = await search(a.email.split("@")[0].split(".")[2]);
    expect(one.status).toBe(302);
    expect(one.location).toBe(`/users/${a.id}`);

    const surname = `Babbage${uid("s").slice(2)}`;
    const c1 = await createUser({ email: `charles.${surname.toLowerCase()}@example.com` });
    const c2 = await createUser({ email: `c.b@example.org` });
    await getDb().user.update({ where: { id: c2.id }, data: { name: `Charles ${surname}` } });
    const many = await search(surname.toUpperCase());
    expect(many.status).toBe(200);
    const result = many.data!.result;
    expect(result.kind).toBe("results");
    if (result.kind !== "results") return;
    expect(new Set(result.hits.map((h) => h.to))).toEqual(
      new Set([`/users/${c1.id}`, `/users/${c2.id}`]),
    );
    expect(result.hits.every((h) => h.kind === "user")).toBe(true);

    const byId = await search(c1.id);
    expect(byId.location).toBe(`/users/${c1.id}`);
  });

  it("jumps from cs_, pi_, ch_, cus_ and a receipt number to what creditdesk holds", async () => {
    const customer = await mp.ctx.stripe.customers.create({ email: `${uid("c")}@example.com` });
    const user = await createUser({ stripeCustomerId: customer.id });
    const price = await createPrice(mp.ctx.stripe, { credits: 120 });
    const session = await paidSession(mp.ctx, { priceId: price.id, customer: customer.id });
    await fulfillCheckoutSession(session.id, "webhook");
    const purchase = await getDb().purchase.findUniqueOrThrow({
      where: { checkoutSessionId: session.id },
    });
    const pi = purchase.paymentIntentId!;
    const charge = (await mp.ctx.stripe.charges.list({ payment_intent: pi })).data[0];

    for (const q of [session.id, pi, charge.id, purchase.id, charge.receipt_number!]) {
      const r = await search(q);
      expect({ q, status: r.status, location: r.location }).toEqual({
        q,
        status: 302,
        location: `/purchases/${purchase.id}`,
      });
    }
    expect((await search(customer.id)).location).toBe(`/users/${user.id}`);
  });

  it("looks up an id creditdesk does not know in Stripe: 'not in creditdesk yet' with the actions that fit", async () => {
    const user = await createUser();
    const price = await createPrice(mp.ctx.stripe, { credits: 60, unitAmount: 1499 });
    const session = await paidSession(mp.ctx, { priceId: price.id, clientReferenceId: user.id });
    const paid = await mp.ctx.stripe.checkout.sessions.retrieve(session.id);
    const pi = paid.payment_intent as string;

    const r = await search(session.id);
    expect(r.status).toBe(200);
    const result = r.data!.result;
    expect(result).toMatchObject({
      kind: "results",
      hits: [],
      stripe: {
        id: session.id,
        object: "checkout.session",
        amount: 1499,
        currency: "usd",
        user: { id: user.id },
        actions: [
          {
            label: `Credit it on ${user.email}'s page (preview first)`,
            to: `/users/${user.id}?credit=${session.id}#credit-session-heading`,
          },
          { label: `Open ${user.email}`, to: `/users/${user.id}` },
        ],
      },
    });
    const byPi = await search(pi);
    expect(byPi.data!.result).toMatchObject({ stripe: { id: pi, object: "payment_intent" } });
    // Searching never credits.
    expect(await getDb().purchase.count({ where: { checkoutSessionId: session.id } })).toBe(0);
  });

  it("unknown ids say 'not found in creditdesk or Stripe'; malformed ones name the expected prefixes; finance cannot use it", async () => {
    for (const q of ["pi_doesnotexist", "evt_doesnotexist", "re_doesnotexist", "no such person"]) {
      const r = await search(q);
      expect({ q, status: r.status, notFound: r.data?.result }).toMatchObject({
        q,
        status: 200,
        notFound: { kind: "results", notFound: true, hits: [] },
      });
    }
    const malformed = await search("xy_123456");
    expect(malformed.data?.result).toEqual({
      kind: "field_error",
      message:
        "“xy_123456” is not an id creditdesk knows: Stripe ids start with cus_, cs_, pi_, ch_, re_, dp_, evt_, in_ or sub_; a receipt number looks like 1234-5678.",
    });
    const finance = await search("anything", financeCookie);
    expect(finance.status).toBe(403);
  });
});

import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderSchema, SCHEMA_PATH } from "../../scripts/generate-stripe-schema";
import { STRIPE_SCHEMA } from "../../emulator/schema/shape";
import { conformanceProblems, recorder } from "./support/conformance";
import {
  createPackPrice,
  createPaymentSession,
  startHarness,
  type Harness,
} from "./support/harness";

/**
 * Every test file that starts its emulators through support/harness.ts records each `/v1`
 * response and webhook payload and, once its tests are done, checks them against the shapes the
 * stripe SDK declares (support/conformance.ts). This file checks that machinery itself: the
 * schema is the installed SDK's, the check catches each kind of drift, and one walk through
 * every resource the emulator serves conforms.
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.emulator.stop());

describe("the schema", () => {
  it("is what the installed stripe SDK declares (regenerate with npm run emulator:schema)", async () => {
    expect(await renderSchema()).toBe(readFileSync(SCHEMA_PATH, "utf8"));
    expect(STRIPE_SCHEMA.apiVersion).toBe("2026-10-28.endive");
  }, 60_000);
});

describe("the check", () => {
  async function servedSession() {
    const session = await createPaymentSession(h.stripe, await createPackPrice(h.stripe));
    const body = structuredClone(session) as unknown as Record<string, unknown>;
    delete body.lastResponse;
    return body;
  }

  it("passes what the emulator serves", async () => {
    expect(conformanceProblems(await servedSession())).toEqual([]);
  });

  it("finds a missing always-present field", async () => {
    const session = await servedSession();
    delete session.allowed_payment_method_types;
    expect(conformanceProblems(session)).toEqual([
      "$.allowed_payment_method_types: missing (Checkout.Session always has it)",
    ]);
  });

  it("finds an enum value the pinned version does not list", async () => {
    const session = await servedSession();
    session.ui_mode = "hosted";
    expect(conformanceProblems(session)).toEqual([
      expect.stringMatching(/^\$\.ui_mode: "hosted" is not .*hosted_page/),
    ]);
  });

  it("finds null where the type allows a string or absence only, at any depth", () => {
    const refund = {
      id: "re_1",
      object: "refund",
      destination_details: { card: { reference: null, type: "refund" }, type: "card" },
    };
    expect(conformanceProblems(refund)).toContain(
      "$.destination_details.card.reference: null, but Refund.DestinationDetails.Card.reference is never null",
    );
  });

  it("finds a field the type does not declare, inside lists and events", () => {
    const event = {
      object: "list",
      data: [{ object: "event", data: { object: { object: "invoice", subscription: null } } }],
      has_more: false,
      url: "/v1/events",
    };
    expect(conformanceProblems(event)).toContain(
      "$.data[0].data.object.subscription: undeclared in Invoice",
    );
  });

  it("finds ids where the type wants objects, and checks deleted stubs by their own type", () => {
    const dispute = { object: "dispute", balance_transactions: ["txn_1"] };
    expect(conformanceProblems(dispute)).toContain(
      '$.balance_transactions[0]: "txn_1" is not {"ref":"BalanceTransaction"}',
    );
    expect(conformanceProblems({ id: "cus_1", object: "customer", deleted: true })).toEqual([]);
    expect(
      conformanceProblems({ id: "cus_1", object: "customer", deleted: true, email: null }),
    ).toEqual(["$.email: undeclared in DeletedCustomer"]);
  });
});

describe("one walk through every resource the emulator serves", () => {
  it("sends only shapes the SDK declares, and covers every object type in the schema", async () => {
    const { stripe, emulator } = h;
    await stripe.webhookEndpoints.create({
      url: "http://127.0.0.1:9/hooks",
      enabled_events: ["*"],
    });
    const price = await createPackPrice(stripe, 2_000);
    const session = await createPaymentSession(stripe, price, { customer_creation: "always" });
    const paid = await emulator.control.paySession(session.id);
    await stripe.checkout.sessions.listLineItems(session.id, { expand: ["data.price.product"] });
    await stripe.paymentIntents.retrieve(paid.payment_intent as string, {
      expand: ["latest_charge"],
    });
    await stripe.refunds.create({ payment_intent: paid.payment_intent as string, amount: 500 });
    const other = await emulator.control.paySession((await createPaymentSession(stripe, price)).id);
    const dispute = await emulator.control.openDispute(other.payment_intent as string);
    await emulator.control.closeDispute(dispute.id, "won");
    await stripe.disputes.retrieve(dispute.id);
    const monthly = await stripe.prices.create({
      currency: "usd",
      unit_amount: 900,
      recurring: { interval: "month" },
      product_data: { name: "Pro" },
    });
    const subscribed = await emulator.control.paySession(
      (
        await stripe.checkout.sessions.create({
          mode: "subscription",
          line_items: [{ price: monthly.id, quantity: 1 }],
          success_url: "https://app.example/ok",
        })
      ).id,
    );
    await stripe.subscriptions.retrieve(subscribed.subscription as string);
    await stripe.invoices.retrieve(subscribed.invoice as string);
    await stripe.subscriptions.cancel(subscribed.subscription as string);
    const doomed = await stripe.products.create({ name: "Doomed" });
    await stripe.products.del(doomed.id);
    await stripe.customers.del(paid.customer as string);
    await stripe.customers.retrieve(paid.customer as string);
    const endpoint = await stripe.webhookEndpoints.create({
      url: "http://127.0.0.1:9/other",
      enabled_events: ["charge.refunded"],
    });
    await stripe.webhookEndpoints.del(endpoint.id);
    await stripe.events.list({ limit: 100 });

    expect(recorder.problems()).toEqual([]);
    const expected = Object.entries(STRIPE_SCHEMA.objects).flatMap(([object, t]) => [
      ...(t.type ? [object] : []),
      ...(t.deleted ? [`deleted ${object}`] : []),
    ]);
    expect([...recorder.objectsSeen()].sort()).toEqual(expect.arrayContaining(expected.sort()));
  });
});

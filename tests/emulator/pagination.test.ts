import type Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Collection } from "../../emulator/state/collection";
import { createPackPrice, startHarness, type Harness } from "./support/harness";

const START = 1_790_000_000;
let h: Harness;
let sameSecond: string[];
let spread: string[];

beforeAll(async () => {
  h = await startHarness({ clock: START });
  const price = await createPackPrice(h.stripe);
  // 1,000 sessions with identical `created` values, so only the tie-break keeps the order
  // stable: 100 made through the API while the frozen clock stands still, 900 seeded.
  sameSecond = [];
  for (let i = 0; i < 100; i++) {
    const session = await h.stripe.checkout.sessions.create({
      mode: "payment",
      line_items: [{ price: price.id, quantity: 1 }],
      client_reference_id: `same_${i}`,
    });
    sameSecond.push(session.id);
  }
  sameSecond.push(
    ...(await h.emulator.control.seedCompletedSessions(900, {
      priceId: price.id,
      createdFrom: START,
      createdTo: START,
    })),
  );
  // 1,000 more, ten days earlier, one per second.
  spread = await h.emulator.control.seedCompletedSessions(1_000, {
    priceId: price.id,
    createdFrom: START - 10 * 86_400,
    createdTo: START - 10 * 86_400 + 999,
    clientReferenceId: (i) => `spread_${i}`,
  });
}, 60_000);
afterAll(() => h.emulator.stop());

async function collect(
  params: Stripe.Checkout.SessionListParams,
): Promise<Stripe.Checkout.Session[]> {
  const out: Stripe.Checkout.Session[] = [];
  for await (const session of h.stripe.checkout.sessions.list(params)) out.push(session);
  return out;
}

function expectNewestFirst(sessions: Stripe.Checkout.Session[]): void {
  for (let i = 1; i < sessions.length; i++) {
    expect(sessions[i].created).toBeLessThanOrEqual(sessions[i - 1].created);
  }
}

describe("auto-pagination over checkout sessions", () => {
  it("returns each of 1,000 same-second sessions exactly once, newest first", async () => {
    const sessions = await collect({ created: { gte: START }, limit: 100 });
    expect(sessions.map((s) => s.id)).toEqual([...sameSecond].reverse());
  });

  it("returns every session once with the default page size and no filter", async () => {
    const sessions = await collect({});
    expect(sessions).toHaveLength(2_000);
    expect(new Set(sessions.map((s) => s.id)).size).toBe(2_000);
    expect(sessions.map((s) => s.id)).toEqual(
      [...sameSecond].reverse().concat([...spread].reverse()),
    );
    expectNewestFirst(sessions);
  });

  it("honours created[gte] and created[lt] windows", async () => {
    const firstHalf = await collect({
      created: { gte: START - 10 * 86_400, lt: START - 10 * 86_400 + 500 },
      limit: 100,
    });
    expect(firstHalf.map((s) => s.id)).toEqual(spread.slice(0, 500).reverse());
    const secondHalf = await collect({
      created: { gt: START - 10 * 86_400 + 499, lte: START - 1 },
      limit: 37,
    });
    expect(secondHalf.map((s) => s.id)).toEqual(spread.slice(500).reverse());
    expectNewestFirst(secondHalf);
  });

  it("combines status and created filters as reconciliation does", async () => {
    const complete = await collect({
      status: "complete",
      created: { gte: START - 11 * 86_400, lt: START },
      limit: 100,
    });
    expect(complete.map((s) => s.id)).toEqual([...spread].reverse());
    expect(complete.every((s) => s.payment_status === "paid")).toBe(true);
    const open = await collect({ status: "open", limit: 100 });
    expect(open.map((s) => s.id)).toEqual(sameSecond.slice(0, 100).reverse());
  });

  it("walks backwards with ending_before", async () => {
    const pivot = sameSecond[100];
    const newer = await collect({ ending_before: pivot, created: { gte: START }, limit: 30 });
    // The SDK iterates towards newer items: oldest-after-pivot first.
    expect(newer.map((s) => s.id)).toEqual(sameSecond.slice(101));
  });

  it("pages manually with has_more and starting_after", async () => {
    const first = await h.stripe.checkout.sessions.list({ limit: 3, created: { gte: START } });
    expect(first.has_more).toBe(true);
    expect(first.url).toBe("/v1/checkout/sessions");
    expect(first.data.map((s) => s.id)).toEqual(sameSecond.slice(-3).reverse());
    const next = await h.stripe.checkout.sessions.list({
      limit: 3,
      starting_after: first.data[2].id,
    });
    expect(next.data.map((s) => s.id)).toEqual(sameSecond.slice(-6, -3).reverse());
    const last = await h.stripe.checkout.sessions.list({ limit: 5, starting_after: spread[2] });
    expect(last.data.map((s) => s.id)).toEqual([spread[1], spread[0]]);
    expect(last.has_more).toBe(false);
  });
});

describe("the collection behind lists", () => {
  it("keeps list order when objects arrive out of order and when they change index buckets", () => {
    const table = new Collection<{ id: string; created: number; status: string }>("thing", {
      status: (t) => t.status,
    });
    table.insert({ id: "a", created: 10, status: "open" });
    table.insert({ id: "b", created: 5, status: "open" });
    table.insert({ id: "c", created: 10, status: "done" });
    table.insert({ id: "d", created: 7, status: "open" });
    const ids = (q: Parameters<typeof table.page>[0]) => table.page(q).data.map((t) => t.id);
    expect(ids({ limit: 10 })).toEqual(["c", "a", "d", "b"]);
    expect(ids({ limit: 10, where: { status: "open" } })).toEqual(["a", "d", "b"]);
    table.update(table.get("d")!, (t) => (t.status = "done"));
    expect(ids({ limit: 10, where: { status: "done" } })).toEqual(["c", "d"]);
    expect(ids({ limit: 10, where: { status: "open" } })).toEqual(["a", "b"]);
    table.remove("a");
    expect(ids({ limit: 2 })).toEqual(["c", "d"]);
    expect(table.page({ limit: 2 }).hasMore).toBe(true);
    expect(ids({ limit: 10, startingAfter: "c" })).toEqual(["d", "b"]);
    expect(ids({ limit: 1, endingBefore: "b" })).toEqual(["d"]);
    expect(ids({ limit: 10, created: { gte: 6, lt: 10 } })).toEqual(["d"]);
  });
});

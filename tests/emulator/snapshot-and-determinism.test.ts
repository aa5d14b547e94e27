import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { EmulatorClock } from "../../emulator/index";
import {
  createPackPrice,
  createPaymentSession,
  sdkFor,
  startRecordedEmulator,
} from "./support/harness";

const dir = mkdtempSync(join(tmpdir(), "stripe-emulator-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("snapshots", () => {
  it("brings objects saved by an earlier emulator to the pinned version's shape on load", async () => {
    const path = join(dir, "old-shapes.json");
    const first = await startRecordedEmulator({ snapshotPath: path, clock: 1_790_000_000 });
    const price = await createPackPrice(sdkFor(first.url), 800);
    const session = await createPaymentSession(sdkFor(first.url), price);
    await first.stop();
    // What an emulator before the SDK-derived shapes wrote.
    const saved = JSON.parse(readFileSync(path, "utf8")) as {
      ledgers: { test: { tables: { sessions: Array<Record<string, unknown>> } } };
    };
    const old = saved.ledgers.test.tables.sessions[0];
    old.ui_mode = "hosted";
    delete old.allowed_payment_method_types;
    old.legacy_field = "x";
    writeFileSync(path, JSON.stringify(saved));

    const second = await startRecordedEmulator({ snapshotPath: path });
    try {
      const restored = await sdkFor(second.url).checkout.sessions.retrieve(session.id);
      expect(restored.ui_mode).toBe("hosted_page");
      expect(restored).toHaveProperty("allowed_payment_method_types", null);
      expect(restored).not.toHaveProperty("legacy_field");
      expect(restored.url).toBe(session.url);
    } finally {
      await second.stop();
    }
  });

  it("keeps a subscription's failing renewals across a restart", async () => {
    const path = join(dir, "renewals.json");
    const first = await startRecordedEmulator({ snapshotPath: path, clock: 1_790_000_000 });
    const stripe = sdkFor(first.url);
    const price = await stripe.prices.create({
      currency: "usd",
      unit_amount: 900,
      recurring: { interval: "month" },
      product_data: { name: "Monthly" },
    });
    const customer = await stripe.customers.create({ email: "restart@example.com" });
    const sub = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
    });
    await first.control.setRenewalOutcome(sub.id, "failed");
    await first.stop();

    const second = await startRecordedEmulator({ snapshotPath: path });
    try {
      await second.control.advanceClock(31 * 86_400);
      const invoices = await sdkFor(second.url).invoices.list({ subscription: sub.id });
      expect(invoices.data.map((i) => [i.billing_reason, i.status])).toEqual([
        ["subscription_cycle", "open"],
        ["subscription_create", "paid"],
      ]);
    } finally {
      await second.stop();
    }
  });

  it("restores state, ids and clock after a restart", async () => {
    const path = join(dir, "state.json");
    const first = await startRecordedEmulator({ snapshotPath: path, clock: 1_790_000_000 });
    const stripe = sdkFor(first.url);
    const price = await createPackPrice(stripe, 1_200, "120");
    const session = await createPaymentSession(stripe, price, { client_reference_id: "u_1" });
    await first.control.paySession(session.id);
    const { secret } = await first.control.createWebhookEndpoint({
      url: "http://127.0.0.1:9/hooks",
      enabled_events: ["charge.refunded"],
    });
    await first.control.advanceClock(120);
    await first.stop();
    expect(existsSync(path)).toBe(true);

    const second = await startRecordedEmulator({ snapshotPath: path });
    try {
      expect(second.seed).toBe(first.seed);
      expect(second.control.now()).toBe(1_790_000_120);
      const again = sdkFor(second.url);
      const restored = await again.checkout.sessions.retrieve(session.id, {
        expand: ["line_items"],
      });
      expect(restored).toMatchObject({
        status: "complete",
        payment_status: "paid",
        client_reference_id: "u_1",
      });
      expect(restored.line_items!.data[0].price!.metadata).toEqual({ credits: "120" });
      expect((await again.events.list({ limit: 100 })).data.map((e) => e.type)).toContain(
        "checkout.session.completed",
      );
      expect(second.control.snapshot().ledgers.test.webhookSecrets.map(([, s]) => s)).toEqual([
        secret,
      ]);
      // The id stream continues where it stopped instead of repeating (which would collide).
      const next = await createPaymentSession(again, price);
      expect(next.id).not.toBe(session.id);
      expect((await again.checkout.sessions.list()).data).toHaveLength(2);
    } finally {
      await second.stop();
    }
  });

  it("saves changes without waiting for stop, and on demand to another path", async () => {
    const path = join(dir, "debounced.json");
    const emulator = await startRecordedEmulator({ snapshotPath: path, seed: 3 });
    try {
      const customer = await sdkFor(emulator.url).customers.create({ email: "saved@example.com" });
      await new Promise((r) => setTimeout(r, 800));
      expect(readFileSync(path, "utf8")).toContain(customer.id);
      const other = join(dir, "copy.json");
      expect(await emulator.control.saveSnapshot(other)).toBe(other);
      expect(JSON.parse(readFileSync(other, "utf8")).ledgers.test.tables.customers[0].email).toBe(
        "saved@example.com",
      );
    } finally {
      await emulator.stop();
    }
  });

  it("refuses a file that is not an emulator snapshot", async () => {
    const path = join(dir, "foreign.json");
    const emulator = await startRecordedEmulator({ seed: 1 });
    await emulator.control.saveSnapshot(path);
    await emulator.stop();
    const raw = JSON.parse(readFileSync(path, "utf8"));
    raw.format = "something-else";
    writeFileSync(path, JSON.stringify(raw));
    await expect(startRecordedEmulator({ snapshotPath: path })).rejects.toThrow(
      /not a snapshot written by this emulator/,
    );
  });
});

describe("determinism", () => {
  async function run(seed: number) {
    const emulator = await startRecordedEmulator({ seed, clock: 1_790_000_000 });
    try {
      const stripe = sdkFor(emulator.url);
      const price = await createPackPrice(stripe);
      const session = await createPaymentSession(stripe, price);
      const paid = await emulator.control.paySession(session.id);
      const events = (await stripe.events.list()).data.map((e) => `${e.id}@${e.created}`);
      return { ids: [price.id, session.id, paid.payment_intent], events, emulator };
    } catch (err) {
      await emulator.stop();
      throw err;
    }
  }

  it("repeats ids, timestamps and event ids for the same seed, and differs for another", async () => {
    const a = await run(5);
    const b = await run(5);
    const c = await run(6);
    expect(b.ids).toEqual(a.ids);
    expect(b.events).toEqual(a.events);
    expect(c.ids[1]).not.toEqual(a.ids[1]);
    // reset() starts the same id stream again.
    await a.emulator.control.reset();
    expect((await createPackPrice(sdkFor(a.emulator.url))).id).toBe(a.ids[0]);
    await Promise.all([a.emulator.stop(), b.emulator.stop(), c.emulator.stop()]);
  });

  it("follows the wall clock unless frozen, and freezes when seeded", async () => {
    const wall = await startRecordedEmulator({ clock: EmulatorClock.wall() });
    const seeded = await startRecordedEmulator({ seed: 1 });
    try {
      expect(Math.abs(wall.control.now() - Date.now() / 1000)).toBeLessThan(5);
      const frozenAt = seeded.control.now();
      await new Promise((r) => setTimeout(r, 1_100));
      expect(seeded.control.now()).toBe(frozenAt);
      expect(await seeded.control.advanceClock(3_600)).toBe(frozenAt + 3_600);
      await expect(seeded.control.advanceClock(-1)).rejects.toThrow(/only moves forward/);
    } finally {
      await Promise.all([wall.stop(), seeded.stop()]);
    }
  });
});

import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getDatabase, getDb, openDatabase, setDatabase } from "../../app/services/infra/db.server";
import { verifyLedger } from "../../app/services/ledger-verify.server";
import { syncPacks } from "../../app/services/packs.server";
import { processStripeEvent } from "../../app/services/webhooks/handlers.server";
import { stripeWebhookEndpoint } from "../../app/services/webhooks/http-endpoint.server";
import {
  drainWebhookQueue,
  MAX_ATTEMPTS,
  queueBacklog,
  startWebhookWorker,
  stopWebhookWorker,
} from "../../app/services/webhooks/queue.server";
import {
  balanceOf,
  createPrice,
  createUser,
  deliver,
  eventOf,
  paidSession,
  sendRaw,
  signedRequest,
  uid,
  useMoneyPath,
} from "../support/money-path";
import { useTestDatabase } from "../support/test-database";

useTestDatabase();
const mp = useMoneyPath();

async function lastDelivery() {
  return getDb().webhookDelivery.findFirstOrThrow({ orderBy: { id: "desc" } });
}

async function expectLedgerClean() {
  expect((await verifyLedger()).violations).toEqual([]);
}

let priceId: string;
beforeAll(async () => {
  priceId = (await createPrice(mp.ctx.stripe, { credits: 100, unitAmount: 1000 })).id;
  await syncPacks();
});

describe("POST /webhooks/stripe: processing", () => {
  it("credits a checkout.session.completed delivery and records event and delivery", async () => {
    const user = await createUser();
    const session = await paidSession(mp.ctx, { priceId, clientReferenceId: user.id });
    const event = await eventOf(mp.ctx.stripe, session.id, "checkout.session.completed");

    const res = await deliver(mp.ctx, event);
    expect(res).toEqual({
      status: 200,
      body: { received: true, eventId: event.id, outcome: "accepted" },
      outcome: "processed",
    });
    expect(await balanceOf(user.id)).toBe(100);

    const stored = await getDb().stripeEvent.findUniqueOrThrow({ where: { id: event.id } });
    const purchase = await getDb().purchase.findUniqueOrThrow({
      where: { checkoutSessionId: session.id },
    });
    expect(stored).toMatchObject({
      status: "processed",
      attempts: 1,
      source: "webhook",
      objectId: session.id,
      userId: user.id,
      purchaseId: purchase.id,
      lastError: null,
    });
    const entry = await getDb().ledgerEntry.findUniqueOrThrow({
      where: { idempotencyKey: `checkout:${session.id}` },
    });
    expect(entry.stripeEventId).toBe(event.id);

    const d = await lastDelivery();
    expect(d).toMatchObject({
      signatureStatus: "valid",
      outcome: "accepted",
      eventId: event.id,
      eventType: "checkout.session.completed",
      responseStatus: 200,
      remoteIp: "127.0.0.1",
      error: null,
    });
    expect(d.bodySize).toBe(Buffer.byteLength(JSON.stringify(event)));
    expect(d.bodySha256).toMatch(/^[0-9a-f]{64}$/);
    await expectLedgerClean();
  });

  it("answers a redelivery with 200 duplicate and changes nothing", async () => {
    const user = await createUser();
    const session = await paidSession(mp.ctx, { priceId, clientReferenceId: user.id });
    const event = await eventOf(mp.ctx.stripe, session.id, "checkout.session.completed");
    expect((await deliver(mp.ctx, event)).outcome).toBe("processed");
    const again = await deliver(mp.ctx, event);
    expect(again).toEqual({
      status: 200,
      body: { received: true, eventId: event.id, outcome: "duplicate" },
      outcome: "duplicate",
    });
    expect((await lastDelivery()).outcome).toBe("duplicate");
    // Two deliveries recorded, one processing attempt.
    expect(await getDb().webhookDelivery.count({ where: { eventId: event.id } })).toBe(2);
    expect(
      (await getDb().stripeEvent.findUniqueOrThrow({ where: { id: event.id } })).attempts,
    ).toBe(1);
    expect(await getDb().ledgerEntry.count({ where: { userId: user.id } })).toBe(1);
    expect(await balanceOf(user.id)).toBe(100);
  });

  it("handles async payments delivered out of order: succeeded before completed", async () => {
    const user = await createUser();
    const session = await paidSession(mp.ctx, {
      priceId,
      clientReferenceId: user.id,
      card: "async",
    });
    const completed = await eventOf(mp.ctx.stripe, session.id, "checkout.session.completed");
    await mp.ctx.emu.control.succeedAsyncPayment(session.id);
    const succeeded = await eventOf(
      mp.ctx.stripe,
      session.id,
      "checkout.session.async_payment_succeeded",
    );

    expect((await deliver(mp.ctx, succeeded)).outcome).toBe("processed");
    expect(await balanceOf(user.id)).toBe(100);
    expect((await deliver(mp.ctx, completed)).outcome).toBe("processed");
    expect(await balanceOf(user.id)).toBe(100);
    expect(await getDb().ledgerEntry.count({ where: { userId: user.id } })).toBe(1);
    await expectLedgerClean();
  });

  it("keeps an async payment pending, then credits on async_payment_succeeded", async () => {
    const user = await createUser();
    const session = await paidSession(mp.ctx, {
      priceId,
      clientReferenceId: user.id,
      card: "async",
    });
    const completed = await eventOf(mp.ctx.stripe, session.id, "checkout.session.completed");
    expect((await deliver(mp.ctx, completed)).outcome).toBe("processed");
    expect(await balanceOf(user.id)).toBe(0);
    expect(
      (await getDb().stripeEvent.findUniqueOrThrow({ where: { id: completed.id } })).lastError,
    ).toBeNull();
    await mp.ctx.emu.control.succeedAsyncPayment(session.id);
    const succeeded = await eventOf(
      mp.ctx.stripe,
      session.id,
      "checkout.session.async_payment_succeeded",
    );
    expect((await deliver(mp.ctx, succeeded)).outcome).toBe("processed");
    expect(await balanceOf(user.id)).toBe(100);
  });

  it("records a failed async payment without crediting or raising attention", async () => {
    const user = await createUser();
    const session = await paidSession(mp.ctx, {
      priceId,
      clientReferenceId: user.id,
      card: "async",
    });
    await deliver(mp.ctx, await eventOf(mp.ctx.stripe, session.id, "checkout.session.completed"));
    await mp.ctx.emu.control.failAsyncPayment(session.id);
    const failed = await eventOf(
      mp.ctx.stripe,
      session.id,
      "checkout.session.async_payment_failed",
    );
    const attentionBefore = await getDb().attentionItem.count();
    expect((await deliver(mp.ctx, failed)).outcome).toBe("processed");
    expect((await getDb().stripeEvent.findUniqueOrThrow({ where: { id: failed.id } })).status).toBe(
      "processed",
    );
    expect(await balanceOf(user.id)).toBe(0);
    expect(await getDb().attentionItem.count()).toBe(attentionBefore);
  });

  it("answers 200 needs_attention for an unmatched user and leaves balances alone", async () => {
    const bystander = await createUser();
    const session = await paidSession(mp.ctx, { priceId, email: `${uid()}@nowhere.example` });
    const event = await eventOf(mp.ctx.stripe, session.id, "checkout.session.completed");
    const res = await deliver(mp.ctx, event);
    expect(res).toEqual({
      status: 200,
      body: { received: true, eventId: event.id, outcome: "accepted" },
      outcome: "needs_attention",
    });
    const stored = await getDb().stripeEvent.findUniqueOrThrow({ where: { id: event.id } });
    expect(stored.status).toBe("needs_attention");
    const item = await getDb().attentionItem.findFirstOrThrow({
      where: { checkoutSessionId: session.id },
    });
    expect(item).toMatchObject({ kind: "unmatched_user", status: "open", stripeEventId: event.id });
    expect(await getDb().purchase.count({ where: { checkoutSessionId: session.id } })).toBe(0);
    expect(await balanceOf(bystander.id)).toBe(0);
    expect((await lastDelivery()).outcome).toBe("accepted");
  });

  it("answers 200 needs_attention for a price that is not a credit pack", async () => {
    const user = await createUser();
    const plain = await createPrice(mp.ctx.stripe, { credits: null });
    const session = await paidSession(mp.ctx, { priceId: plain.id, clientReferenceId: user.id });
    const event = await eventOf(mp.ctx.stripe, session.id, "checkout.session.completed");
    expect((await deliver(mp.ctx, event)).outcome).toBe("needs_attention");
    expect(
      await getDb().attentionItem.findFirstOrThrow({ where: { checkoutSessionId: session.id } }),
    ).toMatchObject({ kind: "unknown_price" });
    expect(await balanceOf(user.id)).toBe(0);
  });

  it("ignores event types it does not handle with 200", async () => {
    const customer = await mp.ctx.stripe.customers.create({ email: "ignored@example.com" });
    const event = await eventOf(mp.ctx.stripe, customer.id, "customer.created");
    const res = await deliver(mp.ctx, event);
    expect(res.body.outcome).toBe("ignored");
    expect(res.status).toBe(200);
    expect((await getDb().stripeEvent.findUniqueOrThrow({ where: { id: event.id } })).status).toBe(
      "ignored",
    );
  });

  it("records a permanent failure as failed with an attention item and answers 200", async () => {
    const fake = {
      id: `evt_${uid()}`,
      object: "event",
      type: "checkout.session.completed",
      livemode: false,
      created: Math.floor(Date.now() / 1000),
      api_version: "2026-10-28.endive",
      data: { object: { id: "cs_test_doesnotexist", object: "checkout.session" } },
    };
    const res = await deliver(mp.ctx, JSON.stringify(fake));
    expect(res).toEqual({
      status: 200,
      body: { received: true, eventId: fake.id, outcome: "accepted" },
      outcome: "failed",
    });
    const stored = await getDb().stripeEvent.findUniqueOrThrow({ where: { id: fake.id } });
    expect(stored.status).toBe("failed");
    expect(stored.lastError).toMatch(/cs_test_doesnotexist was not found/);
    const item = await getDb().attentionItem.findFirstOrThrow({
      where: { stripeEventId: fake.id, kind: "failed_event" },
    });
    expect(item.status).toBe("open");
  });

  it("keeps an event queued while Stripe is unavailable and credits it on a later attempt", async () => {
    const user = await createUser();
    const session = await paidSession(mp.ctx, { priceId, clientReferenceId: user.id });
    const event = await eventOf(mp.ctx.stripe, session.id, "checkout.session.completed");
    mp.ctx.emu.control.setFaults({ api500Rate: 1 });
    let res;
    try {
      res = await deliver(mp.ctx, event);
    } finally {
      mp.ctx.emu.control.setFaults({ api500Rate: 0 });
    }
    // Stored, so Stripe is told not to resend; the queue owns the retry.
    expect(res.status).toBe(200);
    expect(res.body.outcome).toBe("accepted");
    const waiting = await getDb().stripeEvent.findUniqueOrThrow({ where: { id: event.id } });
    expect(waiting).toMatchObject({ status: "received", attempts: 1 });
    expect(waiting.lastError).toMatch(/^transient \(attempt 1\): /);
    expect(waiting.availableAt!.getTime()).toBeGreaterThan(Date.now() + 5_000);
    expect(await balanceOf(user.id)).toBe(0);
    expect((await queueBacklog()).waiting).toBeGreaterThanOrEqual(1);

    // Not due yet: a drain leaves it alone.
    expect((await drainWebhookQueue()).claimed).toBe(0);
    // Once the backoff has passed, the next attempt credits it.
    await getDb().stripeEvent.update({
      where: { id: event.id },
      data: { availableAt: new Date() },
    });
    expect((await drainWebhookQueue()).outcomes).toEqual({ processed: 1 });
    expect(await balanceOf(user.id)).toBe(100);
    expect(await getDb().stripeEvent.findUniqueOrThrow({ where: { id: event.id } })).toMatchObject({
      status: "processed",
      attempts: 2,
      availableAt: null,
    });
  });

  it("gives up after MAX_ATTEMPTS transient failures: failed + attention item, nothing credited", async () => {
    const user = await createUser();
    const session = await paidSession(mp.ctx, { priceId, clientReferenceId: user.id });
    const event = await eventOf(mp.ctx.stripe, session.id, "checkout.session.completed");
    expect(
      (await sendRaw(signedRequest(JSON.stringify(event), { secret: mp.ctx.secret }))).body,
    ).toMatchObject({ outcome: "accepted" });
    await getDb().stripeEvent.update({
      where: { id: event.id },
      data: { attempts: MAX_ATTEMPTS - 1 },
    });
    mp.ctx.emu.control.setFaults({ api500Rate: 1 });
    try {
      expect((await drainWebhookQueue()).outcomes).toEqual({ failed: 1 });
    } finally {
      mp.ctx.emu.control.setFaults({ api500Rate: 0 });
    }
    const stored = await getDb().stripeEvent.findUniqueOrThrow({ where: { id: event.id } });
    expect(stored).toMatchObject({ status: "failed", attempts: MAX_ATTEMPTS, availableAt: null });
    expect(stored.lastError).toMatch(/^Failed 10 times with temporary errors/);
    expect(
      await getDb().attentionItem.findFirstOrThrow({
        where: { stripeEventId: event.id, kind: "failed_event" },
      }),
    ).toMatchObject({ status: "open" });
    expect(await balanceOf(user.id)).toBe(0);
    // Stripe re-sending the event queues it again, and now it goes through.
    expect((await deliver(mp.ctx, event)).outcome).toBe("processed");
    expect(await balanceOf(user.id)).toBe(100);
  });

  it("answers 503 when the database is unreachable, so Stripe retries", async () => {
    const user = await createUser();
    const session = await paidSession(mp.ctx, { priceId, clientReferenceId: user.id });
    const event = await eventOf(mp.ctx.stripe, session.id, "checkout.session.completed");
    const real = getDatabase();
    // Nothing listens on port 1: every query fails to connect, like a database that is down.
    const down = await openDatabase({
      kind: "postgres",
      url: "postgresql://postgres@127.0.0.1:1/unreachable",
    });
    setDatabase(down);
    let res;
    try {
      res = await sendRaw(signedRequest(JSON.stringify(event), { secret: mp.ctx.secret }));
    } finally {
      setDatabase(real);
      await down.close().catch(() => undefined);
    }
    expect(res).toEqual({
      status: 503,
      body: {
        error: { code: "temporarily_unavailable", message: "Temporary failure; please retry." },
      },
    });
    expect(await getDb().stripeEvent.count({ where: { id: event.id } })).toBe(0);
    // Stripe's retry then goes through.
    expect((await deliver(mp.ctx, event)).outcome).toBe("processed");
    expect(await balanceOf(user.id)).toBe(100);
  });

  it("replays a stored event through processStripeEvent", async () => {
    const session = await paidSession(mp.ctx, { priceId, email: `${uid()}@later.example` });
    const event = await eventOf(mp.ctx.stripe, session.id, "checkout.session.completed");
    expect((await deliver(mp.ctx, event)).outcome).toBe("needs_attention");
    // Support creates the missing user, then replays.
    const user = await createUser({ email: session.customer_email! });
    const replayed = await processStripeEvent(event.id, "replay");
    expect(replayed.status).toBe("processed");
    expect(await balanceOf(user.id)).toBe(100);
    const purchase = await getDb().purchase.findUniqueOrThrow({
      where: { checkoutSessionId: session.id },
    });
    expect(purchase).toMatchObject({ creditedVia: "manual", userResolvedBy: "email" });
    expect(
      (await getDb().attentionItem.findFirstOrThrow({ where: { checkoutSessionId: session.id } }))
        .status,
    ).toBe("resolved");
  });
});

describe("POST /webhooks/stripe: refused requests", () => {
  async function refusedCase(request: Request) {
    const eventsBefore = await getDb().stripeEvent.count();
    const entriesBefore = await getDb().ledgerEntry.count();
    const res = await sendRaw(request);
    expect(await getDb().stripeEvent.count()).toBe(eventsBefore);
    expect(await getDb().ledgerEntry.count()).toBe(entriesBefore);
    return { res, delivery: await lastDelivery() };
  }

  async function completedEventBody() {
    const user = await createUser();
    const session = await paidSession(mp.ctx, { priceId, clientReferenceId: user.id });
    const event = await eventOf(mp.ctx.stripe, session.id, "checkout.session.completed");
    return { user, payload: JSON.stringify(event) };
  }

  it("400 for a missing Stripe-Signature header", async () => {
    const { user, payload } = await completedEventBody();
    const { res, delivery } = await refusedCase(signedRequest(payload, { header: null }));
    expect(res).toEqual({
      status: 400,
      body: { error: { code: "missing_signature", message: "Missing Stripe-Signature header." } },
    });
    expect(delivery).toMatchObject({
      signatureStatus: "missing",
      outcome: "invalid_signature",
      responseStatus: 400,
      eventId: null,
    });
    expect(await balanceOf(user.id)).toBe(0);
  });

  it("400 for a bad signature and for a header without t= / v1=", async () => {
    const { user, payload } = await completedEventBody();
    const good = Stripe.webhooks.generateTestHeaderString({ payload, secret: mp.ctx.secret });
    const tampered = good.replace(
      /v1=([0-9a-f])/,
      (_m, c: string) => `v1=${c === "0" ? "1" : "0"}`,
    );
    const bad = await refusedCase(signedRequest(payload, { header: tampered }));
    expect(bad.res.status).toBe(400);
    expect(bad.res.body.error?.code).toBe("invalid_signature");
    expect(bad.res.body.error?.message).toMatch(
      /No signature .* matches the body for any of the 1 configured webhook secret/,
    );
    expect(bad.delivery).toMatchObject({
      signatureStatus: "invalid",
      outcome: "invalid_signature",
      responseStatus: 400,
    });

    const garbled = await refusedCase(signedRequest(payload, { header: "nonsense" }));
    expect(garbled.res).toEqual({
      status: 400,
      body: {
        error: {
          code: "invalid_signature",
          message: "Stripe-Signature header is malformed: expected t=<timestamp>,v1=<signature>.",
        },
      },
    });
    expect(await balanceOf(user.id)).toBe(0);
  });

  it("400 for a body signed with another secret", async () => {
    const { user, payload } = await completedEventBody();
    const { res, delivery } = await refusedCase(
      signedRequest(payload, { secret: "whsec_someoneelse" }),
    );
    expect(res.status).toBe(400);
    expect(res.body.error?.code).toBe("invalid_signature");
    expect(delivery.signatureStatus).toBe("invalid");
    // The secret never appears in what is stored.
    expect(delivery.error).not.toContain(mp.ctx.secret);
    expect(await balanceOf(user.id)).toBe(0);
  });

  it("400 stale for a correctly signed request older than five minutes", async () => {
    const { user, payload } = await completedEventBody();
    const { res, delivery } = await refusedCase(
      signedRequest(payload, {
        secret: mp.ctx.secret,
        timestamp: Math.floor(Date.now() / 1000) - 600,
      }),
    );
    expect(res.status).toBe(400);
    expect(res.body.error?.code).toBe("stale_timestamp");
    expect(res.body.error?.message).toMatch(
      /^Stripe-Signature timestamp is 60\d s old; the tolerance is 300 s\.$/,
    );
    expect(delivery).toMatchObject({
      signatureStatus: "stale",
      outcome: "stale",
      responseStatus: 400,
    });
    expect(await balanceOf(user.id)).toBe(0);
  });

  it("400 livemode_mismatch for a live event when the key is a test key", async () => {
    const { user, payload } = await completedEventBody();
    const live = JSON.stringify({ ...JSON.parse(payload), livemode: true });
    const { res, delivery } = await refusedCase(signedRequest(live, { secret: mp.ctx.secret }));
    expect(res.status).toBe(400);
    expect(res.body.error?.code).toBe("livemode_mismatch");
    expect(res.body.error?.message).toMatch(
      /has livemode=true but the configured Stripe key is test mode; refused\.$/,
    );
    expect(delivery).toMatchObject({
      signatureStatus: "valid",
      outcome: "livemode_mismatch",
      responseStatus: 400,
      eventType: "checkout.session.completed",
    });
    expect(await balanceOf(user.id)).toBe(0);
  });

  it("400 malformed for a correctly signed body that is not JSON", async () => {
    const { res, delivery } = await refusedCase(
      signedRequest("{not json", { secret: mp.ctx.secret }),
    );
    expect(res).toEqual({
      status: 400,
      body: {
        error: {
          code: "malformed_payload",
          message: "The body has a valid signature but is not valid JSON.",
        },
      },
    });
    expect(delivery).toMatchObject({
      signatureStatus: "valid",
      outcome: "malformed",
      responseStatus: 400,
      bodySize: 9,
    });
  });

  it("413 for a 2 MB body, by Content-Length and while streaming", async () => {
    const big = Buffer.alloc(2 * 1024 * 1024, 0x61);
    const declared = await refusedCase(
      signedRequest(big, { secret: mp.ctx.secret, contentLength: String(big.length) }),
    );
    expect(declared.res).toEqual({
      status: 413,
      body: {
        error: {
          code: "payload_too_large",
          message: "Request body is 2097152 bytes; the limit is 1048576 bytes (1 MB).",
        },
      },
    });
    expect(declared.delivery).toMatchObject({
      outcome: "too_large",
      responseStatus: 413,
      bodySize: 2097152,
    });

    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 32; i++) controller.enqueue(new Uint8Array(64 * 1024).fill(0x62));
        controller.close();
      },
    });
    const streamed = new Request("http://127.0.0.1/webhooks/stripe", {
      method: "POST",
      headers: { "Stripe-Signature": "t=1,v1=00" },
      body: stream,
      duplex: "half",
    } as RequestInit);
    const s = await refusedCase(streamed);
    expect(s.res.status).toBe(413);
    expect(s.res.body.error?.code).toBe("payload_too_large");
    expect(s.delivery.outcome).toBe("too_large");
    // Read to the end (and thrown away) so the client gets the answer, not a reset.
    expect(s.delivery.bodySize).toBe(2 * 1024 * 1024);
    expect(s.res.body.error?.message).toBe(
      "Request body is 2097152 bytes; the limit is 1048576 bytes (1 MB).",
    );
  });

  it("accepts every configured secret (rotation) and refuses other methods with 405", async () => {
    const { user, payload } = await completedEventBody();
    const rotated = "whsec_rotatednewsecret";
    mp.setEnv({ STRIPE_WEBHOOK_SECRET: `${rotated}, ${mp.ctx.secret}` });
    try {
      const res = await deliver(mp.ctx, payload, { secret: rotated });
      expect(res.status).toBe(200);
      expect(res.outcome).toBe("processed");
      expect(await balanceOf(user.id)).toBe(100);
    } finally {
      mp.setEnv({});
    }
  });
});

describe("real HTTP delivery from the emulator", () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    // The endpoint as server.ts mounts it, with this process's queue worker running.
    const app = express();
    app.all("/webhooks/stripe", (req, res) => void stripeWebhookEndpoint(req, res));
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, "127.0.0.1", () => resolve(s));
    });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/stripe`;
    await mp.ctx.emu.control.createWebhookEndpoint({
      url,
      secret: mp.ctx.secret,
      enabled_events: ["*"],
    });
    startWebhookWorker();
  });
  afterAll(async () => {
    await stopWebhookWorker();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  async function queueSettled() {
    for (let i = 0; i < 200 && (await queueBacklog()).waiting > 0; i++)
      await new Promise((r) => setTimeout(r, 50));
    expect((await queueBacklog()).waiting).toBe(0);
  }

  it("refuses methods other than POST with 405 and Allow: POST", async () => {
    for (const method of ["GET", "PUT"]) {
      const res = await fetch(url, { method });
      expect(res.status).toBe(405);
      expect(res.headers.get("allow")).toBe("POST");
      expect(await res.json()).toEqual({
        error: { code: "method_not_allowed", message: "Stripe webhooks are delivered with POST." },
      });
    }
  });

  it("takes the raw body over HTTP: signed bytes accepted, a 2 MB body refused with 413", async () => {
    const user = await createUser();
    const session = await paidSession(mp.ctx, { priceId, clientReferenceId: user.id });
    const event = await eventOf(mp.ctx.stripe, session.id, "checkout.session.completed");
    // Unusual but valid JSON spacing: any re-serialisation would break the signature.
    const payload = JSON.stringify(event, null, 3);
    const header = Stripe.webhooks.generateTestHeaderString({ payload, secret: mp.ctx.secret });
    const ok = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Stripe-Signature": header },
      body: payload,
    });
    expect(ok.status).toBe(200);
    // The emulator delivers the same event to this endpoint by itself and may have been first.
    const answer = (await ok.json()) as { outcome: string };
    expect(answer).toMatchObject({ received: true, eventId: event.id });
    expect(["accepted", "duplicate"]).toContain(answer.outcome);
    await queueSettled();
    expect(await balanceOf(user.id)).toBe(100);

    const big = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Stripe-Signature": header },
      body: Buffer.alloc(2 * 1024 * 1024, 0x20),
    });
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: { code: string } }).error.code).toBe(
      "payload_too_large",
    );
  });

  it("credits once under duplicate, reordered and wrongly signed deliveries", async () => {
    const before = (await getDb().webhookDelivery.aggregate({ _max: { id: true } }))._max.id ?? 0n;
    mp.ctx.emu.control.setFaults({ duplicateRate: 1, reorder: true, wrongSecretRate: 0.3 });
    const users = await Promise.all([createUser(), createUser(), createUser()]);
    try {
      for (const user of users) await paidSession(mp.ctx, { priceId, clientReferenceId: user.id });
      await mp.ctx.emu.control.waitForDeliveries({ timeoutMs: 20_000 });
      // Wrongly signed attempts were refused (400) and are retried by the emulator: flush them.
      mp.ctx.emu.control.setFaults({ wrongSecretRate: 0 });
      await mp.ctx.emu.control.flushDeliveries({ timeoutMs: 20_000 });
    } finally {
      mp.ctx.emu.control.setFaults({ duplicateRate: 0, reorder: false, wrongSecretRate: 0 });
    }
    await queueSettled();
    for (const user of users) {
      expect(await balanceOf(user.id)).toBe(100);
      expect(await getDb().ledgerEntry.count({ where: { userId: user.id } })).toBe(1);
    }
    const count = (outcome: string) =>
      getDb().webhookDelivery.count({ where: { id: { gt: before }, outcome } });
    expect(await count("accepted")).toBeGreaterThanOrEqual(3);
    expect(await count("duplicate")).toBeGreaterThan(0);
    expect(await count("invalid_signature")).toBeGreaterThan(0);
    await expectLedgerClean();
  });
});

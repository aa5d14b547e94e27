import { randomBytes } from "node:crypto";
import Stripe from "stripe";
import { afterAll, beforeAll } from "vitest";
import { startEmulator, type EmulatorHandle } from "../../emulator/index";
import { getDb } from "../../app/services/infra/db.server";
import { parseEnv, setEnv, type Env } from "../../app/services/infra/env.server";
import { createStripeClient, setStripe } from "../../app/services/infra/stripe-client.server";
import { readLimitedBody, receiveStripeWebhook } from "../../app/services/webhooks/ingest.server";
import { drainWebhookQueue } from "../../app/services/webhooks/queue.server";

/**
 * Money-path test kit: an emulator per test file, the app's Stripe client and env pointed at it,
 * factories for users / packs / paid sessions, and signed webhook requests to the real route.
 */

export interface MoneyPath {
  emu: EmulatorHandle;
  stripe: Stripe;
  secret: string;
}

export function useMoneyPath(
  envOverrides: Record<string, string> = {},
  emulatorOptions: { clock?: number } = {},
): {
  get ctx(): MoneyPath;
  setEnv(patch: Record<string, string>): void;
} {
  let ctx: MoneyPath | undefined;
  const secret = `whsec_${randomBytes(16).toString("hex")}`;
  let baseEnv: Record<string, string | undefined> = {};
  const apply = (patch: Record<string, string>) => {
    setEnv(parseEnv({ ...baseEnv, ...envOverrides, ...patch }) as Env);
  };
  beforeAll(async () => {
    const emu = await startEmulator({ host: "127.0.0.1", ...emulatorOptions });
    const stripe = createStripeClient({
      secretKey: "sk_test_creditdesk_tests",
      apiBase: emu.url,
      maxNetworkRetries: 0,
    });
    setStripe(stripe);
    baseEnv = {
      ...process.env,
      NODE_ENV: "test",
      STRIPE_SECRET_KEY: "sk_test_creditdesk_tests",
      STRIPE_API_BASE: emu.url,
      STRIPE_WEBHOOK_SECRET: secret,
      DEMO_SEED: "false",
      SCHEDULER: "off",
    };
    apply({});
    ctx = { emu, stripe, secret };
  });
  afterAll(async () => {
    setStripe(undefined);
    setEnv(undefined);
    await ctx?.emu.stop();
  });
  return {
    get ctx() {
      if (!ctx) throw new Error("money path not ready (use inside tests/hooks)");
      return ctx;
    },
    setEnv: apply,
  };
}

export const uid = (prefix = "u") => `${prefix}_${randomBytes(6).toString("hex")}`;

export async function createUser(
  opts: { id?: string; email?: string; stripeCustomerId?: string | null } = {},
) {
  const id = opts.id ?? uid("user");
  const email = opts.email ?? `${id}@example.com`;
  return getDb().user.create({
    data: {
      id,
      email,
      emailNormalized: email.toLowerCase(),
      stripeCustomerId: opts.stripeCustomerId ?? null,
    },
  });
}

/** A Stripe product + one-time price carrying metadata.credits (and optionally metadata.tier). */
export async function createPrice(
  stripe: Stripe,
  opts: {
    credits?: number | string | null;
    unitAmount?: number;
    tier?: string;
    recurring?: boolean;
    name?: string;
  } = {},
): Promise<Stripe.Price> {
  const product = await stripe.products.create({ name: opts.name ?? `Pack ${uid("p")}` });
  const metadata: Record<string, string> = {};
  if (opts.credits !== null) metadata.credits = String(opts.credits ?? 100);
  if (opts.tier) metadata.tier = opts.tier;
  return stripe.prices.create({
    product: product.id,
    unit_amount: opts.unitAmount ?? 1000,
    currency: "usd",
    metadata,
    ...(opts.recurring ? { recurring: { interval: "month" } } : {}),
  });
}

export interface SessionOptions {
  priceId: string;
  quantity?: number;
  clientReferenceId?: string;
  metadataUserId?: string;
  customer?: string;
  email?: string;
  mode?: "payment" | "subscription";
  subscriptionMetadata?: Record<string, string>;
}

export async function createSession(
  stripe: Stripe,
  o: SessionOptions,
): Promise<Stripe.Checkout.Session> {
  return stripe.checkout.sessions.create({
    mode: o.mode ?? "payment",
    line_items: [{ price: o.priceId, quantity: o.quantity ?? 1 }],
    success_url: "https://app.example/success",
    cancel_url: "https://app.example/cancel",
    ...(o.clientReferenceId ? { client_reference_id: o.clientReferenceId } : {}),
    ...(o.metadataUserId ? { metadata: { user_id: o.metadataUserId } } : {}),
    ...(o.customer ? { customer: o.customer } : o.email ? { customer_email: o.email } : {}),
    ...(o.subscriptionMetadata ? { subscription_data: { metadata: o.subscriptionMetadata } } : {}),
  });
}

/** Create and pay a session in the emulator (its events are created, not necessarily delivered). */
export async function paidSession(
  mp: MoneyPath,
  o: SessionOptions & { card?: "success" | "async"; payEmail?: string },
) {
  const session = await createSession(mp.stripe, o);
  await mp.emu.control.paySession(session.id, {
    card: o.card ?? "success",
    ...(o.payEmail ? { email: o.payEmail } : {}),
  });
  return session;
}

/** The emulator's events about one object (session, charge, dispute, subscription), oldest first. */
export async function eventsFor(
  stripe: Stripe,
  objectId: string,
  type?: string,
): Promise<Stripe.Event[]> {
  const out: Stripe.Event[] = [];
  for await (const e of stripe.events.list({ limit: 100, ...(type ? { type } : {}) })) {
    const obj = e.data.object as { id?: string };
    if (obj.id === objectId) out.push(e);
  }
  // The list is newest first (ties in `created` keep creation order), so reversing gives oldest first.
  return out.reverse();
}

export async function eventOf(
  stripe: Stripe,
  objectId: string,
  type: string,
): Promise<Stripe.Event> {
  const [event] = await eventsFor(stripe, objectId, type);
  if (!event) throw new Error(`no ${type} event for ${objectId}`);
  return event;
}

export function signedRequest(
  payload: string | Buffer,
  opts: {
    secret?: string;
    timestamp?: number;
    header?: string | null;
    contentLength?: string;
  } = {},
): Request {
  const headers = new Headers({ "Content-Type": "application/json" });
  if (opts.header !== null) {
    const header =
      opts.header ??
      Stripe.webhooks.generateTestHeaderString({
        payload: typeof payload === "string" ? payload : payload.toString("utf8"),
        secret: opts.secret ?? "",
        timestamp: opts.timestamp,
      });
    headers.set("Stripe-Signature", header);
  }
  if (opts.contentLength) headers.set("Content-Length", opts.contentLength);
  return new Request("http://127.0.0.1/webhooks/stripe", {
    method: "POST",
    headers,
    body: typeof payload === "string" ? payload : new Uint8Array(payload),
  });
}

/**
 * Deliver a signed event as Stripe would, then let the event queue act on it. `body` is what
 * the endpoint answered (`accepted`, `duplicate`, …); `outcome` is what became of the event:
 * its status once processed (`processed`, `needs_attention`, `ignored`, `failed`), or the
 * answer itself when nothing was queued.
 */
export async function deliver(
  mp: MoneyPath,
  event: Stripe.Event | string,
  opts: { secret?: string; timestamp?: number } = {},
) {
  const payload = typeof event === "string" ? event : JSON.stringify(event);
  const res = await sendRaw(
    signedRequest(payload, { secret: opts.secret ?? mp.secret, timestamp: opts.timestamp }),
  );
  const body = res.body as Record<string, unknown>;
  let outcome = body.outcome as string | undefined;
  if (outcome === "accepted" && typeof body.eventId === "string") {
    const eventId = body.eventId;
    // Concurrent deliveries drain concurrently: another caller's drain may hold this event.
    for (let i = 0; i < 250; i++) {
      await drainWebhookQueue();
      const row = await getDb().stripeEvent.findUniqueOrThrow({ where: { id: eventId } });
      outcome = row.status;
      const retryLater = row.lastError?.startsWith("transient") ?? false;
      if (row.status !== "received" || retryLater) break;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  return { status: res.status, body, outcome };
}

/** Hand a request to the webhook receiver exactly as the HTTP endpoint does (no queue drain). */
export async function sendRaw(request: Request) {
  const declared = request.headers.get("content-length");
  const res = await receiveStripeWebhook({
    body: await readLimitedBody(
      request.body as AsyncIterable<Uint8Array> | null,
      declared === null ? null : Number(declared),
    ),
    signature: request.headers.get("stripe-signature"),
    ip: "127.0.0.1",
  });
  return {
    status: res.status,
    body: res.body as {
      error?: { code: string; message: string };
      outcome?: string;
      eventId?: string;
    },
  };
}

export async function balanceOf(userId: string): Promise<number> {
  return (await getDb().user.findUniqueOrThrow({ where: { id: userId } })).balance;
}

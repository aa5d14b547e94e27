import Stripe from "stripe";
import { startEmulator, type EmulatorHandle, type EmulatorOptions } from "../../../emulator/index";
import { recorder } from "./conformance";

export const TEST_KEY = "sk_test_emulator_suite";
export const LIVE_KEY = "sk_live_emulator_suite";

/** The official SDK pointed at the emulator, the way the app does it through STRIPE_API_BASE. */
export function sdkFor(baseUrl: string, key = TEST_KEY, config: Stripe.StripeConfig = {}): Stripe {
  const { hostname, port } = new URL(baseUrl);
  return new Stripe(key, {
    host: hostname,
    port: Number(port),
    protocol: "http",
    maxNetworkRetries: 0,
    ...config,
  });
}

export interface Harness {
  emulator: EmulatorHandle;
  stripe: Stripe;
  live: Stripe;
}

/** `startEmulator` with every body it sends recorded for the file's conformance check. */
export function startRecordedEmulator(opts: EmulatorOptions = {}): Promise<EmulatorHandle> {
  return startEmulator({ onBody: recorder.record, ...opts });
}

export async function startHarness(opts: EmulatorOptions = {}): Promise<Harness> {
  const emulator = await startRecordedEmulator({ seed: 42, clock: 1_790_000_000, ...opts });
  return { emulator, stripe: sdkFor(emulator.url), live: sdkFor(emulator.url, LIVE_KEY) };
}

/** A one-time price in its own product, with the `metadata.credits` the app reads. */
export async function createPackPrice(
  stripe: Stripe,
  amount = 1_000,
  credits = "100",
): Promise<Stripe.Price> {
  return stripe.prices.create({
    currency: "usd",
    unit_amount: amount,
    product_data: { name: `Pack ${credits}` },
    metadata: { credits },
  });
}

export async function createPaymentSession(
  stripe: Stripe,
  price: Stripe.Price,
  extra: Partial<Stripe.Checkout.SessionCreateParams> = {},
): Promise<Stripe.Checkout.Session> {
  return stripe.checkout.sessions.create({
    mode: "payment",
    line_items: [{ price: price.id, quantity: 1 }],
    success_url: "https://app.example/success?session_id={CHECKOUT_SESSION_ID}",
    cancel_url: "https://app.example/cancel",
    ...extra,
  });
}

/** Collects what the SDK throws, so tests can assert on Stripe's error fields. */
export async function stripeError(promise: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof Stripe.errors.StripeError) return err;
    throw err;
  }
  throw new Error("Expected the Stripe call to fail, but it succeeded");
}

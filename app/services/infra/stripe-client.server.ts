import { remember } from "~/lib/remember";
import Stripe from "stripe";
import { getEnv } from "./env.server";

/** Pinned so Stripe objects keep the shape this code was written against. */
export const STRIPE_API_VERSION = "2026-10-28.endive" as const;

/** Test key the demo emulator accepts; never valid at Stripe. */
export const DEMO_SECRET_KEY = "sk_test_creditdesk_demo";

export interface StripeConnection {
  secretKey: string;
  /** Another Stripe-compatible server (the emulator); unset → api.stripe.com. */
  apiBase?: string;
  maxNetworkRetries?: number;
}

export function createStripeClient(conn: StripeConnection): Stripe {
  const options: Stripe.StripeConfig = {
    apiVersion: STRIPE_API_VERSION as Stripe.StripeConfig["apiVersion"],
    maxNetworkRetries: conn.maxNetworkRetries ?? 3,
    timeout: 30_000,
    appInfo: { name: "creditdesk" },
    telemetry: false,
  };
  if (conn.apiBase) {
    const url = new URL(conn.apiBase);
    options.host = url.hostname;
    options.port = url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
    options.protocol = url.protocol === "https:" ? "https" : "http";
  }
  return new Stripe(conn.secretKey, options);
}

const holder = remember("stripe", (): { __creditdeskStripe?: Stripe } => ({}));

/** The process's Stripe client, built from STRIPE_SECRET_KEY and STRIPE_API_BASE. */
export function getStripe(): Stripe {
  if (!holder.__creditdeskStripe) {
    const env = getEnv();
    if (!env.STRIPE_SECRET_KEY) {
      throw new Error(
        "Stripe is not configured: set STRIPE_SECRET_KEY (demo mode sets it for the emulator).",
      );
    }
    holder.__creditdeskStripe = createStripeClient({
      secretKey: env.STRIPE_SECRET_KEY,
      apiBase: env.STRIPE_API_BASE,
    });
  }
  return holder.__creditdeskStripe;
}

/** Install a client (tests, demo mode pointing at the in-process emulator). */
export function setStripe(stripe: Stripe | undefined): void {
  holder.__creditdeskStripe = stripe;
}

/** Whether the configured key is a live-mode key: events must then be livemode, and vice versa. */
export function expectsLivemode(): boolean {
  return Boolean(getEnv().STRIPE_SECRET_KEY?.includes("_live_"));
}

import type Stripe from "stripe";
import { getDb } from "../infra/db.server";
import { getEnv } from "../infra/env.server";
import { logger, scrubSecrets } from "../infra/logger.server";
import { getStripe } from "../infra/stripe-client.server";
import type {
  DoctorEndpoint,
  DoctorFinding,
  FindingCode,
  FindingSeverity,
} from "~/shared/webhook-doctor";
import { HANDLED_EVENT_TYPES } from "../webhooks/handlers.server";

/**
 * The webhook doctor: why might webhooks not be arriving? It compares Stripe's endpoint
 * configuration with what this app expects, and Stripe's activity with our own delivery log.
 * Every finding says what is wrong and what to change (the dashboard shows `fix` beside it).
 */

// The finding's shape is shared with the webhooks page and its panel (client-safe).
export type { DoctorEndpoint, DoctorFinding, FindingCode, FindingSeverity };

export interface DoctorReport {
  checkedAt: string;
  /** No finding of severity "error". */
  ok: boolean;
  expectedUrl: string;
  endpoints: DoctorEndpoint[];
  findings: DoctorFinding[];
  deliveries: {
    lastValidAt: string | null;
    valid24h: number;
    invalidSignature24h: number;
    serverErrors24h: number;
  };
  /** Stripe had completed Checkout Sessions in the last 24 h (null when it was not asked). */
  completedSessions24h: boolean | null;
  webhooksSilent: boolean;
}

export interface DoctorOptions {
  stripe?: Stripe;
  now?: Date;
  /** Wraps each Stripe call (the run passes its pacing gate). */
  call?: <T>(fn: () => Promise<T>) => Promise<T>;
}

const DAY_MS = 24 * 3600 * 1000;

function normalizeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host.toLowerCase()}${u.pathname.replace(/\/+$/, "")}`;
  } catch {
    return url.trim().replace(/\/+$/, "");
  }
}

function isLocalHost(url: string): boolean {
  try {
    const host = new URL(url).hostname;
    return (
      host === "localhost" ||
      host === "127.0.0.1" ||
      host === "::1" ||
      host === "[::1]" ||
      host.endsWith(".local")
    );
  } catch {
    return false;
  }
}

export async function runWebhookDoctor(opts: DoctorOptions = {}): Promise<DoctorReport> {
  const env = getEnv();
  const now = opts.now ?? new Date();
  const call = opts.call ?? (<T>(fn: () => Promise<T>) => fn());
  const expectedUrl = `${env.appUrl}/webhooks/stripe`;
  const listen = `stripe listen --forward-to ${expectedUrl}`;
  const eventsList = HANDLED_EVENT_TYPES.join(", ");
  const findings: DoctorFinding[] = [];
  const endpoints: DoctorEndpoint[] = [];

  if (env.webhookSecrets.length === 0) {
    findings.push({
      code: "no_signing_secret",
      severity: "error",
      title: "No webhook signing secret configured",
      detail:
        "STRIPE_WEBHOOK_SECRET is empty, so no delivery can be verified; every webhook is answered 503.",
      fix:
        "Copy the endpoint's signing secret (whsec_…) from Stripe → Developers → Webhooks → your endpoint → " +
        `Signing secret, set STRIPE_WEBHOOK_SECRET and restart. For local development \`${listen}\` prints one.`,
    });
  }

  let stripe: Stripe | null = null;
  let stripeOk = true;
  try {
    const client = opts.stripe ?? getStripe();
    stripe = client;
    // An account has at most 16 endpoints; the cap only guards against a runaway list.
    const listed = await call(() =>
      client.webhookEndpoints.list({ limit: 100 }).autoPagingToArray({ limit: 1000 }),
    );
    for (const e of listed) {
      endpoints.push({
        id: e.id,
        url: e.url,
        status: e.status,
        enabledEvents: [...e.enabled_events],
        matchesAppUrl: normalizeUrl(e.url) === normalizeUrl(expectedUrl),
      });
    }
  } catch (error) {
    stripeOk = false;
    const message = scrubSecrets((error as Error)?.message ?? String(error));
    logger.warn({ err: message }, "webhook doctor could not list webhook endpoints");
    findings.push({
      code: "stripe_unreachable",
      severity: "warning",
      title: "Could not read the webhook endpoints from Stripe",
      detail: message,
      fix:
        "Check STRIPE_SECRET_KEY (a restricted key needs read access to Webhook Endpoints) and that " +
        "this server can reach the Stripe API.",
    });
  }

  if (stripeOk) {
    const ours = endpoints.filter((e) => e.matchesAppUrl);
    const enabled = ours.filter((e) => e.status === "enabled");
    if (endpoints.length === 0) {
      findings.push({
        code: "no_endpoint",
        severity: "error",
        title: "No webhook endpoint is configured in Stripe",
        detail:
          "Stripe has nowhere to send events, so purchases are only credited by reconciliation.",
        fix:
          `In Stripe → Developers → Webhooks add an endpoint for ${expectedUrl} with the events ` +
          `${eventsList}, then set its signing secret as STRIPE_WEBHOOK_SECRET. ` +
          `For local development run \`${listen}\`.`,
      });
    } else if (ours.length === 0) {
      findings.push({
        code: "url_mismatch",
        severity: "error",
        title: "No webhook endpoint points at this app",
        detail: `Stripe's endpoints point at ${endpoints.map((e) => e.url).join(", ")}; this app receives webhooks at ${expectedUrl}.`,
        fix:
          `Change the endpoint's URL in Stripe → Developers → Webhooks to ${expectedUrl} (the path is ` +
          "/webhooks/stripe), or set APP_URL to this app's public base URL if that is what is wrong. " +
          `For local development run \`${listen}\`.`,
      });
    } else if (enabled.length === 0) {
      for (const e of ours) {
        findings.push({
          code: "endpoint_disabled",
          severity: "error",
          endpointId: e.id,
          title: `Webhook endpoint ${e.id} is disabled`,
          detail:
            "Stripe sends nothing to a disabled endpoint, and events created while it is disabled are " +
            "never sent later (reconciliation credits those purchases).",
          fix: `Enable endpoint ${e.id} in Stripe → Developers → Webhooks. Stripe disables endpoints after days of failed deliveries: check the delivery log for the cause first.`,
        });
      }
    } else {
      for (const e of enabled) {
        if (e.enabledEvents.includes("*")) continue;
        const missing = HANDLED_EVENT_TYPES.filter((t) => !e.enabledEvents.includes(t));
        if (missing.length === 0) continue;
        const critical = missing.some(
          (t) => t.startsWith("checkout.session.") && t !== "checkout.session.expired",
        );
        findings.push({
          code: "missing_events",
          severity: critical ? "error" : "warning",
          endpointId: e.id,
          title: `Endpoint ${e.id} is not subscribed to ${missing.length} event type(s) this app handles`,
          detail: `Missing: ${missing.join(", ")}.`,
          fix: `Add these events to endpoint ${e.id} in Stripe → Developers → Webhooks: ${missing.join(", ")}.`,
        });
      }
      if (enabled.length > 1) {
        findings.push({
          code: "duplicate_endpoints",
          severity: "info",
          title: `${enabled.length} enabled endpoints point at this app`,
          detail:
            "Each event is delivered once per endpoint (harmless: processing is idempotent), and each " +
            "endpoint signs with its own secret.",
          fix:
            "Delete the extra endpoints, or keep every endpoint's signing secret in STRIPE_WEBHOOK_SECRET " +
            "(comma-separated).",
        });
      }
    }
    if (isLocalHost(expectedUrl) && !env.STRIPE_API_BASE && !env.demoMode) {
      findings.push({
        code: "local_url",
        severity: "warning",
        title: "APP_URL is a local address Stripe cannot reach",
        detail: `Stripe's servers cannot deliver to ${expectedUrl}.`,
        fix: `For local development run \`${listen}\` and use the secret it prints; in production set APP_URL to the public URL.`,
      });
    }
  }

  // Our side of the story: what actually arrived at /webhooks/stripe.
  const since = new Date(now.getTime() - DAY_MS);
  const [stats] = await getDb().$queryRaw<
    { last_valid: Date | null; valid: bigint; invalid: bigint; server_errors: bigint }[]
  >`
    SELECT
      (SELECT max(received_at) FROM webhook_deliveries WHERE signature_status = 'valid') AS last_valid,
      count(*) FILTER (WHERE signature_status = 'valid') AS valid,
      count(*) FILTER (WHERE outcome = 'invalid_signature' AND signature_status = 'invalid') AS invalid,
      count(*) FILTER (WHERE response_status >= 500) AS server_errors
    FROM webhook_deliveries WHERE received_at >= ${since}`;
  const valid24h = Number(stats?.valid ?? 0);
  const invalid24h = Number(stats?.invalid ?? 0);
  const serverErrors24h = Number(stats?.server_errors ?? 0);
  const lastValid = stats?.last_valid ?? null;

  if (invalid24h > 0) {
    findings.push({
      code: "signing_secret_mismatch",
      severity: valid24h === 0 ? "error" : "warning",
      title: `${invalid24h} webhook deliveries in the last 24 h had a signature no configured secret matches`,
      detail:
        valid24h === 0
          ? "No delivery in that time was valid: the endpoint's signing secret is most likely not the one configured."
          : "Some deliveries were valid: a second endpoint (or an old Stripe CLI session) may be signing with another secret, or someone is posting unsigned requests.",
      fix:
        "Reveal the endpoint's signing secret in Stripe → Developers → Webhooks → endpoint → Signing secret and " +
        "set it as STRIPE_WEBHOOK_SECRET (comma-separate the old and new secrets while rotating). With the " +
        `Stripe CLI use the whsec_… that \`${listen}\` prints.`,
    });
  }
  if (serverErrors24h > 0) {
    findings.push({
      code: "delivery_failures",
      severity: "warning",
      title: `${serverErrors24h} webhook deliveries in the last 24 h were answered with a server error`,
      detail: "Stripe retries them, but they were not processed when they arrived.",
      fix: 'Open the webhook log filtered by outcome "failed" for the errors (database down, Stripe unreachable, missing secret) and fix the cause; Stripe\'s retries or the next reconciliation catch up.',
    });
  }

  let completedSessions24h: boolean | null = null;
  let webhooksSilent = false;
  const quiet = !lastValid || now.getTime() - lastValid.getTime() > DAY_MS;
  if (quiet && stripe && stripeOk) {
    const client = stripe;
    try {
      const page = await call(() =>
        client.checkout.sessions.list({
          status: "complete",
          created: { gte: Math.floor(since.getTime() / 1000) },
          limit: 1,
        }),
      );
      completedSessions24h = page.data.length > 0;
    } catch (error) {
      logger.warn(
        { err: scrubSecrets((error as Error).message) },
        "webhook doctor could not list recent sessions",
      );
    }
    if (completedSessions24h) {
      webhooksSilent = true;
      findings.push({
        code: "webhooks_silent",
        severity: "error",
        title: "Webhooks are silent",
        detail: `No valid webhook delivery ${lastValid ? `since ${lastValid.toISOString()}` : "has ever arrived"}, while Stripe completed Checkout Sessions in the last 24 h.`,
        fix:
          `Check that ${expectedUrl} is reachable from the internet, that the Stripe endpoint is enabled and ` +
          "subscribed to checkout.session.completed, and that the signing secret matches. " +
          `For local development run \`${listen}\`.`,
      });
    }
  }

  return {
    checkedAt: now.toISOString(),
    ok: !findings.some((f) => f.severity === "error"),
    expectedUrl,
    endpoints,
    findings,
    deliveries: {
      lastValidAt: lastValid ? lastValid.toISOString() : null,
      valid24h,
      invalidSignature24h: invalid24h,
      serverErrors24h,
    },
    completedSessions24h,
    webhooksSilent,
  };
}

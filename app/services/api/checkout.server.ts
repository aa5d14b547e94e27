import { createHash, randomUUID } from "node:crypto";
import Stripe from "stripe";
import { z } from "zod";
import { writeAudit } from "../audit.server";
import { apiKeyActor, type ApiPrincipal } from "../api-keys.server";
import { getDb } from "../infra/db.server";
import { NotFoundError, type DomainError } from "../errors.server";
import { fulfillCheckoutSession, type FulfillResult } from "../fulfillment.server";
import { scrubSecrets } from "../infra/logger.server";
import { getStripe } from "../infra/stripe-client.server";
import { ApiError } from "./http.server";
import { findPackByPrice } from "./packs.server";
import {
  normalizeEmail,
  toApiLedgerEntry,
  userScopedKey,
  type ApiLedgerEntry,
} from "./users.server";

export const MAX_CHECKOUT_QUANTITY = 100;

const required = (field: string, kind: string) => (iss: { input?: unknown }) =>
  iss.input === undefined ? `${field} is required` : `${field} must be ${kind}`;

const returnUrlSchema = (field: string) =>
  z
    .string({ error: required(field, "an absolute http(s) URL") })
    .max(2048, { error: `${field} must be at most 2048 characters` })
    .pipe(z.url({ protocol: /^https?$/, error: `${field} must be an absolute http(s) URL` }));

export const createCheckoutBodySchema = z.strictObject({
  userId: z.string({ error: required("userId", "a string") }).regex(/^[A-Za-z0-9_.:@-]{1,128}$/, {
    error: "userId must be 1–128 characters of letters, digits and _ . : @ -",
  }),
  priceId: z
    .string({ error: required("priceId", "a Stripe price id") })
    .regex(/^[A-Za-z0-9_]{1,255}$/, {
      error: "priceId must be a Stripe price id such as price_123",
    }),
  quantity: z
    .number({ error: `quantity must be a whole number from 1 to ${MAX_CHECKOUT_QUANTITY}` })
    .int({ error: `quantity must be a whole number from 1 to ${MAX_CHECKOUT_QUANTITY}` })
    .min(1, { error: `quantity must be a whole number from 1 to ${MAX_CHECKOUT_QUANTITY}` })
    .max(MAX_CHECKOUT_QUANTITY, {
      error: `quantity must be a whole number from 1 to ${MAX_CHECKOUT_QUANTITY}`,
    })
    .default(1),
  successUrl: returnUrlSchema("successUrl"),
  cancelUrl: returnUrlSchema("cancelUrl"),
});
export type CreateCheckoutBody = z.output<typeof createCheckoutBodySchema>;

/** Optional `Idempotency-Key` header: the same key (per user) returns the same session. */
export const checkoutHeadersSchema = z.object({
  "Idempotency-Key": z
    .string()
    .regex(/^[\x21-\x7e]{1,100}$/, {
      error: "Idempotency-Key must be 1–100 printable ASCII characters without spaces",
    })
    .optional(),
});

/** Checkout Session ids as Stripe issues them (cs_test_…, cs_live_…). */
export const checkoutSessionPathSchema = z.object({
  id: z.string().regex(/^cs_[A-Za-z0-9_]{1,250}$/, {
    error: "id must be a Checkout Session id such as cs_test_…",
  }),
});

/** Turn a Stripe failure into an API error that neither leaks credentials nor blames the caller for Stripe's outage. */
export function stripeFailure(error: unknown, what: string): DomainError | null {
  if (error instanceof Stripe.errors.StripeError) {
    if (error instanceof Stripe.errors.StripeIdempotencyError) {
      return new ApiError(
        409,
        "idempotency_conflict",
        "The Idempotency-Key was already used with a different request.",
        "Idempotency-Key",
      );
    }
    if (error instanceof Stripe.errors.StripeInvalidRequestError && error.statusCode === 404) {
      return new ApiError(
        404,
        "not_found",
        `Stripe has no ${what}: ${scrubSecrets(error.message)}`,
      );
    }
    if (
      error instanceof Stripe.errors.StripeInvalidRequestError ||
      error instanceof Stripe.errors.StripeCardError
    ) {
      return new ApiError(
        422,
        "stripe_rejected",
        `Stripe rejected the ${what} request: ${scrubSecrets(error.message)}`,
        error.param ?? undefined,
      );
    }
    if (
      error instanceof Stripe.errors.StripeAuthenticationError ||
      error instanceof Stripe.errors.StripePermissionError
    ) {
      return new ApiError(
        503,
        "stripe_unavailable",
        "creditdesk could not authenticate to Stripe; the operators have to fix its Stripe key.",
      );
    }
    return new ApiError(
      502,
      "stripe_unavailable",
      `Stripe did not complete the ${what} request; try again shortly.`,
    );
  }
  if (error instanceof Error && /Stripe is not configured/.test(error.message)) {
    return new ApiError(
      503,
      "stripe_not_configured",
      "Stripe is not configured on this creditdesk server.",
    );
  }
  return null;
}

/** Run Stripe work; Stripe's failures become API errors, anything else (a database outage) stays what it is. */
async function callStripe<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw stripeFailure(error, what) ?? error;
  }
}

/**
 * The user's Stripe customer, created once. The idempotency key makes concurrent first checkouts
 * create one customer; the conditional update makes only one of them save it.
 */
async function ensureStripeCustomer(user: {
  id: string;
  email: string;
  emailNormalized: string;
  stripeCustomerId: string | null;
}) {
  if (user.stripeCustomerId) return { customerId: user.stripeCustomerId, created: false };
  const emailTag = createHash("sha256").update(user.emailNormalized).digest("hex").slice(0, 16);
  const customer = await callStripe("customer", () =>
    getStripe().customers.create(
      { email: user.email, metadata: { user_id: user.id } },
      { idempotencyKey: `cdk-customer:${user.id}:${emailTag}` },
    ),
  );
  const db = getDb();
  const saved = await db.user.updateMany({
    where: { id: user.id, stripeCustomerId: null },
    data: { stripeCustomerId: customer.id },
  });
  if (saved.count === 1) return { customerId: customer.id, created: true };
  const current = await db.user.findUniqueOrThrow({
    where: { id: user.id },
    select: { stripeCustomerId: true },
  });
  return { customerId: current.stripeCustomerId ?? customer.id, created: false };
}

/**
 * Open a Checkout Session that fulfillment can always attribute: client_reference_id and
 * metadata.user_id name the user, metadata.pack_id the pack, and the customer is the user's own.
 */
export async function createCheckoutSession(
  body: CreateCheckoutBody,
  apiKey: ApiPrincipal,
  opts: { idempotencyKey?: string | null; ip?: string | null } = {},
): Promise<{ id: string; url: string | null }> {
  const db = getDb();
  const user = await db.user.findUnique({ where: { id: body.userId } });
  if (!user) throw new NotFoundError("User", body.userId, "userId");
  const pack = await findPackByPrice(body.priceId);
  if (!pack) throw new NotFoundError("Credit pack for price", body.priceId, "priceId");
  if (!pack.active) {
    throw new ApiError(
      422,
      "pack_inactive",
      `The pack for price ${body.priceId} is no longer on sale.`,
      "priceId",
    );
  }
  if (pack.priceType !== "one_time") {
    throw new ApiError(
      422,
      "pack_not_one_time",
      `Price ${body.priceId} is recurring; only one-time packs can be bought here.`,
      "priceId",
    );
  }
  const { customerId, created: customerCreated } = await ensureStripeCustomer({
    ...user,
    emailNormalized: user.emailNormalized || normalizeEmail(user.email),
  });
  // A client-supplied key makes the caller's retries return the same session; without one each
  // call is a new session, and the key still protects the SDK's own network retries. Scoped to
  // the user injectively (userScopedKey); for ids with ":" the form changed, so a retry across
  // that upgrade opens a second (unpaid, harmless) session instead of finding the first.
  const idempotencyKey = opts.idempotencyKey
    ? userScopedKey("cdk-checkout", user.id, opts.idempotencyKey)
    : `cdk-checkout:${randomUUID()}`;
  const session = await callStripe("Checkout Session", () =>
    getStripe().checkout.sessions.create(
      {
        mode: "payment",
        line_items: [{ price: body.priceId, quantity: body.quantity }],
        client_reference_id: user.id,
        metadata: { user_id: user.id, pack_id: pack.id },
        customer: customerId,
        success_url: body.successUrl,
        cancel_url: body.cancelUrl,
      },
      { idempotencyKey },
    ),
  );
  await writeAudit({
    actor: apiKeyActor(apiKey, opts.ip),
    action: "checkout_session.create",
    targetType: "user",
    targetId: user.id,
    after: {
      checkoutSessionId: session.id,
      priceId: body.priceId,
      packId: pack.id,
      quantity: body.quantity,
      customerId,
      customerCreated,
    },
  });
  return { id: session.id, url: session.url };
}

export interface FulfillResponse {
  sessionId: string;
  outcome: FulfillResult["outcome"];
  /** true when the session's credits are on the user's balance (now or earlier). */
  credited: boolean;
  userId: string | null;
  credits: number | null;
  balance: number | null;
  purchaseId: string | null;
  paymentStatus: string | null;
  entry: ApiLedgerEntry | null;
  message: string;
}

const OUTCOME_MESSAGES: Record<FulfillResult["outcome"], string> = {
  credited: "The session was paid and its credits were added now.",
  already_credited:
    "The session's credits were already added (by the webhook or an earlier call); nothing changed.",
  not_paid:
    "The session is not paid yet. Delayed payment methods settle later; the credits are added when Stripe reports the payment.",
  unmatched_user:
    "The session could not be matched to a user; support has been alerted and nothing was credited.",
  unknown_price:
    "The session bought a price that is not a credit pack; support has been alerted and nothing was credited.",
  amount_mismatch:
    "The session does not match its credit pack; support has been alerted and nothing was credited.",
  no_credits:
    "The session grants no credits (a subscription tier is applied through subscription events).",
};

/** Every outcome the success-page path can answer with (the FulfillResult schema's enum). */
export const FULFILL_OUTCOMES = Object.keys(OUTCOME_MESSAGES) as [
  FulfillResult["outcome"],
  ...FulfillResult["outcome"][],
];

/**
 * The success-page path: the same fulfillment the webhook runs, so whichever arrives first
 * credits and the other reports already_credited. 202 while payment is pending; otherwise 200 with
 * the outcome, which callers must read (not every outcome credits).
 */
export async function fulfillFromSuccessPage(
  sessionId: string,
  apiKey: ApiPrincipal,
  ip?: string | null,
): Promise<{ status: 200 | 202; body: FulfillResponse }> {
  const result = await callStripe("Checkout Session", () =>
    fulfillCheckoutSession(sessionId, "success_page"),
  ).catch((error: unknown) => {
    // Name the path parameter the caller sent, not fulfillment's own argument name.
    if (error instanceof NotFoundError)
      throw new NotFoundError("Checkout Session", sessionId, "id");
    throw error;
  });
  let userId: string | null = null;
  let credits: number | null = null;
  let purchaseId: string | null = null;
  let entry: ApiLedgerEntry | null = null;
  let paymentStatus: string | null = result.session?.paymentStatus ?? null;
  switch (result.outcome) {
    case "credited":
      userId = result.userId;
      credits = result.credits;
      purchaseId = result.purchase?.id ?? null;
      entry = result.entry ? toApiLedgerEntry(result.entry) : null;
      break;
    case "already_credited":
      userId = result.purchase.userId;
      credits = result.purchase.credits;
      purchaseId = result.purchase.id;
      break;
    case "not_paid":
      paymentStatus = result.paymentStatus;
      break;
  }
  const balance = userId
    ? ((await getDb().user.findUnique({ where: { id: userId }, select: { balance: true } }))
        ?.balance ?? null)
    : null;
  await writeAudit({
    actor: apiKeyActor(apiKey, ip),
    action: "checkout_session.fulfill",
    targetType: "checkout_session",
    targetId: sessionId,
    after: { outcome: result.outcome, userId, credits, purchaseId },
  });
  const body: FulfillResponse = {
    sessionId,
    outcome: result.outcome,
    credited: result.outcome === "credited" || result.outcome === "already_credited",
    userId,
    credits,
    balance,
    purchaseId,
    paymentStatus,
    entry,
    message: OUTCOME_MESSAGES[result.outcome],
  };
  return { status: result.outcome === "not_paid" ? 202 : 200, body };
}

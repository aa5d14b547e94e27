import { apiKeyActor } from "../api-keys.server";
import {
  checkoutHeadersSchema,
  checkoutSessionPathSchema,
  createCheckoutBodySchema,
  createCheckoutSession,
  fulfillFromSuccessPage,
} from "./checkout.server";
import { OUTBOUND_EVENT_LABELS, OUTBOUND_EVENT_TYPES } from "~/shared/outbound";
import { setUserThresholds } from "../outbound/endpoints.server";
import { outboundPayloadSchemas } from "../outbound/payloads.server";
import { thresholdsBodySchema, thresholdsSchema } from "../outbound/thresholds.server";
import {
  defineOperation,
  defineWebhook,
  errorAnswer,
  ok,
  routeFor,
  type AnyOperation,
  type WebhookSpec,
} from "./contract.server";
import { debitBodySchema, debitCredits } from "./debits.server";
import {
  captureApiHold,
  captureBodySchema,
  createApiHold,
  createHoldBodySchema,
  holdPathSchema,
  releaseApiHold,
} from "./holds.server";
import { buildOpenApiDocument, type OpenApiDocument } from "./openapi.server";
import { listApiPacks } from "./packs.server";
import {
  apiUserSchema,
  captureResponseSchema,
  checkoutSessionSchema,
  debitResponseSchema,
  fulfillResultSchema,
  holdResponseSchema,
  ledgerPageSchema,
  packListSchema,
} from "./schemas.server";
import { parseInstant } from "../statements.server";
import {
  getApiUserNow,
  getApiUserAt,
  userAtQuerySchema,
  LEDGER_PAGE_DEFAULT,
  LEDGER_PAGE_MAX,
  ledgerQuerySchema,
  listLedgerPage,
  upsertUser,
  upsertUserBodySchema,
  userPathSchema,
} from "./users.server";

/**
 * The Credits API, one declaration per operation: method, path, parameters, body, responses,
 * scope and handler (the shape is contract.server.ts's). The router serves these (each
 * app/routes/api.v1.* file is `apiRoute(path)`), the OpenAPI document below is generated from
 * them, and tests/integration/credits-api-openapi.test.ts requests every status they declare and
 * parses each body with the declared schema. Adding an operation or a webhook is one entry here
 * (docs/api.md, "Adding an operation").
 */

const userId = { schema: userPathSchema, docs: { id: { description: "The main app's user id." } } };
const holdId = {
  schema: holdPathSchema,
  docs: { holdId: { description: "The hold's id, as POST /users/{id}/holds answered it." } },
};
const holdNotFound = errorAnswer(
  "No such hold",
  "not_found",
  "Hold hold_0123456789abcdef01234567 was not found.",
  "holdId",
);

export const apiOperations: readonly AnyOperation[] = [
  defineOperation({
    operationId: "getUser",
    method: "GET",
    path: "/users/{id}",
    scope: "users:read",
    tag: "users",
    summary: "Get a user with their balance and tier (or their balance at a past instant)",
    description:
      "With `at`, `balance` is the balance as of that instant, read from the ledger: the `balanceAfter` of the " +
      "user's last entry (highest `seq`) created at or before it, 0 before the first; `balanceAt` says which " +
      "entry. Every other field is as it is now. `at` in the future or not an ISO 8601 date-time with a time " +
      "zone is 400 naming `at`.",
    params: userId,
    query: {
      schema: userAtQuerySchema,
      docs: {
        at: {
          description: "An instant (ISO 8601 date-time with a time zone), not in the future.",
          // parseInstant (statements.server.ts) reads the text; the document names its format.
          schema: {
            type: "string",
            format: "date-time",
            maxLength: 64,
            examples: ["2026-11-22T08:00:00Z"],
          },
        },
      },
    },
    responses: {
      200: ok("The user (with `at`: `balance` as of then, and `balanceAt`)", apiUserSchema),
      404: "NotFound",
    },
    async run({ params, query }) {
      if (query.at === undefined) return { status: 200, body: await getApiUserNow(params.id) };
      return { status: 200, body: await getApiUserAt(params.id, parseInstant(query.at)) };
    },
  }),

  defineOperation({
    operationId: "upsertUser",
    method: "PUT",
    path: "/users/{id}",
    scope: "users:write",
    tag: "users",
    summary: "Create or update a user",
    description:
      "The id is the main app's own user id. `email` is stored as given (trimmed) and matched case-insensitively when " +
      "a Checkout Session has to be attributed by email. `name` omitted leaves it unchanged; `null` clears it. " +
      "Balance and tier cannot be set here.",
    params: userId,
    body: {
      name: "UpsertUserRequest",
      schema: upsertUserBodySchema,
      example: { email: "ada@example.com", name: "Ada Lovelace" },
      overlay: {
        email: { format: "email" },
        name: { description: "Display name; omitted leaves it unchanged, null clears it" },
      },
    },
    responses: {
      200: ok("The user existed and was updated", apiUserSchema),
      201: ok("The user was created", apiUserSchema),
    },
    async run({ params, body, key, ip }) {
      const { user, created } = await upsertUser(params.id, body, apiKeyActor(key, ip));
      return created ? { status: 201, body: user } : { status: 200, body: user };
    },
  }),

  defineOperation({
    operationId: "listUserLedger",
    method: "GET",
    path: "/users/{id}/ledger",
    scope: "users:read",
    tag: "users",
    summary: "List a user's ledger entries, newest first",
    description:
      "Keyset pagination on the per-user sequence number: pass `nextCursor` back as `cursor` until it is null. Each " +
      "entry appears exactly once across pages, even while new entries are being added.",
    params: userId,
    query: {
      schema: ledgerQuerySchema,
      docs: {
        limit: {
          description: "Entries per page.",
          schema: {
            type: "integer",
            minimum: 1,
            maximum: LEDGER_PAGE_MAX,
            default: LEDGER_PAGE_DEFAULT,
          },
        },
        cursor: { description: "The `nextCursor` of the previous page (opaque)." },
      },
    },
    responses: { 200: ok("One page of entries", ledgerPageSchema), 404: "NotFound" },
    async run({ params, query }) {
      return { status: 200, body: await listLedgerPage(params.id, query) };
    },
  }),

  defineOperation({
    operationId: "debitCredits",
    method: "POST",
    path: "/users/{id}/debits",
    scope: "debits:write",
    tag: "credits",
    summary: "Spend credits (idempotent)",
    description:
      "Takes `amount` credits from the user's balance as a `usage` ledger entry. The balance never goes below zero. " +
      "`idempotencyKey` is scoped to the user: repeating the exact request returns the original entry with 200 and " +
      "changes nothing; the same key with a different amount or description is 409.",
    params: userId,
    body: {
      name: "DebitRequest",
      schema: debitBodySchema,
      example: {
        amount: 10,
        idempotencyKey: "job-7f3a9c",
        description: "Image generation job 7f3a9c",
      },
      overlay: {
        amount: { description: "Credits to spend" },
        idempotencyKey: { description: "Your id for this spend; scoped to the user" },
        description: { description: "Shown in the ledger" },
      },
    },
    responses: {
      200: ok("Exact retry: the original entry, nothing changed", debitResponseSchema),
      201: ok("Debited", debitResponseSchema),
      402: errorAnswer(
        "Not enough credits; nothing changed",
        "insufficient_credits",
        "Insufficient credits: the balance is 5 and 10 were requested.",
        "amount",
      ),
      404: "NotFound",
      409: errorAnswer(
        "The idempotency key was used before with a different amount or description; nothing changed",
        "idempotency_conflict",
        'Idempotency key "job-7f3a9c" was already used for this user with a different amount or description.',
        "idempotencyKey",
      ),
    },
    async run({ params, body, key, ip }) {
      const { entry, balance, created } = await debitCredits(params.id, body, key, ip);
      return { status: created ? 201 : 200, body: { entry, balance } };
    },
  }),

  defineOperation({
    operationId: "setUserThresholds",
    method: "PUT",
    path: "/users/{id}/thresholds",
    scope: "users:write",
    tag: "users",
    summary: "Set the user's low-balance threshold",
    description:
      "`balance.low` is sent when a ledger entry takes the balance from at or above `lowBalance` to below it — once " +
      "per crossing; a rise back to the threshold or above re-arms it. Users without their own threshold use the " +
      "default (100 credits).",
    params: userId,
    body: {
      name: "ThresholdsRequest",
      schema: thresholdsBodySchema,
      example: { lowBalance: 50 },
      overlay: { lowBalance: { description: "Credits; balance.low fires below this" } },
    },
    responses: { 200: ok("The thresholds now in force", thresholdsSchema), 404: "NotFound" },
    async run({ params, body, key, ip }) {
      const saved = await setUserThresholds(params.id, body.lowBalance, apiKeyActor(key, ip));
      return { status: 200, body: saved };
    },
  }),

  defineOperation({
    operationId: "createHold",
    method: "POST",
    path: "/users/{id}/holds",
    scope: "holds:write",
    tag: "credits",
    summary: "Hold credits for usage priced afterwards (idempotent)",
    description:
      "Reserves `amount` credits for `expiresInSeconds` (at most 3600): the balance stays, `available` drops, and " +
      "debits and other holds are checked against `available`. Capture what the usage cost (at most the hold) or " +
      "release it; an uncaptured hold expires by itself. `idempotencyKey` is scoped to the user: the same request " +
      "again returns the original hold (200, as it is now); the same key with another amount, expiry or " +
      "description is 409.",
    params: userId,
    body: {
      name: "CreateHoldRequest",
      schema: createHoldBodySchema,
      example: {
        amount: 50,
        idempotencyKey: "render-7f3a9c",
        expiresInSeconds: 600,
        description: "Render job 7f3a9c",
      },
      overlay: {
        amount: { description: "Credits to hold" },
        idempotencyKey: { description: "Your id for this hold; scoped to the user" },
        expiresInSeconds: { description: "Seconds until an uncaptured hold lapses (1–3600)" },
        description: { description: "Shown in the ledger when captured" },
      },
    },
    responses: {
      200: ok("Exact retry: the original hold as it is now, nothing changed", holdResponseSchema),
      201: ok("Held", holdResponseSchema),
      402: errorAnswer(
        "Not enough available credits; nothing changed",
        "insufficient_credits",
        "Insufficient available credits: 20 available (balance 50, held 30) and 21 requested.",
        "amount",
      ),
      404: "NotFound",
      409: errorAnswer(
        "The idempotency key was used before for another hold; nothing changed",
        "idempotency_conflict",
        'Idempotency key "render-7f3a9c" was already used for this user\'s hold with a different amount, expiry or description.',
        "idempotencyKey",
      ),
    },
    async run({ params, body, key, ip }) {
      const { answer, created } = await createApiHold(params.id, body, key, ip);
      return { status: created ? 201 : 200, body: answer };
    },
  }),

  defineOperation({
    operationId: "captureHold",
    method: "POST",
    path: "/holds/{holdId}/capture",
    scope: "holds:write",
    tag: "credits",
    summary: "Capture part or all of a hold; the rest is released",
    description:
      "Posts one `usage` ledger entry for `amount` (at most the hold; allocated across the user's grants in burn " +
      "order) and releases the rest, once: the same capture again returns the original entry (200); another amount " +
      "on a captured hold, or any capture of a released or expired hold, is 409 with the hold's state in `code`. " +
      "`amount` above the hold is 422. 402 when credits the hold covered became unusable meanwhile (a disputed or " +
      "expired grant); the hold stays open.",
    params: holdId,
    body: {
      name: "CaptureHoldRequest",
      schema: captureBodySchema,
      example: { amount: 37 },
      overlay: { amount: { description: "Credits the usage cost (1 … the hold's amount)" } },
    },
    responses: {
      200: ok("Exact retry: the original capture", captureResponseSchema),
      201: ok("Captured", captureResponseSchema),
      402: errorAnswer(
        "Credits the hold covered are no longer available (expired or disputed grant); nothing changed",
        "insufficient_credits",
        "Insufficient credits: the balance is 0 and 37 were requested.",
        "amount",
      ),
      404: holdNotFound,
      409: errorAnswer(
        "The hold is released, expired, or captured for another amount (`code` hold_released, hold_expired, hold_captured)",
        "hold_released",
        "Hold hold_0123456789abcdef01234567 is released (since 2026-11-22T08:00:00.000Z); it cannot be captured.",
        "holdId",
      ),
    },
    async run({ params, body, key, ip }) {
      const { answer, created } = await captureApiHold(params.holdId, body.amount, key, ip);
      return { status: created ? 201 : 200, body: answer };
    },
  }),

  defineOperation({
    operationId: "releaseHold",
    method: "POST",
    path: "/holds/{holdId}/release",
    scope: "holds:write",
    tag: "credits",
    summary: "Release a hold: its credits are available again",
    description:
      "Releasing a released hold changes nothing (200). A captured or expired hold is 409 with its state in `code`.",
    params: holdId,
    responses: {
      200: ok("Released (or already released)", holdResponseSchema),
      404: holdNotFound,
      409: errorAnswer(
        "The hold was captured or has expired (`code` hold_captured, hold_expired)",
        "hold_captured",
        "Hold hold_0123456789abcdef01234567 is captured (since 2026-11-22T08:00:00.000Z); it cannot be released.",
        "holdId",
      ),
    },
    async run({ params, key, ip }) {
      return { status: 200, body: await releaseApiHold(params.holdId, key, ip) };
    },
  }),

  defineOperation({
    operationId: "listPacks",
    method: "GET",
    path: "/packs",
    scope: "packs:read",
    tag: "checkout",
    summary: "List the credit packs on sale",
    responses: { 200: ok("Active packs, cheapest first", packListSchema) },
    async run() {
      return { status: 200, body: { data: await listApiPacks() } };
    },
  }),

  defineOperation({
    operationId: "createCheckoutSession",
    method: "POST",
    path: "/checkout-sessions",
    scope: "checkout:write",
    tag: "checkout",
    summary: "Open a Stripe Checkout Session for a pack",
    description:
      "Creates the session with `client_reference_id` and `metadata.user_id` set to the user and `metadata.pack_id` " +
      "to the pack, for the user's Stripe customer (created and remembered on first use). Redirect the browser to " +
      "`url`. Put `{CHECKOUT_SESSION_ID}` in `successUrl` so the success page can call the fulfill endpoint. " +
      "Send an `Idempotency-Key` header to make retries return the same session.",
    headers: {
      schema: checkoutHeadersSchema,
      docs: {
        "Idempotency-Key": {
          description: "Optional; per user. The same key returns the same session for 24 hours.",
        },
      },
    },
    body: {
      name: "CreateCheckoutSessionRequest",
      schema: createCheckoutBodySchema,
      example: {
        userId: "user_123",
        priceId: "price_1Pq…",
        quantity: 1,
        successUrl: "https://app.example.com/billing/success?session_id={CHECKOUT_SESSION_ID}",
        cancelUrl: "https://app.example.com/billing",
      },
      overlay: {
        priceId: { description: "An active one-time pack's price" },
        successUrl: { format: "uri" },
        cancelUrl: { format: "uri" },
      },
    },
    responses: {
      201: ok("The session", checkoutSessionSchema),
      404: "NotFound",
      409: errorAnswer(
        "The Idempotency-Key was used with a different request",
        "idempotency_conflict",
        "The Idempotency-Key was already used with a different request.",
        "Idempotency-Key",
      ),
      502: "StripeUnavailable",
      503: "StripeNotConfigured",
    },
    async run({ body, headers, key, ip }) {
      const session = await createCheckoutSession(body, key, {
        idempotencyKey: headers["Idempotency-Key"],
        ip,
      });
      return { status: 201, body: session };
    },
  }),

  defineOperation({
    operationId: "fulfillCheckoutSession",
    method: "POST",
    path: "/checkout-sessions/{id}/fulfill",
    // Fulfilling belongs with opening the session: the same success page does both.
    scope: "checkout:write",
    tag: "checkout",
    summary: "Credit a paid session now (success-page path)",
    description:
      "Runs the same fulfillment as the Stripe webhook: whichever comes first credits the session, the other " +
      "reports `already_credited`. Call it from the success page; it is safe to call any number of times. Read " +
      "`outcome` (or `credited`): `unmatched_user`, `unknown_price`, `amount_mismatch` and `no_credits` are 200 " +
      "but credit nothing, and support is alerted.",
    params: {
      schema: checkoutSessionPathSchema,
      docs: { id: { description: "Checkout Session id (cs_…)." } },
    },
    responses: {
      200: ok("Fulfillment ran; see `outcome`", fulfillResultSchema),
      202: ok(
        "Not paid yet (`outcome: not_paid`); credits follow when Stripe reports the payment",
        fulfillResultSchema,
      ),
      404: "NotFound",
      502: "StripeUnavailable",
      503: "StripeNotConfigured",
    },
    async run({ params, key, ip }) {
      return await fulfillFromSuccessPage(params.id, key, ip);
    },
  }),

  defineOperation({
    operationId: "getOpenApi",
    method: "GET",
    path: "/openapi.json",
    // Public on purpose: the description holds no data, and client generators fetch it without a key.
    scope: null,
    tag: "meta",
    summary: "This document",
    responses: { 200: ok("OpenAPI 3.1 document", undefined) },
    async run() {
      return {
        status: 200,
        body: openApiDocument,
        headers: { "Cache-Control": "public, max-age=300" },
      };
    },
  }),
];

/** Requests creditdesk sends to the main app, if any: OpenAPI 3.1 `webhooks` (defineWebhook). */
export const apiWebhooks: readonly WebhookSpec[] = OUTBOUND_EVENT_TYPES.map((type) =>
  defineWebhook({
    name: type,
    operationId: `event_${type.replace(/\W/g, "_")}`,
    tag: "events",
    summary: OUTBOUND_EVENT_LABELS[type],
    description:
      "Sent to each enabled endpoint subscribed to the type, signed in the Standard Webhooks format: headers " +
      "`webhook-id` (the event id; the same on every retry and replay — deduplicate on it), `webhook-timestamp` " +
      "(Unix seconds) and `webhook-signature` (`v1,<base64 HMAC-SHA256>` of `id.timestamp.body` with the " +
      "endpoint's `whsec_` secret; two signatures for 24 h after a rotation). Any 2xx within 10 s acknowledges; " +
      "anything else (3xx included: redirects are not followed) is retried with backoff for 3 days. 410 disables " +
      "the endpoint. Ordering is not guaranteed.",
    payload: outboundPayloadSchemas[type],
  }),
);

export const openApiDocument: OpenApiDocument = buildOpenApiDocument({
  operations: apiOperations,
  webhooks: apiWebhooks,
  tags: [
    { name: "users", description: "Users, balances and ledgers" },
    { name: "credits", description: "Spending credits" },
    { name: "checkout", description: "Buying credit packs through Stripe Checkout" },
    { name: "events", description: "Events creditdesk sends to the main app (webhooks)" },
    { name: "meta", description: "This description" },
  ],
});

/** The loader and action of the app/routes file serving `path` (under /api/v1). */
export const apiRoute = (path: string) => routeFor(apiOperations, path);

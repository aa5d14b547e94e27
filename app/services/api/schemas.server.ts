import { z } from "zod";
import { LEDGER_KINDS } from "../ledger.server";
import { FULFILL_OUTCOMES } from "./checkout.server";
import { userIdSchema } from "./users.server";

/**
 * What the Credits API answers, as zod schemas: the OpenAPI document's response schemas are
 * generated from these (openapi.server.ts), operations.server.ts declares which status answers
 * with which, the handlers' return values are type-checked against them, and the contract test
 * (tests/integration/credits-api-openapi.test.ts) parses every real response with them.
 *
 * Each is strict: a field the code sends but the schema does not name fails the contract test,
 * and the document says `additionalProperties: false`. A schema is a named component of the
 * document when `named` registered it; descriptions are zod metadata (`.meta`).
 */

/** The schemas that appear under components.schemas, by name. */
export const apiSchemaNames = z.registry<{ id: string }>();

/** Register `schema` as the component `id` (a name used once) and return it. */
export function named<S extends z.ZodType>(id: string, schema: S): S {
  const taken = apiSchemaNames._idmap.get(id);
  if (taken && taken !== schema) throw new Error(`named: ${id} already names another schema`);
  apiSchemaNames.add(schema, { id });
  return schema;
}

const nullableString = (description: string) => z.string().nullable().meta({ description });

export const apiErrorSchema = named(
  "Error",
  z.strictObject({
    error: z.strictObject({
      code: z.string().meta({
        description:
          "Stable machine-readable code, e.g. missing_api_key, malformed_api_key, invalid_api_key, api_key_expired, " +
          "api_key_revoked, insufficient_scope, rate_limited, invalid_json, invalid_request, validation_failed, " +
          "body_too_large, unsupported_media_type, not_found, route_not_found, " +
          "method_not_allowed, insufficient_credits, idempotency_conflict, pack_inactive, pack_not_one_time, " +
          "stripe_rejected, stripe_unavailable, stripe_not_configured.",
      }),
      message: z
        .string()
        .meta({ description: "For people; names the field and what is accepted." }),
      field: z.string().optional().meta({
        description: "The input to blame, when there is one (`body` for unparseable JSON).",
      }),
    }),
  }),
);

export const apiUserSchema = named(
  "User",
  z.strictObject({
    id: userIdSchema,
    email: z.string().meta({ format: "email" }),
    name: nullableString("Display name"),
    tier: z.string().meta({ description: "Tier code, e.g. free or pro", examples: ["free"] }),
    balance: z.int().meta({ description: "Credits available (the sum of the user's ledger)" }),
    stripeCustomerId: nullableString("Stripe customer (cus_…), set on the first checkout"),
    held: z
      .int()
      .optional()
      .meta({
        description:
          "GET without `at`: credits that cannot be spent now — open API holds, held (disputed) grants, credits past " +
          "their expiry awaiting the expiry pass. balance = available + held",
      }),
    available: z.int().optional().meta({
      description: "GET without `at`: what a debit or a new hold may take now (balance − held)",
    }),
    balanceAt: z
      .strictObject({
        at: z.string().meta({ format: "date-time" }),
        entryId: nullableString("The entry's id (null: no entry at or before `at`)"),
        seq: z.int().meta({ description: "The entry's seq (0: none)" }),
        entryCreatedAt: z
          .string()
          .nullable()
          .meta({ format: "date-time", description: "When that entry was written" }),
      })
      .optional()
      .meta({
        description: "Only with `?at=`: the instant and the ledger entry `balance` was read from",
      }),
  }),
);

export const apiLedgerEntrySchema = named(
  "LedgerEntry",
  z.strictObject({
    id: z.string().meta({ description: "Entry id (a decimal string: it can exceed 2^53)" }),
    seq: z.int().meta({ description: "Per-user sequence number, gapless from 1" }),
    kind: z.enum(LEDGER_KINDS),
    delta: z.int().meta({ description: "Signed change in credits" }),
    balanceAfter: z.int(),
    reason: nullableString("Why (for usage: the debit's description)"),
    idempotencyKey: z.string().meta({
      description:
        "For API debits: api:<userId>:<your idempotencyKey>, or api#<SHA-256 of userId, hex>:<your " +
        "idempotencyKey> when the user id contains a colon (so no two users' keys can meet)",
    }),
    purchaseId: nullableString("The purchase this entry belongs to"),
    createdAt: z.string().meta({ format: "date-time" }),
  }),
);

export const ledgerPageSchema = named(
  "LedgerPage",
  z.strictObject({
    data: z.array(apiLedgerEntrySchema),
    nextCursor: nullableString("Pass as `cursor` for the next (older) page; null on the last page"),
  }),
);

export const debitResponseSchema = named(
  "DebitResponse",
  z.strictObject({
    entry: apiLedgerEntrySchema,
    balance: z.int().meta({ description: "The user's balance now" }),
  }),
);

export const apiPackSchema = named(
  "Pack",
  z.strictObject({
    id: z.string().meta({ format: "uuid" }),
    priceId: z.string().meta({ description: "Stripe price id to pass to POST /checkout-sessions" }),
    productId: z.string(),
    name: z.string(),
    credits: z.int().meta({ description: "Credits per unit bought" }),
    unitAmount: z.int().meta({ description: "Price per unit in minor units of currency" }),
    currency: z.string().meta({ examples: ["usd"] }),
    type: z.enum(["one_time", "recurring"]),
    grantsTier: nullableString("Tier code buying this pack grants"),
  }),
);

export const packListSchema = named("PackList", z.strictObject({ data: z.array(apiPackSchema) }));

export const checkoutSessionSchema = named(
  "CheckoutSession",
  z.strictObject({
    id: z.string().meta({ description: "cs_…" }),
    url: nullableString("Where to send the browser"),
  }),
);

export const fulfillResultSchema = named(
  "FulfillResult",
  z.strictObject({
    sessionId: z.string(),
    outcome: z.enum(FULFILL_OUTCOMES),
    credited: z.boolean().meta({
      description: "true when the session's credits are on the balance (now or before)",
    }),
    userId: nullableString("The user credited"),
    credits: z.int().nullable().meta({ description: "Credits the purchase granted" }),
    balance: z.int().nullable().meta({ description: "The user's balance now" }),
    purchaseId: nullableString("creditdesk purchase id"),
    paymentStatus: nullableString("Stripe's payment_status when known"),
    entry: apiLedgerEntrySchema
      .nullable()
      .meta({ description: "The ledger entry, when this call credited it (null otherwise)" }),
    message: z.string(),
  }),
);

export const apiHoldSchema = named(
  "Hold",
  z.strictObject({
    id: z.string().meta({ description: "hold_ and 24 hex digits" }),
    userId: userIdSchema,
    amount: z.int().meta({ description: "Credits held" }),
    status: z.enum(["open", "captured", "released", "expired"]),
    capturedAmount: z
      .int()
      .nullable()
      .meta({ description: "Credits the capture took (captured only)" }),
    description: nullableString("The hold's description; also the capture entry's reason"),
    expiresAt: z.string().meta({ format: "date-time" }),
    createdAt: z.string().meta({ format: "date-time" }),
    resolvedAt: z
      .string()
      .nullable()
      .meta({ format: "date-time", description: "When it was captured, released or expired" }),
    captureEntryId: nullableString("The capture's usage ledger entry"),
  }),
);

const balanceFields = {
  balance: z.int().meta({ description: "The user's balance now" }),
  held: z.int().meta({ description: "Credits that cannot be spent now (see User.held)" }),
  available: z.int().meta({ description: "balance − held" }),
};

export const holdResponseSchema = named(
  "HoldResponse",
  z.strictObject({ hold: apiHoldSchema, ...balanceFields }),
);

export const captureResponseSchema = named(
  "CaptureResponse",
  z.strictObject({
    hold: apiHoldSchema,
    entry: apiLedgerEntrySchema.meta({ description: "The usage entry the capture posted" }),
    ...balanceFields,
  }),
);

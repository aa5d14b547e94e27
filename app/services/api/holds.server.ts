import { z } from "zod";
import { apiKeyActor, type ApiPrincipal } from "../api-keys.server";
import {
  captureHold,
  createHold,
  MAX_HOLD_SECONDS,
  releaseHold,
  type ApiHold,
  type Balances,
} from "../api-holds.server";
import { IdempotencyConflictError } from "../errors.server";
import { ApiError } from "./http.server";
import { MAX_DEBIT_AMOUNT, MAX_IDEMPOTENCY_KEY_LENGTH } from "./debits.server";
import { toApiLedgerEntry, userScopedKey, type ApiLedgerEntry } from "./users.server";

/** The Credits API's holds (app/services/api-holds.server.ts does the work). */

const amountMessage = `amount must be a positive whole number of credits, at most ${MAX_DEBIT_AMOUNT}`;
const amountSchema = z
  .number({ error: (iss) => (iss.input === undefined ? "amount is required" : amountMessage) })
  .int({ error: amountMessage })
  .min(1, { error: amountMessage })
  .max(MAX_DEBIT_AMOUNT, { error: amountMessage });

const expiresMessage = `expiresInSeconds must be a whole number of seconds from 1 to ${MAX_HOLD_SECONDS}`;

export const createHoldBodySchema = z.strictObject({
  amount: amountSchema,
  idempotencyKey: z
    .string({
      error: (iss) =>
        iss.input === undefined ? "idempotencyKey is required" : "idempotencyKey must be a string",
    })
    .min(1, { error: "idempotencyKey must not be empty" })
    .max(MAX_IDEMPOTENCY_KEY_LENGTH, {
      error: `idempotencyKey must be at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`,
    })
    .regex(/^[\x21-\x7e]+$/, { error: "idempotencyKey must be printable ASCII without spaces" }),
  expiresInSeconds: z
    .number({
      error: (iss) => (iss.input === undefined ? "expiresInSeconds is required" : expiresMessage),
    })
    .int({ error: expiresMessage })
    .min(1, { error: expiresMessage })
    .max(MAX_HOLD_SECONDS, { error: expiresMessage }),
  description: z
    .string({
      error: (iss) =>
        iss.input === undefined ? "description is required" : "description must be a string",
    })
    .trim()
    .min(1, { error: "description must not be empty" })
    .max(500, { error: "description must be at most 500 characters" }),
});
export type CreateHoldBody = z.output<typeof createHoldBodySchema>;

export const captureBodySchema = z.strictObject({ amount: amountSchema });

export const holdPathSchema = z.object({
  holdId: z
    .string({ error: "holdId is required" })
    .regex(/^hold_[0-9a-f]{24}$/, { error: "holdId must be a hold id (hold_ and 24 hex digits)" }),
});

export type HoldAnswer = Balances & { hold: ApiHold };
export type CaptureAnswer = HoldAnswer & { entry: ApiLedgerEntry };

function auditOf(key: ApiPrincipal, ip: string | null | undefined) {
  const actor = apiKeyActor(key, ip);
  return {
    actorType: actor.type,
    actorId: key.id,
    actorLabel: actor.label ?? null,
    ip: ip ?? null,
  };
}

export async function createApiHold(
  userId: string,
  body: CreateHoldBody,
  key: ApiPrincipal,
  ip?: string | null,
): Promise<{ answer: HoldAnswer; created: boolean }> {
  try {
    const { created, ...answer } = await createHold(
      userId,
      {
        amount: body.amount,
        idempotencyKey: userScopedKey("hold", userId, body.idempotencyKey),
        expiresInSeconds: body.expiresInSeconds,
        description: body.description,
      },
      key.id,
      auditOf(key, ip),
    );
    return { answer, created };
  } catch (error) {
    if (error instanceof IdempotencyConflictError) {
      throw new ApiError(
        409,
        "idempotency_conflict",
        `Idempotency key "${body.idempotencyKey}" was already used for this user's hold with a different amount, expiry or description.`,
        "idempotencyKey",
      );
    }
    throw error;
  }
}

export async function captureApiHold(
  holdId: string,
  amount: number,
  key: ApiPrincipal,
  ip?: string | null,
): Promise<{ answer: CaptureAnswer; created: boolean }> {
  const { created, entry, ...rest } = await captureHold(holdId, amount, key.id, auditOf(key, ip));
  return { answer: { ...rest, entry: toApiLedgerEntry(entry) }, created };
}

export async function releaseApiHold(
  holdId: string,
  key: ApiPrincipal,
  ip?: string | null,
): Promise<HoldAnswer> {
  const { created: _created, ...answer } = await releaseHold(holdId, auditOf(key, ip));
  return answer;
}

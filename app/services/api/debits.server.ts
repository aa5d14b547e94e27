import { z } from "zod";
import { writeAudit } from "../audit.server";
import { apiKeyActor, type ApiPrincipal } from "../api-keys.server";
import { getDb } from "../db.server";
import { postLedgerEntryInTx } from "../ledger.server";
import { toApiLedgerEntry, type ApiLedgerEntry } from "./users.server";

export const MAX_DEBIT_AMOUNT = 1_000_000_000;
/** userId (≤128) + "api:" + ":" + this stays within the ledger's 255-character key limit. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 100;

const amountMessage = `amount must be a positive whole number of credits, at most ${MAX_DEBIT_AMOUNT}`;

export const debitBodySchema = z.strictObject({
  amount: z
    .number({ error: (iss) => (iss.input === undefined ? "amount is required" : amountMessage) })
    .int({ error: amountMessage })
    .min(1, { error: amountMessage })
    .max(MAX_DEBIT_AMOUNT, { error: amountMessage }),
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
  description: z
    .string({
      error: (iss) =>
        iss.input === undefined ? "description is required" : "description must be a string",
    })
    .trim()
    .min(1, { error: "description must not be empty" })
    .max(500, { error: "description must be at most 500 characters" }),
});
export type DebitBody = z.output<typeof debitBodySchema>;

/**
 * Keys are scoped to the user, not the API key: a retry sent with a rotated key still finds the
 * original debit, and two users can use the same client-side key without colliding.
 */
export function debitLedgerKey(userId: string, idempotencyKey: string): string {
  return `api:${userId}:${idempotencyKey}`;
}

export interface DebitResult {
  entry: ApiLedgerEntry;
  balance: number;
  /** false: an exact retry; `entry` is the original and nothing changed. */
  created: boolean;
}

/**
 * Spend credits. The ledger enforces everything that matters under the user's row lock: the
 * balance never goes below zero (402), an exact retry returns the original entry, and the same key
 * with another amount or description is a conflict (409).
 */
export async function debitCredits(
  userId: string,
  body: DebitBody,
  apiKey: ApiPrincipal,
  ip?: string | null,
): Promise<DebitResult> {
  return getDb().$transaction(async (tx) => {
    const result = await postLedgerEntryInTx(tx, {
      userId,
      kind: "usage",
      delta: -body.amount,
      idempotencyKey: debitLedgerKey(userId, body.idempotencyKey),
      reason: body.description,
      apiKeyId: apiKey.id,
    });
    if (result.created) {
      await writeAudit(
        {
          actor: apiKeyActor(apiKey, ip),
          action: "credits.debit",
          targetType: "user",
          targetId: userId,
          after: {
            entryId: result.entry.id.toString(),
            amount: body.amount,
            balanceAfter: result.entry.balanceAfter,
            idempotencyKey: body.idempotencyKey,
          },
          reason: body.description,
        },
        tx,
      );
    }
    return {
      entry: toApiLedgerEntry(result.entry),
      balance: result.balance,
      created: result.created,
    };
  });
}

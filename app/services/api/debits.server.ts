import { z } from "zod";
import { writeAudit } from "../audit.server";
import { apiKeyActor, type ApiPrincipal } from "../api-keys.server";
import { getDb, type Tx } from "../db.server";
import { IdempotencyConflictError } from "../errors.server";
import { postLedgerEntryInTx } from "../ledger.server";
import { ApiError } from "./http.server";
import { toApiLedgerEntry, userScopedKey, type ApiLedgerEntry } from "./users.server";

export const MAX_DEBIT_AMOUNT = 1_000_000_000;
/** "api:" + userId (≤128) + ":" + this stays within the ledger's 255-character key limit. */
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

/** Scoped to the user (userScopedKey): injective, and unchanged for ids without ":". */
export function debitLedgerKey(userId: string, idempotencyKey: string): string {
  return userScopedKey("api", userId, idempotencyKey);
}

/** How debits of users with ":" in their id were keyed before the upgrade (ambiguous). */
function legacyDebitLedgerKey(userId: string, idempotencyKey: string): string {
  return `api:${userId}:${idempotencyKey}`;
}

/**
 * The ledger key for this debit. For a user id with ":", a debit made before the upgrade was
 * stored under the old form; if that entry exists and is this user's, a retry must find it, so
 * the old key is used. Another user's entry under the same string (the collision this fixes) is
 * ignored. One indexed read, only for ids with ":".
 */
async function resolveDebitKey(
  tx: Pick<Tx, "ledgerEntry">,
  userId: string,
  idempotencyKey: string,
): Promise<string> {
  const key = debitLedgerKey(userId, idempotencyKey);
  if (!userId.includes(":")) return key;
  const legacy = legacyDebitLedgerKey(userId, idempotencyKey);
  const old = await tx.ledgerEntry.findUnique({
    where: { idempotencyKey: legacy },
    select: { userId: true },
  });
  return old?.userId === userId ? legacy : key;
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
      idempotencyKey: await resolveDebitKey(tx, userId, body.idempotencyKey),
      reason: body.description,
      apiKeyId: apiKey.id,
    }).catch((error: unknown) => {
      // Name the client's own key, not the internal one it was stored under.
      if (error instanceof IdempotencyConflictError) {
        throw new ApiError(
          409,
          "idempotency_conflict",
          `Idempotency key "${body.idempotencyKey}" was already used for this user with a different amount or description.`,
          "idempotencyKey",
        );
      }
      throw error;
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

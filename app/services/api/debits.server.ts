import { z } from "zod";
import { apiKeyActor, type ApiPrincipal } from "../api-keys.server";
import { getDb, type Tx } from "../infra/db.server";
import { IdempotencyConflictError } from "../errors.server";
import {
  postLedgerBatch,
  postLedgerEntry,
  type BatchEntryInput,
  type PostEntryResult,
} from "../ledger.server";
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
 * At most this many debits of one user go into one transaction. Benchmarks set
 * CREDITDESK_DEBIT_BATCH_MAX=1 to measure without batching (docs/benchmarks.md).
 */
export const DEBIT_BATCH_MAX = 64;

function batchMax(): number {
  const n = Number(process.env.CREDITDESK_DEBIT_BATCH_MAX);
  return Number.isInteger(n) && n >= 1 && n <= DEBIT_BATCH_MAX ? n : DEBIT_BATCH_MAX;
}

interface PendingDebit {
  item: BatchEntryInput;
  clientKey: string;
  resolve: (r: PostEntryResult) => void;
  reject: (e: unknown) => void;
}

/**
 * One lane per user with debits in flight in this process. A debit that finds no lane starts one
 * and runs at once, alone (no waiting window: an idle user pays no latency). Debits arriving while
 * its transaction runs queue, and go together in the next transaction (up to DEBIT_BATCH_MAX):
 * one row lock, one commit for all of them, where each would otherwise wait for the previous
 * one's commit on the user's row. Different users never share a lane or a transaction.
 */
const lanes = new Map<string, PendingDebit[]>();
let batchObserver: ((userId: string, size: number) => void) | null = null;

/** Tests: see each transaction's size (1 = a debit on its own). */
export function observeDebitBatches(fn: ((userId: string, size: number) => void) | null): void {
  batchObserver = fn;
}

function debitConflict(clientKey: string): ApiError {
  return new ApiError(
    409,
    "idempotency_conflict",
    `Idempotency key "${clientKey}" was already used for this user with a different amount or description.`,
    "idempotencyKey",
  );
}

/** Name the client's own key in a conflict, not the internal one it was stored under. */
function clientError(error: unknown, clientKey: string): unknown {
  return error instanceof IdempotencyConflictError ? debitConflict(clientKey) : error;
}

/** One debit in one statement (entry, balance, rollup slot and audit record) on the raw pool. */
async function postAlone(p: PendingDebit): Promise<void> {
  try {
    p.resolve(await postLedgerEntry(p.item.input, { audit: p.item.audit }));
  } catch (error) {
    p.reject(clientError(error, p.clientKey));
  }
}

async function runBatch(userId: string, batch: PendingDebit[]): Promise<void> {
  batchObserver?.(userId, batch.length);
  if (batch.length === 1) return postAlone(batch[0]);
  let outcomes;
  try {
    outcomes = await postLedgerBatch(
      userId,
      batch.map((p) => p.item),
    );
  } catch {
    // The transaction failed as a whole (the database went away, a key race, an unexpected
    // error): nothing of it was committed, or — if only the COMMIT's answer was lost — all of it.
    // Posting each debit again by its own key decides either way, once: a committed entry comes
    // back as a replay, and a failure reaches only the debit it belongs to.
    for (const p of batch) await postAlone(p);
    return;
  }
  outcomes.forEach((o, i) =>
    o.ok ? batch[i].resolve(o.result) : batch[i].reject(clientError(o.error, batch[i].clientKey)),
  );
}

async function drainLane(userId: string, queue: PendingDebit[]): Promise<void> {
  for (;;) {
    const batch = queue.splice(0, batchMax());
    try {
      await runBatch(userId, batch);
    } catch (error) {
      for (const p of batch) p.reject(error);
    }
    if (queue.length === 0) {
      lanes.delete(userId);
      return;
    }
  }
}

function enqueue(userId: string, item: BatchEntryInput, clientKey: string) {
  return new Promise<PostEntryResult>((resolve, reject) => {
    const pending = { item, clientKey, resolve, reject };
    const queue = lanes.get(userId);
    if (queue) {
      queue.push(pending);
      return;
    }
    const fresh = [pending];
    lanes.set(userId, fresh);
    void drainLane(userId, fresh);
  });
}

/**
 * Spend credits. The ledger enforces everything that matters under the user's row lock: the
 * balance never goes below zero (402), an exact retry returns the original entry, and the same key
 * with another amount or description is a conflict (409) — for a debit alone or inside a batch of
 * the same user's concurrent debits, where each keeps its own answer. The promise settles after
 * the commit, so a 201 is durable and the user's balance already shows it.
 */
export async function debitCredits(
  userId: string,
  body: DebitBody,
  apiKey: ApiPrincipal,
  ip?: string | null,
): Promise<DebitResult> {
  const idempotencyKey = userId.includes(":")
    ? await resolveDebitKey(getDb(), userId, body.idempotencyKey)
    : debitLedgerKey(userId, body.idempotencyKey);
  // The same record writeAudit makes for an api_key actor (apiKeyActor), written by the entry's
  // own statement.
  const actor = apiKeyActor(apiKey, ip);
  const result = await enqueue(
    userId,
    {
      input: {
        userId,
        kind: "usage",
        delta: -body.amount,
        idempotencyKey,
        reason: body.description,
        apiKeyId: apiKey.id,
      },
      audit: {
        actorType: actor.type,
        actorId: apiKey.id,
        actorLabel: actor.label ?? null,
        ip: ip ?? null,
        action: "credits.debit",
        targetType: "user",
        targetId: userId,
        reason: body.description,
        after: { amount: body.amount, idempotencyKey: body.idempotencyKey },
      },
    },
    body.idempotencyKey,
  );
  return {
    entry: toApiLedgerEntry(result.entry),
    balance: result.balance,
    created: result.created,
  };
}

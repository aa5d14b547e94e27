import { createHash } from "node:crypto";
import type { LedgerEntry, Prisma } from "~/generated/prisma/client";
import type { LedgerKind } from "~/generated/prisma/enums";
import { getDb, type Tx } from "./db.server";
import {
  IdempotencyConflictError,
  InsufficientCreditsError,
  NotFoundError,
  ValidationError,
} from "./errors.server";
import { bumpRollup, CREDITS_ROW } from "./rollups.server";

/**
 * The ledger service is the only code that changes a balance. Each change is one new
 * LedgerEntry (append-only, enforced by a trigger) plus the balance cache, in one transaction.
 *
 * Idempotency: the entry's key is UNIQUE in the database. Under the user's row lock we look for
 * an entry with the key (an exact retry returns it), otherwise INSERT … ON CONFLICT DO NOTHING;
 * a conflict there (same key used concurrently for another user) is resolved the same way. No
 * path relies on a SELECT alone for uniqueness.
 */

export const LEDGER_KINDS = [
  "purchase",
  "refund_clawback",
  "dispute_hold",
  "dispute_release",
  "manual_credit",
  "manual_debit",
  "usage",
  "reversal",
  "grant",
] as const satisfies readonly LedgerKind[];

/** Kinds that spend the customer's own credits: these never take a balance below zero. */
const NON_NEGATIVE_KINDS: ReadonlySet<LedgerKind> = new Set(["usage", "manual_debit"]);

export interface PostEntryInput {
  userId: string;
  delta: number;
  kind: LedgerKind;
  idempotencyKey: string;
  reason?: string | null;
  purchaseId?: string | null;
  staffId?: string | null;
  apiKeyId?: string | null;
  stripeEventId?: string | null;
  reversesId?: bigint | null;
  metadata?: Prisma.InputJsonValue;
  /** Ledger time (defaults to now); demo seeding and imports backdate entries. */
  at?: Date;
}

export interface PostEntryResult {
  entry: LedgerEntry;
  /** false when the key was already used with the same payload: the original entry is returned. */
  created: boolean;
  balance: number;
}

/** What makes two requests "the same": who, how much, what kind, why. */
export function ledgerPayloadHash(input: PostEntryInput): string {
  const canonical = JSON.stringify([
    input.userId,
    input.kind,
    input.delta,
    input.reason ?? null,
    input.purchaseId ?? null,
  ]);
  return createHash("sha256").update(canonical).digest("hex");
}

function validate(input: PostEntryInput): void {
  if (!Number.isSafeInteger(input.delta) || input.delta === 0) {
    throw new ValidationError("delta must be a non-zero whole number of credits.", "delta");
  }
  if (!input.idempotencyKey || input.idempotencyKey.length > 255) {
    throw new ValidationError(
      "idempotencyKey is required (at most 255 characters).",
      "idempotencyKey",
    );
  }
  if (!(LEDGER_KINDS as readonly string[]).includes(input.kind)) {
    throw new ValidationError(`kind "${input.kind}" is not a ledger entry kind.`, "kind");
  }
}

async function findByKey(tx: Tx, key: string) {
  return tx.ledgerEntry.findUnique({ where: { idempotencyKey: key } });
}

function replayOrConflict(
  existing: LedgerEntry,
  input: PostEntryInput,
  hash: string,
  balance: number,
) {
  if (existing.payloadHash !== hash) throw new IdempotencyConflictError(input.idempotencyKey);
  return { entry: existing, created: false, balance };
}

/** Post one entry inside the caller's transaction. */
export async function postLedgerEntryInTx(tx: Tx, input: PostEntryInput): Promise<PostEntryResult> {
  validate(input);
  const hash = ledgerPayloadHash(input);
  const locked = await tx.$queryRaw<{ balance: number; last_seq: number }[]>`
    SELECT balance, last_seq FROM users WHERE id = ${input.userId} FOR UPDATE`;
  const user = locked[0];
  if (!user) throw new NotFoundError("User", input.userId, "userId");

  const existing = await findByKey(tx, input.idempotencyKey);
  if (existing) return replayOrConflict(existing, input, hash, user.balance);

  const balanceAfter = user.balance + input.delta;
  if (input.delta < 0 && NON_NEGATIVE_KINDS.has(input.kind) && balanceAfter < 0) {
    throw new InsufficientCreditsError(user.balance, -input.delta);
  }
  const seq = user.last_seq + 1;
  const at = input.at ?? new Date();
  const inserted = await tx.$queryRaw<{ id: bigint }[]>`
    INSERT INTO ledger_entries (user_id, seq, delta, balance_after, kind, idempotency_key, payload_hash,
      purchase_id, staff_id, api_key_id, stripe_event_id, reverses_id, reason, metadata, created_at)
    VALUES (${input.userId}, ${seq}, ${input.delta}, ${balanceAfter}, ${input.kind}::"LedgerKind",
      ${input.idempotencyKey}, ${hash}, ${input.purchaseId ?? null}, ${input.staffId ?? null},
      ${input.apiKeyId ?? null}, ${input.stripeEventId ?? null}, ${input.reversesId ?? null},
      ${input.reason ?? null}, ${input.metadata === undefined ? null : JSON.stringify(input.metadata)}::jsonb, ${at})
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id`;
  if (inserted.length === 0) {
    const winner = await findByKey(tx, input.idempotencyKey);
    if (!winner)
      throw new Error(`ledger key ${input.idempotencyKey} conflicted but is not visible`);
    return replayOrConflict(winner, input, hash, user.balance);
  }
  await tx.$executeRaw`UPDATE users SET balance = ${balanceAfter}, last_seq = ${seq}, updated_at = now() WHERE id = ${input.userId}`;
  if (input.kind === "purchase" || input.kind === "grant" || input.kind === "manual_credit") {
    await bumpRollup(tx, at, CREDITS_ROW, { creditsIssued: input.delta });
  } else if (input.kind === "usage") {
    await bumpRollup(tx, at, CREDITS_ROW, { creditsConsumed: -input.delta });
  }
  const entry = await tx.ledgerEntry.findUniqueOrThrow({ where: { id: inserted[0].id } });
  return { entry, created: true, balance: balanceAfter };
}

/** Post one entry in its own transaction. */
export async function postLedgerEntry(input: PostEntryInput): Promise<PostEntryResult> {
  return getDb().$transaction((tx) => postLedgerEntryInTx(tx, input));
}

export async function getBalance(userId: string): Promise<number> {
  const user = await getDb().user.findUnique({ where: { id: userId }, select: { balance: true } });
  if (!user) throw new NotFoundError("User", userId, "userId");
  return user.balance;
}

/** Newest-first page of a user's entries, keyset-paginated on seq. */
export async function listUserLedger(userId: string, opts: { limit: number; beforeSeq?: number }) {
  const rows = await getDb().ledgerEntry.findMany({
    where: { userId, ...(opts.beforeSeq ? { seq: { lt: opts.beforeSeq } } : {}) },
    orderBy: { seq: "desc" },
    take: opts.limit + 1,
  });
  const hasMore = rows.length > opts.limit;
  const entries = rows.slice(0, opts.limit);
  return { entries, nextBeforeSeq: hasMore ? entries[entries.length - 1].seq : null };
}

/** JSON-safe view of an entry (BigInt ids become strings). */
export function serializeEntry(e: LedgerEntry) {
  return {
    id: e.id.toString(),
    userId: e.userId,
    seq: e.seq,
    delta: e.delta,
    balanceAfter: e.balanceAfter,
    kind: e.kind,
    idempotencyKey: e.idempotencyKey,
    reason: e.reason,
    purchaseId: e.purchaseId,
    staffId: e.staffId,
    apiKeyId: e.apiKeyId,
    stripeEventId: e.stripeEventId,
    reversesId: e.reversesId?.toString() ?? null,
    metadata: e.metadata,
    createdAt: e.createdAt.toISOString(),
  };
}

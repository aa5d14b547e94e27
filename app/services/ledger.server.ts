import { createHash } from "node:crypto";
import { Prisma, type LedgerEntry } from "~/generated/prisma/client";
import type { LedgerKind } from "~/generated/prisma/enums";
import { getDatabase, getDb, type Tx } from "./db.server";
import {
  IdempotencyConflictError,
  InsufficientCreditsError,
  NotFoundError,
  ValidationError,
} from "./errors.server";
import { CREDITS_ROW, rollupUpsertSql, type RollupBump } from "./rollups.server";

/**
 * The ledger service is the only code that changes a balance. Each change is one new
 * LedgerEntry (append-only, enforced by a trigger) plus the balance cache, in one transaction.
 *
 * Idempotency: the entry's key is UNIQUE in the database. Under the user's row lock the entry is
 * inserted with ON CONFLICT DO NOTHING; when the key is taken, a fresh read returns the original
 * entry for an exact retry or refuses the reused key. No path relies on a SELECT for uniqueness.
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

async function findByKey(client: Pick<Tx, "ledgerEntry">, key: string) {
  return client.ledgerEntry.findUnique({ where: { idempotencyKey: key } });
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

/**
 * A `ledger_entries` row as raw SQL returns it (snake_case), or all nulls from a LEFT JOIN miss.
 * Through Prisma int8 comes back as bigint, through `pg` as a string: toEntry accepts both.
 */
interface EntryRow {
  id: bigint | string | null;
  user_id: string;
  seq: number;
  delta: number;
  balance_after: number;
  kind: LedgerKind;
  idempotency_key: string;
  payload_hash: string;
  purchase_id: string | null;
  staff_id: string | null;
  api_key_id: string | null;
  stripe_event_id: string | null;
  reverses_id: bigint | string | null;
  reason: string | null;
  metadata: Prisma.JsonValue | null;
  created_at: Date | string;
}

const ENTRY_COLUMNS = Prisma.raw(
  "e.id, e.user_id, e.seq, e.delta, e.balance_after, e.kind, e.idempotency_key, e.payload_hash, " +
    "e.purchase_id, e.staff_id, e.api_key_id, e.stripe_event_id, e.reverses_id, e.reason, e.metadata, e.created_at",
);

function toEntry(r: EntryRow): LedgerEntry {
  return {
    id: BigInt(r.id!),
    userId: r.user_id,
    seq: Number(r.seq),
    delta: Number(r.delta),
    balanceAfter: Number(r.balance_after),
    kind: r.kind,
    idempotencyKey: r.idempotency_key,
    payloadHash: r.payload_hash,
    purchaseId: r.purchase_id,
    staffId: r.staff_id,
    apiKeyId: r.api_key_id,
    stripeEventId: r.stripe_event_id,
    reversesId: r.reverses_id === null ? null : BigInt(r.reverses_id),
    reason: r.reason,
    metadata: r.metadata,
    createdAt: new Date(r.created_at),
  };
}

/** Writes that belong to the entry, made in the entry's own statement (one round trip). */
export interface PostEntryExtras {
  /**
   * Further common table expressions (without `WITH`, comma-separated) of the statement that
   * posts the entry, e.g. the purchase the entry credits. They may read `ledger_entry` (the new
   * entry's row; empty when none was inserted) and must write nothing when it is empty — make every
   * write select from it or test `EXISTS (SELECT 1 FROM ledger_entry)`. An error in them (a unique
   * violation) fails the whole statement, entry included. Names must not start with `ledger_`.
   */
  with?: Prisma.Sql;
  /** Further daily rollup rows to bump in the same statement, only if the entry is created. */
  rollups?: RollupBump[];
}

type LedgerClient = Pick<Tx, "$queryRaw" | "ledgerEntry">;

/**
 * In the caller's transaction, or (null) as one statement of its own through the raw pool,
 * prepared: its text takes one of a few shapes (kind, rollup rows, the caller's extras), and
 * every purchase and debit runs it.
 */
function runStatement<T>(client: LedgerClient | null, sql: Prisma.Sql): Promise<T[]> {
  return client
    ? client.$queryRaw<T[]>(sql)
    : getDatabase().query<T>(sql.text, sql.values, { prepare: true });
}

/**
 * Post one entry in ONE statement (so in one transaction even without an enclosing one): lock
 * the user's row, insert the entry with the next seq and balance (ON CONFLICT on the unique
 * key: the database, not a lookup, decides who gets a key), update the balance cache, bump the
 * day's rollups and the caller's extra writes, all gated on the insert. Nothing is written when
 * the entry is not inserted; a second statement then tells a replay, a reused key and an
 * overdraft apart. The rollup rows are shared by every transaction of the day and locked last.
 */
async function post(
  client: LedgerClient | null,
  input: PostEntryInput,
  extras: PostEntryExtras,
): Promise<PostEntryResult> {
  validate(input);
  const hash = ledgerPayloadHash(input);
  const at = input.at ?? new Date();
  const nonNegative = input.delta < 0 && NON_NEGATIVE_KINDS.has(input.kind);
  const rollups: RollupBump[] = [];
  if (input.kind === "purchase" || input.kind === "grant" || input.kind === "manual_credit") {
    rollups.push({ at, currency: CREDITS_ROW, delta: { creditsIssued: input.delta } });
  } else if (input.kind === "usage") {
    rollups.push({ at, currency: CREDITS_ROW, delta: { creditsConsumed: -input.delta } });
  }
  rollups.push(...(extras.rollups ?? []));
  const ctes: Prisma.Sql[] = [
    Prisma.sql`ledger_user AS (
      SELECT id, balance, last_seq FROM users WHERE id = ${input.userId} FOR UPDATE)`,
    Prisma.sql`ledger_entry AS (
      INSERT INTO ledger_entries AS e (user_id, seq, delta, balance_after, kind, idempotency_key, payload_hash,
        purchase_id, staff_id, api_key_id, stripe_event_id, reverses_id, reason, metadata, created_at)
      SELECT u.id, u.last_seq + 1, ${input.delta}::int, u.balance + ${input.delta}::int, ${input.kind}::"LedgerKind",
        ${input.idempotencyKey}, ${hash}, ${input.purchaseId ?? null}, ${input.staffId ?? null},
        ${input.apiKeyId ?? null}, ${input.stripeEventId ?? null}, ${input.reversesId ?? null}::bigint,
        ${input.reason ?? null}, ${input.metadata === undefined ? null : JSON.stringify(input.metadata)}::jsonb, ${at}
      FROM ledger_user u
      ${nonNegative ? Prisma.sql`WHERE u.balance + ${input.delta}::int >= 0` : Prisma.empty}
      ON CONFLICT (idempotency_key) DO NOTHING
      RETURNING ${ENTRY_COLUMNS})`,
    Prisma.sql`ledger_balance AS (
      UPDATE users SET balance = ledger_entry.balance_after, last_seq = ledger_entry.seq, updated_at = now()
      FROM ledger_entry WHERE users.id = ledger_entry.user_id)`,
  ];
  if (rollups.length > 0) {
    ctes.push(Prisma.sql`ledger_rollup AS (
      ${rollupUpsertSql(rollups, Prisma.sql`EXISTS (SELECT 1 FROM ledger_entry)`)})`);
  }
  if (extras.with) ctes.push(extras.with);
  const rows = await runStatement<EntryRow & { user_balance: number }>(
    client,
    Prisma.sql`
      WITH ${Prisma.join(ctes, ",\n")}
      SELECT u.balance AS user_balance, e.* FROM ledger_user u LEFT JOIN ledger_entry e ON true`,
  );
  const row = rows[0];
  if (!row) throw new NotFoundError("User", input.userId, "userId");
  const balance = Number(row.user_balance);
  if (row.id !== null)
    return { entry: toEntry(row), created: true, balance: balance + input.delta };

  // Not inserted: the key is taken (a retry, or the key reused), or the entry would overdraw.
  // This new statement sees whoever holds the key, even if they committed while we waited.
  const existing = await findByKey(client ?? getDb(), input.idempotencyKey);
  if (existing) return replayOrConflict(existing, input, hash, balance);
  if (nonNegative && balance + input.delta < 0) {
    throw new InsufficientCreditsError(balance, -input.delta);
  }
  throw new Error(`ledger key ${input.idempotencyKey} conflicted but is not visible`);
}

/** Post one entry inside the caller's transaction (one statement; see `post`). */
export async function postLedgerEntryInTx(
  tx: Tx,
  input: PostEntryInput,
  extras: PostEntryExtras = {},
): Promise<PostEntryResult> {
  return post(tx, input, extras);
}

/**
 * Post one entry in its own transaction: the single statement is one (no BEGIN/COMMIT round
 * trips, and the day's rollup rows stay locked only while it commits). On Postgres it goes
 * through the raw `pg` pool, a quarter of Prisma's CPU per statement.
 */
export async function postLedgerEntry(
  input: PostEntryInput,
  extras: PostEntryExtras = {},
): Promise<PostEntryResult> {
  return post(null, input, extras);
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

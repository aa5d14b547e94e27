import { createHash, randomBytes } from "node:crypto";
import { Prisma, type LedgerEntry } from "~/generated/prisma/client";
import type { HoldStatus } from "~/generated/prisma/enums";
import { DomainError, IdempotencyConflictError, NotFoundError } from "./errors.server";
import { getDatabase, getDb, type Tx } from "./infra/db.server";
import { postLedgerEntryInTx, type EntryAudit } from "./ledger.server";

/**
 * API holds: reserve credits now, capture what the usage cost afterwards, release the rest.
 *
 * A hold changes no balance, so it is not a ledger entry; it is a `credit_holds` row that, while
 * open and unexpired, is counted by the SQL function `credit_unusable(user, at)` — the same number
 * the ledger's debit gate subtracts — so every debit and every new hold is checked against
 * `available` = balance − unusable under the user's row lock (docs/credits.md, "Holds").
 * A capture marks the hold captured and posts ONE `usage` entry (key `hold_capture:<hold id>`,
 * allocated in burn order by the ledger) in one transaction; release and expiry post nothing.
 * Idempotency is the database's: a unique key per (user, client key) for holds, the unique ledger
 * key for captures, and the hold's row lock decides between concurrent captures.
 */

export const MAX_HOLD_SECONDS = 3600;

export interface ApiHold {
  id: string;
  userId: string;
  amount: number;
  status: HoldStatus;
  capturedAmount: number | null;
  description: string | null;
  expiresAt: string;
  createdAt: string;
  resolvedAt: string | null;
  captureEntryId: string | null;
}

export interface Balances {
  balance: number;
  /** Credits that cannot be spent now: open API holds, held grants, credits past their expiry. */
  held: number;
  /** balance − held: what a debit or a new hold may take. */
  available: number;
}

interface HoldRow {
  id: string;
  user_id: string;
  amount: number;
  status: HoldStatus;
  captured_amount: number | null;
  idempotency_key: string;
  payload_hash: string;
  description: string | null;
  api_key_id: string | null;
  expires_at: Date | string;
  created_at: Date | string;
  resolved_at: Date | string | null;
  capture_entry_id: bigint | string | null;
}

const HOLD_COLUMNS = Prisma.raw(
  "h.id, h.user_id, h.amount, h.status::text AS status, h.captured_amount, h.idempotency_key, " +
    "h.payload_hash, h.description, h.api_key_id, h.expires_at, h.created_at, h.resolved_at, " +
    "h.capture_entry_id::text AS capture_entry_id",
);

function iso(d: Date | string): string {
  return new Date(d).toISOString();
}

export function toApiHold(r: HoldRow): ApiHold {
  return {
    id: r.id,
    userId: r.user_id,
    amount: Number(r.amount),
    status: r.status,
    capturedAmount: r.captured_amount === null ? null : Number(r.captured_amount),
    description: r.description,
    expiresAt: iso(r.expires_at),
    createdAt: iso(r.created_at),
    resolvedAt: r.resolved_at === null ? null : iso(r.resolved_at),
    captureEntryId: r.capture_entry_id === null ? null : String(r.capture_entry_id),
  };
}

/**
 * What a debit or a new hold cannot take, in SQL: the user's open, unexpired API holds. The
 * grants model's `credit_unusable` adds held grants and credits past their expiry.
 */
export function unusableSql(userId: Prisma.Sql | string, at: Prisma.Sql | Date): Prisma.Sql {
  const u = typeof userId === "string" ? Prisma.sql`${userId}` : userId;
  const t = at instanceof Date ? Prisma.sql`${at}::timestamptz` : at;
  return Prisma.sql`credit_unusable(${u}, ${t})`;
}

type Client = Pick<Tx, "$queryRaw">;

/** Balance, held and available of one user now (a read; no lock). */
export async function getBalances(userId: string, client?: Client): Promise<Balances> {
  const sql = Prisma.sql`
    SELECT balance, ${unusableSql(Prisma.sql`id`, Prisma.sql`now()`)} AS held FROM users WHERE id = ${userId}`;
  const rows = client
    ? await client.$queryRaw<{ balance: number; held: number }[]>(sql)
    : await getDatabase().query<{ balance: number; held: number }>(sql.text, sql.values);
  if (rows.length === 0) throw new NotFoundError("User", userId, "id");
  return balancesOf(Number(rows[0].balance), Number(rows[0].held));
}

function balancesOf(balance: number, held: number): Balances {
  return { balance, held, available: balance - held };
}

// ---------------------------------------------------------------------------------------------
// Errors

export class HoldNotOpenError extends DomainError {
  constructor(
    public readonly hold: ApiHold,
    state: HoldStatus,
    what: "captured" | "released",
  ) {
    const since = hold.resolvedAt ?? hold.expiresAt;
    super(
      409,
      `hold_${state}`,
      `Hold ${hold.id} is ${state} (since ${since}); it cannot be ${what}.` +
        (state === "captured" ? ` It was captured for ${hold.capturedAmount} credits.` : ""),
      "holdId",
    );
  }
}

export class InsufficientAvailableError extends DomainError {
  constructor(
    public readonly balances: Balances,
    requested: number,
  ) {
    super(
      402,
      "insufficient_credits",
      `Insufficient available credits: ${balances.available} available (balance ${balances.balance}, ` +
        `held ${balances.held}) and ${requested} requested.`,
      "amount",
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Create

export interface CreateHoldInput {
  amount: number;
  /** Already scoped to the user (the API's userScopedKey). */
  idempotencyKey: string;
  expiresInSeconds: number;
  description: string | null;
}

export function holdPayloadHash(userId: string, input: CreateHoldInput): string {
  return createHash("sha256")
    .update(JSON.stringify([userId, input.amount, input.expiresInSeconds, input.description]))
    .digest("hex");
}

export interface HoldResult extends Balances {
  hold: ApiHold;
  /** false: an exact retry; the original hold is returned as it is now. */
  created: boolean;
}

/**
 * Reserve `amount` credits for `expiresInSeconds`. One statement under the user's row lock (the
 * same lock every ledger entry takes): insert the hold only if amount ≤ available, ON CONFLICT on
 * the key. Not inserted: the key exists (a retry → the original hold, or 409 for another payload)
 * or the credits are not there (402 with the available balance).
 */
export async function createHold(
  userId: string,
  input: CreateHoldInput,
  apiKeyId: string | null,
  audit: Omit<EntryAudit, "action" | "targetType" | "targetId" | "after" | "reason">,
): Promise<HoldResult> {
  const hash = holdPayloadHash(userId, input);
  const id = `hold_${randomBytes(12).toString("hex")}`;
  return getDb().$transaction(async (tx) => {
    const rows = await tx.$queryRaw<(HoldRow & { u_balance: number; u_held: number })[]>(Prisma.sql`
      WITH hold_user AS (
        SELECT id, balance, ${unusableSql(Prisma.sql`id`, Prisma.sql`now()`)} AS held
        FROM users WHERE id = ${userId} FOR UPDATE),
      hold_new AS (
        INSERT INTO credit_holds AS h (id, user_id, amount, idempotency_key, payload_hash, description,
          api_key_id, expires_at)
        SELECT ${id}, u.id, ${input.amount}::int, ${input.idempotencyKey}, ${hash}, ${input.description},
          ${apiKeyId}, now() + make_interval(secs => ${input.expiresInSeconds}::int)
        FROM hold_user u WHERE u.balance - u.held >= ${input.amount}::int
        ON CONFLICT (idempotency_key) DO NOTHING
        RETURNING ${HOLD_COLUMNS}),
      hold_audit AS (
        INSERT INTO audit_logs (actor_type, actor_id, actor_label, action, target_type, target_id, after, reason, ip)
        SELECT ${audit.actorType}, ${audit.actorId}, ${audit.actorLabel}, 'credits.hold', 'user', ${userId},
          jsonb_build_object('holdId', h.id, 'amount', h.amount, 'expiresAt', h.expires_at),
          ${input.description}, ${audit.ip}
        FROM hold_new h)
      SELECT u.balance AS u_balance, u.held AS u_held, h.* FROM hold_user u LEFT JOIN hold_new h ON true`);
    const row = rows[0];
    if (!row) throw new NotFoundError("User", userId, "id");
    const before = balancesOf(Number(row.u_balance), Number(row.u_held));
    if (row.id !== null) {
      const hold = toApiHold(row);
      return {
        hold,
        created: true,
        ...balancesOf(before.balance, before.held + hold.amount),
      };
    }
    // A second statement sees the key's owner even if it committed while we waited for the lock.
    const [existing] = await tx.$queryRaw<HoldRow[]>(Prisma.sql`
      SELECT ${HOLD_COLUMNS} FROM credit_holds h WHERE h.idempotency_key = ${input.idempotencyKey}`);
    if (existing) {
      if (existing.payload_hash !== hash || existing.user_id !== userId) {
        throw new IdempotencyConflictError(input.idempotencyKey);
      }
      return { hold: toApiHold(existing), created: false, ...before };
    }
    throw new InsufficientAvailableError(before, input.amount);
  });
}

// ---------------------------------------------------------------------------------------------
// Capture, release

async function lockHold(tx: Client, holdId: string): Promise<HoldRow & { expired: boolean }> {
  const [row] = await tx.$queryRaw<(HoldRow & { expired: boolean })[]>(Prisma.sql`
    SELECT ${HOLD_COLUMNS}, (h.status = 'open' AND h.expires_at <= now()) AS expired
    FROM credit_holds h WHERE h.id = ${holdId} FOR UPDATE`);
  if (!row) throw new NotFoundError("Hold", holdId, "holdId");
  return row;
}

/** The state a client sees: an open hold past its expiry is expired even before the sweep marks it. */
function stateOf(row: HoldRow & { expired: boolean }): HoldStatus {
  return row.expired ? "expired" : row.status;
}

export interface CaptureResult extends Balances {
  hold: ApiHold;
  entry: LedgerEntry;
  /** false: this exact capture was already made; the original entry is returned. */
  created: boolean;
}

/**
 * Capture `amount` (≤ the hold) as a `usage` entry and release the rest, in one transaction. The
 * hold's row lock orders concurrent captures: the first marks it captured and posts the entry;
 * the others then find it captured — the same amount is a retry (the original entry, 200),
 * another amount 409 — so a hold is captured once.
 */
export async function captureHold(
  holdId: string,
  amount: number,
  apiKeyId: string | null,
  audit: Omit<EntryAudit, "action" | "targetType" | "targetId" | "after" | "reason">,
): Promise<CaptureResult> {
  return getDb().$transaction(async (tx) => {
    const row = await lockHold(tx, holdId);
    const hold = toApiHold(row);
    if (amount > hold.amount) {
      throw new DomainError(
        422,
        "validation_failed",
        `amount ${amount} is more than the hold's ${hold.amount} credits; capture at most ${hold.amount}.`,
        "amount",
      );
    }
    const state = stateOf(row);
    if (state === "captured" && hold.capturedAmount === amount && row.capture_entry_id !== null) {
      const entry = await tx.ledgerEntry.findUniqueOrThrow({
        where: { id: BigInt(row.capture_entry_id) },
      });
      return { hold, entry, created: false, ...(await getBalances(hold.userId, tx)) };
    }
    if (state !== "open") throw new HoldNotOpenError({ ...hold, status: state }, state, "captured");

    // Captured before the entry is posted, so the debit gate no longer counts this hold.
    await tx.$executeRaw(Prisma.sql`
      UPDATE credit_holds SET status = 'captured', captured_amount = ${amount}::int, resolved_at = now()
      WHERE id = ${holdId}`);
    const posted = await postLedgerEntryInTx(
      tx,
      {
        userId: hold.userId,
        kind: "usage",
        delta: -amount,
        idempotencyKey: `hold_capture:${holdId}`,
        reason: hold.description ?? `Capture of ${holdId}`,
        apiKeyId,
        metadata: { holdId, held: hold.amount },
      },
      {
        audit: {
          ...audit,
          action: "credits.capture",
          targetType: "user",
          targetId: hold.userId,
          reason: hold.description,
          after: { holdId, amount, released: hold.amount - amount },
        },
      },
    );
    const [updated] = await tx.$queryRaw<HoldRow[]>(Prisma.sql`
      UPDATE credit_holds h SET capture_entry_id = ${posted.entry.id}::bigint
      WHERE h.id = ${holdId} RETURNING ${HOLD_COLUMNS}`);
    return {
      hold: toApiHold(updated),
      entry: posted.entry,
      created: true,
      ...(await getBalances(hold.userId, tx)),
    };
  });
}

/** Release an open hold (its credits are available again). Releasing a released hold is a no-op. */
export async function releaseHold(
  holdId: string,
  audit: Omit<EntryAudit, "action" | "targetType" | "targetId" | "after" | "reason">,
): Promise<HoldResult> {
  return getDb().$transaction(async (tx) => {
    const row = await lockHold(tx, holdId);
    const state = stateOf(row);
    const hold = toApiHold(row);
    if (state === "released") {
      return { hold, created: false, ...(await getBalances(hold.userId, tx)) };
    }
    if (state !== "open") throw new HoldNotOpenError({ ...hold, status: state }, state, "released");
    const [updated] = await tx.$queryRaw<HoldRow[]>(Prisma.sql`
      UPDATE credit_holds h SET status = 'released', resolved_at = now()
      WHERE h.id = ${holdId} RETURNING ${HOLD_COLUMNS}`);
    await tx.auditLog.create({
      data: {
        actorType: audit.actorType,
        actorId: audit.actorId,
        actorLabel: audit.actorLabel,
        ip: audit.ip,
        action: "credits.release",
        targetType: "user",
        targetId: hold.userId,
        after: { holdId, amount: hold.amount },
      },
    });
    return { hold: toApiHold(updated), created: true, ...(await getBalances(hold.userId, tx)) };
  });
}

export async function getHold(holdId: string): Promise<ApiHold> {
  const sql = Prisma.sql`SELECT ${HOLD_COLUMNS}, (h.status = 'open' AND h.expires_at <= now()) AS expired
    FROM credit_holds h WHERE h.id = ${holdId}`;
  const [row] = await getDatabase().query<HoldRow & { expired: boolean }>(sql.text, sql.values);
  if (!row) throw new NotFoundError("Hold", holdId, "holdId");
  return { ...toApiHold(row), status: stateOf(row) };
}

// ---------------------------------------------------------------------------------------------
// Expiry

/**
 * Mark open holds past their expiry `expired` (bookkeeping: they stopped counting against
 * `available` at `expires_at` already). Idempotent and safe to run from several processes at once:
 * each row is updated once, under its own lock; SKIP LOCKED leaves a hold being captured alone.
 * Returns how many it marked.
 */
export async function expireHolds(limit = 1000): Promise<number> {
  const sql = Prisma.sql`
    UPDATE credit_holds SET status = 'expired', resolved_at = expires_at
    WHERE id IN (SELECT id FROM credit_holds WHERE status = 'open' AND expires_at <= now()
                 ORDER BY expires_at LIMIT ${limit} FOR UPDATE SKIP LOCKED)
    RETURNING id`;
  const rows = await getDatabase().query<{ id: string }>(sql.text, sql.values);
  return rows.length;
}

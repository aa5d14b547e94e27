import { createHash } from "node:crypto";
import { Prisma, type LedgerEntry } from "~/generated/prisma/client";
import type { LedgerKind } from "~/generated/prisma/enums";
import { getDatabase, getDb, type Tx } from "./infra/db.server";
import {
  IdempotencyConflictError,
  InsufficientCreditsError,
  NotFoundError,
  ValidationError,
} from "./errors.server";
import { appNow } from "./infra/clock.server";
import { CREDITS_ROW, rollupUpsertSql, type RollupBump } from "./rollups.server";
import { allocateSql, type GrantSpec } from "./grants/allocation.server";

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
  "expiry",
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
  /** The grant a credit creates (or the grant a debit takes from first): grants/allocation.server.ts. */
  grant?: GrantSpec;
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
  /** The audit record of the entry, written by its statement (only if the entry is created). */
  audit?: EntryAudit;
}

/**
 * An audit record written with its ledger entry. `after` gains the entry's `entryId` and
 * `balanceAfter`, which exist only once the entry is inserted.
 */
export interface EntryAudit {
  actorType: string;
  actorId: string | null;
  actorLabel: string | null;
  ip: string | null;
  action: string;
  targetType: string;
  targetId: string;
  reason: string | null;
  after: Record<string, Prisma.InputJsonValue>;
}

/** The day rollup rows an entry bumps: credits issued or consumed, on the entry's day. */
function creditRollups(kind: LedgerKind, delta: number, at: Date): RollupBump[] {
  if (kind === "purchase" || kind === "grant" || kind === "manual_credit")
    return [{ at, currency: CREDITS_ROW, delta: { creditsIssued: delta } }];
  if (kind === "usage") return [{ at, currency: CREDITS_ROW, delta: { creditsConsumed: -delta } }];
  return [];
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
 * overdraft apart. The rollup rows are locked last; each is one slot of its day
 * (rollups.server.ts), so other users' writes on other connections do not wait for them.
 */
async function post(
  client: LedgerClient | null,
  input: PostEntryInput,
  extras: PostEntryExtras,
): Promise<PostEntryResult> {
  validate(input);
  const hash = ledgerPayloadHash(input);
  const at = input.at ?? appNow();
  const nonNegative = input.delta < 0 && NON_NEGATIVE_KINDS.has(input.kind);
  const rollups = [...creditRollups(input.kind, input.delta, at), ...(extras.rollups ?? [])];
  const ctes: Prisma.Sql[] = [
    Prisma.sql`ledger_user AS (
      SELECT id, balance, last_seq, credit_debt FROM users WHERE id = ${input.userId} FOR UPDATE)`,
    Prisma.sql`ledger_entry AS (
      INSERT INTO ledger_entries AS e (user_id, seq, delta, balance_after, kind, idempotency_key, payload_hash,
        purchase_id, staff_id, api_key_id, stripe_event_id, reverses_id, reason, metadata, created_at)
      SELECT u.id, u.last_seq + 1, ${input.delta}::int, u.balance + ${input.delta}::int, ${input.kind}::"LedgerKind",
        ${input.idempotencyKey}, ${hash}, ${input.purchaseId ?? null}, ${input.staffId ?? null},
        ${input.apiKeyId ?? null}, ${input.stripeEventId ?? null}, ${input.reversesId ?? null}::bigint,
        ${input.reason ?? null}, ${input.metadata === undefined ? null : JSON.stringify(input.metadata)}::jsonb, ${at}
      FROM ledger_user u
      ${nonNegative ? Prisma.sql`WHERE u.balance + ${input.delta}::int >= 0 AND u.balance - credit_unusable(u.id, ${at}) + ${input.delta}::int >= 0` : Prisma.empty}
      ON CONFLICT (idempotency_key) DO NOTHING
      RETURNING ${ENTRY_COLUMNS})`,
    Prisma.sql`ledger_alloc AS (
      SELECT ${allocateSql(input.grant)} AS debt_change FROM ledger_entry e, ledger_user u)`,
    Prisma.sql`ledger_balance AS (
      UPDATE users SET balance = ledger_entry.balance_after, last_seq = ledger_entry.seq, updated_at = now(),
        credit_debt = users.credit_debt + COALESCE((SELECT debt_change FROM ledger_alloc), 0)
      FROM ledger_entry WHERE users.id = ledger_entry.user_id)`,
  ];
  if (rollups.length > 0) {
    ctes.push(Prisma.sql`ledger_rollup AS (
      ${rollupUpsertSql(rollups, Prisma.sql`EXISTS (SELECT 1 FROM ledger_entry)`)})`);
  }
  if (extras.audit) {
    const a = extras.audit;
    ctes.push(Prisma.sql`ledger_audit AS (
      INSERT INTO audit_logs (actor_type, actor_id, actor_label, action, target_type, target_id, after, reason, ip)
      SELECT ${a.actorType}, ${a.actorId}, ${a.actorLabel}, ${a.action}, ${a.targetType}, ${a.targetId},
        ${JSON.stringify(a.after)}::jsonb || jsonb_build_object('entryId', e.id::text, 'balanceAfter', e.balance_after),
        ${a.reason}, ${a.ip}
      FROM ledger_entry e)`);
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
  if (nonNegative) {
    // Held credits and credits past their expiry are in the balance but cannot be spent.
    const available = balance - (await unusableCredits(client, input.userId, at));
    if (available + input.delta < 0) throw new InsufficientCreditsError(available, -input.delta);
  }
  throw new Error(`ledger key ${input.idempotencyKey} conflicted but is not visible`);
}

async function unusableCredits(client: LedgerClient | null, userId: string, at: Date) {
  const rows = await runStatement<{ unusable: number }>(
    client,
    Prisma.sql`SELECT credit_unusable(${userId}, ${at}) AS unusable`,
  );
  return Number(rows[0]?.unusable ?? 0);
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

/** One entry of a batch (postLedgerBatch) and its audit record. */
export interface BatchEntryInput {
  input: PostEntryInput;
  audit?: EntryAudit;
}

export type BatchOutcome = { ok: true; result: PostEntryResult } | { ok: false; error: Error };

/** The batch met a key taken outside the user's row lock: nothing was written, post one by one. */
export class BatchKeyRaceError extends Error {
  constructor() {
    super("a ledger key of the batch was taken concurrently; nothing was written");
  }
}

/**
 * Post many entries of ONE user in one transaction: one row lock, one commit, one WAL flush for
 * all of them (a hot user's concurrent debits, coalesced by api/debits.server.ts). Each entry is
 * decided in order as if posted alone — a replay returns its original entry, a reused key with
 * another payload is a conflict, an overdraft of a non-negative kind fails — and fails alone: its
 * outcome carries its own error and the others are still written. The same key twice in the batch
 * makes one entry; the later caller gets it as a replay (or a conflict when the payload differs).
 *
 * Entries carry only the columns a debit has (no purchase, staff, Stripe event, reversal or
 * metadata). Throws (nothing written) when the transaction fails or, BatchKeyRaceError, when a
 * key was inserted by another user's entry meanwhile: the caller posts them one by one.
 */
export async function postLedgerBatch(
  userId: string,
  items: BatchEntryInput[],
): Promise<BatchOutcome[]> {
  const outcomes: (BatchOutcome | undefined)[] = items.map(({ input }) => {
    if (input.userId !== userId) throw new Error("postLedgerBatch: entries of one user only");
    if (
      input.purchaseId ||
      input.staffId ||
      input.stripeEventId ||
      input.reversesId ||
      input.metadata
    )
      throw new Error("postLedgerBatch: debit-shaped entries only");
    try {
      validate(input);
      return undefined;
    } catch (error) {
      return { ok: false, error: error as Error };
    }
  });
  const at = appNow();
  return getDb().$transaction(async (tx) => {
    const [user] = await tx.$queryRaw<{ balance: number; last_seq: number }[]>`
      SELECT balance, last_seq FROM users WHERE id = ${userId} FOR UPDATE`;
    if (!user)
      return items.map(() => ({ ok: false, error: new NotFoundError("User", userId, "userId") }));
    const keys = items.map((i) => i.input.idempotencyKey);
    // After the lock, so credit_unusable's fresh snapshot sees the previous holder's grants.
    const existingRows = await tx.$queryRaw<(EntryRow & { unusable: number })[]>`
      SELECT x.unusable, ${ENTRY_COLUMNS}
      FROM (SELECT credit_unusable(${userId}, ${at}) AS unusable) x
      LEFT JOIN ledger_entries e ON e.idempotency_key = ANY(${keys}::text[])`;
    const unusable = Number(existingRows[0]?.unusable ?? 0);
    const byKey = new Map<string, { entry: LedgerEntry; hash: string }>();
    for (const r of existingRows)
      if (r.id !== null) byKey.set(r.idempotency_key, { entry: toEntry(r), hash: r.payload_hash });

    let balance = Number(user.balance);
    let seq = Number(user.last_seq);
    const fresh: { index: number; entry: LedgerEntry }[] = [];
    items.forEach(({ input }, index) => {
      if (outcomes[index]) return;
      const hash = ledgerPayloadHash(input);
      const taken = byKey.get(input.idempotencyKey);
      if (taken) {
        outcomes[index] =
          taken.hash === hash
            ? { ok: true, result: { entry: taken.entry, created: false, balance: NaN } }
            : { ok: false, error: new IdempotencyConflictError(input.idempotencyKey) };
        return;
      }
      const nonNegative = input.delta < 0 && NON_NEGATIVE_KINDS.has(input.kind);
      if (nonNegative && balance - unusable + input.delta < 0) {
        outcomes[index] = {
          ok: false,
          error: new InsufficientCreditsError(balance - unusable, -input.delta),
        };
        return;
      }
      seq += 1;
      balance += input.delta;
      const entry: LedgerEntry = {
        id: 0n,
        userId,
        seq,
        delta: input.delta,
        balanceAfter: balance,
        kind: input.kind,
        idempotencyKey: input.idempotencyKey,
        payloadHash: hash,
        purchaseId: null,
        staffId: null,
        apiKeyId: input.apiKeyId ?? null,
        stripeEventId: null,
        reversesId: null,
        reason: input.reason ?? null,
        metadata: null,
        createdAt: at,
      };
      byKey.set(input.idempotencyKey, { entry, hash });
      fresh.push({ index, entry });
      outcomes[index] = { ok: true, result: { entry, created: true, balance: NaN } };
    });

    if (fresh.length > 0) {
      const audited = fresh.filter((f) => items[f.index].audit);
      const audits = audited.map((f) => items[f.index].audit!);
      const rollups = fresh.flatMap((f) => creditRollups(f.entry.kind, f.entry.delta, at));
      const n = fresh.length;
      const inserted = await tx.$queryRaw<{ idempotency_key: string; id: bigint | string }[]>`
        WITH ledger_entry AS (
          INSERT INTO ledger_entries AS e (user_id, seq, delta, balance_after, kind, idempotency_key, payload_hash,
            api_key_id, reason, created_at)
          SELECT ${userId}, v.seq, v.delta, v.balance_after, v.kind::"LedgerKind", v.key, v.hash, v.api_key_id, v.reason, ${at}
          FROM unnest(${fresh.map((f) => f.entry.seq)}::int[], ${fresh.map((f) => f.entry.delta)}::int[],
            ${fresh.map((f) => f.entry.balanceAfter)}::int[], ${fresh.map((f) => f.entry.kind)}::text[],
            ${fresh.map((f) => f.entry.idempotencyKey)}::text[], ${fresh.map((f) => f.entry.payloadHash)}::text[],
            ${fresh.map((f) => f.entry.apiKeyId)}::text[], ${fresh.map((f) => f.entry.reason)}::text[])
            AS v(seq, delta, balance_after, kind, key, hash, api_key_id, reason)
          ON CONFLICT (idempotency_key) DO NOTHING
          RETURNING e.id, e.idempotency_key, e.balance_after, e.seq, e.delta, e.kind, e.user_id, e.created_at,
            e.purchase_id, e.reverses_id, e.staff_id),
        ledger_complete AS (SELECT count(*) = ${n} AS ok FROM ledger_entry),
        -- Each entry's allocations in seq order: every call sees the grants the previous one left.
        ledger_alloc AS (
          SELECT COALESCE(sum(${allocateSql(undefined, Prisma.sql`0`)}), 0) AS debt_change
          FROM (SELECT * FROM ledger_entry ORDER BY seq) e WHERE (SELECT ok FROM ledger_complete)),
        ledger_balance AS (
          UPDATE users SET balance = ${balance}::int, last_seq = ${seq}::int, updated_at = now(),
            credit_debt = credit_debt + (SELECT debt_change FROM ledger_alloc)
          WHERE id = ${userId} AND (SELECT ok FROM ledger_complete)),
        ledger_rollup AS (${rollupUpsertSql(rollups, Prisma.sql`(SELECT ok FROM ledger_complete)`)}),
        ledger_audit AS (
          INSERT INTO audit_logs (actor_type, actor_id, actor_label, action, target_type, target_id, after, reason, ip)
          SELECT a.actor_type, a.actor_id, a.actor_label, a.action, a.target_type, a.target_id,
            a.after::jsonb || jsonb_build_object('entryId', e.id::text, 'balanceAfter', e.balance_after), a.reason, a.ip
          FROM unnest(${audited.map((f) => f.entry.idempotencyKey)}::text[], ${audits.map((a) => a.actorType)}::text[],
            ${audits.map((a) => a.actorId)}::text[], ${audits.map((a) => a.actorLabel)}::text[],
            ${audits.map((a) => a.action)}::text[], ${audits.map((a) => a.targetType)}::text[],
            ${audits.map((a) => a.targetId)}::text[], ${audits.map((a) => JSON.stringify(a.after))}::text[],
            ${audits.map((a) => a.reason)}::text[], ${audits.map((a) => a.ip)}::text[])
            AS a(key, actor_type, actor_id, actor_label, action, target_type, target_id, after, reason, ip)
          JOIN ledger_entry e ON e.idempotency_key = a.key
          WHERE (SELECT ok FROM ledger_complete))
        SELECT idempotency_key, id FROM ledger_entry`;
      // A key of ours taken by another user's entry (only an old ':' debit key can be): roll back.
      if (inserted.length !== n) throw new BatchKeyRaceError();
      const ids = new Map(inserted.map((r) => [r.idempotency_key, BigInt(r.id)]));
      for (const f of fresh) f.entry.id = ids.get(f.entry.idempotencyKey)!;
    }
    // Every answer reports the balance as this transaction leaves it.
    return outcomes.map((o) =>
      o!.ok ? { ok: true as const, result: { ...o!.result, balance } } : o!,
    );
  });
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

import { createHash } from "node:crypto";
import { z } from "zod";
import type { LedgerEntry, User } from "~/generated/prisma/client";
import { writeAudit, type Actor } from "../audit.server";
import { getDb } from "../infra/db.server";
import { NotFoundError } from "../errors.server";
import { listUserLedger } from "../ledger.server";
import { getBalances } from "../api-holds.server";
import { balanceAt } from "../statements.server";
import { ApiError } from "./http.server";

/** The main app's user ids are opaque; this keeps them safe in URLs, keys and logs. */
export const userIdSchema = z
  .string({ error: "id is required" })
  .regex(/^[A-Za-z0-9_.:@-]{1,128}$/, {
    error: "id must be 1–128 characters of letters, digits and _ . : @ -",
  });

export const userPathSchema = z.object({ id: userIdSchema });

/**
 * A client's key scoped to one user, as a string that no other (user, key) pair produces.
 * Keys are scoped to the user, not the API key: a retry sent with a rotated key still finds the
 * original debit, and two users can use the same client-side key without colliding.
 *
 * Joining with ":" alone was not injective: user "a" + key "b:c" and user "a:b" + key "c" were
 * both "ns:a:b:c". Now a user id without ":" keeps exactly that form — every key stored before
 * (for such users) is unchanged, so retries across the upgrade still find their entry — and an id
 * with ":" is written as "ns#" + the SHA-256 of the id (64 hex characters, fixed length, so the
 * key after it is unambiguous). The two forms differ in the character after the namespace, and
 * within each form (user, key) can be read back, so no two pairs meet (short of a SHA-256
 * collision). The database's unique index on the ledger key then enforces one entry per pair.
 */
export function userScopedKey(namespace: string, userId: string, key: string): string {
  if (!userId.includes(":")) return `${namespace}:${userId}:${key}`;
  return `${namespace}#${createHash("sha256").update(userId).digest("hex")}:${key}`;
}

const emailSchema = z
  .string({
    error: (iss) => (iss.input === undefined ? "email is required" : "email must be a string"),
  })
  .trim()
  .max(320, { error: "email must be at most 320 characters" })
  .pipe(z.email({ error: "email must be a valid email address" }));

export const upsertUserBodySchema = z.strictObject({
  email: emailSchema,
  /** Omitted: left as it is; null: cleared. */
  name: z
    .string({ error: "name must be a string or null" })
    .trim()
    .max(200, { error: "name must be at most 200 characters" })
    .nullable()
    .optional(),
});
export type UpsertUserBody = z.output<typeof upsertUserBodySchema>;

export interface ApiUser {
  id: string;
  email: string;
  name: string | null;
  tier: string;
  balance: number;
  stripeCustomerId: string | null;
}

export function toApiUser(user: User): ApiUser {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    tier: user.tierCode,
    balance: user.balance,
    stripeCustomerId: user.stripeCustomerId,
  };
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** Create or update the main app's user. Balance and tier are never set here: only the ledger and tier rules change them. */
export async function upsertUser(
  id: string,
  body: UpsertUserBody,
  actor: Actor,
): Promise<{ user: ApiUser; created: boolean }> {
  const email = body.email;
  const emailNormalized = normalizeEmail(email);
  return getDb().$transaction(async (tx) => {
    // ON CONFLICT DO NOTHING: two concurrent first PUTs cannot both "create" or fail on the key.
    const inserted = await tx.user.createMany({
      data: [{ id, email, emailNormalized, name: body.name ?? null }],
      skipDuplicates: true,
    });
    if (inserted.count === 1) {
      const user = await tx.user.findUniqueOrThrow({ where: { id } });
      await writeAudit(
        {
          actor,
          action: "user.create",
          targetType: "user",
          targetId: id,
          after: { email, name: user.name },
        },
        tx,
      );
      return { user: toApiUser(user), created: true };
    }
    const before = await tx.user.findUniqueOrThrow({ where: { id } });
    const user = await tx.user.update({
      where: { id },
      data: { email, emailNormalized, ...(body.name !== undefined ? { name: body.name } : {}) },
    });
    await writeAudit(
      {
        actor,
        action: "user.update",
        targetType: "user",
        targetId: id,
        before: { email: before.email, name: before.name },
        after: { email: user.email, name: user.name },
      },
      tx,
    );
    return { user: toApiUser(user), created: false };
  });
}

export async function getApiUser(id: string): Promise<ApiUser> {
  const user = await getDb().user.findUnique({ where: { id } });
  if (!user) throw new NotFoundError("User", id, "id");
  return toApiUser(user);
}

/** The user now, with what of the balance is held and what is available (api-holds.server.ts). */
export type ApiUserNow = ApiUser & { held: number; available: number };

export async function getApiUserNow(id: string): Promise<ApiUserNow> {
  const user = await getApiUser(id);
  const { balance, held, available } = await getBalances(id);
  return { ...user, balance, held, available };
}

/** `?at=` of GET /users/{id}: optional; parsed by `parseInstant` (400 naming `at`). */
export const userAtQuerySchema = z.object({
  at: z
    .string()
    .max(64, { error: "at must be an ISO 8601 date-time with a time zone." })
    .optional(),
});

export type ApiUserAt = ApiUser & {
  /** The instant asked for and the ledger entry the balance was read from (null: none yet). */
  balanceAt: { at: string; entryId: string | null; seq: number; entryCreatedAt: string | null };
};

/**
 * The user with `balance` as of `at` (from the ledger: the last entry at or before it,
 * statements.server.ts); every other field is as it is now.
 */
export async function getApiUserAt(id: string, at: Date): Promise<ApiUserAt> {
  const user = await getApiUser(id);
  const cut = await balanceAt(id, at);
  return {
    ...user,
    balance: cut.balance,
    balanceAt: {
      at: at.toISOString(),
      entryId: cut.entry?.id ?? null,
      seq: cut.seq,
      entryCreatedAt: cut.entry?.createdAt.toISOString() ?? null,
    },
  };
}

/** The ledger fields the main app sees (no staff ids or internal hashes). */
export function toApiLedgerEntry(e: LedgerEntry) {
  return {
    id: e.id.toString(),
    seq: e.seq,
    kind: e.kind,
    delta: e.delta,
    balanceAfter: e.balanceAfter,
    reason: e.reason,
    idempotencyKey: e.idempotencyKey,
    purchaseId: e.purchaseId,
    createdAt: e.createdAt.toISOString(),
  };
}
export type ApiLedgerEntry = ReturnType<typeof toApiLedgerEntry>;

export const LEDGER_PAGE_DEFAULT = 25;
export const LEDGER_PAGE_MAX = 100;

export const ledgerQuerySchema = z.object({
  limit: z
    .string()
    .regex(/^\d+$/, { error: `limit must be a whole number from 1 to ${LEDGER_PAGE_MAX}` })
    .transform(Number)
    .pipe(
      z
        .number()
        .int({ error: `limit must be a whole number from 1 to ${LEDGER_PAGE_MAX}` })
        .min(1, { error: `limit must be a whole number from 1 to ${LEDGER_PAGE_MAX}` })
        .max(LEDGER_PAGE_MAX, {
          error: `limit must be a whole number from 1 to ${LEDGER_PAGE_MAX}`,
        }),
    )
    .optional(),
  cursor: z.string().max(200, { error: "cursor is not one this API returned" }).optional(),
});

// The cursor is opaque to clients; inside it is the seq to continue below, versioned.
function encodeCursor(seq: number): string {
  return Buffer.from(`v1:${seq}`).toString("base64url");
}

function decodeCursor(cursor: string): number {
  const match = /^v1:([1-9]\d{0,9})$/.exec(Buffer.from(cursor, "base64url").toString("utf8"));
  const seq = match ? Number(match[1]) : NaN;
  if (!Number.isSafeInteger(seq)) {
    throw new ApiError(
      400,
      "invalid_request",
      "cursor is not one this API returned; pass nextCursor unchanged.",
      "cursor",
    );
  }
  return seq;
}

/** Newest first. Keyset on the per-user seq, so pages never skip or repeat entries as new ones arrive. */
export async function listLedgerPage(
  userId: string,
  query: { limit?: number; cursor?: string },
): Promise<{ data: ApiLedgerEntry[]; nextCursor: string | null }> {
  const beforeSeq = query.cursor ? decodeCursor(query.cursor) : undefined;
  const exists = await getDb().user.findUnique({ where: { id: userId }, select: { id: true } });
  if (!exists) throw new NotFoundError("User", userId, "id");
  const page = await listUserLedger(userId, {
    limit: query.limit ?? LEDGER_PAGE_DEFAULT,
    beforeSeq,
  });
  return {
    data: page.entries.map(toApiLedgerEntry),
    nextCursor: page.nextBeforeSeq === null ? null : encodeCursor(page.nextBeforeSeq),
  };
}

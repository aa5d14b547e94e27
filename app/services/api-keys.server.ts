import { createHash, randomBytes } from "node:crypto";
import { z } from "zod";
import type { ApiKey } from "~/generated/prisma/client";
import { writeAudit, type Actor } from "./audit.server";
import { getDb } from "./db.server";
import { DomainError, isUniqueViolation, NotFoundError, ValidationError } from "./errors.server";
import { errorResponse } from "./api/http.server";

/**
 * API keys for the main app. A key is `cdk_` + 43 base62 characters (256 random bits). Only its
 * SHA-256 is stored: a fast hash is enough because the key is not guessable, and it lets
 * authentication be a single indexed lookup. The first characters are kept as `prefix` so people
 * can tell keys apart in lists and revoke one without having the key.
 */

export const API_KEY_PREFIX = "cdk_";
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/** 62^43 > 2^256, so 43 characters hold every 256-bit value. */
const KEY_BODY_LENGTH = 43;
/** "cdk_" plus 8 key characters: ~47 bits, enough to be unique among a handful of keys. */
const DISPLAY_PREFIX_LENGTH = API_KEY_PREFIX.length + 8;
export const API_KEY_PATTERN = /^cdk_[0-9A-Za-z]{43}$/;
/** lastUsedAt is written at most this often, so authenticating does not write on every request. */
export const LAST_USED_INTERVAL_MS = 60_000;

export const apiKeyNameSchema = z
  .string()
  .trim()
  .min(1, { message: "name is required" })
  .max(100, { message: "name must be at most 100 characters" });

function toBase62(bytes: Buffer, length: number): string {
  let n = BigInt(`0x${bytes.toString("hex")}`);
  let out = "";
  while (n > 0n) {
    out = BASE62[Number(n % 62n)] + out;
    n /= 62n;
  }
  return out.padStart(length, "0");
}

export function generateApiKey(): string {
  return API_KEY_PREFIX + toBase62(randomBytes(32), KEY_BODY_LENGTH);
}

export function hashApiKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

/** The fields of a key that may be shown anywhere: never the hash. */
export interface PublicApiKey {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  createdById: string | null;
}

export function toPublicApiKey(key: ApiKey): PublicApiKey {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    createdAt: key.createdAt.toISOString(),
    lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
    revokedAt: key.revokedAt?.toISOString() ?? null,
    createdById: key.createdById,
  };
}

/** Create a key. The plain key is in the result only: it cannot be recovered later. */
export async function createApiKey(
  input: { name: string; createdById?: string | null },
  actor: Actor,
): Promise<{ apiKey: PublicApiKey; key: string }> {
  const name = apiKeyNameSchema.safeParse(input.name);
  if (!name.success) throw new ValidationError(name.error.issues[0].message, "name");
  // A prefix collision is astronomically unlikely, but the column is unique: try again rather than fail.
  for (let attempt = 0; ; attempt++) {
    const key = generateApiKey();
    try {
      const created = await getDb().$transaction(async (tx) => {
        const row = await tx.apiKey.create({
          data: {
            name: name.data,
            prefix: key.slice(0, DISPLAY_PREFIX_LENGTH),
            keyHash: hashApiKey(key),
            createdById: input.createdById ?? null,
          },
        });
        await writeAudit(
          {
            actor,
            action: "api_key.create",
            targetType: "api_key",
            targetId: row.id,
            after: { name: row.name, prefix: row.prefix },
          },
          tx,
        );
        return row;
      });
      return { apiKey: toPublicApiKey(created), key };
    } catch (error) {
      if (attempt < 3 && isUniqueViolation(error)) continue;
      throw error;
    }
  }
}

export async function listApiKeys(
  opts: { includeRevoked?: boolean } = {},
): Promise<PublicApiKey[]> {
  const rows = await getDb().apiKey.findMany({
    where: opts.includeRevoked === false ? { revokedAt: null } : {},
    orderBy: [{ createdAt: "desc" }, { id: "asc" }],
  });
  return rows.map(toPublicApiKey);
}

/**
 * Revoke by id or by display prefix. Revoking an already revoked key changes nothing and says so.
 * Takes effect on the next request: authentication reads the key row every time.
 */
export async function revokeApiKey(
  ref: { id?: string; prefix?: string },
  actor: Actor,
  reason?: string | null,
): Promise<{ apiKey: PublicApiKey; alreadyRevoked: boolean }> {
  if (!ref.id === !ref.prefix)
    throw new ValidationError("Give exactly one of id or prefix.", ref.id ? "prefix" : "id");
  const uuid = z.uuid();
  if (ref.id && !uuid.safeParse(ref.id).success) throw new NotFoundError("API key", ref.id, "id");
  return getDb().$transaction(async (tx) => {
    const where = ref.id ? { id: ref.id } : { prefix: ref.prefix! };
    const existing = await tx.apiKey.findUnique({ where });
    if (!existing) {
      throw ref.id
        ? new NotFoundError("API key", ref.id, "id")
        : new NotFoundError("API key with prefix", ref.prefix!, "prefix");
    }
    if (existing.revokedAt) return { apiKey: toPublicApiKey(existing), alreadyRevoked: true };
    const revoked = await tx.apiKey.update({
      where: { id: existing.id },
      data: { revokedAt: new Date() },
    });
    await writeAudit(
      {
        actor,
        action: "api_key.revoke",
        targetType: "api_key",
        targetId: existing.id,
        before: { revokedAt: null },
        after: { revokedAt: revoked.revokedAt!.toISOString(), prefix: revoked.prefix },
        reason: reason ?? null,
      },
      tx,
    );
    return { apiKey: toPublicApiKey(revoked), alreadyRevoked: false };
  });
}

/** Who is calling the API: recorded on ledger entries and audit rows. */
export interface ApiPrincipal {
  id: string;
  name: string;
  prefix: string;
}

/** 401/403 from authentication; the API layer renders it like any other domain error. */
export class ApiAuthError extends DomainError {
  constructor(status: 401 | 403, code: string, message: string) {
    super(status, code, message);
  }
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/**
 * Resolve the key in `Authorization: Bearer <key>`. Throws ApiAuthError: 401 when the header is
 * missing or malformed or the key is unknown, 403 when the key was revoked (it is real, so the
 * caller learns it must be replaced rather than retried).
 */
export async function authenticateApiKey(
  authorization: string | null,
  now = new Date(),
): Promise<ApiPrincipal> {
  if (!authorization || !authorization.trim()) {
    throw new ApiAuthError(
      401,
      "missing_api_key",
      "Authentication required: send Authorization: Bearer <API key>.",
    );
  }
  const match = BEARER.exec(authorization.trim());
  if (!match || !API_KEY_PATTERN.test(match[1])) {
    throw new ApiAuthError(
      401,
      "malformed_api_key",
      'The Authorization header must be "Bearer cdk_…" with a creditdesk API key.',
    );
  }
  const db = getDb();
  const key = await db.apiKey.findUnique({ where: { keyHash: hashApiKey(match[1]) } });
  if (!key) throw new ApiAuthError(401, "invalid_api_key", "The API key is not valid.");
  if (key.revokedAt) {
    throw new ApiAuthError(
      403,
      "api_key_revoked",
      `The API key ${key.prefix}… was revoked on ${key.revokedAt.toISOString()}; create a new key.`,
    );
  }
  if (!key.lastUsedAt || now.getTime() - key.lastUsedAt.getTime() >= LAST_USED_INTERVAL_MS) {
    // Conditional, so concurrent requests in the same minute write once.
    await db.apiKey.updateMany({
      where: {
        id: key.id,
        OR: [
          { lastUsedAt: null },
          { lastUsedAt: { lte: new Date(now.getTime() - LAST_USED_INTERVAL_MS) } },
        ],
      },
      data: { lastUsedAt: now },
    });
  }
  return { id: key.id, name: key.name, prefix: key.prefix };
}

/** Route guard: the calling key, or throws the 401/403 JSON Response. */
export async function requireApiKey(request: Request): Promise<ApiPrincipal> {
  try {
    return await authenticateApiKey(request.headers.get("authorization"));
  } catch (error) {
    if (error instanceof ApiAuthError) throw errorResponse(error);
    throw error;
  }
}

export function apiKeyActor(key: ApiPrincipal, ip?: string | null): Actor {
  return { type: "api_key", id: key.id, label: `${key.name} (${key.prefix}…)`, ip: ip ?? null };
}

import { createHash, randomBytes } from "node:crypto";
import { z } from "zod";
import type { ApiKey } from "~/generated/prisma/client";
import { writeAudit, type Actor } from "./audit.server";
import { getDb } from "./infra/db.server";
import { DomainError, isUniqueViolation, NotFoundError, ValidationError } from "./errors.server";
import type { RateLimit } from "./api/rate-limit.server";

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
/**
 * A verified key row is reused for this long without reading the table again (docs/api.md,
 * "Authentication"). Expiry is checked on every request against the cached row; a revocation made
 * in this process drops the row at once; one made elsewhere (another server, a CLI process on
 * Postgres) or a change written straight to the table is seen within this time.
 */
export const API_KEY_CACHE_TTL_MS = 5_000;
/** Keys are a handful; the bound only keeps a flood of distinct valid keys from growing the map. */
const API_KEY_CACHE_MAX = 1_000;

/**
 * What a key may do, one scope per kind of call (docs/api.md lists which route needs which):
 * reading a user also reads their ledger; fulfilling a session belongs with opening one. There
 * is no `holds:write` yet: the API has no holds, and a scope that guards nothing cannot be
 * enforced or tested — the change that adds holds adds the scope, and its migration decides
 * which existing keys get it.
 */
export const API_SCOPES = [
  "users:read",
  "users:write",
  "debits:write",
  "packs:read",
  "checkout:write",
  "holds:write",
] as const;
export type ApiScope = (typeof API_SCOPES)[number];

export const API_SCOPE_DESCRIPTIONS: Record<ApiScope, string> = {
  "users:read": "Read users, balances and ledgers",
  "users:write": "Create and update users",
  "debits:write": "Spend credits",
  "packs:read": "List credit packs",
  "checkout:write": "Open Checkout Sessions and fulfil them from the success page",
  "holds:write": "Hold credits for usage priced afterwards, capture and release holds",
};

/** Generous: the main app's normal traffic never meets it; a runaway loop does. */
export const DEFAULT_RATE_LIMIT: RateLimit = { perSecond: 50, burst: 100 };
export const MAX_RATE_LIMIT_PER_SECOND = 100_000;
export const MAX_RATE_LIMIT_BURST = 1_000_000;
/** Expiry further out than this is almost certainly a typo (a year 20270 date, "9000d"). */
export const MAX_EXPIRY_DAYS = 3660;

const scopeList = API_SCOPES.join(", ");

/**
 * Scopes as people type them: repeated values, comma lists, or "all" for every scope the API has
 * now (stored written out, like every other list). Unknown names are an error naming them.
 */
export function parseScopes(input: readonly string[] | string | undefined): ApiScope[] {
  const raw = (typeof input === "string" ? [input] : (input ?? []))
    .flatMap((v) => v.split(","))
    .map((v) => v.trim())
    .filter(Boolean);
  if (raw.length === 0)
    throw new ValidationError(`Choose at least one scope: ${scopeList} (or all).`, "scopes");
  if (raw.includes("all")) return [...API_SCOPES];
  const unknown = raw.filter((s) => !(API_SCOPES as readonly string[]).includes(s));
  if (unknown.length > 0) {
    throw new ValidationError(
      `Unknown scope${unknown.length > 1 ? "s" : ""} ${unknown.map((u) => JSON.stringify(u.slice(0, 40))).join(", ")}; the scopes are ${scopeList} (or all).`,
      "scopes",
    );
  }
  // Stored in the canonical order, once each, so lists and audit records read the same everywhere.
  return API_SCOPES.filter((s) => raw.includes(s));
}

const DURATION = /^(\d{1,5})([hdw])$/;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * An expiry as people type it: a duration from now ("90d", "12h", "2w") or a date ("2027-03-01",
 * midnight UTC starting that day) or an ISO date-time with a zone. It must be in the future and
 * at most MAX_EXPIRY_DAYS away.
 */
export function parseExpiry(input: string, now = new Date()): Date {
  const text = input.trim();
  const fail = (why: string) =>
    new ValidationError(
      `expiry ${JSON.stringify(text.slice(0, 40))} ${why}; give a duration such as 90d, 12h or 2w, or a date such as 2027-03-01.`,
      "expiresAt",
    );
  let at: Date;
  const duration = DURATION.exec(text);
  if (duration) {
    const hours = { h: 1, d: 24, w: 24 * 7 }[duration[2] as "h" | "d" | "w"];
    at = new Date(now.getTime() + Number(duration[1]) * hours * 3_600_000);
  } else if (DATE_ONLY.test(text) || DATE_TIME.test(text)) {
    // Date reads 2027-02-31 as March 3rd; a day that does not exist is a typo.
    const [y, m, d] = text.slice(0, 10).split("-").map(Number);
    const day = new Date(Date.UTC(y, m - 1, d));
    if (day.getUTCFullYear() !== y || day.getUTCMonth() !== m - 1 || day.getUTCDate() !== d)
      throw fail("is not a real date");
    at = new Date(DATE_ONLY.test(text) ? `${text}T00:00:00Z` : text);
  } else {
    throw fail("is not understood");
  }
  if (Number.isNaN(at.getTime())) throw fail("is not a real date");
  if (at.getTime() <= now.getTime()) throw fail("is not in the future");
  if (at.getTime() - now.getTime() > MAX_EXPIRY_DAYS * 86_400_000)
    throw fail(`is more than ${MAX_EXPIRY_DAYS} days away`);
  return at;
}

function rateNumber(value: number | null | undefined, field: string, max: number) {
  if (value === null || value === undefined) return null;
  if (!Number.isSafeInteger(value) || value < 1 || value > max)
    throw new ValidationError(`${field} must be a whole number from 1 to ${max}.`, field);
  return value;
}

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

export type ApiKeyStatus = "active" | "revoked" | "expired";

export function apiKeyStatus(
  key: { revokedAt: Date | null; expiresAt: Date | null },
  now = new Date(),
): ApiKeyStatus {
  if (key.revokedAt) return "revoked";
  if (key.expiresAt && key.expiresAt.getTime() <= now.getTime()) return "expired";
  return "active";
}

/** The limit a key gets: its own values, or the default for those it does not set. */
export function effectiveRateLimit(key: {
  rateLimitPerSecond: number | null;
  rateLimitBurst: number | null;
}): RateLimit {
  return {
    perSecond: key.rateLimitPerSecond ?? DEFAULT_RATE_LIMIT.perSecond,
    burst: key.rateLimitBurst ?? DEFAULT_RATE_LIMIT.burst,
  };
}

/** The fields of a key that may be shown anywhere: never the hash. */
export interface PublicApiKey {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  status: ApiKeyStatus;
  expiresAt: string | null;
  /** Effective values; `custom` says whether the key sets them or takes the default. */
  rateLimit: RateLimit & { custom: boolean };
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  createdById: string | null;
}

export function toPublicApiKey(key: ApiKey, now = new Date()): PublicApiKey {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    scopes: key.scopes,
    status: apiKeyStatus(key, now),
    expiresAt: key.expiresAt?.toISOString() ?? null,
    rateLimit: {
      ...effectiveRateLimit(key),
      custom: key.rateLimitPerSecond !== null || key.rateLimitBurst !== null,
    },
    createdAt: key.createdAt.toISOString(),
    lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
    revokedAt: key.revokedAt?.toISOString() ?? null,
    createdById: key.createdById,
  };
}

export interface CreateApiKeyInput {
  name: string;
  createdById?: string | null;
  /**
   * Names as typed (see parseScopes). Omitted: every scope — for system callers such as the demo
   * seed; the CLI and the dashboard always pass what the staff member chose.
   */
  scopes?: readonly string[];
  expiresAt?: Date | null;
  rateLimitPerSecond?: number | null;
  rateLimitBurst?: number | null;
}

/** Create a key. The plain key is in the result only: it cannot be recovered later. */
export async function createApiKey(
  input: CreateApiKeyInput,
  actor: Actor,
): Promise<{ apiKey: PublicApiKey; key: string }> {
  const name = apiKeyNameSchema.safeParse(input.name);
  if (!name.success) throw new ValidationError(name.error.issues[0].message, "name");
  const scopes = input.scopes === undefined ? [...API_SCOPES] : parseScopes(input.scopes);
  const expiresAt = input.expiresAt ?? null;
  if (expiresAt && !(expiresAt.getTime() > Date.now()))
    throw new ValidationError("expiresAt must be in the future.", "expiresAt");
  const rateLimitPerSecond = rateNumber(
    input.rateLimitPerSecond,
    "rateLimitPerSecond",
    MAX_RATE_LIMIT_PER_SECOND,
  );
  const rateLimitBurst = rateNumber(input.rateLimitBurst, "rateLimitBurst", MAX_RATE_LIMIT_BURST);
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
            scopes,
            expiresAt,
            rateLimitPerSecond,
            rateLimitBurst,
          },
        });
        await writeAudit(
          {
            actor,
            action: "api_key.create",
            targetType: "api_key",
            targetId: row.id,
            after: {
              name: row.name,
              prefix: row.prefix,
              scopes: row.scopes,
              expiresAt: row.expiresAt?.toISOString() ?? null,
              rateLimitPerSecond: row.rateLimitPerSecond,
              rateLimitBurst: row.rateLimitBurst,
            },
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
    // "Active only" leaves out expired keys too: both are refused.
    where:
      opts.includeRevoked === false
        ? { revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: new Date() } }] }
        : {},
    orderBy: [{ createdAt: "desc" }, { id: "asc" }],
  });
  return rows.map((row) => toPublicApiKey(row));
}

/**
 * Revoke by id or by display prefix. Revoking an already revoked key changes nothing and says so.
 * Takes effect on this process's next request (the key cache drops the row); other processes see
 * it within API_KEY_CACHE_TTL_MS.
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
  const result = await getDb().$transaction(async (tx) => {
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
  if (!result.alreadyRevoked) apiKeyCache.forget(result.apiKey.id);
  return result;
}

/** Who is calling the API: recorded on ledger entries and audit rows. */
export interface ApiPrincipal {
  id: string;
  name: string;
  prefix: string;
}

/** The calling key with what it may do, from the row authentication read anyway. */
export interface AuthenticatedApiKey extends ApiPrincipal {
  scopes: readonly string[];
  rateLimit: RateLimit;
}

/** 401/403 from authentication; the API layer renders it like any other domain error. */
export class ApiAuthError extends DomainError {
  constructor(status: 401 | 403, code: string, message: string) {
    super(status, code, message);
  }
}

/** 403 for a real, active key without the scope a route needs; `scope` goes into WWW-Authenticate. */
export class InsufficientScopeError extends ApiAuthError {
  constructor(
    key: AuthenticatedApiKey,
    public readonly scope: ApiScope,
    what: string,
  ) {
    super(
      403,
      "insufficient_scope",
      `The API key ${key.prefix}… lacks the scope ${scope}, which ${what} needs; its scopes are ` +
        `${key.scopes.length > 0 ? key.scopes.join(", ") : "none"}. Use a key created with ${scope}.`,
    );
  }
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/** The columns authentication needs, as read from the table. */
type KeyRow = Pick<
  ApiKey,
  | "id"
  | "name"
  | "prefix"
  | "scopes"
  | "revokedAt"
  | "expiresAt"
  | "lastUsedAt"
  | "rateLimitPerSecond"
  | "rateLimitBurst"
>;

/**
 * Verified key rows of this process, keyed by the SHA-256 of the presented key (the lookup needs
 * the hash anyway; the plain key is never kept), each reused for API_KEY_CACHE_TTL_MS. Only keys
 * that exist are kept: an unknown key is read from the table every time, as before.
 */
class ApiKeyCache {
  private readonly rows = new Map<string, { row: KeyRow; readAt: number }>();

  /** The row read less than the TTL before `now`, or undefined. */
  get(hash: string, now: number): KeyRow | undefined {
    const hit = this.rows.get(hash);
    if (!hit) return undefined;
    const age = now - hit.readAt;
    if (age >= 0 && age < API_KEY_CACHE_TTL_MS) return hit.row;
    this.rows.delete(hash);
    return undefined;
  }

  set(hash: string, row: KeyRow, now: number): void {
    this.rows.delete(hash);
    if (this.rows.size >= API_KEY_CACHE_MAX) this.rows.delete(this.rows.keys().next().value!);
    this.rows.set(hash, { row, readAt: now });
  }

  /** Drop a key's row (it was revoked in this process). */
  forget(id: string): void {
    for (const [hash, { row }] of this.rows) if (row.id === id) this.rows.delete(hash);
  }

  /** Tests that change a key row behind the app's back, instead of waiting out the TTL. */
  clear(): void {
    this.rows.clear();
  }
}

export const apiKeyCache = new ApiKeyCache();

/**
 * Resolve the key in `Authorization: Bearer <key>`. Throws ApiAuthError: 401 when the header is
 * missing or malformed, the key is unknown or it has expired; 403 when the key was revoked (it is
 * real, so the caller learns it must be replaced rather than retried). Reads one row — or none,
 * while the row is in apiKeyCache; writes only lastUsedAt, at most once a minute.
 */
export async function authenticateApiKey(
  authorization: string | null,
  now = new Date(),
): Promise<AuthenticatedApiKey> {
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
  const hash = hashApiKey(match[1]);
  let key = apiKeyCache.get(hash, now.getTime());
  if (!key) {
    const row = await db.apiKey.findUnique({ where: { keyHash: hash } });
    if (!row) throw new ApiAuthError(401, "invalid_api_key", "The API key is not valid.");
    key = row;
    apiKeyCache.set(hash, key, now.getTime());
  }
  if (key.revokedAt) {
    throw new ApiAuthError(
      403,
      "api_key_revoked",
      `The API key ${key.prefix}… was revoked on ${key.revokedAt.toISOString()}; create a new key.`,
    );
  }
  if (key.expiresAt && key.expiresAt.getTime() <= now.getTime()) {
    throw new ApiAuthError(
      401,
      "api_key_expired",
      `The API key ${key.prefix}… expired on ${key.expiresAt.toISOString()}; create a new key.`,
    );
  }
  if (!key.lastUsedAt || now.getTime() - key.lastUsedAt.getTime() >= LAST_USED_INTERVAL_MS) {
    // Noted in the cached row first, so the requests arriving meanwhile do not write too; the
    // update is conditional, so other processes in the same minute write once between them.
    key.lastUsedAt = now;
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
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    scopes: key.scopes,
    rateLimit: effectiveRateLimit(key),
  };
}

/** Throws InsufficientScopeError unless the key holds `scope`; `what` names the call, e.g. "PUT /api/v1/users/{id}". */
export function requireScope(key: AuthenticatedApiKey, scope: ApiScope, what: string): void {
  if (!key.scopes.includes(scope)) throw new InsufficientScopeError(key, scope, what);
}

export function apiKeyActor(key: ApiPrincipal, ip?: string | null): Actor {
  return { type: "api_key", id: key.id, label: `${key.name} (${key.prefix}…)`, ip: ip ?? null };
}

import { randomBytes } from "node:crypto";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import {
  apiKeyCache,
  API_SCOPES,
  createApiKey,
  DEFAULT_RATE_LIMIT,
  parseExpiry,
  parseScopes,
} from "../../app/services/api-keys.server";
import { apiKeyBuckets, TokenBuckets } from "../../app/services/api/rate-limit.server";
import { openDatabase, type Database } from "../../app/services/infra/db.server";
import {
  applyMigrations,
  defaultPrismaDir,
  listMigrationDirs,
} from "../../app/services/infra/migrations.server";
import {
  action as apiKeysAction,
  loader as apiKeysLoader,
} from "../../app/routes/_app.api-keys/route";
import { callAction, callLoader } from "../support/admin";
import { createStaffWithSession } from "../support/staff";
import { runCli } from "../support/cli";
import { testDbKind, useTestDatabase } from "../support/test-database";
import {
  createApiFetch,
  makeApiKey,
  makeUser,
  readJson,
  type ApiFetch,
} from "../support/api-harness";

/**
 * Issue 15, item 9: scopes chosen at creation and enforced per route, optional expiry, a per-key
 * rate limit, all shown in the CLI and the dashboard and recorded in the audit log; keys made
 * before scopes keep full access.
 */

const t = useTestDatabase();
let api: ApiFetch;
const system = { type: "system" as const, label: "test" };

beforeAll(async () => {
  api = await createApiFetch();
});

afterEach(() => {
  apiKeyBuckets.setClock(() => performance.now());
});

describe("scopes", () => {
  it("parseScopes accepts repeats, comma lists and all; names unknown scopes; needs one", () => {
    expect(parseScopes(["debits:write", "users:read,debits:write"])).toEqual([
      "users:read",
      "debits:write",
    ]);
    expect(parseScopes("all")).toEqual([...API_SCOPES]);
    expect(() => parseScopes(["users:read", "refunds:write"])).toThrow(
      /Unknown scope "refunds:write"/,
    );
    expect(() => parseScopes([])).toThrow(/at least one scope/);
    expect(() => parseScopes(" , ")).toThrow(/at least one scope/);
  });

  it("a key reaches only the routes of its scopes; 403 names the missing scope; nothing is written", async () => {
    const user = await makeUser({ balance: 50 });
    const reader = await makeApiKey("reader", { scopes: ["users:read"] });
    expect((await api.fetch("GET", `/api/v1/users/${user.id}`, { key: reader.key })).status).toBe(
      200,
    );
    expect(
      (await api.fetch("GET", `/api/v1/users/${user.id}/ledger`, { key: reader.key })).status,
    ).toBe(200);

    const debit = await api.fetch("POST", `/api/v1/users/${user.id}/debits`, {
      key: reader.key,
      json: { amount: 5, idempotencyKey: "scoped-1", description: "should not happen" },
    });
    expect(debit.status).toBe(403);
    const body = await readJson(debit);
    expect(body.error.code).toBe("insufficient_scope");
    expect(body.error.message).toContain("debits:write");
    expect(body.error.message).toContain("POST /api/v1/users/{id}/debits");
    expect(body.error.message).toContain("users:read");
    expect(body.error.message).not.toContain(reader.key);
    expect(debit.headers.get("www-authenticate")).toBe(
      'Bearer realm="creditdesk", error="insufficient_scope", scope="debits:write"',
    );
    expect((await t.db.prisma.user.findUniqueOrThrow({ where: { id: user.id } })).balance).toBe(50);
    expect(await t.db.prisma.ledgerEntry.count({ where: { userId: user.id } })).toBe(1);

    const put = await api.fetch("PUT", `/api/v1/users/${user.id}`, {
      key: reader.key,
      json: { email: "changed@example.com" },
    });
    expect(put.status).toBe(403);
    expect((await readJson(put)).error.message).toContain("users:write");
    expect((await t.db.prisma.user.findUniqueOrThrow({ where: { id: user.id } })).email).toBe(
      user.email,
    );
    for (const [method, url, scope] of [
      ["GET", "/api/v1/packs", "packs:read"],
      ["POST", "/api/v1/checkout-sessions", "checkout:write"],
      ["POST", "/api/v1/checkout-sessions/cs_test_1/fulfill", "checkout:write"],
    ]) {
      const res = await api.fetch(method, url, {
        key: reader.key,
        json: method === "POST" ? {} : undefined,
      });
      expect(res.status, url).toBe(403);
      expect((await readJson(res)).error.message, url).toContain(scope);
    }

    const spender = await makeApiKey("spender", { scopes: ["debits:write"] });
    const spent = await api.fetch("POST", `/api/v1/users/${user.id}/debits`, {
      key: spender.key,
      json: { amount: 5, idempotencyKey: "scoped-1", description: "allowed" },
    });
    expect(spent.status).toBe(201);
    expect((await readJson(spent)).balance).toBe(45);
    expect((await api.fetch("GET", `/api/v1/users/${user.id}`, { key: spender.key })).status).toBe(
      403,
    );
  });

  it("the API needs exactly the scopes API_SCOPES lists, and the migrations grant old keys all of them", () => {
    const migration = listMigrationDirs().find((m) => m.name.endsWith("_api_key_scopes"))!;
    const granted = /SET "scopes" = ARRAY\[([^\]]+)\]/.exec(migration.sql)![1];
    // holds:write came later: its migration appends it to every key that may debit.
    const holds = listMigrationDirs().find((m) => m.name.endsWith("_credit_holds"))!;
    expect(holds.sql).toMatch(
      /array_append\("scopes", 'holds:write'\)\s+WHERE 'debits:write' = ANY/,
    );
    expect([...granted.split(",").map((s) => s.trim().replace(/'/g, "")), "holds:write"]).toEqual([
      ...API_SCOPES,
    ]);
  });
});

describe("keys made before scopes existed", () => {
  const tmp: string[] = [];
  afterAll(() => tmp.forEach((d) => rmSync(d, { recursive: true, force: true })));

  async function emptyDatabase(): Promise<Database> {
    if (testDbKind() === "pglite") return openDatabase({ kind: "pglite", dataDir: "memory://" });
    const admin = new pg.Client({ connectionString: inject("postgresAdminUrl") });
    await admin.connect();
    const name = `k_${randomBytes(5).toString("hex")}`;
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    return openDatabase({
      kind: "postgres",
      url: inject("postgresAdminUrl").replace(/\/[^/]*$/, `/${name}`),
    });
  }

  it("keep full access: the migration gives an existing key every scope and the default limit", async () => {
    // A copy of prisma/ without this migration: the database as it was before the upgrade.
    const dir = mkdtempSync(path.join(os.tmpdir(), "creditdesk-scopes-"));
    tmp.push(dir);
    cpSync(defaultPrismaDir, dir, { recursive: true });
    const mine = listMigrationDirs().find((m) => m.name.endsWith("_api_key_scopes"))!;
    rmSync(path.join(dir, "migrations", mine.name), { recursive: true });
    const later = listMigrationDirs().filter((m) => m.name > mine.name);
    for (const m of later) rmSync(path.join(dir, "migrations", m.name), { recursive: true });

    const db = await emptyDatabase();
    try {
      await applyMigrations(db.adapterFactory, dir);
      await db.prisma.$executeRawUnsafe(
        `INSERT INTO api_keys (id, name, prefix, key_hash) VALUES ('7f0c1f1e-0000-4000-8000-000000000001', 'old', 'cdk_old00000', 'hash-old')`,
      );
      cpSync(
        path.join(defaultPrismaDir, "migrations", mine.name),
        path.join(dir, "migrations", mine.name),
        { recursive: true },
      );
      expect(await applyMigrations(db.adapterFactory, dir)).toEqual([mine.name]);
      const [row] = await db.prisma.$queryRawUnsafe<
        {
          scopes: string[];
          expires_at: Date | null;
          rate_limit_per_second: number | null;
          rate_limit_burst: number | null;
        }[]
      >(
        "SELECT scopes, expires_at, rate_limit_per_second, rate_limit_burst FROM api_keys WHERE name = 'old'",
      );
      expect(row).toEqual({
        // Every scope there was then; holds:write is added by its own migration (below).
        scopes: API_SCOPES.filter((scope) => scope !== "holds:write"),
        expires_at: null,
        rate_limit_per_second: null,
        rate_limit_burst: null,
      });
      // A key created after the migration without scopes in SQL gets none (the safe default).
      await db.prisma.$executeRawUnsafe(
        `INSERT INTO api_keys (id, name, prefix, key_hash) VALUES ('7f0c1f1e-0000-4000-8000-000000000002', 'new', 'cdk_new00000', 'hash-new')`,
      );
      const [fresh] = await db.prisma.$queryRawUnsafe<{ scopes: string[] }[]>(
        "SELECT scopes FROM api_keys WHERE name = 'new'",
      );
      expect(fresh.scopes).toEqual([]);
      await expect(
        db.prisma.$executeRawUnsafe(
          "UPDATE api_keys SET rate_limit_per_second = 0 WHERE name = 'new'",
        ),
      ).rejects.toThrow(/api_keys_rate_limit_positive/);

      // The later migrations: the old key (it may debit) gains holds:write, the scope-less one not.
      for (const m of later) {
        cpSync(
          path.join(defaultPrismaDir, "migrations", m.name),
          path.join(dir, "migrations", m.name),
          {
            recursive: true,
          },
        );
      }
      await applyMigrations(db.adapterFactory, dir);
      const after = await db.prisma.$queryRawUnsafe<{ name: string; scopes: string[] }[]>(
        "SELECT name, scopes FROM api_keys ORDER BY name",
      );
      expect(after).toEqual([
        { name: "new", scopes: [] },
        { name: "old", scopes: [...API_SCOPES] },
      ]);
    } finally {
      await db.close();
    }
    expect(readFileSync(path.join(dir, "migrations", mine.name, "migration.sql"), "utf8")).toBe(
      mine.sql,
    );
  });
});

describe("expiry", () => {
  const now = new Date("2026-12-02T12:00:00Z");

  it("parseExpiry takes durations and dates; refuses the past, typos and the far future", () => {
    expect(parseExpiry("90d", now).toISOString()).toBe("2027-03-02T12:00:00.000Z");
    expect(parseExpiry("12h", now).toISOString()).toBe("2026-12-03T00:00:00.000Z");
    expect(parseExpiry("2w", now).toISOString()).toBe("2026-12-16T12:00:00.000Z");
    expect(parseExpiry("2027-03-01", now).toISOString()).toBe("2027-03-01T00:00:00.000Z");
    expect(parseExpiry("2027-03-01T09:30:00+02:00", now).toISOString()).toBe(
      "2027-03-01T07:30:00.000Z",
    );
    expect(() => parseExpiry("2027-02-31", now)).toThrow(/not a real date/);
    expect(() => parseExpiry("2026-12-01", now)).toThrow(/not in the future/);
    expect(() => parseExpiry("0d", now)).toThrow(/not in the future/);
    expect(() => parseExpiry("soon", now)).toThrow(/not understood/);
    expect(() => parseExpiry("99999d", now)).toThrow(/more than 3660 days/);
    expect(() => parseExpiry("20270-01-01", now)).toThrow(/not understood/);
  });

  it("an expired key gets 401 api_key_expired naming when; before that it works", async () => {
    const user = await makeUser();
    const key = await makeApiKey("expiring", { expiresAt: new Date(Date.now() + 3_600_000) });
    expect((await api.fetch("GET", `/api/v1/users/${user.id}`, { key: key.key })).status).toBe(200);
    const expiredAt = new Date(Date.now() - 1000);
    await t.db.prisma.apiKey.update({ where: { id: key.id }, data: { expiresAt: expiredAt } });
    // Written straight to the table, the change would be seen within API_KEY_CACHE_TTL_MS
    // (api-keys.test.ts shows that); dropping the cache stands for waiting that long.
    apiKeyCache.clear();
    const res = await api.fetch("GET", `/api/v1/users/${user.id}`, { key: key.key });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    const body = await readJson(res);
    expect(body.error.code).toBe("api_key_expired");
    expect(body.error.message).toContain(expiredAt.toISOString());
    expect(body.error.message).toMatch(/^The API key .+ expired on .+; create a new key\.$/);
    expect(body.error.message).not.toContain(key.key);
    // A debit with the expired key is refused before anything is written.
    const debit = await api.fetch("POST", `/api/v1/users/${user.id}/debits`, {
      key: key.key,
      json: { amount: 1, idempotencyKey: "late", description: "late" },
    });
    expect(debit.status).toBe(401);
    expect(await t.db.prisma.ledgerEntry.count({ where: { userId: user.id } })).toBe(0);
  });

  it("createApiKey refuses an expiry in the past and rate limits out of range, naming the field", async () => {
    const count = await t.db.prisma.apiKey.count();
    await expect(
      createApiKey({ name: "past", scopes: ["users:read"], expiresAt: new Date(0) }, system),
    ).rejects.toMatchObject({ field: "expiresAt" });
    await expect(
      createApiKey({ name: "zero", scopes: ["users:read"], rateLimitPerSecond: 0 }, system),
    ).rejects.toMatchObject({ field: "rateLimitPerSecond" });
    await expect(
      createApiKey({ name: "huge", scopes: ["users:read"], rateLimitBurst: 10_000_000 }, system),
    ).rejects.toMatchObject({ field: "rateLimitBurst" });
    await expect(createApiKey({ name: "nothing", scopes: [] }, system)).rejects.toMatchObject({
      field: "scopes",
    });
    expect(await t.db.prisma.apiKey.count()).toBe(count);
  });
});

describe("rate limit", () => {
  it("token bucket: bursts up to the limit, refills at the rate, never above the burst", () => {
    let ms = 0;
    const buckets = new TokenBuckets(() => ms);
    const limit = { perSecond: 2, burst: 3 };
    const taken = [1, 2, 3, 4].map(() => buckets.take("k", limit));
    expect(taken.map((d) => d.allowed)).toEqual([true, true, true, false]);
    expect(taken[2]).toMatchObject({ limit: 3, remaining: 0, resetSeconds: 2 });
    expect(taken[3]).toMatchObject({ allowed: false, remaining: 0, retryAfterSeconds: 1 });
    ms = 500; // one token back
    expect(buckets.take("k", limit).allowed).toBe(true);
    expect(buckets.take("k", limit).allowed).toBe(false);
    ms = 60_000; // a long quiet spell refills to the burst, not beyond
    expect([1, 2, 3, 4].map(() => buckets.take("k", limit).allowed)).toEqual([
      true,
      true,
      true,
      false,
    ]);
    expect(buckets.take("other", limit).allowed).toBe(true);
    // A slow limit: the wait is rounded up to whole seconds.
    const slow = { perSecond: 1, burst: 1 };
    buckets.take("slow", slow);
    expect(buckets.take("slow", slow)).toMatchObject({ allowed: false, retryAfterSeconds: 1 });
  });

  it("429 with Retry-After and RateLimit-* once a key's burst is spent; other keys are unaffected; nothing is debited", async () => {
    const user = await makeUser({ balance: 100 });
    let ms = 1_000_000;
    apiKeyBuckets.setClock(() => ms);
    const limited = await makeApiKey("limited", { rateLimitPerSecond: 2, rateLimitBurst: 3 });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await api.fetch("GET", `/api/v1/users/${user.id}`, { key: limited.key });
      statuses.push(res.status);
      expect(res.headers.get("ratelimit-limit")).toBe("3");
      expect(res.headers.get("ratelimit-remaining")).toBe(String(2 - i));
    }
    expect(statuses).toEqual([200, 200, 200]);
    const refused = await api.fetch("POST", `/api/v1/users/${user.id}/debits`, {
      key: limited.key,
      json: { amount: 10, idempotencyKey: "limited-1", description: "over the limit" },
    });
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(refused.headers.get("ratelimit-limit")).toBe("3");
    expect(refused.headers.get("ratelimit-remaining")).toBe("0");
    expect(refused.headers.get("ratelimit-reset")).toBe("2");
    const body = await readJson(refused);
    expect(body.error.code).toBe("rate_limited");
    expect(body.error.message).toMatch(/2 per second, 3 at once; retry after 1 s/);
    expect((await t.db.prisma.user.findUniqueOrThrow({ where: { id: user.id } })).balance).toBe(
      100,
    );

    const other = await makeApiKey("unlimited-neighbour");
    expect((await api.fetch("GET", `/api/v1/users/${user.id}`, { key: other.key })).status).toBe(
      200,
    );

    ms += 500;
    const retried = await api.fetch("POST", `/api/v1/users/${user.id}/debits`, {
      key: limited.key,
      json: { amount: 10, idempotencyKey: "limited-1", description: "over the limit" },
    });
    expect(retried.status).toBe(201);
    expect((await readJson(retried)).balance).toBe(90);
  });

  it("keys without their own limit get the default, and authenticating writes nothing but lastUsedAt", async () => {
    const { apiKey, key } = await createApiKey(
      { name: "defaults", scopes: ["packs:read"] },
      system,
    );
    expect(apiKey.rateLimit).toEqual({ ...DEFAULT_RATE_LIMIT, custom: false });
    const res = await api.fetch("GET", "/api/v1/packs", { key });
    expect(res.headers.get("ratelimit-limit")).toBe(String(DEFAULT_RATE_LIMIT.burst));
    const before = await t.db.prisma.apiKey.findUniqueOrThrow({ where: { id: apiKey.id } });
    for (let i = 0; i < 5; i++) await api.fetch("GET", "/api/v1/packs", { key });
    const after = await t.db.prisma.apiKey.findUniqueOrThrow({ where: { id: apiKey.id } });
    expect(after).toEqual(before);
  });
});

describe("apikey CLI", () => {
  it("create takes --scope repeated or comma-separated, --expires-in, --rate-limit and --burst; audits them", async () => {
    const res = await runCli([
      "apikey",
      "create",
      "--name",
      "billing worker",
      "--scope",
      "users:read,debits:write",
      "--scope",
      "packs:read",
      "--expires-in",
      "90d",
      "--rate-limit",
      "5",
      "--burst",
      "20",
      "--json",
    ]);
    expect(res.code, res.stderr).toBe(0);
    const out = res.json<{
      id: string;
      key: string;
      scopes: string[];
      expiresAt: string;
      rateLimit: unknown;
      status: string;
    }>();
    expect(out.scopes).toEqual(["users:read", "debits:write", "packs:read"]);
    const days = (Date.parse(out.expiresAt) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(89.9);
    expect(days).toBeLessThanOrEqual(90);
    expect(out.rateLimit).toEqual({ perSecond: 5, burst: 20, custom: true });
    expect(out.status).toBe("active");
    const audit = await t.db.prisma.auditLog.findFirstOrThrow({
      where: { action: "api_key.create", targetId: out.id },
    });
    expect(audit.after).toMatchObject({
      scopes: ["users:read", "debits:write", "packs:read"],
      expiresAt: out.expiresAt,
      rateLimitPerSecond: 5,
      rateLimitBurst: 20,
    });
    const user = await makeUser();
    const write = await api.fetch("PUT", `/api/v1/users/${user.id}`, {
      key: out.key,
      json: { email: "x@example.com" },
    });
    expect(write.status).toBe(403);
    expect((await readJson(write)).error.message).toContain("users:write");

    const all = await runCli(["apikey", "create", "--name", "everything", "--scope", "all"]);
    expect(all.code).toBe(0);
    expect(all.stdout).toContain(`Scopes: ${API_SCOPES.join(", ")}`);
    expect(all.stdout).toMatch(/Expires: never; rate limit 50\/s burst 100 \(default\)/);
  });

  it("create refuses a missing or unknown scope, a bad expiry or limit with exit 2, creating nothing", async () => {
    const count = await t.db.prisma.apiKey.count();
    const cases: [string[], RegExp][] = [
      [[], /at least one scope/],
      [["--scope", "users:read,refunds:write"], /Unknown scope "refunds:write"/],
      [["--scope", "users:read", "--expires-in", "yesterday"], /not understood/],
      [["--scope", "users:read", "--expires-in", "2020-01-01"], /not in the future/],
      [["--scope", "users:read", "--rate-limit", "0"], /--rate-limit must be a whole number/],
      [["--scope", "users:read", "--burst", "1.5"], /--burst must be a whole number/],
    ];
    for (const [args, message] of cases) {
      const res = await runCli(["apikey", "create", "--name", "bad", ...args]);
      expect(res.code, args.join(" ")).toBe(2);
      expect(res.stderr, args.join(" ")).toMatch(message);
    }
    expect(await t.db.prisma.apiKey.count()).toBe(count);
  });

  it("list shows scopes, limit and status; --active leaves out expired and revoked keys", async () => {
    const live = await makeApiKey("live", { scopes: ["packs:read", "users:read"] });
    const expired = await makeApiKey("expired", { scopes: ["users:read"] });
    await t.db.prisma.apiKey.update({
      where: { id: expired.id },
      data: { expiresAt: new Date(Date.now() - 60_000) },
    });
    const list = await runCli(["apikey", "list", "--json"]);
    const keys = list.json<{ keys: { id: string; scopes: string[]; status: string }[] }>().keys;
    expect(keys.find((k) => k.id === live.id)).toMatchObject({
      scopes: ["users:read", "packs:read"],
      status: "active",
    });
    expect(keys.find((k) => k.id === expired.id)?.status).toBe("expired");
    const human = await runCli(["apikey", "list"]);
    const line = human.stdout.split("\n").find((l) => l.startsWith(live.prefix))!;
    expect(line).toContain("scopes users:read,packs:read");
    expect(line).toContain("100000/s burst 1000000");
    expect(human.stdout.split("\n").find((l) => l.startsWith(expired.prefix))).toMatch(/expired /);
    const active = await runCli(["apikey", "list", "--active", "--json"]);
    const ids = active.json<{ keys: { id: string }[] }>().keys.map((k) => k.id);
    expect(ids).toContain(live.id);
    expect(ids).not.toContain(expired.id);
  });
});

describe("dashboard API keys page", () => {
  type KeyRow = {
    id: string;
    name: string;
    scopes: string[];
    status: string;
    rateLimit: { perSecond: number; burst: number };
    customRateLimit: boolean;
  };
  type Page = { keys: KeyRow[]; scopeChoices: { scope: string }[] };
  type Result = {
    fieldErrors: Record<string, string>;
    values: Record<string, string>;
    outcome?: { key: string; prefix: string };
  };

  it("creates a key with the ticked scopes, expiry and limit, audited; shows them in the list", async () => {
    const admin = await createStaffWithSession("admin");
    const created = await callAction<Result>(
      apiKeysAction,
      "/api-keys",
      {
        intent: "create",
        name: "Dashboard-made",
        scopes: "checkout:write,packs:read",
        expires: "30d",
        rateLimitPerSecond: "7",
        rateLimitBurst: "",
      },
      { cookie: admin.cookie },
    );
    expect(created.status, JSON.stringify(created.data)).toBe(200);
    const row = await t.db.prisma.apiKey.findFirstOrThrow({ where: { name: "Dashboard-made" } });
    expect(row.scopes).toEqual(["packs:read", "checkout:write"]);
    expect(row.rateLimitPerSecond).toBe(7);
    expect(row.rateLimitBurst).toBeNull();
    expect(row.expiresAt!.getTime() - Date.now()).toBeGreaterThan(29.9 * 86_400_000);
    const audit = await t.db.prisma.auditLog.findFirstOrThrow({
      where: { action: "api_key.create", targetId: row.id },
    });
    expect(audit.actorId).toBe(admin.staff.id);
    expect(audit.after).toMatchObject({ scopes: ["packs:read", "checkout:write"] });

    const page = await callLoader<Page>(apiKeysLoader, "/api-keys", { cookie: admin.cookie });
    expect(page.data!.scopeChoices.map((c) => c.scope)).toEqual([...API_SCOPES]);
    expect(page.data!.keys.find((k) => k.id === row.id)).toMatchObject({
      scopes: ["packs:read", "checkout:write"],
      status: "active",
      rateLimit: { perSecond: 7, burst: DEFAULT_RATE_LIMIT.burst },
      customRateLimit: true,
    });
    const key = created.data!.outcome!.key;
    expect((await api.fetch("GET", "/api/v1/packs", { key })).status).toBe(200);
    expect((await api.fetch("GET", "/api/v1/users/someone", { key })).status).toBe(403);
  });

  it("refuses no scope, an unknown scope, a bad expiry or limit, naming the field; keeps what was typed", async () => {
    const admin = await createStaffWithSession("admin");
    const count = await t.db.prisma.apiKey.count();
    const post = (form: Record<string, string>) =>
      callAction<Result>(
        apiKeysAction,
        "/api-keys",
        { intent: "create", name: "Refused", ...form },
        { cookie: admin.cookie },
      );
    const none = await post({});
    expect(none.status).toBe(400);
    expect(none.data!.fieldErrors.scopes).toMatch(/at least one scope/);
    const unknown = await post({ scopes: "users:read,admin:everything" });
    expect(unknown.data!.fieldErrors.scopes).toMatch(/Unknown scope "admin:everything"/);
    const expiry = await post({ scopes: "users:read", expires: "2019-01-01" });
    expect(expiry.data!.fieldErrors.expires).toMatch(/not in the future/);
    expect(expiry.data!.values.expires).toBe("2019-01-01");
    const limit = await post({ scopes: "users:read", rateLimitPerSecond: "-3" });
    expect(limit.data!.fieldErrors.rateLimitPerSecond).toMatch(/whole number from 1/);
    const burst = await post({ scopes: "users:read", rateLimitBurst: "99999999999" });
    expect(burst.data!.fieldErrors.rateLimitBurst).toMatch(/whole number from 1/);
    expect(await t.db.prisma.apiKey.count()).toBe(count);
  });
});

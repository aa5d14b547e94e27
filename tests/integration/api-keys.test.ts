import { beforeAll, describe, expect, it } from "vitest";
import {
  API_KEY_CACHE_TTL_MS,
  authenticateApiKey,
  hashApiKey,
  LAST_USED_INTERVAL_MS,
  revokeApiKey,
} from "../../app/services/api-keys.server";
import { useTestDatabase } from "../support/test-database";
import { runCli } from "../support/cli";
import {
  createApiFetch,
  makeApiKey,
  makeUser,
  readJson,
  type ApiFetch,
} from "../support/api-harness";

const t = useTestDatabase();
let api: ApiFetch;

beforeAll(async () => {
  api = await createApiFetch();
});

describe("API key authentication", () => {
  it("401 without an Authorization header", async () => {
    const user = await makeUser();
    const res = await api.fetch("GET", `/api/v1/users/${user.id}`);
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect((await readJson(res)).error.code).toBe("missing_api_key");
  });

  it("401 for a malformed header or a key that is not a creditdesk key", async () => {
    const user = await makeUser();
    for (const authorization of [
      "Basic dXNlcjpwYXNz",
      "Bearer",
      "Bearer not-a-key",
      "cdk_" + "a".repeat(43),
    ]) {
      const res = await api.fetch("GET", `/api/v1/users/${user.id}`, {
        headers: { Authorization: authorization },
      });
      expect(res.status, authorization).toBe(401);
      expect((await readJson(res)).error.code, authorization).toBe("malformed_api_key");
    }
  });

  it("401 for a well-formed key that does not exist", async () => {
    const user = await makeUser();
    const res = await api.fetch("GET", `/api/v1/users/${user.id}`, {
      key: "cdk_" + "Z".repeat(43),
    });
    expect(res.status).toBe(401);
    const body = await readJson(res);
    expect(body.error.code).toBe("invalid_api_key");
    expect(JSON.stringify(body)).not.toContain("Z".repeat(43));
  });

  it("403 for a revoked key, naming the revocation", async () => {
    const user = await makeUser();
    const key = await makeApiKey();
    expect((await api.fetch("GET", `/api/v1/users/${user.id}`, { key: key.key })).status).toBe(200);
    await revokeApiKey({ id: key.id }, { type: "system", label: "test" }, "rotated");
    const res = await api.fetch("GET", `/api/v1/users/${user.id}`, { key: key.key });
    expect(res.status).toBe(403);
    const body = await readJson(res);
    expect(body.error.code).toBe("api_key_revoked");
    expect(body.error.message).toMatch(/revoked/);
    expect(body.error.message).not.toContain(key.key);
  });

  it("records lastUsedAt, writing it at most once a minute", async () => {
    const key = await makeApiKey();
    const before = await t.db.prisma.apiKey.findUniqueOrThrow({ where: { id: key.id } });
    expect(before.lastUsedAt).toBeNull();
    const now = new Date();
    await authenticateApiKey(`Bearer ${key.key}`, now);
    const first = await t.db.prisma.apiKey.findUniqueOrThrow({ where: { id: key.id } });
    expect(first.lastUsedAt?.getTime()).toBe(now.getTime());

    await authenticateApiKey(`Bearer ${key.key}`, new Date(now.getTime() + 30_000));
    const second = await t.db.prisma.apiKey.findUniqueOrThrow({ where: { id: key.id } });
    expect(second.lastUsedAt?.getTime()).toBe(now.getTime());

    const later = new Date(now.getTime() + LAST_USED_INTERVAL_MS + 1);
    await authenticateApiKey(`Bearer ${key.key}`, later);
    const third = await t.db.prisma.apiKey.findUniqueOrThrow({ where: { id: key.id } });
    expect(third.lastUsedAt?.getTime()).toBe(later.getTime());
  });

  it("a verified key is reused for the cache TTL: no read, no write; expiry still checked each time", async () => {
    const user = await makeUser();
    const key = await makeApiKey("cached", { expiresAt: new Date(Date.now() + 3_600_000) });
    const t0 = new Date();
    await authenticateApiKey(`Bearer ${key.key}`, t0);
    const revokedAt = new Date(t0.getTime() - 1000);
    // Behind the app's back (not revokeApiKey): this process sees it only once the row is re-read.
    await t.db.prisma.apiKey.update({ where: { id: key.id }, data: { revokedAt } });
    const cached = await authenticateApiKey(`Bearer ${key.key}`, new Date(t0.getTime() + 1));
    expect(cached.id).toBe(key.id);
    await expect(
      authenticateApiKey(`Bearer ${key.key}`, new Date(t0.getTime() + API_KEY_CACHE_TTL_MS)),
    ).rejects.toMatchObject({ status: 403, code: "api_key_revoked" });

    // Expiry is checked against the cached row on every request, not only when it is read.
    const t1 = new Date(t0.getTime() + 2 * API_KEY_CACHE_TTL_MS);
    const expiresAt = new Date(t1.getTime() + API_KEY_CACHE_TTL_MS / 2);
    await t.db.prisma.apiKey.update({
      where: { id: key.id },
      data: { revokedAt: null, expiresAt },
    });
    await authenticateApiKey(`Bearer ${key.key}`, t1);
    await t.db.prisma.apiKey.update({
      where: { id: key.id },
      data: { expiresAt: new Date(t1.getTime() + 3_600_000) },
    });
    await expect(
      authenticateApiKey(`Bearer ${key.key}`, new Date(expiresAt.getTime() + 1)),
    ).rejects.toMatchObject({ status: 401, code: "api_key_expired" });

    // Revoked in this process: refused on the very next request, cache or not.
    const live = await makeApiKey("cached-live");
    expect((await api.fetch("GET", `/api/v1/users/${user.id}`, { key: live.key })).status).toBe(
      200,
    );
    await revokeApiKey({ id: live.id }, { type: "system", label: "test" }, "rotated");
    expect((await api.fetch("GET", `/api/v1/users/${user.id}`, { key: live.key })).status).toBe(
      403,
    );
  });

  it("the route updates lastUsedAt on a real request", async () => {
    const key = await makeApiKey();
    expect((await api.fetch("GET", "/api/v1/packs", { key: key.key })).status).toBe(200);
    const row = await t.db.prisma.apiKey.findUniqueOrThrow({ where: { id: key.id } });
    expect(row.lastUsedAt).not.toBeNull();
  });
});

describe("apikey CLI", () => {
  it("create prints the key once and stores only its hash", async () => {
    const res = await runCli([
      "apikey",
      "create",
      "--name",
      "main app",
      "--scope",
      "users:read",
      "--json",
    ]);
    expect(res.code).toBe(0);
    const out = res.json<{ id: string; key: string; prefix: string; name: string }>();
    expect(out.key).toMatch(/^cdk_[0-9A-Za-z]{43}$/);
    expect(out.key.startsWith(out.prefix)).toBe(true);
    expect(out.name).toBe("main app");
    const row = await t.db.prisma.apiKey.findUniqueOrThrow({ where: { id: out.id } });
    expect(row.keyHash).toBe(hashApiKey(out.key));
    expect(JSON.stringify(row)).not.toContain(out.key);
    const audit = await t.db.prisma.auditLog.findFirst({
      where: { action: "api_key.create", targetId: out.id },
    });
    expect(audit?.actorType).toBe("cli");
    expect(
      JSON.stringify(audit, (_k, v) => (typeof v === "bigint" ? v.toString() : v)),
    ).not.toContain(out.key);

    const user = await makeUser();
    expect((await api.fetch("GET", `/api/v1/users/${user.id}`, { key: out.key })).status).toBe(200);
  });

  it("create without --json prints the key in the human output", async () => {
    const res = await runCli(["apikey", "create", "--name", "human", "--scope", "all"]);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/shown once.*cdk_[0-9A-Za-z]{43}/);
  });

  it("create without --name is a usage error (exit 2)", async () => {
    const count = await t.db.prisma.apiKey.count();
    const res = await runCli(["apikey", "create"]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/--name is required/);
    expect(await t.db.prisma.apiKey.count()).toBe(count);
  });

  it("revoke by prefix and by id; the key then gets 403; list never shows hashes", async () => {
    const a = await makeApiKey("a");
    const b = await makeApiKey("b");
    const byPrefix = await runCli(["apikey", "revoke", "--prefix", a.prefix, "--json"]);
    expect(byPrefix.code).toBe(0);
    expect(byPrefix.json()).toMatchObject({ id: a.id, alreadyRevoked: false });
    const byId = await runCli(["apikey", "revoke", "--id", b.id, "--reason", "leaked", "--json"]);
    expect(byId.code).toBe(0);
    const again = await runCli(["apikey", "revoke", "--id", b.id, "--json"]);
    expect(again.json()).toMatchObject({ alreadyRevoked: true });
    expect(
      await t.db.prisma.auditLog.count({ where: { action: "api_key.revoke", targetId: b.id } }),
    ).toBe(1);

    const res = await api.fetch("GET", "/api/v1/packs", { key: a.key });
    expect(res.status).toBe(403);

    const list = await runCli(["apikey", "list", "--json"]);
    expect(list.code).toBe(0);
    const keys = list.json<{ keys: Record<string, unknown>[] }>().keys;
    const listed = keys.find((k) => k.id === a.id);
    expect(listed?.revokedAt).toBeTruthy();
    expect(list.stdout).not.toMatch(/keyHash|key_hash/);
    const active = await runCli(["apikey", "list", "--active", "--json"]);
    expect(active.json<{ keys: { id: string }[] }>().keys.some((k) => k.id === a.id)).toBe(false);
  });

  it("revoke needs exactly one of --id / --prefix (exit 2) and reports unknown keys (exit 1)", async () => {
    expect((await runCli(["apikey", "revoke"])).code).toBe(2);
    expect((await runCli(["apikey", "revoke", "--id", "x", "--prefix", "y"])).code).toBe(2);
    const missing = await runCli(["apikey", "revoke", "--prefix", "cdk_nothere"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/not found/);
  });
});

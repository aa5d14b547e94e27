import { beforeAll, describe, expect, it } from "vitest";
import { debitUserId } from "../../app/http/credits-api.server";
import { useTestDatabase } from "../support/test-database";
import {
  createApiFetch,
  makeApiKey,
  makeUser,
  readJson,
  type ApiFetch,
} from "../support/api-harness";

/**
 * Issue 19: `POST /api/v1/users/{id}/debits` is served by Express ahead of compression and Remix
 * (app/http/credits-api.server.ts). It must answer exactly as the Remix route did: the same
 * status and body for every input, the same headers that matter.
 */
const t = useTestDatabase();
let api: ApiFetch;
let key: { id: string; key: string };

beforeAll(async () => {
  api = await createApiFetch();
  key = await makeApiKey("express-debits");
});

const body = (i: string, amount = 1) =>
  JSON.stringify({ amount, idempotencyKey: `k-${i}`, description: `debit ${i}` });
const json = { "Content-Type": "application/json" };

async function answer(res: Response) {
  return { status: res.status, body: await readJson(res) };
}

describe("the Express-level debit endpoint", () => {
  it("answers every case as the Remix route does (status and body)", async () => {
    const user = await makeUser({ balance: 3 });
    const readOnly = await makeApiKey("read-only", { scopes: ["users:read"] });
    const cases: { name: string; path: string; key?: string | null; body?: string; h?: object }[] =
      [
        { name: "no key", path: `/users/${user.id}/debits`, key: null, body: body("a") },
        { name: "malformed key", path: `/users/${user.id}/debits`, key: "nope", body: body("a") },
        { name: "unknown key", path: `/users/${user.id}/debits`, key: `cdk_${"Z".repeat(43)}` },
        { name: "no scope", path: `/users/${user.id}/debits`, key: readOnly.key, body: body("a") },
        { name: "bad path", path: "/users/a%20b/debits", body: body("a") },
        { name: "not JSON", path: `/users/${user.id}/debits`, body: "{" },
        { name: "empty", path: `/users/${user.id}/debits`, body: "" },
        { name: "array", path: `/users/${user.id}/debits`, body: "[1]" },
        { name: "text/plain", path: `/users/${user.id}/debits`, body: body("a"), h: {} },
        { name: "zero", path: `/users/${user.id}/debits`, body: body("z", 0) },
        { name: "NUL", path: `/users/${user.id}/debits`, body: body("\u0000") },
        { name: "unknown user", path: "/users/nobody-here/debits", body: body("a") },
        { name: "overdraft", path: `/users/${user.id}/debits`, body: body("big", 50) },
      ];
    for (const c of cases) {
      const opts = {
        key: c.key === undefined ? key.key : c.key === null ? null : c.key,
        body: c.body,
        headers: (c.h ?? json) as Record<string, string>,
      };
      if (c.name === "text/plain") opts.headers = { "Content-Type": "text/plain" };
      const viaExpress = await answer(await api.fetch("POST", `/api/v1${c.path}`, opts));
      const viaRemix = await answer(await api.remixFetch("POST", `/api/v1${c.path}`, opts));
      expect(viaExpress, c.name).toEqual(viaRemix);
      expect(viaExpress.status, c.name).toBeGreaterThanOrEqual(400);
    }
    expect(await t.db.prisma.ledgerEntry.count({ where: { userId: user.id } })).toBe(1);

    // A debit, its retry, and the same key with another amount.
    const first = await api.fetch("POST", `/api/v1/users/${user.id}/debits`, {
      key: key.key,
      body: body("one"),
      headers: json,
    });
    expect(first.status).toBe(201);
    const created = await readJson(first);
    expect(created.balance).toBe(2);
    const retry = await api.remixFetch("POST", `/api/v1/users/${user.id}/debits`, {
      key: key.key,
      body: body("one"),
      headers: json,
    });
    expect(await answer(retry)).toEqual({ status: 200, body: created });
    const conflict = (i: number) =>
      (i ? api.fetch : api.remixFetch)("POST", `/api/v1/users/${user.id}/debits`, {
        key: key.key,
        body: body("one", 2),
        headers: json,
      }).then(answer);
    const [a, b] = [await conflict(0), await conflict(1)];
    expect(a).toEqual(b);
    expect(a.status).toBe(409);
  });

  it("64 concurrent debits over HTTP against a balance of 50: 50 × 201, 14 × 402, seq without gaps", async () => {
    const user = await makeUser({ balance: 50 });
    const results = await Promise.all(
      Array.from({ length: 64 }, (_, i) =>
        api
          .fetch("POST", `/api/v1/users/${user.id}/debits`, {
            key: key.key,
            body: body(`c${i}`),
            headers: json,
          })
          .then(answer),
      ),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(50);
    expect(statuses.filter((s) => s === 402)).toHaveLength(14);
    const entries = await t.db.prisma.ledgerEntry.findMany({
      where: { userId: user.id },
      orderBy: { seq: "asc" },
    });
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 51 }, (_, i) => i + 1));
    expect(entries.at(-1)?.balanceAfter).toBe(0);
    expect(await t.db.prisma.user.findUniqueOrThrow({ where: { id: user.id } })).toMatchObject({
      balance: 0,
    });
  });

  it("carries the security headers, no-store and the key's RateLimit-* headers", async () => {
    const user = await makeUser({ balance: 5 });
    const res = await api.fetch("POST", `/api/v1/users/${user.id}/debits`, {
      key: key.key,
      body: body("h"),
      headers: json,
    });
    expect(res.status).toBe(201);
    expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("nonce");
    expect(Number(res.headers.get("ratelimit-limit"))).toBe(1_000_000);
    const refused = await api.fetch("POST", `/api/v1/users/${user.id}/debits`, {
      body: body("h2"),
      headers: json,
    });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("www-authenticate")).toBe('Bearer realm="creditdesk"');
    expect(refused.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("leaves other URL forms and methods to the Remix route, which answers them the same way", async () => {
    const user = await makeUser({ balance: 5 });
    const trailing = await api.fetch("POST", `/api/v1/users/${user.id}/debits/`, {
      key: key.key,
      body: body("slash"),
      headers: json,
    });
    expect(trailing.status).toBe(201);
    const get = await api.fetch("GET", `/api/v1/users/${user.id}/debits`, { key: key.key });
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
    const dots = await api.fetch("POST", `/api/v1/users/../debits`, {
      key: key.key,
      body: body("dots"),
      headers: json,
    });
    expect(dots.status).toBe(404);
    expect((await readJson(dots)).error.code).toBe("route_not_found");
    expect(await t.db.prisma.user.findUniqueOrThrow({ where: { id: user.id } })).toMatchObject({
      balance: 4,
    });
  });

  it("takes only the usual form of the URL, decoding the id as Remix does", () => {
    expect(debitUserId("POST", "/api/v1/users/u_1/debits")).toBe("u_1");
    expect(debitUserId("POST", "/api/v1/users/u_1/debits/")).toBe("u_1");
    expect(debitUserId("POST", "/api/v1/users/u_1/debits?x=1")).toBe("u_1");
    expect(debitUserId("POST", "/api/v1/users/a%3Ab/debits")).toBe("a:b");
    expect(debitUserId("POST", "/api/v1/users/a%2Fb/debits")).toBe("a%2Fb");
    expect(debitUserId("GET", "/api/v1/users/u_1/debits")).toBeNull();
    expect(debitUserId("POST", "/API/v1/users/u_1/debits")).toBeNull();
    expect(debitUserId("POST", "/api/v1/users/%E0%A4%A/debits")).toBeNull();
    expect(debitUserId("POST", "/api/v1/users/../debits")).toBeNull();
    expect(debitUserId("POST", "/api/v1/users/%2e%2E/debits")).toBeNull();
    expect(debitUserId("POST", "/api/v1/users/u/1/debits")).toBeNull();
    expect(debitUserId("POST", "/api/v1/users/u_1/debitsx")).toBeNull();
  });
});

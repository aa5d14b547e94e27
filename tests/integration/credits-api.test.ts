import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { useTestDatabase } from "../support/test-database";
import {
  createApiFetch,
  makeApiKey,
  makeUser,
  readJson,
  type ApiFetch,
} from "../support/api-harness";

const t = useTestDatabase();
let api: ApiFetch;
let key: { id: string; key: string; prefix: string };

beforeAll(async () => {
  api = await createApiFetch();
  key = await makeApiKey("credits-api");
});

const call = (method: string, path: string, json?: unknown, headers?: Record<string, string>) =>
  api.fetch(method, path, { key: key.key, json, headers });

async function balanceOf(userId: string) {
  return (await t.db.prisma.user.findUniqueOrThrow({ where: { id: userId } })).balance;
}

describe("PUT/GET /api/v1/users/{id}", () => {
  it("creates (201) then updates (200), normalizing the email for matching", async () => {
    const id = `ext:${randomUUID()}`;
    const created = await call("PUT", `/api/v1/users/${id}`, {
      email: "  Ada@Example.COM ",
      name: "Ada",
    });
    expect(created.status).toBe(201);
    expect(await readJson(created)).toEqual({
      id,
      email: "Ada@Example.COM",
      name: "Ada",
      tier: "free",
      balance: 0,
      stripeCustomerId: null,
    });
    const row = await t.db.prisma.user.findUniqueOrThrow({ where: { id } });
    expect(row.emailNormalized).toBe("ada@example.com");

    const updated = await call("PUT", `/api/v1/users/${id}`, { email: "ada@lovelace.dev" });
    expect(updated.status).toBe(200);
    expect(await readJson(updated)).toMatchObject({ id, email: "ada@lovelace.dev", name: "Ada" });

    const cleared = await call("PUT", `/api/v1/users/${id}`, {
      email: "ada@lovelace.dev",
      name: null,
    });
    expect((await readJson(cleared)).name).toBeNull();

    const got = await call("GET", `/api/v1/users/${id}`);
    expect(got.status).toBe(200);
    expect(await readJson(got)).toMatchObject({
      id,
      email: "ada@lovelace.dev",
      balance: 0,
      tier: "free",
    });

    const audits = await t.db.prisma.auditLog.findMany({
      where: { targetType: "user", targetId: id },
      orderBy: { id: "asc" },
    });
    expect(audits.map((a) => a.action)).toEqual(["user.create", "user.update", "user.update"]);
    expect(
      audits.every(
        (a) => a.actorType === "api_key" && a.actorId === key.id && a.ip === "127.0.0.1",
      ),
    ).toBe(true);
  });

  it("two concurrent first PUTs create one user: one 201, one 200", async () => {
    const id = `race-${randomUUID()}`;
    const results = await Promise.all([
      call("PUT", `/api/v1/users/${id}`, { email: "a@example.com" }),
      call("PUT", `/api/v1/users/${id}`, { email: "a@example.com" }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 201]);
    expect(await t.db.prisma.user.count({ where: { id } })).toBe(1);
  });

  it("404 for an unknown user", async () => {
    const res = await call("GET", `/api/v1/users/nobody-${randomUUID()}`);
    expect(res.status).toBe(404);
    expect((await readJson(res)).error).toMatchObject({ code: "not_found", field: "id" });
  });

  it("names each invalid field", async () => {
    const cases: [unknown, string][] = [
      [{}, "email"],
      [{ email: "not-an-email" }, "email"],
      [{ email: 42 }, "email"],
      [{ email: "a@example.com", name: 7 }, "name"],
      [{ email: "a@example.com", name: "x".repeat(201) }, "name"],
      [{ email: "a@example.com", balance: 1000 }, "balance"],
    ];
    for (const [body, field] of cases) {
      const res = await call("PUT", `/api/v1/users/valid-id`, body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      const error = (await readJson(res)).error;
      expect(error.code).toBe("validation_failed");
      expect(error.field, JSON.stringify(body)).toBe(field);
      expect(error.message).toContain(field);
    }
    expect(await t.db.prisma.user.count({ where: { id: "valid-id" } })).toBe(0);
  });

  it("rejects ids outside 1–128 of [A-Za-z0-9_.:@-] with 400 naming id", async () => {
    for (const id of ["a".repeat(129), "has%20space", "semi;colon", "caf%C3%A9"]) {
      const res = await call("PUT", `/api/v1/users/${id}`, { email: "a@example.com" });
      expect(res.status, id).toBe(400);
      expect((await readJson(res)).error.field).toBe("id");
    }
    const ok = await call("PUT", `/api/v1/users/${"a".repeat(128)}`, { email: "a@example.com" });
    expect(ok.status).toBe(201);
  });
});

describe("request bodies and routing", () => {
  it("400 naming the body for malformed JSON, empty bodies and non-objects", async () => {
    for (const body of ["{not json", "", "[1,2]", '"text"', "null"]) {
      const res = await api.fetch("PUT", "/api/v1/users/body-test", {
        key: key.key,
        body,
        headers: { "Content-Type": "application/json" },
      });
      expect(res.status, body).toBe(400);
      expect((await readJson(res)).error).toMatchObject({ code: "invalid_json", field: "body" });
    }
  });

  it("413 for a body over 64 KB, declared or streamed", async () => {
    const big = JSON.stringify({ email: "a@example.com", name: "x".repeat(70 * 1024) });
    const res = await api.fetch("PUT", "/api/v1/users/big-body", {
      key: key.key,
      body: big,
      headers: { "Content-Type": "application/json", "Content-Length": String(big.length) },
    });
    expect(res.status).toBe(413);
    expect(res.headers.get("connection")).toBe("close");
    expect((await readJson(res)).error).toMatchObject({ code: "body_too_large", field: "body" });

    // No Content-Length: the limit is enforced while reading the stream.
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        const chunk = new TextEncoder().encode("x".repeat(16 * 1024));
        for (let i = 0; i < 6; i++) controller.enqueue(chunk);
        controller.close();
      },
    });
    const request = new Request("http://localhost/api/v1/users/big-body", {
      method: "PUT",
      body: stream,
      headers: { Authorization: `Bearer ${key.key}` },
      duplex: "half",
    } as RequestInit);
    expect(request.headers.get("content-length")).toBeNull();
    const { action } = await import("../../app/routes/api.v1.users.$id");
    const streamed = await action({
      request,
      params: { id: "big-body" },
      context: { ip: "127.0.0.1" },
    });
    expect(streamed.status).toBe(413);
    expect(await t.db.prisma.user.count({ where: { id: "big-body" } })).toBe(0);
  });

  it("405 with Allow for a method the path does not take", async () => {
    const res = await call("DELETE", "/api/v1/users/someone");
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, PUT, HEAD");
    expect((await readJson(res)).error.code).toBe("method_not_allowed");
    const get = await call("GET", "/api/v1/users/someone/debits");
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
  });

  it("404 JSON for unknown paths under /api/v1", async () => {
    for (const [method, path] of [
      ["GET", "/api/v1/nothing-here"],
      ["POST", "/api/v1/users"],
      ["GET", "/api/v1/checkout-sessions/cs_test_1"],
    ]) {
      const res = await call(method, path);
      expect(res.status, path).toBe(404);
      expect(res.headers.get("content-type")).toMatch(/application\/json/);
      expect((await readJson(res)).error.code).toBe("route_not_found");
    }
  });
});

describe("POST /api/v1/users/{id}/debits", () => {
  it("201 with the entry and the new balance; an exact retry is 200 with the same entry and no new row", async () => {
    const user = await makeUser({ balance: 100 });
    const body = { amount: 30, idempotencyKey: "job-1", description: "render job 1" };
    const first = await call("POST", `/api/v1/users/${user.id}/debits`, body);
    expect(first.status).toBe(201);
    const created = await readJson(first);
    expect(created.balance).toBe(70);
    expect(created.entry).toMatchObject({
      kind: "usage",
      delta: -30,
      balanceAfter: 70,
      reason: "render job 1",
      seq: 2,
    });
    expect(created.entry.idempotencyKey).toBe(`api:${user.id}:job-1`);

    const retry = await call("POST", `/api/v1/users/${user.id}/debits`, body);
    expect(retry.status).toBe(200);
    const replayed = await readJson(retry);
    expect(replayed.entry).toEqual(created.entry);
    expect(replayed.balance).toBe(70);
    expect(await t.db.prisma.ledgerEntry.count({ where: { userId: user.id } })).toBe(2);
    expect(await balanceOf(user.id)).toBe(70);

    const row = await t.db.prisma.ledgerEntry.findFirstOrThrow({
      where: { userId: user.id, kind: "usage" },
    });
    expect(row.apiKeyId).toBe(key.id);
    const audits = await t.db.prisma.auditLog.findMany({
      where: { action: "credits.debit", targetId: user.id },
    });
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({ actorType: "api_key", actorId: key.id });
  });

  it("the same client key for two users does not collide", async () => {
    const a = await makeUser({ balance: 10 });
    const b = await makeUser({ balance: 10 });
    const body = { amount: 5, idempotencyKey: "shared", description: "same key" };
    expect((await call("POST", `/api/v1/users/${a.id}/debits`, body)).status).toBe(201);
    expect((await call("POST", `/api/v1/users/${b.id}/debits`, body)).status).toBe(201);
    expect(await balanceOf(a.id)).toBe(5);
    expect(await balanceOf(b.id)).toBe(5);
  });

  it("402 naming the balance when credits are insufficient; nothing changes", async () => {
    const user = await makeUser({ balance: 5 });
    const res = await call("POST", `/api/v1/users/${user.id}/debits`, {
      amount: 6,
      idempotencyKey: "big",
      description: "too much",
    });
    expect(res.status).toBe(402);
    const error = (await readJson(res)).error;
    expect(error).toMatchObject({ code: "insufficient_credits", field: "amount" });
    expect(error.message).toContain("balance is 5");
    expect(await balanceOf(user.id)).toBe(5);
    expect(await t.db.prisma.ledgerEntry.count({ where: { userId: user.id } })).toBe(1);
    expect(
      await t.db.prisma.auditLog.count({ where: { action: "credits.debit", targetId: user.id } }),
    ).toBe(0);
    // The failed key was not consumed: a smaller spend under it succeeds.
    const ok = await call("POST", `/api/v1/users/${user.id}/debits`, {
      amount: 5,
      idempotencyKey: "big",
      description: "too much",
    });
    expect(ok.status).toBe(201);
    expect(await balanceOf(user.id)).toBe(0);
  });

  it("409 when the key is reused with another amount or description; nothing changes", async () => {
    const user = await makeUser({ balance: 50 });
    const path = `/api/v1/users/${user.id}/debits`;
    expect(
      (await call("POST", path, { amount: 10, idempotencyKey: "k1", description: "first" })).status,
    ).toBe(201);
    for (const body of [
      { amount: 11, idempotencyKey: "k1", description: "first" },
      { amount: 10, idempotencyKey: "k1", description: "second" },
    ]) {
      const res = await call("POST", path, body);
      expect(res.status).toBe(409);
      expect((await readJson(res)).error).toMatchObject({
        code: "idempotency_conflict",
        field: "idempotencyKey",
      });
    }
    expect(await balanceOf(user.id)).toBe(40);
    expect(await t.db.prisma.ledgerEntry.count({ where: { userId: user.id } })).toBe(2);
  });

  it("404 for an unknown user", async () => {
    const res = await call("POST", `/api/v1/users/ghost-${randomUUID()}/debits`, {
      amount: 1,
      idempotencyKey: "g",
      description: "x",
    });
    expect(res.status).toBe(404);
  });

  it("rejects bad amounts, keys and descriptions naming the field; nothing is written", async () => {
    const user = await makeUser({ balance: 100 });
    const valid = { amount: 1, idempotencyKey: "v", description: "ok" };
    const cases: [Record<string, unknown>, string][] = [
      [{ ...valid, amount: 1.5 }, "amount"],
      [{ ...valid, amount: "10" }, "amount"],
      [{ ...valid, amount: 0 }, "amount"],
      [{ ...valid, amount: -5 }, "amount"],
      [{ ...valid, amount: 1_000_000_001 }, "amount"],
      [{ ...valid, amount: null }, "amount"],
      [{ idempotencyKey: "v", description: "ok" }, "amount"],
      [{ ...valid, idempotencyKey: "" }, "idempotencyKey"],
      [{ ...valid, idempotencyKey: "has space" }, "idempotencyKey"],
      [{ ...valid, idempotencyKey: "k".repeat(101) }, "idempotencyKey"],
      [{ amount: 1, description: "ok" }, "idempotencyKey"],
      [{ ...valid, description: "   " }, "description"],
      [{ ...valid, description: "d".repeat(501) }, "description"],
      [{ amount: 1, idempotencyKey: "v" }, "description"],
      [{ ...valid, ammount: 1 }, "ammount"],
    ];
    for (const [body, field] of cases) {
      const res = await call("POST", `/api/v1/users/${user.id}/debits`, body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      const error = (await readJson(res)).error;
      expect(error.field, JSON.stringify(body)).toBe(field);
      expect(error.message).toContain(field);
    }
    const max = await call("POST", `/api/v1/users/${user.id}/debits`, {
      ...valid,
      amount: 1_000_000_000,
    });
    expect(max.status).toBe(402);
    expect(await balanceOf(user.id)).toBe(100);
    expect(await t.db.prisma.ledgerEntry.count({ where: { userId: user.id } })).toBe(1);
  });

  it("20 concurrent debits of 10 against 100: exactly 10 succeed, balance 0, never negative", async () => {
    const user = await makeUser({ balance: 100 });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        call("POST", `/api/v1/users/${user.id}/debits`, {
          amount: 10,
          idempotencyKey: `c-${i}`,
          description: `concurrent ${i}`,
        }),
      ),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(10);
    expect(statuses.filter((s) => s === 402)).toHaveLength(10);
    expect(await balanceOf(user.id)).toBe(0);
    const entries = await t.db.prisma.ledgerEntry.findMany({
      where: { userId: user.id },
      orderBy: { seq: "asc" },
    });
    expect(entries).toHaveLength(11);
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
    expect(entries.every((e) => e.balanceAfter >= 0)).toBe(true);
    expect(entries.reduce((sum, e) => sum + e.delta, 0)).toBe(0);
  });

  it("concurrent retries of one debit post it once", async () => {
    const user = await makeUser({ balance: 100 });
    const body = { amount: 7, idempotencyKey: "same", description: "retry storm" };
    const results = await Promise.all(
      Array.from({ length: 10 }, () => call("POST", `/api/v1/users/${user.id}/debits`, body)),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    const ids = new Set(await Promise.all(results.map(async (r) => (await readJson(r)).entry.id)));
    expect(ids.size).toBe(1);
    expect(await balanceOf(user.id)).toBe(93);
  });
});

describe("GET /api/v1/users/{id}/ledger", () => {
  it("pages newest first, each entry exactly once, with an opaque cursor", async () => {
    const user = await makeUser({ balance: 1000 });
    for (let i = 0; i < 11; i++) {
      const res = await call("POST", `/api/v1/users/${user.id}/debits`, {
        amount: i + 1,
        idempotencyKey: `p-${i}`,
        description: `page ${i}`,
      });
      expect(res.status).toBe(201);
    }
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `?limit=5&cursor=${encodeURIComponent(cursor)}` : "?limit=5";
      const res = await call("GET", `/api/v1/users/${user.id}/ledger${query}`);
      expect(res.status).toBe(200);
      const page = await readJson(res);
      seen.push(...page.data.map((e: { seq: number }) => e.seq));
      cursor = page.nextCursor;
      if (cursor) expect(cursor).not.toMatch(/^\d+$/);
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(Array.from({ length: 12 }, (_, i) => 12 - i));

    const whole = await readJson(await call("GET", `/api/v1/users/${user.id}/ledger`));
    expect(whole.data).toHaveLength(12);
    expect(whole.nextCursor).toBeNull();
    expect(whole.data[11]).toMatchObject({ kind: "grant", delta: 1000, seq: 1 });
    expect(Object.keys(whole.data[0]).sort()).toEqual(
      [
        "balanceAfter",
        "createdAt",
        "delta",
        "id",
        "idempotencyKey",
        "kind",
        "purchaseId",
        "reason",
        "seq",
      ].sort(),
    );
  });

  it("defaults to 25 per page", async () => {
    const user = await makeUser({ balance: 100 });
    for (let i = 0; i < 26; i++) {
      await call("POST", `/api/v1/users/${user.id}/debits`, {
        amount: 1,
        idempotencyKey: `d-${i}`,
        description: "d",
      });
    }
    const page = await readJson(await call("GET", `/api/v1/users/${user.id}/ledger`));
    expect(page.data).toHaveLength(25);
    expect(page.nextCursor).toEqual(expect.any(String));
  });

  it("400 naming limit or cursor when they are invalid; 404 for an unknown user", async () => {
    const user = await makeUser({ balance: 1 });
    for (const [query, field] of [
      ["limit=0", "limit"],
      ["limit=101", "limit"],
      ["limit=abc", "limit"],
      ["limit=2.5", "limit"],
      ["cursor=garbage", "cursor"],
      [`cursor=${Buffer.from("v1:-3").toString("base64url")}`, "cursor"],
    ]) {
      const res = await call("GET", `/api/v1/users/${user.id}/ledger?${query}`);
      expect(res.status, query).toBe(400);
      expect((await readJson(res)).error.field, query).toBe(field);
    }
    expect((await call("GET", `/api/v1/users/nobody-${randomUUID()}/ledger`)).status).toBe(404);
  });
});

describe("GET /api/v1/packs", () => {
  it("lists active packs only, cheapest first", async () => {
    const tag = randomUUID().slice(0, 8);
    await t.db.prisma.creditPack.createMany({
      data: [
        {
          stripePriceId: `price_big_${tag}`,
          stripeProductId: "prod_1",
          name: "Big",
          credits: 1000,
          unitAmount: 5000,
          currency: "usd",
        },
        {
          stripePriceId: `price_small_${tag}`,
          stripeProductId: "prod_1",
          name: "Small",
          credits: 100,
          unitAmount: 900,
          currency: "usd",
        },
        {
          stripePriceId: `price_old_${tag}`,
          stripeProductId: "prod_1",
          name: "Old",
          credits: 50,
          unitAmount: 500,
          currency: "usd",
          active: false,
        },
      ],
    });
    const res = await call("GET", "/api/v1/packs");
    expect(res.status).toBe(200);
    const body = await readJson(res);
    const mine = body.data.filter((p: { priceId: string }) => p.priceId.endsWith(tag));
    expect(mine.map((p: { name: string }) => p.name)).toEqual(["Small", "Big"]);
    expect(mine[0]).toMatchObject({
      priceId: `price_small_${tag}`,
      credits: 100,
      unitAmount: 900,
      currency: "usd",
      type: "one_time",
    });
  });
});

describe("secrets", () => {
  it("no response echoes the API key", async () => {
    const responses = await Promise.all([
      call("GET", "/api/v1/packs"),
      call("POST", "/api/v1/users/x/debits", { amount: "bad" }),
      call("GET", "/api/v1/missing"),
    ]);
    for (const res of responses) expect(await res.text()).not.toContain(key.key);
  });
});

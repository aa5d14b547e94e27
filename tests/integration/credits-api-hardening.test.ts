import { randomUUID } from "node:crypto";
import type { Server } from "node:http";
import { connect, type AddressInfo } from "node:net";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { debitLedgerKey } from "../../app/services/api/debits.server";
import { MAX_BODY_BYTES } from "../../app/services/api/http.server";
import { userScopedKey } from "../../app/services/api/users.server";
import { parseEnv, setEnv } from "../../app/services/infra/env.server";
import { postLedgerEntry } from "../../app/services/ledger.server";
import { useTestDatabase } from "../support/test-database";
import {
  createApiFetch,
  makeApiKey,
  makeUser,
  readJson,
  type ApiFetch,
} from "../support/api-harness";

/**
 * Issue 15, items 7 and 6 (API part): debit idempotency keys that cannot collide across users, and
 * hostile input — NUL bytes, bad encodings, out-of-range numbers, wrong content types, huge or
 * deeply nested bodies — answered with a 4xx naming the field, with nothing written.
 */

const t = useTestDatabase();
let api: ApiFetch;
let key: { id: string; key: string; prefix: string };

beforeAll(async () => {
  api = await createApiFetch();
  key = await makeApiKey("hardening");
});

const balanceOf = async (id: string) =>
  (await t.db.prisma.user.findUniqueOrThrow({ where: { id } })).balance;
const entriesOf = (id: string) =>
  t.db.prisma.ledgerEntry.findMany({ where: { userId: id }, orderBy: { seq: "asc" } });

/** A user with exactly this id and a starting balance (ids here need colons in chosen places). */
async function userWithId(id: string, balance: number) {
  await t.db.prisma.user.create({
    data: { id, email: `${randomUUID()}@example.com`, emailNormalized: `${id}@x` },
  });
  await postLedgerEntry({
    userId: id,
    kind: "grant",
    delta: balance,
    idempotencyKey: `grant:${randomUUID()}`,
    reason: "test grant",
  });
}

const debit = (userId: string, body: Record<string, unknown>) =>
  api.fetch("POST", `/api/v1/users/${encodeURIComponent(userId)}/debits`, {
    key: key.key,
    json: body,
  });

describe("debit idempotency keys are per (user, key)", () => {
  it('user "a" with key "b:c" and user "a:b" with key "c" both debit: two entries, both balances right', async () => {
    const a = `a${randomUUID().slice(0, 8)}`;
    const ab = `${a}:b`;
    await userWithId(a, 100);
    await userWithId(ab, 100);

    const first = await debit(a, { amount: 10, idempotencyKey: "b:c", description: "job" });
    const second = await debit(ab, { amount: 25, idempotencyKey: "c", description: "job" });
    const [firstBody, secondBody] = [await readJson(first), await readJson(second)];
    expect([first.status, second.status], JSON.stringify(secondBody)).toEqual([201, 201]);
    expect(firstBody.balance).toBe(90);
    expect(secondBody.balance).toBe(75);
    expect(await balanceOf(a)).toBe(90);
    expect(await balanceOf(ab)).toBe(75);

    const usage = await t.db.prisma.ledgerEntry.findMany({
      where: { userId: { in: [a, ab] }, kind: "usage" },
    });
    expect(usage).toHaveLength(2);
    const keyOf = (u: string) => usage.find((e) => e.userId === u)!.idempotencyKey;
    // The id without ":" keeps the form it always had: entries made before the fix still match.
    expect(keyOf(a)).toBe(`api:${a}:b:c`);
    expect(keyOf(ab)).toMatch(/^api#[0-9a-f]{64}:c$/);

    // Retries find their own entry, not the other user's.
    const retryA = await debit(a, { amount: 10, idempotencyKey: "b:c", description: "job" });
    const retryAb = await debit(ab, { amount: 25, idempotencyKey: "c", description: "job" });
    expect([retryA.status, retryAb.status]).toEqual([200, 200]);
    expect((await readJson(retryA)).entry.id).toBe(firstBody.entry.id);
    expect((await readJson(retryAb)).entry.id).toBe(secondBody.entry.id);
    expect(await t.db.prisma.ledgerEntry.count({ where: { userId: { in: [a, ab] } } })).toBe(4);
    expect([await balanceOf(a), await balanceOf(ab)]).toEqual([90, 75]);
  });

  it("the key function is injective (property) and fixed-length for ids with a colon", () => {
    const idChar = fc.constantFrom(..."ab:._-@0".split(""));
    const id = fc.string({ unit: idChar, minLength: 1, maxLength: 12 });
    const clientKey = fc.string({ unit: fc.constantFrom(..."ab:c#".split("")), minLength: 1 });
    fc.assert(
      fc.property(id, clientKey, id, clientKey, (u1, k1, u2, k2) => {
        if (u1 === u2 && k1 === k2) return;
        expect(debitLedgerKey(u1, k1)).not.toBe(debitLedgerKey(u2, k2));
      }),
      { numRuns: 2000 },
    );
    const long = "x:".repeat(64);
    expect(debitLedgerKey(long, "k".repeat(100)).length).toBe(4 + 64 + 1 + 100);
    expect(userScopedKey("cdk-checkout", "user_1", "retry-1")).toBe("cdk-checkout:user_1:retry-1");
  });

  it("a debit made before the upgrade by a user with ':' in the id is still found by its retry", async () => {
    const id = `ext:${randomUUID().slice(0, 8)}`;
    await userWithId(id, 50);
    // As the old code stored it: api:<id>:<key>.
    const old = await postLedgerEntry({
      userId: id,
      kind: "usage",
      delta: -5,
      idempotencyKey: `api:${id}:render-9`,
      reason: "render 9",
      apiKeyId: key.id,
    });
    const retry = await debit(id, {
      amount: 5,
      idempotencyKey: "render-9",
      description: "render 9",
    });
    expect(retry.status).toBe(200);
    expect((await readJson(retry)).entry.id).toBe(old.entry.id.toString());
    expect(await balanceOf(id)).toBe(45);
    expect(await entriesOf(id)).toHaveLength(2);

    const changed = await debit(id, {
      amount: 6,
      idempotencyKey: "render-9",
      description: "render 9",
    });
    expect(changed.status).toBe(409);
    const body = await readJson(changed);
    expect(body.error).toMatchObject({ code: "idempotency_conflict", field: "idempotencyKey" });
    // The message names the client's key, not the internal ledger key.
    expect(body.error.message).toBe(
      'Idempotency key "render-9" was already used for this user with a different amount or description.',
    );
    expect(await balanceOf(id)).toBe(45);
  });

  it("another user's pre-upgrade entry under the same string is never taken as this user's", async () => {
    const a = `p${randomUUID().slice(0, 8)}`;
    const ab = `${a}:b`;
    await userWithId(a, 30);
    await userWithId(ab, 30);
    // Before the upgrade, user "a" + key "b:c" was stored as api:a:b:c.
    await postLedgerEntry({
      userId: a,
      kind: "usage",
      delta: -3,
      idempotencyKey: `api:${a}:b:c`,
      reason: "old",
      apiKeyId: key.id,
    });
    const res = await debit(ab, { amount: 3, idempotencyKey: "c", description: "old" });
    expect(res.status).toBe(201);
    expect([await balanceOf(a), await balanceOf(ab)]).toEqual([27, 27]);
  });
});

type Case = {
  name: string;
  method: string;
  path: (userId: string) => string;
  body?: string | Uint8Array<ArrayBuffer>;
  headers?: Record<string, string>;
  status: number;
  code: string;
  field?: string;
  message?: RegExp;
};

const debitBody = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ amount: 1, idempotencyKey: `k-${randomUUID()}`, description: "d", ...extra });
const checkoutBody = (extra: Record<string, unknown>) =>
  JSON.stringify({
    userId: "someone",
    priceId: "price_1",
    successUrl: "https://app.example.com/ok",
    cancelUrl: "https://app.example.com/cancel",
    ...extra,
  });
const json = { "Content-Type": "application/json" };

const cases: Case[] = [
  // NUL bytes and bad encodings in ids (path segments).
  ...["", "/ledger"].map((suffix) => ({
    name: `NUL as the user id${suffix}`,
    method: "GET",
    path: () => `/api/v1/users/%00${suffix}`,
    status: 400,
    code: "invalid_request",
    field: "id",
  })),
  {
    name: "NUL in a user id used for a debit",
    method: "POST",
    path: (u) => `/api/v1/users/${u}%00/debits`,
    body: debitBody(),
    headers: json,
    status: 400,
    code: "invalid_request",
    field: "id",
  },
  {
    name: "NUL as a Checkout Session id",
    method: "POST",
    path: () => "/api/v1/checkout-sessions/cs_test_%00/fulfill",
    status: 400,
    code: "invalid_request",
    field: "id",
  },
  {
    name: "malformed percent-encoding in an id",
    method: "GET",
    path: () => "/api/v1/users/%E0%A4%A",
    status: 400,
    code: "invalid_request",
    field: "id",
  },
  {
    name: "an id of 10,000 characters",
    method: "GET",
    path: () => `/api/v1/users/${"x".repeat(10_000)}`,
    status: 400,
    code: "invalid_request",
    field: "id",
  },
  // NUL bytes and unpaired surrogates in bodies.
  {
    name: "NUL in a user's name",
    method: "PUT",
    path: (u) => `/api/v1/users/${u}`,
    body: '{"email":"ada@example.com","name":"Ada\\u0000Lovelace"}',
    headers: json,
    status: 422,
    code: "validation_failed",
    field: "name",
    message: /name must not contain NUL/,
  },
  {
    name: "NUL in a debit description",
    method: "POST",
    path: (u) => `/api/v1/users/${u}/debits`,
    body: debitBody({ description: "job\u0000" }),
    headers: json,
    status: 422,
    code: "validation_failed",
    field: "description",
  },
  {
    name: "NUL in a field name",
    method: "PUT",
    path: (u) => `/api/v1/users/${u}`,
    body: '{"email":"ada@example.com","na\\u0000me":"x"}',
    headers: json,
    status: 422,
    code: "validation_failed",
    field: "body",
  },
  {
    name: "NUL in a checkout userId",
    method: "POST",
    path: () => "/api/v1/checkout-sessions",
    body: checkoutBody({ userId: "u\u0000" }),
    headers: json,
    status: 422,
    code: "validation_failed",
    field: "userId",
  },
  {
    name: "an unpaired surrogate in a name",
    method: "PUT",
    path: (u) => `/api/v1/users/${u}`,
    body: '{"email":"ada@example.com","name":"Ada\\ud800"}',
    headers: json,
    status: 422,
    code: "validation_failed",
    field: "name",
    message: /valid Unicode/,
  },
  {
    name: "bytes that are not UTF-8",
    method: "PUT",
    path: (u) => `/api/v1/users/${u}`,
    body: new Uint8Array([...Buffer.from('{"email":"ada@example.com","name":"'), 0xff, 0x22, 0x7d]),
    headers: json,
    status: 400,
    code: "invalid_json",
    field: "body",
    message: /not valid UTF-8/,
  },
  // Out-of-range numbers.
  ...[
    ["1e400", "a number JSON reads as Infinity"],
    ["-1e400", "minus infinity"],
    ["9007199254740993", "past 2^53"],
    ["1000000001", "over the debit maximum"],
    ["0", "zero"],
    ["2.5", "a fraction"],
    ['"10"', "a string"],
  ].map(([amount, what]) => ({
    name: `amount: ${what}`,
    method: "POST",
    path: (u: string) => `/api/v1/users/${u}/debits`,
    body: `{"amount":${amount},"idempotencyKey":"k-${randomUUID()}","description":"d"}`,
    headers: json,
    status: 422,
    code: "validation_failed",
    field: "amount",
    message: /^amount must be a positive whole number of credits, at most 1000000000\.$/,
  })),
  {
    name: "checkout quantity 1e400",
    method: "POST",
    path: () => "/api/v1/checkout-sessions",
    body: checkoutBody({}).replace('"userId"', '"quantity":1e400,"userId"'),
    headers: json,
    status: 422,
    code: "validation_failed",
    field: "quantity",
  },
  ...["99999999999999999999999", "1e400", "-1", "%00"].map((limit) => ({
    name: `ledger limit=${limit}`,
    method: "GET",
    path: (u: string) => `/api/v1/users/${u}/ledger?limit=${limit}`,
    status: 400,
    code: "invalid_request",
    field: "limit",
    message: /^limit must be a whole number from 1 to 100\.$/,
  })),
  {
    name: "a query parameter given twice",
    method: "GET",
    path: (u) => `/api/v1/users/${u}/ledger?limit=1&limit=100`,
    status: 400,
    code: "invalid_request",
    field: "limit",
  },
  {
    name: "a tampered cursor with NUL",
    method: "GET",
    path: (u) =>
      `/api/v1/users/${u}/ledger?cursor=${Buffer.from("v1:\u00001").toString("base64url")}`,
    status: 400,
    code: "invalid_request",
    field: "cursor",
  },
  // Malformed JSON and wrong content types.
  ...['{"amount":1,}', "{", '{"amount":1}{"amount":2}', "\u0000"].map((body) => ({
    name: `malformed JSON ${JSON.stringify(body)}`,
    method: "POST",
    path: (u: string) => `/api/v1/users/${u}/debits`,
    body,
    headers: json,
    status: 400,
    code: "invalid_json",
    field: "body",
  })),
  ...[
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/jsonx",
  ].map((type) => ({
    name: `Content-Type: ${type}`,
    method: "POST",
    path: (u: string) => `/api/v1/users/${u}/debits`,
    body: debitBody(),
    headers: { "Content-Type": type },
    status: 415,
    code: "unsupported_media_type",
    field: "Content-Type",
  })),
  {
    name: "a body nested 30,000 deep",
    method: "POST",
    path: (u) => `/api/v1/users/${u}/debits`,
    body: `{"a":${"[".repeat(30_000)}"\\u0000"${"]".repeat(30_000)}}`,
    headers: json,
    status: 422,
    code: "validation_failed",
  },
];

describe("bad input is a clear 4xx naming the field, never a 500, and changes nothing", () => {
  for (const c of cases) {
    it(c.name, async () => {
      const user = await makeUser({ balance: 40 });
      const before = await t.db.prisma.user.findUniqueOrThrow({ where: { id: user.id } });
      const users = await t.db.prisma.user.count();
      const entries = await t.db.prisma.ledgerEntry.count();
      const res = await api.fetch(c.method, c.path(user.id), {
        key: key.key,
        body: c.body,
        headers: c.headers,
      });
      const text = await res.text();
      expect(res.status, text.slice(0, 300)).toBe(c.status);
      const { error } = JSON.parse(text) as { error: Record<string, string> };
      expect(error.code).toBe(c.code);
      if (c.field) expect(error.field).toBe(c.field);
      if (c.message) expect(error.message).toMatch(c.message);
      expect(await t.db.prisma.user.findUniqueOrThrow({ where: { id: user.id } })).toEqual(before);
      expect(await t.db.prisma.user.count()).toBe(users);
      expect(await t.db.prisma.ledgerEntry.count()).toBe(entries);
    });
  }

  it("no Content-Type is read as JSON (what curl --data-binary without -H sends is refused above)", async () => {
    const user = await makeUser({ balance: 5 });
    const res = await api.fetch("POST", `/api/v1/users/${user.id}/debits`, {
      key: key.key,
      body: new TextEncoder().encode(debitBody()),
    });
    expect(res.status).toBe(201);
    const typed = await api.fetch("POST", `/api/v1/users/${user.id}/debits`, {
      key: key.key,
      body: debitBody(),
      headers: { "Content-Type": "application/merge-patch+json; charset=utf-8" },
    });
    expect(typed.status).toBe(201);
    expect(await balanceOf(user.id)).toBe(3);
  });

  it("a declared oversized body is 413 with Connection: close before the key is even looked up", async () => {
    const user = await makeUser({ balance: 5 });
    const big = debitBody({ description: "x".repeat(MAX_BODY_BYTES) });
    for (const k of [null, key.key]) {
      const res = await api.fetch("POST", `/api/v1/users/${user.id}/debits`, {
        key: k,
        body: big,
        headers: { ...json, "Content-Length": String(Buffer.byteLength(big)) },
      });
      expect(res.status).toBe(413);
      expect(res.headers.get("connection")).toBe("close");
      expect((await readJson(res)).error).toMatchObject({ code: "body_too_large", field: "body" });
    }
    expect(await balanceOf(user.id)).toBe(5);
  });

  it("a streamed oversized body (no Content-Length) is 413 with Connection: close", async () => {
    const user = await makeUser({ balance: 5 });
    const chunk = new TextEncoder().encode(" ".repeat(16 * 1024));
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 8; i++) controller.enqueue(chunk);
        controller.close();
      },
    });
    const request = new Request(`http://localhost/api/v1/users/${user.id}/debits`, {
      method: "POST",
      body: stream,
      headers: { Authorization: `Bearer ${key.key}`, ...json },
      duplex: "half",
    } as RequestInit);
    const { action } = await import("../../app/routes/api.v1.users.$id.debits");
    const res = await action({ request, params: { id: user.id }, context: { ip: "127.0.0.1" } });
    expect(res.status).toBe(413);
    expect(res.headers.get("connection")).toBe("close");
    expect(await balanceOf(user.id)).toBe(5);
  });
});

describe("through the real HTTP stack (server.ts)", () => {
  it("an oversized API body on a keep-alive connection gets 413 with Connection: close, and the socket ends cleanly", async () => {
    setEnv(parseEnv({ ...process.env, NODE_ENV: "test", DEMO_SEED: "false", SCHEDULER: "off" }));
    const { createApp } = await import("../../server");
    const app = await createApp(api.build);
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, "127.0.0.1", () => resolve(s));
    });
    try {
      const { port } = server.address() as AddressInfo;
      const user = await makeUser({ balance: 5 });
      // Declares 1 MB, sends 64 KB of it, and asks to keep the connection.
      const answer = await new Promise<{ text: string; ended: boolean }>((resolve, reject) => {
        const socket = connect(port, "127.0.0.1");
        let text = "";
        socket.on("data", (d) => (text += d.toString("latin1")));
        socket.on("error", reject);
        socket.on("end", () => resolve({ text, ended: true }));
        socket.on("close", () => resolve({ text, ended: true }));
        socket.write(
          `POST /api/v1/users/${user.id}/debits HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
            `Authorization: Bearer ${key.key}\r\nContent-Type: application/json\r\n` +
            `Content-Length: ${1024 * 1024}\r\nConnection: keep-alive\r\n\r\n`,
        );
        socket.write("x".repeat(64 * 1024));
      });
      expect(answer.text).toMatch(/^HTTP\/1\.1 413 /);
      expect(answer.text).toMatch(/\r\nconnection: close\r\n/i);
      expect(answer.text).toContain('"code":"body_too_large"');
      expect(answer.ended).toBe(true);
      expect(await balanceOf(user.id)).toBe(5);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      setEnv(undefined);
    }
  });
});

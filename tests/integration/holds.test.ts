import { beforeAll, describe, expect, it } from "vitest";
import { getDb } from "../../app/services/infra/db.server";
import { expireHolds } from "../../app/services/api-holds.server";
import {
  createApiFetch,
  makeApiKey,
  makeUser,
  readJson,
  type ApiFetch,
} from "../support/api-harness";
import { useTestDatabase } from "../support/test-database";

// API holds (app/services/api-holds.server.ts): reserve, capture (partly), release, expire — and every
// debit and new hold checked against `available`. Runs on PGlite and native Postgres.
const t = useTestDatabase();
let api: ApiFetch;
let key = "";

beforeAll(async () => {
  api = await createApiFetch();
  key = (await makeApiKey("holds", { scopes: ["users:read", "debits:write", "holds:write"] })).key;
});

interface HoldBody {
  hold: {
    id: string;
    userId: string;
    amount: number;
    status: string;
    capturedAmount: number | null;
    expiresAt: string;
    captureEntryId: string | null;
  };
  entry?: { id: string; delta: number; kind: string; balanceAfter: number };
  balance: number;
  held: number;
  available: number;
}
interface ErrorBody {
  error: { code: string; message: string; field?: string };
}

const post = (path: string, json?: unknown, k = key) => api.fetch("POST", path, { key: k, json });

let n = 0;
async function hold(
  userId: string,
  amount: number,
  extra: Partial<{ idempotencyKey: string; expiresInSeconds: number; description: string }> = {},
) {
  return post(`/api/v1/users/${userId}/holds`, {
    amount,
    idempotencyKey: extra.idempotencyKey ?? `h-${++n}`,
    expiresInSeconds: extra.expiresInSeconds ?? 600,
    description: extra.description ?? "render job",
  });
}

async function openHold(userId: string, amount: number) {
  const res = await hold(userId, amount);
  expect(res.status).toBe(201);
  return (await readJson<HoldBody>(res)).hold;
}

const capture = (holdId: string, amount: number) =>
  post(`/api/v1/holds/${holdId}/capture`, { amount });
const release = (holdId: string) => post(`/api/v1/holds/${holdId}/release`);

async function userNow(userId: string) {
  return readJson<{ balance: number; held: number; available: number }>(
    await api.fetch("GET", `/api/v1/users/${userId}`, { key }),
  );
}

describe("holds", () => {
  it("a hold lowers available, not the balance; GET /users/{id} reports balance, held, available", async () => {
    const { id } = await makeUser({ balance: 100 });
    const res = await hold(id, 30);
    expect(res.status).toBe(201);
    const body = await readJson<HoldBody>(res);
    expect(body).toMatchObject({ balance: 100, held: 30, available: 70 });
    expect(body.hold).toMatchObject({
      userId: id,
      amount: 30,
      status: "open",
      capturedAmount: null,
    });
    expect(body.hold.id).toMatch(/^hold_[0-9a-f]{24}$/);
    const expiresIn = new Date(body.hold.expiresAt).getTime() - Date.now();
    expect(expiresIn).toBeGreaterThan(590_000);
    expect(expiresIn).toBeLessThanOrEqual(600_000);
    expect(await userNow(id)).toMatchObject({ balance: 100, held: 30, available: 70 });
    // No ledger entry for a hold.
    expect(await t.db.prisma.ledgerEntry.count({ where: { userId: id } })).toBe(1);
    const audit = await t.db.prisma.auditLog.findFirst({
      where: { action: "credits.hold", targetId: id },
    });
    expect(audit?.after).toMatchObject({ holdId: body.hold.id, amount: 30 });
  });

  it("same key and payload → the original hold (200); another payload → 409", async () => {
    const { id } = await makeUser({ balance: 100 });
    const first = await hold(id, 40, { idempotencyKey: "job-1" });
    expect(first.status).toBe(201);
    const original = await readJson<HoldBody>(first);
    const again = await hold(id, 40, { idempotencyKey: "job-1" });
    expect(again.status).toBe(200);
    expect((await readJson<HoldBody>(again)).hold.id).toBe(original.hold.id);
    const other = await hold(id, 41, { idempotencyKey: "job-1" });
    expect(other.status).toBe(409);
    const err = await readJson<ErrorBody>(other);
    expect(err.error).toMatchObject({ code: "idempotency_conflict", field: "idempotencyKey" });
    expect(await t.db.prisma.creditHold.count({ where: { userId: id } })).toBe(1);
    expect(await userNow(id)).toMatchObject({ held: 40, available: 60 });
  });

  it("a hold above available is 402 with the available balance", async () => {
    const { id } = await makeUser({ balance: 50 });
    await openHold(id, 30);
    const res = await hold(id, 21);
    expect(res.status).toBe(402);
    const err = await readJson<ErrorBody>(res);
    expect(err.error.code).toBe("insufficient_credits");
    expect(err.error.field).toBe("amount");
    expect(err.error.message).toContain("20 available");
    expect((await hold(id, 20)).status).toBe(201);
  });

  it("debits are checked against available", async () => {
    const { id } = await makeUser({ balance: 50 });
    await openHold(id, 30);
    const debit = (amount: number, k: string) =>
      post(`/api/v1/users/${id}/debits`, { amount, idempotencyKey: k, description: "d" });
    expect((await debit(21, "d1")).status).toBe(402);
    expect((await debit(20, "d2")).status).toBe(201);
    expect(await userNow(id)).toMatchObject({ balance: 30, held: 30, available: 0 });
  });

  it("capture partial: one usage entry for the amount, the rest released", async () => {
    const { id } = await makeUser({ balance: 100 });
    const h = await openHold(id, 40);
    const res = await capture(h.id, 25);
    expect(res.status).toBe(201);
    const body = await readJson<HoldBody>(res);
    expect(body).toMatchObject({ balance: 75, held: 0, available: 75 });
    expect(body.hold).toMatchObject({ status: "captured", capturedAmount: 25 });
    expect(body.entry).toMatchObject({ kind: "usage", delta: -25, balanceAfter: 75 });
    expect(body.hold.captureEntryId).toBe(body.entry!.id);
    const entries = await t.db.prisma.ledgerEntry.findMany({
      where: { userId: id, kind: "usage" },
    });
    expect(entries.map((e) => [e.delta, e.idempotencyKey])).toEqual([
      [-25, `hold_capture:${h.id}`],
    ]);
    // The same capture again is a retry: the original entry, 200.
    const again = await capture(h.id, 25);
    expect(again.status).toBe(200);
    expect((await readJson<HoldBody>(again)).entry!.id).toBe(body.entry!.id);
    // Another amount on a captured hold: 409 with its state.
    const other = await capture(h.id, 10);
    expect(other.status).toBe(409);
    expect((await readJson<ErrorBody>(other)).error).toMatchObject({
      code: "hold_captured",
      field: "holdId",
    });
  });

  it("capture above the hold is 422 naming amount; nothing changes", async () => {
    const { id } = await makeUser({ balance: 100 });
    const h = await openHold(id, 40);
    const res = await capture(h.id, 41);
    expect(res.status).toBe(422);
    const err = await readJson<ErrorBody>(res);
    expect(err.error.field).toBe("amount");
    expect(err.error.message).toContain("at most 40");
    expect(await userNow(id)).toMatchObject({ balance: 100, held: 40 });
  });

  it("release frees the credits; capture of a released hold is 409 hold_released", async () => {
    const { id } = await makeUser({ balance: 100 });
    const h = await openHold(id, 40);
    const res = await release(h.id);
    expect(res.status).toBe(200);
    const body = await readJson<HoldBody>(res);
    expect(body).toMatchObject({ balance: 100, held: 0, available: 100 });
    expect(body.hold.status).toBe("released");
    expect((await release(h.id)).status).toBe(200); // releasing again changes nothing
    const cap = await capture(h.id, 10);
    expect(cap.status).toBe(409);
    const err = await readJson<ErrorBody>(cap);
    expect(err.error.code).toBe("hold_released");
    expect(err.error.message).toMatch(/is released/);
    expect(await t.db.prisma.ledgerEntry.count({ where: { userId: id, kind: "usage" } })).toBe(0);
  });

  it("an uncaptured hold expires: available again at once, capture 409 hold_expired, the sweep marks it", async () => {
    const { id } = await makeUser({ balance: 100 });
    const h = await openHold(id, 40);
    await getDb()
      .$executeRaw`UPDATE credit_holds SET expires_at = now() - interval '1 second' WHERE id = ${h.id}`;
    expect(await userNow(id)).toMatchObject({ balance: 100, held: 0, available: 100 });
    const cap = await capture(h.id, 10);
    expect(cap.status).toBe(409);
    expect((await readJson<ErrorBody>(cap)).error.code).toBe("hold_expired");
    expect((await release(h.id)).status).toBe(409);
    expect(await expireHolds()).toBeGreaterThanOrEqual(1);
    const row = await t.db.prisma.creditHold.findUniqueOrThrow({ where: { id: h.id } });
    expect(row.status).toBe("expired");
    expect(row.resolvedAt?.getTime()).toBe(row.expiresAt.getTime());
    expect(await expireHolds()).toBe(0); // idempotent
    const capAfter = await capture(h.id, 10);
    expect((await readJson<ErrorBody>(capAfter)).error.code).toBe("hold_expired");
  });

  it("20 concurrent captures of one hold: exactly one succeeds", async () => {
    const { id } = await makeUser({ balance: 100 });
    const h = await openHold(id, 20);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => capture(h.id, i + 1)));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    const entries = await t.db.prisma.ledgerEntry.findMany({
      where: { userId: id, kind: "usage" },
    });
    expect(entries).toHaveLength(1);
    const row = await t.db.prisma.creditHold.findUniqueOrThrow({ where: { id: h.id } });
    expect(row.capturedAmount).toBe(-entries[0].delta);
    expect(await userNow(id)).toMatchObject({ balance: 100 + entries[0].delta, held: 0 });

    // The same capture sent 20 times at once: one entry; the others get it back as a retry.
    const h2 = await openHold(id, 5);
    const same = await Promise.all(Array.from({ length: 20 }, () => capture(h2.id, 5)));
    expect(same.map((r) => r.status).filter((s) => s === 201)).toHaveLength(1);
    expect(same.map((r) => r.status).filter((s) => s === 200)).toHaveLength(19);
    const ids = new Set(
      await Promise.all(same.map(async (r) => (await readJson<HoldBody>(r)).entry!.id)),
    );
    expect(ids.size).toBe(1);
    expect(
      await t.db.prisma.ledgerEntry.count({ where: { idempotencyKey: `hold_capture:${h2.id}` } }),
    ).toBe(1);
  });

  it("bad input: each field named; unknown holds 404; the scope is holds:write", async () => {
    const { id } = await makeUser({ balance: 100 });
    const cases: [Record<string, unknown>, string][] = [
      [{ amount: 0, idempotencyKey: "k", expiresInSeconds: 60, description: "d" }, "amount"],
      [{ amount: 1.5, idempotencyKey: "k", expiresInSeconds: 60, description: "d" }, "amount"],
      [
        { amount: 1, idempotencyKey: "k", expiresInSeconds: 3601, description: "d" },
        "expiresInSeconds",
      ],
      [
        { amount: 1, idempotencyKey: "k", expiresInSeconds: 0, description: "d" },
        "expiresInSeconds",
      ],
      [
        { amount: 1, idempotencyKey: "k", expiresInSeconds: 1.5, description: "d" },
        "expiresInSeconds",
      ],
      [{ amount: 1, expiresInSeconds: 60, description: "d" }, "idempotencyKey"],
      [{ amount: 1, idempotencyKey: "k", expiresInSeconds: 60 }, "description"],
    ];
    for (const [body, field] of cases) {
      const res = await post(`/api/v1/users/${id}/holds`, body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect((await readJson<ErrorBody>(res)).error.field).toBe(field);
    }
    const h = await openHold(id, 10);
    const zero = await capture(h.id, 0);
    expect(zero.status).toBe(422);
    expect((await readJson<ErrorBody>(zero)).error.field).toBe("amount");
    const unknown = await capture("hold_000000000000000000000000", 1);
    expect(unknown.status).toBe(404);
    const malformed = await capture("nope", 1);
    expect(malformed.status).toBe(400);
    expect((await readJson<ErrorBody>(malformed)).error.field).toBe("holdId");
    expect((await hold("no-such-user", 1)).status).toBe(404);

    const debitsOnly = (await makeApiKey("no-holds", { scopes: ["debits:write"] })).key;
    const refused = await post(
      `/api/v1/users/${id}/holds`,
      { amount: 1, idempotencyKey: "x", expiresInSeconds: 60, description: "d" },
      debitsOnly,
    );
    expect(refused.status).toBe(403);
    expect((await post(`/api/v1/holds/${h.id}/release`, undefined, debitsOnly)).status).toBe(403);
  });
});

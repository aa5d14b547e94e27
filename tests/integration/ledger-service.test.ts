import { describe, expect, it } from "vitest";
import { Prisma } from "../../app/generated/prisma/client";
import { getDb } from "../../app/services/infra/db.server";
import {
  IdempotencyConflictError,
  InsufficientCreditsError,
  NotFoundError,
} from "../../app/services/errors.server";
import { postLedgerEntry, postLedgerEntryInTx } from "../../app/services/ledger.server";
import { verifyLedger } from "../../app/services/ledger-verify.server";
import { bumpRollup, readDailyRollups } from "../../app/services/rollups.server";
import { testDbKind, useTestDatabase } from "../support/test-database";

const t = useTestDatabase();

async function createUser() {
  const id = `u_${Math.random().toString(36).slice(2)}`;
  await t.db.prisma.user.create({
    data: { id, email: `${id}@example.com`, emailNormalized: `${id}@example.com` },
  });
  return id;
}

const key = () => `k_${Math.random().toString(36).slice(2)}`;

/** The day's row as the overview sees it (its slots summed). */
async function rollup(day: string, currency: string) {
  const rows = await readDailyRollups(t.db.prisma, day);
  return rows.find((r) => r.day === day && r.currency === currency) ?? null;
}

describe("ledger service", () => {
  it("returns the entry exactly as stored, with the balance cache and the credits rollup", async () => {
    const userId = await createUser();
    const first = await postLedgerEntry({
      userId,
      delta: 70,
      kind: "grant",
      idempotencyKey: key(),
    });
    const at = new Date("2031-05-06T07:08:09.123Z");
    const posted = await postLedgerEntry({
      userId,
      delta: -20,
      kind: "reversal",
      idempotencyKey: key(),
      reason: "wrong grant",
      reversesId: first.entry.id,
      metadata: { note: "ünïcode", n: 3, nested: { ok: true } },
      at,
    });
    expect(posted.created).toBe(true);
    expect(posted.balance).toBe(50);
    const stored = await t.db.prisma.ledgerEntry.findUniqueOrThrow({
      where: { id: posted.entry.id },
    });
    expect(posted.entry).toEqual(stored);
    expect(typeof posted.entry.id).toBe("bigint");
    expect(posted.entry).toMatchObject({ seq: 2, balanceAfter: 50, reversesId: first.entry.id });
    expect(posted.entry.createdAt.toISOString()).toBe(at.toISOString());
    const user = await t.db.prisma.user.findUniqueOrThrow({ where: { id: userId } });
    expect([user.balance, user.lastSeq]).toEqual([50, 2]);

    const usageAt = new Date("2031-05-07T10:00:00Z");
    await postLedgerEntry({
      userId,
      delta: 30,
      kind: "purchase",
      idempotencyKey: key(),
      at: usageAt,
    });
    await postLedgerEntry({ userId, delta: -5, kind: "usage", idempotencyKey: key(), at: usageAt });
    expect(await rollup("2031-05-07", "-")).toMatchObject({
      creditsIssued: 30,
      creditsConsumed: 5,
    });
    expect((await verifyLedger()).ok).toBe(true);
  });

  it("replays an exact retry, and refuses a reused key, an overdraft and an unknown user", async () => {
    const userId = await createUser();
    const k = key();
    const input = { userId, delta: 40, kind: "manual_credit" as const, idempotencyKey: k };
    const a = await postLedgerEntry({ ...input, metadata: { why: "first" } });
    const b = await postLedgerEntry({ ...input, metadata: { why: "first" } });
    expect(b.created).toBe(false);
    expect(b.entry).toEqual(a.entry);
    expect(b.balance).toBe(40);
    await expect(postLedgerEntry({ ...input, delta: 41 })).rejects.toBeInstanceOf(
      IdempotencyConflictError,
    );
    await expect(
      postLedgerEntry({ userId, delta: -41, kind: "usage", idempotencyKey: key() }),
    ).rejects.toBeInstanceOf(InsufficientCreditsError);
    await expect(
      postLedgerEntry({ userId: "nobody", delta: 1, kind: "grant", idempotencyKey: key() }),
    ).rejects.toBeInstanceOf(NotFoundError);
    const user = await t.db.prisma.user.findUniqueOrThrow({ where: { id: userId } });
    expect([user.balance, user.lastSeq]).toEqual([40, 1]);
  });

  it("writes the caller's extra rows and rollups in the entry's statement, and nothing when they fail", async () => {
    const userId = await createUser();
    const at = new Date("2031-06-01T12:00:00Z");
    const label = key();
    const posted = await getDb().$transaction((tx) =>
      postLedgerEntryInTx(
        tx,
        { userId, delta: 25, kind: "grant", idempotencyKey: key(), at },
        {
          with: Prisma.sql`extra AS (
            INSERT INTO audit_logs (actor_type, actor_label, action, target_type, target_id)
            VALUES ('system', ${label}, 'test.extra', 'user', ${userId}))`,
          // Same row as the ledger's credits bump: summed, not updated twice.
          rollups: [
            { at, currency: "-", delta: { creditsIssued: 1 } },
            { at, currency: "eur", delta: { revenue: 900, purchases: 1 } },
          ],
        },
      ),
    );
    expect(posted.created).toBe(true);
    expect(await rollup("2031-06-01", "-")).toMatchObject({ creditsIssued: 26 });
    expect(await rollup("2031-06-01", "eur")).toMatchObject({ revenue: 900, purchases: 1 });
    expect(await t.db.prisma.auditLog.count({ where: { actorLabel: label } })).toBe(1);

    // A failing extra write (a user id that already exists) takes the entry down with it.
    await expect(
      getDb().$transaction((tx) =>
        postLedgerEntryInTx(
          tx,
          { userId, delta: 5, kind: "grant", idempotencyKey: key(), at },
          {
            with: Prisma.sql`extra AS (
              INSERT INTO users (id, email, email_normalized, updated_at)
              VALUES (${userId}, 'x@example.com', 'x@example.com', now()))`,
          },
        ),
      ),
    ).rejects.toThrow();
    const user = await t.db.prisma.user.findUniqueOrThrow({ where: { id: userId } });
    expect([user.balance, user.lastSeq]).toEqual([25, 1]);
    expect(await rollup("2031-06-01", "-")).toMatchObject({ creditsIssued: 26 });
    // The extra credit above has no entry of its own: take it back, or ledger verify (which
    // reconciles the credits rollup with the ledger) rightly flags the day in later tests.
    await getDb().$transaction((tx) => bumpRollup(tx, at, "-", { creditsIssued: -1 }));
  });

  it.runIf(testDbKind() === "postgres")(
    "under concurrency: one entry per key, gapless seq, balance = sum",
    async () => {
      const userId = await createUser();
      const other = await createUser();
      const k = key();
      const same = await Promise.all(
        Array.from({ length: 20 }, () =>
          postLedgerEntry({ userId, delta: 10, kind: "grant", idempotencyKey: k }),
        ),
      );
      expect(same.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(same.map((r) => r.entry.id)).size).toBe(1);

      const distinct = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          postLedgerEntry({ userId, delta: i + 1, kind: "grant", idempotencyKey: key() }),
        ),
      );
      expect(distinct.every((r) => r.created)).toBe(true);
      expect(distinct.map((r) => r.entry.seq).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 20 }, (_, i) => i + 2),
      );

      // One key raced by two users: one wins, the other is told the key was used differently.
      const k2 = key();
      const raced = await Promise.allSettled(
        [userId, other, userId, other].map((u) =>
          postLedgerEntry({ userId: u, delta: 3, kind: "grant", idempotencyKey: k2 }),
        ),
      );
      const won = raced.filter((r) => r.status === "fulfilled" && r.value.created);
      expect(won).toHaveLength(1);
      for (const r of raced) {
        if (r.status === "rejected") expect(r.reason).toBeInstanceOf(IdempotencyConflictError);
      }

      const user = await t.db.prisma.user.findUniqueOrThrow({ where: { id: userId } });
      const sum = await t.db.prisma.ledgerEntry.aggregate({
        where: { userId },
        _sum: { delta: true },
      });
      expect(user.balance).toBe(sum._sum.delta);
      expect((await verifyLedger()).ok).toBe(true);
    },
  );
});

import { describe, expect, it } from "vitest";
import { useTestDatabase } from "../support/test-database";

const t = useTestDatabase();

async function seedLedgerRow() {
  const prisma = t.db.prisma;
  const id = `u_${Math.random().toString(36).slice(2)}`;
  await prisma.user.create({
    data: { id, email: `${id}@example.com`, emailNormalized: `${id}@example.com` },
  });
  return prisma.ledgerEntry.create({
    data: {
      userId: id,
      seq: 1,
      delta: 10,
      balanceAfter: 10,
      kind: "grant",
      idempotencyKey: `k_${id}`,
      payloadHash: "x",
    },
  });
}

describe("append-only tables", () => {
  it("rejects UPDATE of a ledger entry at the database level", async () => {
    const entry = await seedLedgerRow();
    await expect(
      t.db.prisma.$executeRawUnsafe(
        `UPDATE ledger_entries SET delta = 1000 WHERE id = ${entry.id}`,
      ),
    ).rejects.toThrow(/append-only/);
    const after = await t.db.prisma.ledgerEntry.findUniqueOrThrow({ where: { id: entry.id } });
    expect(after.delta).toBe(10);
  });

  it("rejects DELETE and TRUNCATE of ledger entries", async () => {
    const entry = await seedLedgerRow();
    await expect(t.db.prisma.ledgerEntry.delete({ where: { id: entry.id } })).rejects.toThrow(
      /append-only/,
    );
    await expect(t.db.prisma.$executeRawUnsafe("TRUNCATE ledger_entries CASCADE")).rejects.toThrow(
      /append-only/,
    );
    expect(await t.db.prisma.ledgerEntry.count({ where: { id: entry.id } })).toBe(1);
  });

  it("rejects UPDATE and DELETE of audit records", async () => {
    const row = await t.db.prisma.auditLog.create({
      data: { actorType: "system", action: "test.audit", reason: "original" },
    });
    await expect(
      t.db.prisma.auditLog.update({ where: { id: row.id }, data: { reason: "rewritten" } }),
    ).rejects.toThrow(/append-only/);
    await expect(t.db.prisma.auditLog.deleteMany({})).rejects.toThrow(/append-only/);
    const after = await t.db.prisma.auditLog.findUniqueOrThrow({ where: { id: row.id } });
    expect(after.reason).toBe("original");
  });
});

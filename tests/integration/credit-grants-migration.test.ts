import { cpSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { applyMigrations, defaultPrismaDir } from "../../app/services/infra/migrations.server";
import { verifyGrants } from "../../app/services/grants/verify.server";
import { createEmptyDatabase, testDbKind } from "../support/test-database";

const GRANTS_MIGRATION = "20261202094751_credit_grants";
const tmpDirs: string[] = [];
afterAll(() => tmpDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** prisma/ as the version before grants had it: every migration older than the grants one. */
function prismaDirBeforeGrants(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "creditdesk-pregrants-"));
  tmpDirs.push(dir);
  cpSync(defaultPrismaDir, dir, {
    recursive: true,
    filter: (src) => {
      const name = path.basename(src);
      return !(/^\d{14}_/.test(name) && name >= GRANTS_MIGRATION);
    },
  });
  return dir;
}

describe(`the grants migration on a database made by the previous version (${testDbKind()})`, () => {
  it("rebuilds grants from the ledger: balances unchanged, every identity holds", async () => {
    const db = await createEmptyDatabase();
    try {
      await applyMigrations(db.adapterFactory, prismaDirBeforeGrants());
      const q = (sql: string) => db.prisma.$executeRawUnsafe(sql);
      await q(`INSERT INTO users (id, email, email_normalized, updated_at) VALUES
        ('a', 'a@x', 'a@x', now()), ('b', 'b@x', 'b@x', now()), ('c', 'c@x', 'c@x', now())`);
      const purchase = (
        id: string,
        user: string,
        credits: number,
        amount: number,
        status = "paid",
      ) =>
        q(`INSERT INTO purchases (id, checkout_session_id, user_id, quantity, credits, amount_total, currency,
             status, credited_via, user_resolved_by, lines, stripe_created_at, updated_at)
           VALUES ('${id}', 'cs_${id}', '${user}', 1, ${credits}, ${amount}, 'usd', '${status}', 'webhook',
             'client_reference_id', '[]', now(), now())`);
      await purchase("p1", "a", 100, 999);
      await purchase("p2", "a", 500, 4999);
      await purchase("p3", "b", 100, 999, "dispute_lost");
      let id = 0;
      const entries: [string, number, string, string | null, number | null][] = [
        // user, delta, kind, purchase, reverses (index into this list, 1-based id)
        ["a", 100, "purchase", "p1", null],
        ["a", 20, "manual_credit", null, null],
        ["a", -50, "usage", null, null],
        ["a", 500, "purchase", "p2", null],
        ["a", -100, "refund_clawback", "p1", null],
        ["a", -200, "usage", null, null],
        ["b", 100, "purchase", "p3", null],
        ["b", -60, "usage", null, null],
        ["b", -100, "dispute_hold", "p3", null],
        ["b", 30, "grant", null, null],
        ["c", 10, "grant", null, null],
        ["c", -10, "usage", null, null],
        ["c", 5, "manual_credit", null, null],
      ];
      const seq: Record<string, number> = {};
      const bal: Record<string, number> = {};
      for (const [user, delta, kind, purchaseId, reverses] of entries) {
        id += 1;
        seq[user] = (seq[user] ?? 0) + 1;
        bal[user] = (bal[user] ?? 0) + delta;
        await q(`INSERT INTO ledger_entries (id, user_id, seq, delta, balance_after, kind, idempotency_key,
            payload_hash, purchase_id, reverses_id, created_at)
          VALUES (${id}, '${user}', ${seq[user]}, ${delta}, ${bal[user]}, '${kind}', 'k${id}', 'h',
            ${purchaseId ? `'${purchaseId}'` : "NULL"}, ${reverses ?? "NULL"}, now() - interval '${100 - id} minutes')`);
      }
      for (const u of Object.keys(bal))
        await q(`UPDATE users SET balance = ${bal[u]}, last_seq = ${seq[u]} WHERE id = '${u}'`);

      const applied = await applyMigrations(db.adapterFactory);
      expect(applied).toContain(GRANTS_MIGRATION);

      const users = await db.prisma.user.findMany({ orderBy: { id: "asc" } });
      expect(users.map((u) => [u.id, u.balance, u.creditDebt])).toEqual([
        ["a", 270, 0],
        ["b", -30, 30],
        ["c", 5, 0],
      ]);
      const grants = await db.prisma.creditGrant.findMany({ orderBy: { id: "asc" } });
      expect(
        grants.map((g) => [g.userId, g.source, g.granted, g.remaining, g.amountPaid, g.status]),
      ).toEqual([
        // a: the first usage spent p1's grant (oldest); the clawback of p1 took its last 50, then
        // 50 in burn order (the manual 20, 30 of p2); the last usage 200 more of p2.
        ["a", "purchase", 100, 0, 999, "active"],
        ["a", "manual", 20, 0, 0, "active"],
        ["a", "purchase", 500, 270, 4999, "active"],
        // b: the dispute hold took p3's last 40 and 60 beyond every grant (debt), which the
        // next 30 credits half repaid; the lost dispute voided p3's grant.
        ["b", "purchase", 100, 0, 999, "voided"],
        ["b", "opening", 30, 0, 0, "active"],
        ["c", "opening", 10, 0, 0, "active"],
        ["c", "manual", 5, 5, 0, "active"],
      ]);
      expect(await verifyGrants(db.prisma)).toEqual([]);
    } finally {
      await db.close();
    }
  });
});

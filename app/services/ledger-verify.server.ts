import { getDb } from "./infra/db.server";
import { getEnv } from "./infra/env.server";
import { CREDITS_ROW } from "./rollups.server";
import { verifyGrants } from "./grants/verify.server";

export interface LedgerViolation {
  check: string;
  userId?: string;
  purchaseId?: string;
  detail: string;
}

/**
 * Prove the ledger's invariants with set-based queries (one pass each, fine on millions of rows):
 * cache = sum of deltas = last balanceAfter; seq gapless from 1; each paid purchase has exactly
 * one purchase entry; clawbacks never exceed the purchase's credits; the overview's daily credit
 * rollups equal the ledger's sums; and the grants underneath (grants/verify.server.ts).
 */
export async function verifyLedger(): Promise<{
  ok: boolean;
  violations: LedgerViolation[];
  usersChecked: number;
}> {
  const db = getDb();
  const violations: LedgerViolation[] = [];

  const balances = await db.$queryRaw<
    {
      id: string;
      balance: number;
      sum: bigint | null;
      last_after: number | null;
      cnt: bigint;
      max_seq: number | null;
      last_seq: number;
    }[]
  >`
    SELECT u.id, u.balance, u.last_seq, s.sum, s.cnt, s.max_seq,
      (SELECT balance_after FROM ledger_entries le WHERE le.user_id = u.id ORDER BY seq DESC LIMIT 1) AS last_after
    FROM users u
    LEFT JOIN (SELECT user_id, SUM(delta) AS sum, COUNT(*) AS cnt, MAX(seq) AS max_seq
               FROM ledger_entries GROUP BY user_id) s ON s.user_id = u.id
    WHERE u.balance <> COALESCE(s.sum, 0)
       OR COALESCE(s.max_seq, 0) <> COALESCE(s.cnt, 0)
       OR u.last_seq <> COALESCE(s.max_seq, 0)
       OR (s.cnt > 0 AND u.balance <> (SELECT balance_after FROM ledger_entries le WHERE le.user_id = u.id ORDER BY seq DESC LIMIT 1))`;
  for (const r of balances) {
    const sum = Number(r.sum ?? 0);
    const cnt = Number(r.cnt ?? 0);
    if (r.balance !== sum) {
      violations.push({
        check: "balance_cache",
        userId: r.id,
        detail: `balance cache ${r.balance} ≠ sum of deltas ${sum}`,
      });
    }
    if (r.last_after !== null && r.balance !== r.last_after) {
      violations.push({
        check: "balance_after",
        userId: r.id,
        detail: `balance cache ${r.balance} ≠ last balanceAfter ${r.last_after}`,
      });
    }
    if ((r.max_seq ?? 0) !== cnt) {
      violations.push({
        check: "seq_gapless",
        userId: r.id,
        detail: `${cnt} entries but highest seq is ${r.max_seq ?? 0}`,
      });
    }
    if (r.last_seq !== (r.max_seq ?? 0)) {
      violations.push({
        check: "seq_cache",
        userId: r.id,
        detail: `lastSeq ${r.last_seq} ≠ highest seq ${r.max_seq ?? 0}`,
      });
    }
  }

  // Running balances: each entry's balanceAfter = previous balanceAfter + delta.
  const chain = await db.$queryRaw<{ user_id: string; seq: number; detail: string }[]>`
    SELECT user_id, seq, 'balanceAfter ' || balance_after || ' ≠ ' || COALESCE(prev, 0) || ' + ' || delta AS detail
    FROM (SELECT user_id, seq, delta, balance_after,
                 LAG(balance_after) OVER (PARTITION BY user_id ORDER BY seq) AS prev
          FROM ledger_entries) x
    WHERE balance_after <> COALESCE(prev, 0) + delta
    LIMIT 1000`;
  for (const r of chain)
    violations.push({
      check: "running_balance",
      userId: r.user_id,
      detail: `seq ${r.seq}: ${r.detail}`,
    });

  const purchases = await db.$queryRaw<{ id: string; user_id: string; n: bigint }[]>`
    SELECT p.id, p.user_id, COUNT(le.id) AS n
    FROM purchases p
    LEFT JOIN ledger_entries le ON le.purchase_id = p.id AND le.kind = 'purchase'
    GROUP BY p.id, p.user_id
    HAVING COUNT(le.id) <> 1
    LIMIT 1000`;
  for (const r of purchases) {
    violations.push({
      check: "purchase_entry",
      purchaseId: r.id,
      userId: r.user_id,
      detail: `paid purchase has ${Number(r.n)} purchase entries (expected 1)`,
    });
  }

  const clawbacks = await db.$queryRaw<
    { id: string; user_id: string; credits: number; clawed: bigint }[]
  >`
    SELECT p.id, p.user_id, p.credits, -SUM(le.delta) AS clawed
    FROM purchases p JOIN ledger_entries le ON le.purchase_id = p.id AND le.kind = 'refund_clawback'
    GROUP BY p.id, p.user_id, p.credits
    HAVING -SUM(le.delta) > p.credits
    LIMIT 1000`;
  for (const r of clawbacks) {
    violations.push({
      check: "clawback_limit",
      purchaseId: r.id,
      userId: r.user_id,
      detail: `clawed back ${Number(r.clawed)} credits of a ${r.credits}-credit purchase`,
    });
  }

  // The overview's credit figures (daily_rollups' credits row, its slots summed) against the
  // ledger, day by day. They are written in the ledger entry's own statement, so they never lag.
  const rollups = await db.$queryRaw<
    { day: string; l_issued: bigint; l_consumed: bigint; r_issued: bigint; r_consumed: bigint }[]
  >`
    WITH l AS (
      SELECT (created_at AT TIME ZONE ${getEnv().REPORT_TZ})::date AS day,
        COALESCE(SUM(delta) FILTER (WHERE kind IN ('purchase', 'grant', 'manual_credit')), 0) AS issued,
        COALESCE(-SUM(delta) FILTER (WHERE kind = 'usage'), 0) AS consumed
      FROM ledger_entries GROUP BY 1),
    r AS (
      SELECT day, SUM(credits_issued) AS issued, SUM(credits_consumed) AS consumed
      FROM daily_rollups WHERE currency = ${CREDITS_ROW} GROUP BY day)
    SELECT to_char(COALESCE(l.day, r.day), 'YYYY-MM-DD') AS day,
      COALESCE(l.issued, 0) AS l_issued, COALESCE(l.consumed, 0) AS l_consumed,
      COALESCE(r.issued, 0) AS r_issued, COALESCE(r.consumed, 0) AS r_consumed
    FROM l FULL JOIN r ON r.day = l.day
    WHERE COALESCE(l.issued, 0) <> COALESCE(r.issued, 0) OR COALESCE(l.consumed, 0) <> COALESCE(r.consumed, 0)
    ORDER BY 1 LIMIT 1000`;
  for (const r of rollups) {
    violations.push({
      check: "credits_rollup",
      detail:
        `${r.day}: overview shows ${Number(r.r_issued)} issued / ${Number(r.r_consumed)} consumed, ` +
        `the ledger ${Number(r.l_issued)} / ${Number(r.l_consumed)}`,
    });
  }

  violations.push(...(await verifyGrants(db)));

  const usersChecked = await db.user.count();
  return { ok: violations.length === 0, violations, usersChecked };
}

import type { Tx } from "../infra/db.server";
import { creditValueByCurrency, liabilityByCurrency } from "./liability.server";

type Db = Pick<Tx, "$queryRaw">;

export interface GrantViolation {
  check: string;
  userId?: string;
  detail: string;
}

/**
 * The grant identities `ledger verify` proves (docs/credits.md "Grants"), one set-based query each:
 * - balance cache = Σ remaining of the user's grants − credit_debt;
 * - credit_debt = −Σ the user's allocations to no grant, and never below zero;
 * - every entry's allocations sum to its delta;
 * - a grant's remaining = Σ its allocations (the first being +granted by the entry that created
 *   it, so remaining = granted + Σ the later ones), and 0 ≤ remaining ≤ granted;
 * - no allocation to a grant after its expiry other than the expiry entry itself; an expired or
 *   voided grant has nothing left;
 * - per currency, value granted = consumed + expired + clawed back + remaining to the minor unit,
 *   and the remaining value from the allocations = the liability from the grants' caches.
 */
export async function verifyGrants(db: Db): Promise<GrantViolation[]> {
  const out: GrantViolation[] = [];

  const users = await db.$queryRaw<
    { id: string; balance: number; credit_debt: number; rem: bigint; unbacked: bigint }[]
  >`
    SELECT u.id, u.balance, u.credit_debt, COALESCE(g.rem, 0) AS rem, COALESCE(d.unbacked, 0) AS unbacked
    FROM users u
    LEFT JOIN (SELECT user_id, SUM(remaining) AS rem FROM credit_grants GROUP BY user_id) g ON g.user_id = u.id
    LEFT JOIN (SELECT le.user_id, SUM(a.delta) AS unbacked FROM credit_allocations a
               JOIN ledger_entries le ON le.id = a.entry_id WHERE a.grant_id IS NULL GROUP BY le.user_id) d
      ON d.user_id = u.id
    WHERE u.balance <> COALESCE(g.rem, 0) - u.credit_debt
       OR u.credit_debt <> -COALESCE(d.unbacked, 0) OR u.credit_debt < 0
    LIMIT 1000`;
  for (const r of users) {
    if (r.balance !== Number(r.rem) - r.credit_debt)
      out.push({
        check: "grants_balance",
        userId: r.id,
        detail: `balance ${r.balance} ≠ Σ grant remaining ${Number(r.rem)} − debt ${r.credit_debt}`,
      });
    if (r.credit_debt !== -Number(r.unbacked) || r.credit_debt < 0)
      out.push({
        check: "grants_debt",
        userId: r.id,
        detail: `credit_debt ${r.credit_debt} ≠ credits allocated to no grant ${-Number(r.unbacked)}`,
      });
  }

  const entries = await db.$queryRaw<{ user_id: string; seq: number; delta: number; s: bigint }[]>`
    SELECT le.user_id, le.seq, le.delta, COALESCE(a.s, 0) AS s
    FROM ledger_entries le
    LEFT JOIN (SELECT entry_id, SUM(delta) AS s FROM credit_allocations GROUP BY entry_id) a ON a.entry_id = le.id
    WHERE COALESCE(a.s, 0) <> le.delta
    LIMIT 1000`;
  for (const r of entries)
    out.push({
      check: "allocations_sum",
      userId: r.user_id,
      detail: `seq ${r.seq}: allocations sum to ${Number(r.s)}, the entry moves ${r.delta}`,
    });

  const grants = await db.$queryRaw<
    {
      id: bigint;
      user_id: string;
      granted: number;
      remaining: number;
      status: string;
      s: bigint;
      first: number | null;
    }[]
  >`
    SELECT g.id, g.user_id, g.granted, g.remaining, g.status::text AS status, COALESCE(a.s, 0) AS s,
      (SELECT SUM(delta) FILTER (WHERE delta > 0) FROM credit_allocations f
        WHERE f.grant_id = g.id AND f.entry_id = g.ledger_entry_id) AS first
    FROM credit_grants g
    LEFT JOIN (SELECT grant_id, SUM(delta) AS s FROM credit_allocations WHERE grant_id IS NOT NULL GROUP BY grant_id) a
      ON a.grant_id = g.id
    WHERE g.remaining <> COALESCE(a.s, 0) OR g.remaining < 0 OR g.remaining > g.granted
       OR (g.status IN ('expired', 'voided') AND g.remaining <> 0)
       OR COALESCE((SELECT SUM(delta) FILTER (WHERE delta > 0) FROM credit_allocations f
                    WHERE f.grant_id = g.id AND f.entry_id = g.ledger_entry_id), 0) <> g.granted
    LIMIT 1000`;
  for (const r of grants) {
    const s = Number(r.s);
    const detail =
      r.remaining !== s
        ? `grant ${r.id}: remaining ${r.remaining} ≠ Σ allocations ${s}`
        : r.remaining < 0 || r.remaining > r.granted
          ? `grant ${r.id}: remaining ${r.remaining} outside 0…${r.granted}`
          : (r.first ?? 0) !== r.granted
            ? `grant ${r.id}: its entry allocated ${Number(r.first ?? 0)}, granted says ${r.granted}`
            : `grant ${r.id} is ${r.status} with ${r.remaining} credits left`;
    out.push({ check: "grant_remaining", userId: r.user_id, detail });
  }

  const late = await db.$queryRaw<{ user_id: string; id: bigint; seq: number; kind: string }[]>`
    SELECT g.user_id, g.id, le.seq, le.kind::text AS kind
    FROM credit_allocations a
    JOIN credit_grants g ON g.id = a.grant_id
    JOIN ledger_entries le ON le.id = a.entry_id
    WHERE g.expires_at IS NOT NULL AND le.created_at > g.expires_at AND le.kind <> 'expiry'
    LIMIT 1000`;
  for (const r of late)
    out.push({
      check: "allocation_after_expiry",
      userId: r.user_id,
      detail: `seq ${r.seq} (${r.kind}) moved credits of grant ${r.id} after its expiry`,
    });
  const liability = new Map((await liabilityByCurrency(db)).map((l) => [l.currency, l.value]));
  for (const v of await creditValueByCurrency({ db })) {
    const sum = v.consumed + v.expired + v.clawedBack + v.remaining;
    if (sum !== v.granted)
      out.push({
        check: "value_conserved",
        detail: `${v.currency}: granted ${v.granted} ≠ consumed ${v.consumed} + expired ${v.expired} + clawed back ${v.clawedBack} + remaining ${v.remaining}`,
      });
    if ((liability.get(v.currency) ?? 0) !== v.remaining)
      out.push({
        check: "liability",
        detail: `${v.currency}: liability from grants ${liability.get(v.currency) ?? 0} ≠ remaining value from allocations ${v.remaining}`,
      });
  }
  return out;
}

import { Prisma } from "~/generated/prisma/client";
import type { GrantSource } from "~/generated/prisma/enums";

/**
 * Allocation: which grants a ledger entry's credits come from or go to. The rules live in one
 * SQL function, `credit_allocate` (migration 20261202094751_credit_grants), that the ledger's own
 * statement calls once per inserted entry, after it has locked the user's row — so a debit stays
 * ONE round trip however many grants the user has (the function walks `credit_grants_burn_idx`
 * and stops at the first grant that covers the rest), and the migration's rebuild of the existing
 * ledger runs the very same code.
 *
 * A debit (delta < 0) takes, in order:
 *   1. the grant the entry is about, if it can still be spent: a refund clawback or dispute hold
 *      takes from its purchase's grant, a reversal from the grant its reversed entry created, an
 *      expiry from the expiring grant (only from it), or `grant.grantId` when given;
 *   2. active grants in burn order: priority (lower first), soonest expires_at (none last), oldest
 *      (lowest id) — held grants, and grants past their expires_at, are never spent;
 *   3. the rest, for the kinds that may take a balance below zero (clawbacks, dispute holds): an
 *      allocation to no grant, the user's debt (`users.credit_debt`).
 * A credit (delta > 0) first gives back to the grants its reversed entry took from (a dispute
 * release, a reversal) while they can still be spent; whatever is left becomes a NEW grant, which
 * first repays any debt. A dispute hold marks its grant `held`; its release marks it `active`.
 */

/** What a credit's grant is (defaults: from the entry's kind) or which grant a debit takes first. */
export interface GrantSpec {
  source?: GrantSource;
  /** What was paid for the credits, in minor units of `currency` (purchases, allowances). */
  amountPaid?: number;
  currency?: string | null;
  expiresAt?: Date | null;
  /** Lower is spent first; default DEFAULT_GRANT_PRIORITY. */
  priority?: number;
  invoiceId?: string | null;
  subscriptionId?: string | null;
  /** A debit: the grant to take from first (an expiry: the only one). */
  grantId?: bigint | null;
}

export const DEFAULT_GRANT_PRIORITY = 100;

/**
 * The `credit_allocate(...)` call for the entry row `e` (a ledger_entries row: id, user_id,
 * delta, kind, created_at, purchase_id, reverses_id, staff_id) of the user's locked row `u`.
 */
export function allocateSql(
  spec: GrantSpec | undefined,
  debt: Prisma.Sql = Prisma.sql`u.credit_debt`,
): Prisma.Sql {
  const s = spec ?? {};
  return Prisma.sql`credit_allocate(e.id, e.user_id, e.delta, e.kind::text, e.created_at, ${debt},
    e.purchase_id, e.reverses_id, e.staff_id, ${s.grantId ?? null}::bigint,
    ${s.source ?? null}::text, ${s.amountPaid ?? null}::int, ${s.currency ?? null}::text,
    ${s.expiresAt ?? null}::timestamptz, ${s.priority ?? null}::int, ${s.invoiceId ?? null}::text,
    ${s.subscriptionId ?? null}::text)`;
}

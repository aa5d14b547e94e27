import { Prisma } from "~/generated/prisma/client";
import { getDb, type Tx } from "../infra/db.server";

/**
 * What the credits are worth, per currency (docs/credits.md "Value and liability").
 *
 * A grant's value is what was paid for it (`amount_paid` minor units for `granted` credits). Its
 * credits leave in allocation order, and the value that leaves with them is apportioned exactly:
 * after `u` of its credits have left, V(u) = floor(u × amount_paid / granted) minor units have
 * left with them — so each credit carries the floor or the ceiling of the unit value, the
 * remainders go to the credits spent last (largest-remainder apportionment of the amount paid over
 * the grant's credits, ties broken by spending order), nothing is lost or invented, and no float is
 * ever used. Each allocation moves V(used after) − V(used before); a release that gives credits
 * back moves value back the same way.
 *
 * Categories of what left: `consumed` (usage, manual debits), `expired` (expiry entries: breakage),
 * `clawedBack` (refund clawbacks, dispute holds net of releases, reversals, debt repaid from a new
 * grant). `remaining` = Σ over grants of amount_paid − V(granted − remaining): the **liability**
 * (deferred revenue) of the unused credits of active and held grants — expired and voided grants
 * have none left. Per currency, to the minor unit:
 *
 *     granted = consumed + expired + clawedBack + remaining
 *
 * Free grants (manual, promotion, opening; amount_paid 0) carry no value and are left out.
 */
export interface CurrencyValue {
  currency: string;
  /** Σ amount_paid of the grants (minor units). */
  granted: number;
  consumed: number;
  expired: number;
  clawedBack: number;
  /** The liability: value of the credits still unused, from the grants' allocations. */
  remaining: number;
  /** Unused credits of paid grants in this currency. */
  creditsRemaining: number;
}

type Reader = Pick<Tx, "$queryRaw">;

interface Row {
  currency: string;
  granted: bigint | string | number;
  consumed: bigint | string | number;
  expired: bigint | string | number;
  clawed_back: bigint | string | number;
  remaining: bigint | string | number;
  credits_remaining: bigint | string | number;
}

/**
 * Value granted, consumed, expired, clawed back and remaining per currency, from the allocations —
 * as of now, or as of `asOf` (entries created at or before it: a month's close). One scan of the
 * allocations of paid grants.
 */
export async function creditValueByCurrency(
  opts: { asOf?: Date; db?: Reader } = {},
): Promise<CurrencyValue[]> {
  const db = opts.db ?? getDb();
  const cut = opts.asOf ? Prisma.sql`AND le.created_at <= ${opts.asOf}` : Prisma.empty;
  const rows = await db.$queryRaw<Row[]>`
    WITH a AS (
      SELECT g.id, g.currency, g.amount_paid::bigint AS paid, g.granted::bigint AS granted,
        al.delta::bigint AS delta, le.kind::text AS kind,
        (al.entry_id = g.ledger_entry_id AND al.delta > 0) AS creating,
        SUM(al.delta) OVER (PARTITION BY g.id ORDER BY al.id) AS rem_after,
        ROW_NUMBER() OVER (PARTITION BY g.id ORDER BY al.id DESC) AS from_last
      FROM credit_grants g
      JOIN credit_allocations al ON al.grant_id = g.id
      JOIN ledger_entries le ON le.id = al.entry_id
      WHERE g.amount_paid > 0 AND g.currency IS NOT NULL ${cut}),
    v AS (
      SELECT currency, kind, creating, paid, granted, rem_after, from_last,
        (granted - rem_after) * paid / granted - (granted - (rem_after - delta)) * paid / granted AS moved
      FROM a)
    SELECT currency,
      COALESCE(SUM(-moved) FILTER (WHERE creating), 0) AS granted,
      COALESCE(SUM(moved) FILTER (WHERE NOT creating AND kind IN ('usage', 'manual_debit')), 0) AS consumed,
      COALESCE(SUM(moved) FILTER (WHERE NOT creating AND kind = 'expiry'), 0) AS expired,
      COALESCE(SUM(moved) FILTER (WHERE NOT creating AND kind NOT IN ('usage', 'manual_debit', 'expiry')), 0) AS clawed_back,
      COALESCE(SUM(paid - (granted - rem_after) * paid / granted) FILTER (WHERE from_last = 1), 0) AS remaining,
      COALESCE(SUM(rem_after) FILTER (WHERE from_last = 1), 0) AS credits_remaining
    FROM v GROUP BY currency ORDER BY currency`;
  return rows.map((r) => ({
    currency: r.currency,
    granted: Number(r.granted),
    consumed: Number(r.consumed),
    expired: Number(r.expired),
    clawedBack: Number(r.clawed_back),
    remaining: Number(r.remaining),
    creditsRemaining: Number(r.credits_remaining),
  }));
}

/**
 * The liability now, per currency, from the grants' `remaining` caches alone (an index-free scan
 * of credit_grants, cheap enough for the overview): Σ amount_paid − floor((granted − remaining) ×
 * amount_paid / granted) over active and held paid grants. `ledger verify` checks it equals
 * creditValueByCurrency's `remaining`.
 */
export async function liabilityByCurrency(
  db: Reader = getDb(),
): Promise<{ currency: string; value: number; credits: number }[]> {
  const rows = await db.$queryRaw<
    { currency: string; value: bigint | string; credits: bigint | string }[]
  >`
    SELECT currency,
      SUM(amount_paid::bigint - (granted - remaining)::bigint * amount_paid / granted) AS value,
      SUM(remaining) AS credits
    FROM credit_grants
    WHERE status IN ('active', 'held') AND amount_paid > 0 AND currency IS NOT NULL AND remaining > 0
    GROUP BY currency ORDER BY currency`;
  return rows.map((r) => ({
    currency: r.currency,
    value: Number(r.value),
    credits: Number(r.credits),
  }));
}

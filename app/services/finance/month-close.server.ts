import { z } from "zod";
import { monthRange } from "~/shared/report-time";
import { getDb } from "../infra/db.server";
import { reportZone } from "../infra/env.server";

/**
 * The month close's queries (issue 21). A month is `[start, end)` in REPORT_TZ. Purchases count in
 * the month they were paid (paid_at), refunds in the month of their own `created`, disputes in the
 * months they were opened and closed; the credits roll-forward reads the ledger by each entry's own
 * time. Read by app/presenters/finance-close.server.ts and the month-close CSV.
 */

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

/** `?month=2026-11`; blank means last month (the loader decides). */
export const monthCloseSearchSchema = z.object({
  month: z.preprocess(
    (v) => (typeof v === "string" && v.trim() === "" ? undefined : v),
    z
      .string()
      .trim()
      .regex(MONTH, { error: "Month must be a month such as 2026-11 (YYYY-MM)." })
      .refine((m) => m >= "1970-01" && m <= "9999-11", {
        error: "Month must be between 1970-01 and 9999-11.",
      })
      .optional(),
  ),
  /** "1": also list the month's sessions and refunds from Stripe and compare (read only). */
  compare: z.preprocess(
    (v) => (v === "" ? undefined : v),
    z.literal("1", { error: "Compare is 1 or absent." }).optional(),
  ),
});

export interface SalesRow {
  currency: string;
  /** null on the per-currency rows; the pack's name (or "no pack") on the pack rows. */
  pack: string | null;
  count: number;
  gross: number;
  refunds: number;
  disputesLost: number;
  net: number;
}

export interface RefundRow {
  id: string;
  createdAt: Date;
  purchaseId: string;
  checkoutSessionId: string;
  paidAt: Date;
  userEmail: string;
  amount: number;
  currency: string;
  creditsClawed: number;
}

export interface DisputeRow {
  id: string;
  purchaseId: string;
  checkoutSessionId: string;
  amount: number;
  currency: string;
  reason: string | null;
  status: string;
  openedAt: Date;
  closedAt: Date | null;
  evidenceDueBy: Date | null;
  /** What happened to it in this month: opened, won, lost (a dispute opened and closed in it is both). */
  openedInMonth: boolean;
  closedInMonth: boolean;
}

export interface LateCreditedRow {
  id: string;
  checkoutSessionId: string;
  paidAt: Date;
  creditedAt: Date;
  creditedVia: string;
  amountTotal: number;
  currency: string;
  credits: number;
}

export interface RollForward {
  opening: number;
  grantedPurchases: number;
  grantedSubscriptions: number;
  grantedManual: number;
  consumed: number;
  expired: number;
  clawedBack: number;
  /** Dispute holds and releases, manual debits, reversals: signed. */
  adjustments: number;
  closing: number;
  /** Σ of every user's balance after their last entry before the month's end (balance_after). */
  balancesAtEnd: number;
  entries: number;
}

export interface MonthClose {
  month: string;
  zone: string;
  start: Date;
  end: Date;
  currencies: SalesRow[];
  packs: SalesRow[];
  refunds: RefundRow[];
  disputes: DisputeRow[];
  lateCredited: LateCreditedRow[];
  lateCreditedTotals: { currency: string; count: number; amount: number }[];
  rollForward: RollForward;
  /** Nothing was paid, refunded, disputed or written to the ledger in the month. */
  empty: boolean;
}

const n = (v: unknown) => Number(v ?? 0);

export async function monthClose(month: string, zone = reportZone()): Promise<MonthClose> {
  const { start, end } = monthRange(month, zone);
  const db = getDb();
  const [sales, refunds, disputes, late, roll, balances] = await Promise.all([
    // Paid in the month, refunded in the month, lost in the month: per pack × currency.
    db.$queryRaw<
      {
        currency: string;
        pack: string | null;
        count: bigint;
        gross: bigint;
        refunds: bigint;
        lost: bigint;
      }[]
    >`
      WITH paid AS (
        SELECT p.currency, p.pack_id, COUNT(*) AS count, SUM(p.amount_total) AS gross
        FROM purchases p WHERE p.paid_at >= ${start} AND p.paid_at < ${end}
        GROUP BY 1, 2),
      refunded AS (
        SELECT r.currency, p.pack_id, SUM(r.amount) AS refunds
        FROM refunds r JOIN purchases p ON p.id = r.purchase_id
        WHERE r.stripe_created >= ${start} AND r.stripe_created < ${end}
        GROUP BY 1, 2),
      lost AS (
        SELECT d.currency, p.pack_id, SUM(d.amount) AS lost
        FROM disputes d JOIN purchases p ON p.id = d.purchase_id
        WHERE d.status = 'lost' AND d.closed_at >= ${start} AND d.closed_at < ${end}
        GROUP BY 1, 2),
      keys AS (
        SELECT currency, pack_id FROM paid UNION SELECT currency, pack_id FROM refunded
        UNION SELECT currency, pack_id FROM lost)
      SELECT k.currency, cp.name AS pack, COALESCE(paid.count, 0) AS count,
        COALESCE(paid.gross, 0) AS gross, COALESCE(refunded.refunds, 0) AS refunds,
        COALESCE(lost.lost, 0) AS lost
      FROM keys k
      LEFT JOIN paid ON paid.currency = k.currency AND paid.pack_id IS NOT DISTINCT FROM k.pack_id
      LEFT JOIN refunded ON refunded.currency = k.currency AND refunded.pack_id IS NOT DISTINCT FROM k.pack_id
      LEFT JOIN lost ON lost.currency = k.currency AND lost.pack_id IS NOT DISTINCT FROM k.pack_id
      LEFT JOIN credit_packs cp ON cp.id = k.pack_id
      ORDER BY k.currency, cp.name NULLS LAST`,
    db.$queryRaw<RefundRow[]>`
      SELECT r.id, r.stripe_created AS "createdAt", r.purchase_id AS "purchaseId",
        p.checkout_session_id AS "checkoutSessionId", p.paid_at AS "paidAt", u.email AS "userEmail",
        r.amount, r.currency, r.credits_clawed AS "creditsClawed"
      FROM refunds r JOIN purchases p ON p.id = r.purchase_id JOIN users u ON u.id = p.user_id
      WHERE r.stripe_created >= ${start} AND r.stripe_created < ${end}
      ORDER BY r.stripe_created, r.id`,
    db.$queryRaw<DisputeRow[]>`
      SELECT d.id, d.purchase_id AS "purchaseId", p.checkout_session_id AS "checkoutSessionId",
        d.amount, d.currency, d.reason, d.status, d.opened_at AS "openedAt", d.closed_at AS "closedAt",
        d.evidence_due_by AS "evidenceDueBy",
        (d.opened_at >= ${start} AND d.opened_at < ${end}) AS "openedInMonth",
        (d.closed_at IS NOT NULL AND d.closed_at >= ${start} AND d.closed_at < ${end}) AS "closedInMonth"
      FROM disputes d JOIN purchases p ON p.id = d.purchase_id
      WHERE (d.opened_at >= ${start} AND d.opened_at < ${end})
         OR (d.closed_at >= ${start} AND d.closed_at < ${end})
      ORDER BY d.opened_at, d.id`,
    // Paid in the month, credited after it: the reconciling line between sales and credits.
    db.$queryRaw<LateCreditedRow[]>`
      SELECT p.id, p.checkout_session_id AS "checkoutSessionId", p.paid_at AS "paidAt",
        p.created_at AS "creditedAt", p.credited_via::text AS "creditedVia",
        p.amount_total AS "amountTotal", p.currency, p.credits
      FROM purchases p
      WHERE p.paid_at >= ${start} AND p.paid_at < ${end} AND p.created_at >= ${end}
      ORDER BY p.paid_at, p.id`,
    db.$queryRaw<{ kind: string; before: bigint; during: bigint; entries: bigint }[]>`
      SELECT kind::text AS kind,
        COALESCE(SUM(delta) FILTER (WHERE created_at < ${start}), 0) AS before,
        COALESCE(SUM(delta) FILTER (WHERE created_at >= ${start}), 0) AS during,
        COUNT(*) FILTER (WHERE created_at >= ${start}) AS entries
      FROM ledger_entries WHERE created_at < ${end}
      GROUP BY kind`,
    // Point in time, independently of the deltas: each user's balance after their last entry
    // before the month's end.
    db.$queryRaw<{ total: bigint | null }[]>`
      SELECT SUM(last.balance_after) AS total FROM (
        SELECT DISTINCT ON (user_id) balance_after FROM ledger_entries
        WHERE created_at < ${end} ORDER BY user_id, seq DESC) last`,
  ]);

  const packs: SalesRow[] = sales.map((r) => ({
    currency: r.currency,
    pack: r.pack ?? "no pack",
    count: n(r.count),
    gross: n(r.gross),
    refunds: n(r.refunds),
    disputesLost: n(r.lost),
    net: n(r.gross) - n(r.refunds) - n(r.lost),
  }));
  const byCurrency = new Map<string, SalesRow>();
  for (const p of packs) {
    const c = byCurrency.get(p.currency) ?? {
      currency: p.currency,
      pack: null,
      count: 0,
      gross: 0,
      refunds: 0,
      disputesLost: 0,
      net: 0,
    };
    c.count += p.count;
    c.gross += p.gross;
    c.refunds += p.refunds;
    c.disputesLost += p.disputesLost;
    c.net += p.net;
    byCurrency.set(p.currency, c);
  }

  const kinds = new Map(roll.map((r) => [r.kind, r]));
  const during = (kind: string) => n(kinds.get(kind)?.during);
  const opening = roll.reduce((a, r) => a + n(r.before), 0);
  const rollForward: RollForward = {
    opening,
    grantedPurchases: during("purchase"),
    grantedSubscriptions: during("grant"),
    grantedManual: during("manual_credit"),
    consumed: 0 - during("usage"),
    expired: 0 - during("expiry"),
    clawedBack: 0 - during("refund_clawback"),
    adjustments:
      during("dispute_hold") +
      during("dispute_release") +
      during("manual_debit") +
      during("reversal"),
    closing: opening + roll.reduce((a, r) => a + n(r.during), 0),
    balancesAtEnd: n(balances[0]?.total),
    entries: roll.reduce((a, r) => a + n(r.entries), 0),
  };

  const lateTotals = new Map<string, { currency: string; count: number; amount: number }>();
  for (const l of late) {
    const t = lateTotals.get(l.currency) ?? { currency: l.currency, count: 0, amount: 0 };
    t.count++;
    t.amount += l.amountTotal;
    lateTotals.set(l.currency, t);
  }

  const currencies = [...byCurrency.values()];
  return {
    month,
    zone,
    start,
    end,
    currencies,
    packs,
    refunds: refunds.map((r) => ({ ...r, amount: n(r.amount), creditsClawed: n(r.creditsClawed) })),
    disputes: disputes.map((d) => ({ ...d, amount: n(d.amount) })),
    lateCredited: late.map((l) => ({ ...l, amountTotal: n(l.amountTotal), credits: n(l.credits) })),
    lateCreditedTotals: [...lateTotals.values()],
    rollForward,
    empty:
      currencies.length === 0 &&
      refunds.length === 0 &&
      disputes.length === 0 &&
      rollForward.entries === 0,
  };
}

/** Which of the roll-forward's lines a ledger kind lands on (documented in docs/finance.md). */
export const ROLL_FORWARD_KINDS = {
  grantedPurchases: ["purchase"],
  grantedSubscriptions: ["grant"],
  grantedManual: ["manual_credit"],
  consumed: ["usage"],
  expired: ["expiry"],
  clawedBack: ["refund_clawback"],
  adjustments: ["dispute_hold", "dispute_release", "manual_debit", "reversal"],
} as const;

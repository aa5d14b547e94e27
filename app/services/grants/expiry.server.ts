import type { CreditPack } from "~/generated/prisma/client";
import { getDb } from "../infra/db.server";
import { logger } from "../infra/logger.server";
import { postLedgerEntry } from "../ledger.server";

const DAY_MS = 86_400_000;

/** When a purchase's grant expires: its pack's metadata.credits_expire_days after it is credited. */
export function purchaseExpiry(
  packs: readonly Pick<CreditPack, "id" | "creditsExpireDays">[],
  packId: string | null | undefined,
  at: Date,
): Date | null {
  const days = packs.find((p) => p.id === packId)?.creditsExpireDays ?? null;
  return days === null ? null : new Date(at.getTime() + days * DAY_MS);
}

export interface ExpiredGrant {
  grantId: string;
  userId: string;
  credits: number;
  expiresAt: string;
  /** false: a concurrent pass had posted it first (or, dry run, nothing was posted). */
  posted: boolean;
}

export interface ExpiryReport {
  dryRun: boolean;
  grants: ExpiredGrant[];
  credits: number;
}

/**
 * The expiry pass: every active grant past its `expires_at` with credits left gets ONE `expiry`
 * entry taking exactly what it has left (key `expiry:<grant id>`), and becomes `expired`.
 *
 * Idempotent and safe to run concurrently (the scheduler of every replica, `npm run jobs`, the
 * CLI): a grant past its expiry can no longer change — no allocation reaches it but its expiry
 * entry (credit_allocate) — so two passes compute the same entry, and the ledger's unique key lets
 * one insert it; the other gets it back as a replay. Debits never spend expired credits even
 * before the pass runs, so running it late only delays the bookkeeping.
 */
export async function expireDueGrants(
  opts: { now?: Date; dryRun?: boolean; batchSize?: number } = {},
): Promise<ExpiryReport> {
  const now = opts.now ?? new Date();
  const batchSize = opts.batchSize ?? 500;
  const report: ExpiryReport = { dryRun: opts.dryRun ?? false, grants: [], credits: 0 };
  let after = 0n;
  for (;;) {
    const due = await getDb().$queryRaw<
      { id: bigint; user_id: string; remaining: number; expires_at: Date }[]
    >`
      SELECT id, user_id, remaining, expires_at FROM credit_grants
      WHERE status = 'active' AND remaining > 0 AND expires_at IS NOT NULL AND expires_at <= ${now}
        AND id > ${after}
      ORDER BY id LIMIT ${batchSize}`;
    for (const g of due) {
      let posted = false;
      if (!report.dryRun) {
        const result = await postLedgerEntry({
          userId: g.user_id,
          delta: -g.remaining,
          kind: "expiry",
          idempotencyKey: `expiry:${g.id}`,
          reason: `Grant ${g.id} expired at ${g.expires_at.toISOString()}`,
          grant: { grantId: g.id },
        });
        posted = result.created;
      }
      report.grants.push({
        grantId: g.id.toString(),
        userId: g.user_id,
        credits: g.remaining,
        expiresAt: g.expires_at.toISOString(),
        posted,
      });
      report.credits += g.remaining;
    }
    if (due.length < batchSize) break;
    after = due[due.length - 1].id;
  }
  if (report.grants.length > 0 && !report.dryRun)
    logger.info({ grants: report.grants.length, credits: report.credits }, "credit grants expired");
  return report;
}

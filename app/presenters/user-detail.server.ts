import { z } from "zod";
import { getDb } from "~/services/infra/db.server";
import { NotFoundError } from "~/services/errors.server";
import { viaOf } from "~/shared/labels";

export const USER_LEDGER_PAGE_SIZE = 50;
/** Newest rows per side section: with 50 ledger rows, a page never shows more than 100 rows. */
export const USER_SECTION_LIMIT = 10;

const seqParam = z.preprocess(
  (v) => (typeof v === "string" && v.trim() !== "" ? v : undefined),
  z.coerce.number({ error: "The ledger page link is not valid." }).int().positive().optional(),
);

export const userDetailSearchSchema = z.object({
  /** Entries with seq below this (older page). */
  ledgerBefore: seqParam,
  /** Entries with seq above this (newer page). */
  ledgerAfter: seqParam,
});

const staffLabel = { select: { id: true, email: true, name: true } } as const;

/**
 * The user page's read model (a presenter: reads only; the commands are in
 * app/services/admin/{adjustments,user-actions}.server.ts).
 * Everything support needs about one user on one page: profile, tier history, a keyset page of the
 * ledger (newest first, paged on the per-user seq), recent purchases, Stripe events about the user,
 * open attention items and pending adjustment requests.
 */
export async function getUserDetail(
  userId: string,
  page: { ledgerBefore?: number; ledgerAfter?: number } = {},
) {
  const db = getDb();
  const user = await db.user.findUnique({
    where: { id: userId },
    select: {
      id: true,
      email: true,
      name: true,
      tierCode: true,
      tier: { select: { name: true } },
      balance: true,
      lastSeq: true,
      stripeCustomerId: true,
      createdAt: true,
      updatedAt: true,
    },
  });
  if (!user) throw new NotFoundError("User", userId);

  const newerFirst = page.ledgerAfter === undefined;
  const ledgerRows = await db.ledgerEntry.findMany({
    where: {
      userId,
      ...(page.ledgerAfter !== undefined
        ? { seq: { gt: page.ledgerAfter } }
        : page.ledgerBefore !== undefined
          ? { seq: { lt: page.ledgerBefore } }
          : {}),
    },
    orderBy: { seq: newerFirst ? "desc" : "asc" },
    take: USER_LEDGER_PAGE_SIZE + 1,
    select: {
      id: true,
      seq: true,
      delta: true,
      balanceAfter: true,
      kind: true,
      reason: true,
      purchaseId: true,
      stripeEventId: true,
      reversesId: true,
      metadata: true,
      createdAt: true,
      staff: staffLabel,
      apiKey: { select: { id: true, name: true, prefix: true } },
    },
  });
  const hasMore = ledgerRows.length > USER_LEDGER_PAGE_SIZE;
  const entries = ledgerRows.slice(0, USER_LEDGER_PAGE_SIZE);
  if (!newerFirst) entries.reverse();
  // Reversal links both ways: "reversed by #n" on the original, "reverses #m" on the reversal.
  const linkedIds = entries.flatMap((e) => (e.reversesId ? [e.id, e.reversesId] : [e.id]));
  const linked = await db.ledgerEntry.findMany({
    where: { userId, OR: [{ reversesId: { in: linkedIds } }, { id: { in: linkedIds } }] },
    select: { id: true, seq: true, reversesId: true, kind: true },
  });
  const seqById = new Map(linked.map((l) => [l.id, l.seq]));
  const reversedBy = new Map(
    linked.filter((l) => l.kind === "reversal" && l.reversesId).map((l) => [l.reversesId!, l.seq]),
  );
  const ledger = {
    // `apiKeyName` and `via` are what actorLabel (~/shared/labels) reads for "By".
    entries: entries.map(({ metadata, reversesId, ...e }) => ({
      ...e,
      id: e.id.toString(),
      apiKeyName: e.apiKey?.name ?? null,
      via: viaOf(metadata),
      reversesSeq: reversesId ? (seqById.get(reversesId) ?? null) : null,
      reversedBySeq: reversedBy.get(e.id) ?? null,
      reversible: isReversible(e.kind) && !reversedBy.has(e.id),
    })),
    olderBefore: (newerFirst ? hasMore : entries.length > 0 && entries[entries.length - 1].seq > 1)
      ? entries[entries.length - 1].seq
      : null,
    newerAfter: (newerFirst ? page.ledgerBefore !== undefined && entries.length > 0 : hasMore)
      ? entries[0].seq
      : null,
  };

  const since = new Date(Date.now() - DOUBLE_CREDIT_DAYS * 86_400_000);
  const [
    tierHistory,
    purchases,
    purchaseCount,
    events,
    attention,
    pendingRequests,
    tiers,
    recentCredits,
  ] = await Promise.all([
    db.tierChange.findMany({
      where: { userId },
      orderBy: { createdAt: "desc" },
      take: USER_SECTION_LIMIT,
      select: {
        id: true,
        fromTier: true,
        toTier: true,
        source: true,
        sourceRef: true,
        reason: true,
        createdAt: true,
        staff: staffLabel,
      },
    }),
    db.purchase.findMany({
      where: { userId },
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      take: USER_SECTION_LIMIT,
      select: {
        id: true,
        checkoutSessionId: true,
        paymentIntentId: true,
        paidAt: true,
        status: true,
        credits: true,
        amountTotal: true,
        amountRefunded: true,
        currency: true,
        creditedVia: true,
        userResolvedBy: true,
        createdAt: true,
        pack: { select: { name: true } },
      },
    }),
    db.purchase.count({ where: { userId } }),
    db.stripeEvent.findMany({
      where: { userId },
      orderBy: { receivedAt: "desc" },
      take: USER_SECTION_LIMIT,
      select: {
        id: true,
        type: true,
        status: true,
        objectId: true,
        purchaseId: true,
        lastError: true,
        attempts: true,
        receivedAt: true,
      },
    }),
    db.attentionItem.findMany({
      where: { userId, status: "open" },
      orderBy: { createdAt: "desc" },
      take: USER_SECTION_LIMIT,
      select: {
        id: true,
        kind: true,
        title: true,
        detail: true,
        checkoutSessionId: true,
        occurrences: true,
        createdAt: true,
      },
    }),
    db.adjustmentRequest.findMany({
      where: { userId, status: "pending" },
      orderBy: { createdAt: "desc" },
      take: USER_SECTION_LIMIT,
      select: {
        id: true,
        amount: true,
        reason: true,
        ticketRef: true,
        createdAt: true,
        requestedBy: staffLabel,
        checkoutSessionId: true,
      },
    }),
    db.tier.findMany({ orderBy: { rank: "asc" }, select: { code: true, name: true } }),
    recentCreditsOf(userId, since),
  ]);

  return {
    user,
    ledger,
    tierHistory,
    purchases: purchases.map((p) => ({ ...p, packName: p.pack?.name ?? null })),
    purchaseCount,
    events,
    attention,
    pendingRequests,
    tiers,
    recentCredits,
  };
}

/** How far apart a manual credit and a purchase credit may be before the guard stops warning. */
export const DOUBLE_CREDIT_DAYS = 7;

/**
 * The credits a user received (purchases and manual credits) since a moment: the double-credit
 * guard's evidence on the user page, and what an approver sees for a pending request.
 */
export async function recentCreditsOf(userId: string, since: Date) {
  const rows = await getDb().ledgerEntry.findMany({
    where: {
      userId,
      delta: { gt: 0 },
      kind: { in: ["purchase", "manual_credit"] },
      createdAt: { gte: since },
    },
    orderBy: { seq: "desc" },
    take: 50,
    select: {
      seq: true,
      kind: true,
      delta: true,
      createdAt: true,
      purchaseId: true,
      reason: true,
      staff: staffLabel,
    },
  });
  return rows;
}

function isReversible(kind: string): boolean {
  return kind === "manual_credit" || kind === "manual_debit";
}

export type UserDetail = Awaited<ReturnType<typeof getUserDetail>>;

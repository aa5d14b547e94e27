import { z } from "zod";
import { Prisma, type AdjustmentRequest } from "~/generated/prisma/client";
import { writeAudit } from "../audit.server";
import { getDb, type Tx } from "../infra/db.server";
import { getEnv } from "../infra/env.server";
import {
  ConflictError,
  DomainError,
  isUniqueViolation,
  NotFoundError,
  ValidationError,
} from "../errors.server";
import { postLedgerEntryInTx } from "../ledger.server";
import {
  needsApproval as needsApprovalAt,
  type AdjustmentInput,
} from "~/shared/schemas/adjustment";
import { cursorParam } from "./forms.server";
import { decodeCursor, encodeCursor, type SortSpec } from "./keyset.server";

/**
 * Manual credit adjustments with four-eyes approval. Up to ADJUSTMENT_APPROVAL_THRESHOLD credits
 * (absolute) are posted at once; above it the adjustment becomes a request that another staff
 * member approves (which posts the entry) or rejects. Every step leaves an audit record in the same
 * transaction as the change it describes.
 *
 * Double submits: each rendering of the form carries a random nonce. The ledger entry's idempotency
 * key is `adjust:<nonce>` and an approval request's id is the nonce itself, so a second submit of
 * the same form finds the first result instead of crediting twice.
 */

// The form's schemas are client-safe (the confirm dialog previews with them); re-exported here.
export {
  adjustmentSchema,
  decisionSchema,
  MAX_ADJUSTMENT,
  type AdjustmentInput,
} from "~/shared/schemas/adjustment";

export interface StaffActor {
  id: string;
  email: string;
  ip?: string | null;
}

export type AdjustResult =
  | { kind: "posted"; created: boolean; entryId: string; delta: number; balance: number }
  | { kind: "requested"; created: boolean; requestId: string; amount: number; threshold: number };

/** Raised when the person deciding a request is the one who made it. */
export class FourEyesError extends DomainError {
  constructor() {
    super(403, "four_eyes", "You made this request, so someone else has to approve or reject it.");
  }
}

export function approvalThreshold(): number {
  return getEnv().ADJUSTMENT_APPROVAL_THRESHOLD;
}

export function needsApproval(amount: number, threshold = approvalThreshold()): boolean {
  return needsApprovalAt(amount, threshold);
}

const actorOf = (staff: StaffActor) => ({
  type: "staff" as const,
  id: staff.id,
  label: staff.email,
  ip: staff.ip ?? null,
});

/** Adjust a user's credits now, or file an approval request when the amount is above the threshold. */
export async function adjustCredits(
  userId: string,
  input: AdjustmentInput,
  staff: StaffActor,
): Promise<AdjustResult> {
  const db = getDb();
  const threshold = approvalThreshold();
  const user = await db.user.findUnique({
    where: { id: userId },
    select: { id: true, balance: true },
  });
  if (!user) throw new NotFoundError("User", userId);

  if (needsApproval(input.amount, threshold)) {
    if (input.amount < 0 && user.balance + input.amount < 0) {
      throw new ValidationError(
        `This would take the balance below zero: the balance is ${user.balance.toLocaleString("en-US")}.`,
        "amount",
      );
    }
    try {
      const request = await db.$transaction(async (tx) => {
        const created = await tx.adjustmentRequest.create({
          data: {
            id: input.nonce,
            userId,
            amount: input.amount,
            reason: input.reason,
            ticketRef: input.ticketRef ?? null,
            requestedById: staff.id,
          },
        });
        await writeAudit(
          {
            actor: actorOf(staff),
            action: "adjustment.request",
            targetType: "user",
            targetId: userId,
            after: {
              requestId: created.id,
              amount: input.amount,
              ticketRef: input.ticketRef ?? null,
              threshold,
            },
            reason: input.reason,
          },
          tx,
        );
        return created;
      });
      return {
        kind: "requested",
        created: true,
        requestId: request.id,
        amount: request.amount,
        threshold,
      };
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      const existing = await db.adjustmentRequest.findUnique({ where: { id: input.nonce } });
      if (!existing || existing.userId !== userId || existing.amount !== input.amount) {
        throw new ConflictError(
          "This form was already used for a different request. Reload the page and try again.",
        );
      }
      return {
        kind: "requested",
        created: false,
        requestId: existing.id,
        amount: existing.amount,
        threshold,
      };
    }
  }

  const result = await db.$transaction(async (tx) => {
    const posted = await postLedgerEntryInTx(tx, {
      userId,
      delta: input.amount,
      kind: input.amount > 0 ? "manual_credit" : "manual_debit",
      idempotencyKey: `adjust:${input.nonce}`,
      staffId: staff.id,
      reason: input.reason,
      metadata: { ticketRef: input.ticketRef ?? null, source: "dashboard" },
    });
    if (posted.created) {
      await writeAudit(
        {
          actor: actorOf(staff),
          action: "credits.adjust",
          targetType: "user",
          targetId: userId,
          before: { balance: posted.balance - input.amount },
          after: {
            balance: posted.balance,
            delta: input.amount,
            entryId: posted.entry.id.toString(),
            ticketRef: input.ticketRef ?? null,
          },
          reason: input.reason,
        },
        tx,
      );
    }
    return posted;
  });
  return {
    kind: "posted",
    created: result.created,
    entryId: result.entry.id.toString(),
    delta: input.amount,
    balance: result.balance,
  };
}

/** Lock a pending request for a decision; refuses decided requests and the requester's own. */
async function claim(tx: Tx, requestId: string, decider: StaffActor): Promise<AdjustmentRequest> {
  // The row lock makes two people deciding at once take turns; the second sees the first's decision.
  const rows = await tx.$queryRaw<
    { id: string }[]
  >`SELECT id FROM adjustment_requests WHERE id = ${requestId} FOR UPDATE`;
  if (rows.length === 0) throw new NotFoundError("Adjustment request", requestId);
  const request = await tx.adjustmentRequest.findUniqueOrThrow({ where: { id: requestId } });
  if (request.status !== "pending") {
    throw new ConflictError(`This request was already ${request.status}.`);
  }
  if (request.requestedById === decider.id) throw new FourEyesError();
  return request;
}

export async function approveAdjustment(requestId: string, note: string, approver: StaffActor) {
  return getDb().$transaction(async (tx) => {
    const request = await claim(tx, requestId, approver);
    const posted = await postLedgerEntryInTx(tx, {
      userId: request.userId,
      delta: request.amount,
      kind: request.amount > 0 ? "manual_credit" : "manual_debit",
      idempotencyKey: `approval:${request.id}`,
      staffId: request.requestedById,
      reason: request.reason,
      metadata: {
        ticketRef: request.ticketRef,
        requestId: request.id,
        approvedById: approver.id,
        source: "approval",
      },
    });
    const updated = await tx.adjustmentRequest.update({
      where: { id: request.id },
      data: {
        status: "approved",
        decidedById: approver.id,
        decisionNote: note,
        decidedAt: new Date(),
        ledgerEntryId: posted.entry.id,
      },
    });
    await writeAudit(
      {
        actor: actorOf(approver),
        action: "adjustment.approve",
        targetType: "adjustment_request",
        targetId: request.id,
        before: { status: "pending", balance: posted.balance - request.amount },
        after: {
          status: "approved",
          userId: request.userId,
          amount: request.amount,
          balance: posted.balance,
          entryId: posted.entry.id.toString(),
        },
        reason: note,
      },
      tx,
    );
    return { request: updated, balance: posted.balance, entryId: posted.entry.id.toString() };
  });
}

export async function rejectAdjustment(requestId: string, note: string, decider: StaffActor) {
  return getDb().$transaction(async (tx) => {
    const request = await claim(tx, requestId, decider);
    const updated = await tx.adjustmentRequest.update({
      where: { id: request.id },
      data: {
        status: "rejected",
        decidedById: decider.id,
        decisionNote: note,
        decidedAt: new Date(),
      },
    });
    await writeAudit(
      {
        actor: actorOf(decider),
        action: "adjustment.reject",
        targetType: "adjustment_request",
        targetId: request.id,
        before: { status: "pending" },
        after: { status: "rejected", userId: request.userId, amount: request.amount },
        reason: note,
      },
      tx,
    );
    return { request: updated };
  });
}

const staffLabel = { select: { id: true, email: true, name: true } } as const;
const requestSelect = {
  id: true,
  amount: true,
  reason: true,
  ticketRef: true,
  status: true,
  decisionNote: true,
  decidedAt: true,
  createdAt: true,
  ledgerEntryId: true,
  user: { select: { id: true, email: true, balance: true } },
  requestedBy: staffLabel,
  decidedBy: staffLabel,
} as const;

export const APPROVALS_PAGE_SIZE = 50;

export const approvalsSearchSchema = z.object({ after: cursorParam });

// Only used to type-check the cursor; the query itself is small (pending requests only).
const PENDING_ORDER: SortSpec = {
  direction: "asc",
  columns: [
    { sql: Prisma.sql`created_at`, cast: "timestamptz" },
    { sql: Prisma.sql`id`, cast: "text" },
  ],
};

/** Oldest pending first (first come, first decided), and the most recent decisions for context. */
export async function listApprovals(opts: { after?: string } = {}) {
  const db = getDb();
  const boundary = opts.after ? decodeCursor(opts.after, PENDING_ORDER) : null;
  const [pendingRows, recent] = await Promise.all([
    db.adjustmentRequest.findMany({
      where: {
        status: "pending",
        ...(boundary
          ? {
              OR: [
                { createdAt: { gt: new Date(boundary[0]) } },
                { createdAt: new Date(boundary[0]), id: { gt: boundary[1] } },
              ],
            }
          : {}),
      },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
      take: APPROVALS_PAGE_SIZE + 1,
      select: requestSelect,
    }),
    db.adjustmentRequest.findMany({
      where: { status: { in: ["approved", "rejected"] } },
      orderBy: [{ decidedAt: "desc" }, { id: "desc" }],
      take: 20,
      select: requestSelect,
    }),
  ]);
  const serialise = <T extends { ledgerEntryId: bigint | null }>(r: T) => ({
    ...r,
    ledgerEntryId: r.ledgerEntryId?.toString() ?? null,
  });
  const pending = pendingRows.slice(0, APPROVALS_PAGE_SIZE).map(serialise);
  const last = pending[pending.length - 1];
  return {
    pending,
    next:
      pendingRows.length > APPROVALS_PAGE_SIZE && last
        ? encodeCursor([last.createdAt, last.id])
        : null,
    recent: recent.map(serialise),
  };
}

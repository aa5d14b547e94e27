import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import { Prisma, type AdjustmentRequest } from "~/generated/prisma/client";
import { writeAudit } from "../audit.server";
import { sessionSecret } from "../auth/session.server";
import { getDb, type Tx } from "../infra/db.server";
import { getEnv } from "../infra/env.server";
import {
  ConflictError,
  DomainError,
  isUniqueViolation,
  NotFoundError,
  ValidationError,
} from "../errors.server";
import { fulfillCheckoutSession } from "../fulfillment.server";
import { postLedgerEntryInTx } from "../ledger.server";
import {
  NONCE_MESSAGE,
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
  | {
      kind: "requested";
      created: boolean;
      requestId: string;
      amount: number;
      threshold: number;
      /** This staff member's other manual credits to the user in the window (0 for a debit). */
      windowTotal: number;
    };

/** Raised when the person deciding a request is the one who made it. */
export class FourEyesError extends DomainError {
  constructor() {
    super(403, "four_eyes", "You made this request, so someone else has to approve or reject it.");
  }
}

export function approvalThreshold(): number {
  return getEnv().ADJUSTMENT_APPROVAL_THRESHOLD;
}

export function approvalWindowHours(): number {
  return getEnv().APPROVAL_WINDOW_HOURS;
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

// ---------------------------------------------------------------------------------------------
// Form nonces: made by the server, bound to the staff member and the user, so a client cannot
// choose a request id (or replay one form against another user) by posting a uuid of its own.

function nonceSignature(id: string, staffId: string, userId: string): string {
  return createHmac("sha256", sessionSecret())
    .update(`adjust-nonce\0${id}\0${staffId}\0${userId}`)
    .digest("base64url");
}

/** A fresh nonce for one rendering of a form on a user's page. */
export function issueFormNonce(staffId: string, userId: string): string {
  return signFormNonce(randomUUID(), staffId, userId);
}

/** The nonce for a chosen id (tests name their request ids; the loader uses issueFormNonce). */
export function signFormNonce(id: string, staffId: string, userId: string): string {
  return `${id}.${nonceSignature(id, staffId, userId)}`;
}

/** The nonce's id when this server issued it to this staff member for this user. */
export function verifyFormNonce(nonce: string, staffId: string, userId: string): string {
  const [id = "", signature = ""] = nonce.split(".");
  const expected = Buffer.from(nonceSignature(id, staffId, userId));
  const got = Buffer.from(signature);
  if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
    throw new ValidationError(NONCE_MESSAGE, "nonce");
  }
  return id;
}

/**
 * What the staff member has credited this user by hand in the rolling window, for the four-eyes
 * sum: manual credits and positive reversals they posted themselves. Entries a second person
 * approved already had their second pair of eyes and are not counted again.
 */
export async function creditedInWindow(
  userId: string,
  staffId: string,
  tx: Pick<Tx, "$queryRaw"> = getDb(),
): Promise<number> {
  const since = new Date(Date.now() - approvalWindowHours() * 3_600_000);
  const rows = await tx.$queryRaw<{ total: bigint | number | null }[]>`
    SELECT COALESCE(SUM(delta), 0) AS total FROM ledger_entries
    WHERE user_id = ${userId} AND staff_id = ${staffId} AND delta > 0
      AND kind IN ('manual_credit', 'reversal') AND created_at > ${since}
      AND COALESCE(metadata->>'source', '') <> 'approval'`;
  return Number(rows[0]?.total ?? 0);
}

/** Take the user's row lock: one staff decision per user at a time, so a sum cannot be raced. */
async function lockUser(tx: Tx, userId: string): Promise<{ balance: number }> {
  const rows = await tx.$queryRaw<
    { balance: number }[]
  >`SELECT balance FROM users WHERE id = ${userId} FOR UPDATE`;
  if (rows.length === 0) throw new NotFoundError("User", userId);
  return { balance: Number(rows[0].balance) };
}

/**
 * Adjust a user's credits now, or file an approval request. A debit needs approval when it alone
 * is above the threshold; a credit when, with this staff member's other manual credits to this
 * user in the rolling window (APPROVAL_WINDOW_HOURS), the sum is above it — so five
 * credits of exactly the threshold do not pass one by one.
 */
export async function adjustCredits(
  userId: string,
  input: AdjustmentInput,
  staff: StaffActor,
): Promise<AdjustResult> {
  const db = getDb();
  const threshold = approvalThreshold();
  const nonce = verifyFormNonce(input.nonce, staff.id, userId);
  const user = await db.user.findUnique({ where: { id: userId }, select: { id: true } });
  if (!user) throw new NotFoundError("User", userId);

  type Decision =
    | { kind: "replay-posted"; entryId: string; delta: number; balance: number }
    | { kind: "replay-requested"; requestId: string; amount: number; windowTotal: number }
    | AdjustResult;
  let decision: Decision;
  try {
    decision = await db.$transaction(async (tx): Promise<Decision> => {
      const { balance } = await lockUser(tx, userId);
      // A second submit of the same form answers with the first one's result (the unique key and
      // the request's primary key stand behind this; the lock makes the read current).
      const [posted, requested] = await Promise.all([
        tx.ledgerEntry.findUnique({ where: { idempotencyKey: `adjust:${nonce}` } }),
        tx.adjustmentRequest.findUnique({ where: { id: nonce } }),
      ]);
      if (posted || requested) {
        const sameAmount = posted
          ? posted.delta === input.amount
          : requested?.amount === input.amount;
        if ((posted?.userId ?? requested?.userId) !== userId || !sameAmount) {
          throw new ConflictError(
            "This form was already used for a different adjustment. Reload the page and try again.",
          );
        }
        return posted
          ? { kind: "replay-posted", entryId: posted.id.toString(), delta: posted.delta, balance }
          : {
              kind: "replay-requested",
              requestId: requested!.id,
              amount: requested!.amount,
              windowTotal: 0,
            };
      }
      const windowTotal = input.amount > 0 ? await creditedInWindow(userId, staff.id, tx) : 0;
      const approval = needsApprovalAt(input.amount, threshold, windowTotal);
      if (approval) {
        if (input.amount < 0 && balance + input.amount < 0) {
          throw new ValidationError(
            `This would take the balance below zero: the balance is ${balance.toLocaleString("en-US")}.`,
            "amount",
          );
        }
        const created = await tx.adjustmentRequest.create({
          data: {
            id: nonce,
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
              windowTotal,
            },
            reason: input.reason,
          },
          tx,
        );
        return {
          kind: "requested",
          created: true,
          requestId: created.id,
          amount: created.amount,
          threshold,
          windowTotal,
        };
      }
      const entry = await postLedgerEntryInTx(tx, {
        userId,
        delta: input.amount,
        kind: input.amount > 0 ? "manual_credit" : "manual_debit",
        idempotencyKey: `adjust:${nonce}`,
        staffId: staff.id,
        reason: input.reason,
        metadata: { ticketRef: input.ticketRef ?? null, source: "dashboard" },
      });
      if (entry.created) {
        await writeAudit(
          {
            actor: actorOf(staff),
            action: "credits.adjust",
            targetType: "user",
            targetId: userId,
            before: { balance: entry.balance - input.amount },
            after: {
              balance: entry.balance,
              delta: input.amount,
              entryId: entry.entry.id.toString(),
              ticketRef: input.ticketRef ?? null,
              windowTotal: windowTotal + Math.max(input.amount, 0),
            },
            reason: input.reason,
          },
          tx,
        );
      }
      return {
        kind: "posted",
        created: entry.created,
        entryId: entry.entry.id.toString(),
        delta: input.amount,
        balance: entry.balance,
      };
    });
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    throw new ConflictError(
      "This form was sent twice at the same moment. Reload the page to see what was recorded.",
    );
  }
  if (decision.kind === "replay-posted") {
    return { ...decision, kind: "posted", created: false };
  }
  if (decision.kind === "replay-requested") {
    return { ...decision, kind: "requested", created: false, threshold };
  }
  return decision;
}

/** Reason for a reversal, and which entry (by id) to reverse. */
export const reversalSchema = z.object({
  entryId: z
    .string({ error: "Choose the entry to reverse." })
    .trim()
    .regex(/^\d{1,19}$/, { error: "Choose the entry to reverse." }),
  reason: z
    .string({ error: "Write a reason." })
    .trim()
    .min(10, { error: "Write at least 10 characters, so the next person understands why." })
    .max(500, { error: "Keep the reason under 500 characters." }),
});

/** The kinds staff may reverse on the user page; purchases are undone by refunds in Stripe. */
export const REVERSIBLE_KINDS = ["manual_credit", "manual_debit"] as const;

/**
 * Reverse a manual ledger entry: a new `reversal` entry of the same size and opposite sign,
 * linked by `reverses_id`, through the ledger service. Its key is `reversal:<entry id>`, so the
 * database lets an entry be reversed once; a second try is refused naming the first reversal.
 */
export async function reverseEntry(
  userId: string,
  input: z.output<typeof reversalSchema>,
  staff: StaffActor,
) {
  const db = getDb();
  const entryId = BigInt(input.entryId);
  const entry = await db.ledgerEntry.findUnique({ where: { id: entryId } });
  if (!entry || entry.userId !== userId) {
    throw new ValidationError("That ledger entry is not one of this user's.", "entryId");
  }
  if (!(REVERSIBLE_KINDS as readonly string[]).includes(entry.kind)) {
    throw new ValidationError(
      entry.kind === "purchase"
        ? `Entry #${entry.seq} is a purchase: refund it in Stripe, and the refund takes the credits back.`
        : `Entry #${entry.seq} is not a manual adjustment; only manual credits and debits can be reversed here.`,
      "entryId",
    );
  }
  const key = `reversal:${entry.id}`;
  const alreadyReversed = (by: { seq: number }) =>
    new ConflictError(
      `Entry #${entry.seq} was already reversed by #${by.seq}; nothing more was changed.`,
      "entryId",
    );
  return db.$transaction(async (tx) => {
    const { balance } = await lockUser(tx, userId);
    const previous = await tx.ledgerEntry.findUnique({ where: { idempotencyKey: key } });
    if (previous) throw alreadyReversed(previous);
    if (balance - entry.delta < 0) {
      throw new ValidationError(
        `Reversing entry #${entry.seq} would take the balance below zero: the balance is ${balance.toLocaleString("en-US")}.`,
        "entryId",
      );
    }
    const posted = await postLedgerEntryInTx(tx, {
      userId,
      delta: -entry.delta,
      kind: "reversal",
      idempotencyKey: key,
      staffId: staff.id,
      reversesId: entry.id,
      reason: input.reason,
      metadata: { reversesSeq: entry.seq, source: "dashboard" },
    });
    if (!posted.created) throw alreadyReversed(posted.entry);
    await writeAudit(
      {
        actor: actorOf(staff),
        action: "credits.reverse",
        targetType: "user",
        targetId: userId,
        before: { balance: posted.balance + entry.delta, entryId: entry.id.toString() },
        after: {
          balance: posted.balance,
          delta: -entry.delta,
          entryId: posted.entry.id.toString(),
          reverses: entry.id.toString(),
        },
        reason: input.reason,
      },
      tx,
    );
    return {
      seq: entry.seq,
      reversalSeq: posted.entry.seq,
      delta: -entry.delta,
      balance: posted.balance,
    };
  });
}

/** The requester takes back their own pending request before anyone decides it. */
export async function withdrawAdjustment(requestId: string, staff: StaffActor) {
  return getDb().$transaction(async (tx) => {
    const request = await lockPending(tx, requestId);
    if (request.requestedById !== staff.id) {
      throw new DomainError(
        403,
        "forbidden",
        "Only the person who made a request can withdraw it; approve or reject it instead.",
      );
    }
    return closeUnposted(tx, request, "withdrawn", staff, null);
  });
}

/** Lock a pending request for a decision; refuses decided requests and the requester's own. */
/** Lock a request and check it still waits for a decision. */
async function lockPending(tx: Tx, requestId: string): Promise<AdjustmentRequest> {
  // The row lock makes two people deciding at once take turns; the second sees the first's decision.
  const rows = await tx.$queryRaw<
    { id: string }[]
  >`SELECT id FROM adjustment_requests WHERE id = ${requestId} FOR UPDATE`;
  if (rows.length === 0) throw new NotFoundError("Adjustment request", requestId);
  const request = await tx.adjustmentRequest.findUniqueOrThrow({ where: { id: requestId } });
  if (request.status !== "pending") {
    throw new ConflictError(`This request was already ${request.status}.`);
  }
  return request;
}

async function claim(tx: Tx, requestId: string, decider: StaffActor): Promise<AdjustmentRequest> {
  const request = await lockPending(tx, requestId);
  if (request.requestedById === decider.id) throw new FourEyesError();
  return request;
}

/** Close a request without posting anything (rejected by another person, or withdrawn). */
async function closeUnposted(
  tx: Tx,
  request: AdjustmentRequest,
  status: "rejected" | "withdrawn",
  staff: StaffActor,
  note: string | null,
) {
  const updated = await tx.adjustmentRequest.update({
    where: { id: request.id },
    data: { status, decidedById: staff.id, decisionNote: note, decidedAt: new Date() },
  });
  await writeAudit(
    {
      actor: actorOf(staff),
      action: status === "rejected" ? "adjustment.reject" : "adjustment.withdraw",
      targetType: "adjustment_request",
      targetId: request.id,
      before: { status: "pending" },
      after: { status, userId: request.userId, amount: request.amount },
      ...(note ? { reason: note } : {}),
    },
    tx,
  );
  return { request: updated };
}

/**
 * File a request to credit a Checkout Session to a user the session does not name (it names
 * another user by client reference, metadata or customer): like a large adjustment, a second
 * person approves it, and approving runs the one fulfillment path with the assignment.
 */
export async function requestSessionAssignment(
  userId: string,
  input: { sessionId: string; credits: number; namedUserId: string; reason: string },
  staff: StaffActor,
) {
  const db = getDb();
  return db.$transaction(async (tx) => {
    await lockUser(tx, userId);
    // One open request per session and user: a second submit finds the first (under the lock).
    const open = await tx.adjustmentRequest.findFirst({
      where: { userId, checkoutSessionId: input.sessionId, status: "pending" },
    });
    if (open) return { request: open, created: false };
    const request = await tx.adjustmentRequest.create({
      data: {
        userId,
        amount: input.credits,
        reason: input.reason,
        requestedById: staff.id,
        checkoutSessionId: input.sessionId,
      },
    });
    await writeAudit(
      {
        actor: actorOf(staff),
        action: "adjustment.request",
        targetType: "user",
        targetId: userId,
        after: {
          requestId: request.id,
          amount: input.credits,
          checkoutSessionId: input.sessionId,
          sessionNamesUser: input.namedUserId,
        },
        reason: input.reason,
      },
      tx,
    );
    return { request, created: true };
  });
}

/** Approving a session assignment: check, credit through fulfillment, then close the request. */
async function approveSessionAssignment(
  request: AdjustmentRequest & { checkoutSessionId: string },
  note: string,
  approver: StaffActor,
) {
  // Checked before anything is credited; claim() checks again under the row lock afterwards.
  if (request.status !== "pending") {
    throw new ConflictError(`This request was already ${request.status}.`);
  }
  if (request.requestedById === approver.id) throw new FourEyesError();
  const result = await fulfillCheckoutSession(request.checkoutSessionId, "manual", {
    staffId: approver.id,
    assignUserId: request.userId,
  });
  let entryId: bigint | null = null;
  if (result.outcome === "credited") entryId = result.entry.id;
  else if (result.outcome === "already_credited" && result.purchase.userId === request.userId) {
    const entry = await getDb().ledgerEntry.findUnique({
      where: { idempotencyKey: `checkout:${request.checkoutSessionId}` },
    });
    entryId = entry?.id ?? null;
  } else {
    throw new ConflictError(
      result.outcome === "already_credited"
        ? `Session ${request.checkoutSessionId} was credited to another user (${result.purchase.userId}) meanwhile; reject this request.`
        : `Nothing was credited: the session's state is now “${result.outcome.replace(/_/g, " ")}”. Reject this request or look at the session.`,
    );
  }
  return getDb().$transaction(async (tx) => {
    const claimed = await claim(tx, request.id, approver);
    const updated = await tx.adjustmentRequest.update({
      where: { id: claimed.id },
      data: {
        status: "approved",
        decidedById: approver.id,
        decisionNote: note,
        decidedAt: new Date(),
        ledgerEntryId: entryId,
      },
    });
    const user = await tx.user.findUniqueOrThrow({
      where: { id: request.userId },
      select: { balance: true },
    });
    await writeAudit(
      {
        actor: actorOf(approver),
        action: "adjustment.approve",
        targetType: "adjustment_request",
        targetId: request.id,
        before: { status: "pending" },
        after: {
          status: "approved",
          userId: request.userId,
          amount: request.amount,
          checkoutSessionId: request.checkoutSessionId,
          balance: user.balance,
          entryId: entryId?.toString() ?? null,
        },
        reason: note,
      },
      tx,
    );
    return { request: updated, balance: user.balance, entryId: entryId?.toString() ?? null };
  });
}

export async function approveAdjustment(requestId: string, note: string, approver: StaffActor) {
  const found = await getDb().adjustmentRequest.findUnique({ where: { id: requestId } });
  if (found?.checkoutSessionId) {
    return approveSessionAssignment(
      { ...found, checkoutSessionId: found.checkoutSessionId },
      note,
      approver,
    );
  }
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
    return closeUnposted(tx, request, "rejected", decider, note);
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
  checkoutSessionId: true,
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
      where: { status: { in: ["approved", "rejected", "withdrawn"] } },
      orderBy: [{ decidedAt: "desc" }, { id: "desc" }],
      take: 20,
      select: requestSelect,
    }),
  ]);
  const serialise = <T extends { ledgerEntryId: bigint | null }>(r: T) => ({
    ...r,
    ledgerEntryId: r.ledgerEntryId?.toString() ?? null,
  });
  const pageRows = pendingRows.slice(0, APPROVALS_PAGE_SIZE);
  const since = await creditsSinceRequests(pageRows);
  const pending = pageRows.map((r) => ({ ...serialise(r), creditsSince: since.get(r.id) ?? [] }));
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

/**
 * Every credit each request's user received since the request was made (purchases, manual
 * credits, approvals, reversals of debits): the approver of a request for "the credits that never
 * came" sees whether they came meanwhile. One query for the page.
 */
async function creditsSinceRequests(
  requests: { id: string; createdAt: Date; user: { id: string } }[],
) {
  const out = new Map<
    string,
    { seq: number; kind: string; delta: number; createdAt: Date; reason: string | null }[]
  >();
  if (requests.length === 0) return out;
  const rows = await getDb().ledgerEntry.findMany({
    where: {
      delta: { gt: 0 },
      OR: requests.map((r) => ({ userId: r.user.id, createdAt: { gte: r.createdAt } })),
    },
    orderBy: [{ userId: "asc" }, { seq: "desc" }],
    take: 500,
    select: { userId: true, seq: true, kind: true, delta: true, createdAt: true, reason: true },
  });
  for (const r of requests) {
    out.set(
      r.id,
      rows
        .filter((e) => e.userId === r.user.id && e.createdAt >= r.createdAt)
        .map(({ userId: _u, ...e }) => e),
    );
  }
  return out;
}

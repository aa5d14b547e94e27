import Stripe from "stripe";
import { z } from "zod";
import { Prisma } from "~/generated/prisma/client";
import { ATTENTION_KINDS, dismissAttention, resolveAttention } from "../attention.server";
import { writeAudit } from "../audit.server";
import { getDb } from "../db.server";
import { ConflictError, DomainError, NotFoundError, ValidationError } from "../errors.server";
import { fulfillCheckoutSession, type FulfillResult } from "../fulfillment.server";
import { syncPacks, type PackSyncReport } from "../packs.server";
import { KIND_LABELS } from "./ops-labels";
import {
  cursorParam,
  dayAfter,
  dayStart,
  optionalDay,
  optionalEnum,
  optionalText,
} from "./forms.server";
import {
  finishPage,
  keysetQuery,
  type Page,
  type PageRequest,
  type SortSpec,
} from "./keyset.server";
import { searchUsers } from "./user-search.server";
import { replayEvent, type StaffRef } from "./webhook-events.server";

export const QUEUE_PAGE_SIZE = 100;
export const HISTORY_PAGE_SIZE = 50;

/** Kinds the queue knows: the money path's kinds, plus alerts the reconciliation could not send. */
export const QUEUE_KINDS = [...new Set<string>([...ATTENTION_KINDS, "alert_delivery"])] as [
  string,
  ...string[],
];
export type QueueKind = string;
export { KIND_LABELS };

export const queueFilterSchema = z.object({
  kind: optionalEnum(QUEUE_KINDS, "kind"),
  after: cursorParam,
  before: cursorParam,
});
export type QueueFilter = z.output<typeof queueFilterSchema>;

const itemSelect = {
  id: true,
  kind: true,
  status: true,
  title: true,
  detail: true,
  checkoutSessionId: true,
  stripeEventId: true,
  userId: true,
  purchaseId: true,
  runId: true,
  occurrences: true,
  createdAt: true,
  updatedAt: true,
  resolvedAt: true,
  resolution: true,
  resolvedBy: { select: { id: true, email: true, name: true } },
  user: { select: { id: true, email: true } },
} as const;

interface RawKeyRow {
  id: string;
  kind: string;
  created_at: Date;
}

// Oldest first inside each kind (a queue is worked from its front); the index (status, kind, created_at) serves it.
const QUEUE_SORT: SortSpec = {
  direction: "asc",
  columns: [
    { sql: Prisma.sql`kind`, cast: "text" },
    { sql: Prisma.sql`created_at`, cast: "timestamptz" },
    { sql: Prisma.sql`id`, cast: "text" },
  ],
};

async function loadItems(ids: string[]) {
  if (ids.length === 0) return [];
  const rows = await getDb().attentionItem.findMany({
    where: { id: { in: ids } },
    select: itemSelect,
  });
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.map((id) => byId.get(id)).filter((r): r is NonNullable<typeof r> => Boolean(r));
}

export type QueueItem = Awaited<ReturnType<typeof loadItems>>[number];

/** Open items, grouped by kind (kind, then oldest first), one keyset page of at most 100. */
export async function listOpenItems(
  filter: QueueFilter,
  limit = QUEUE_PAGE_SIZE,
): Promise<Page<QueueItem>> {
  const req: PageRequest = { after: filter.after, before: filter.before, limit };
  const q = keysetQuery(QUEUE_SORT, req);
  const kind = filter.kind ? Prisma.sql` AND kind = ${filter.kind}` : Prisma.empty;
  const keys = await getDb().$queryRaw<RawKeyRow[]>`
    SELECT id, kind, created_at FROM attention_items
    WHERE status = 'open'${kind}${q.boundary}
    ORDER BY ${q.orderBy} LIMIT ${q.take}`;
  const page = finishPage(keys, req, q, (r) => [r.kind, r.created_at, r.id]);
  return { ...page, rows: await loadItems(page.rows.map((r) => r.id)) };
}

export async function openCountsByKind(): Promise<Record<string, number>> {
  const rows = await getDb().attentionItem.groupBy({
    by: ["kind"],
    where: { status: "open" },
    _count: { _all: true },
  });
  return Object.fromEntries(rows.map((r) => [r.kind, r._count._all]));
}

export const historyFilterSchema = z
  .object({
    status: optionalEnum(["resolved", "dismissed"] as const, "status"),
    kind: optionalEnum(QUEUE_KINDS, "kind"),
    by: optionalText(200, "Staff email"),
    from: optionalDay("From"),
    to: optionalDay("To"),
    after: cursorParam,
    before: cursorParam,
  })
  .refine((f) => !f.from || !f.to || f.from <= f.to, {
    path: ["to"],
    error: "The end date must not be before the start date.",
  });
export type HistoryFilter = z.output<typeof historyFilterSchema>;

const HISTORY_SORT: SortSpec = {
  direction: "desc",
  columns: [
    { sql: Prisma.sql`a.resolved_at`, cast: "timestamptz" },
    { sql: Prisma.sql`a.id`, cast: "text" },
  ],
};

/** Resolved and dismissed items, newest first: who closed each, when and how. */
export async function listClosedItems(
  filter: HistoryFilter,
  limit = HISTORY_PAGE_SIZE,
): Promise<Page<QueueItem>> {
  const req: PageRequest = { after: filter.after, before: filter.before, limit };
  const conditions: Prisma.Sql[] = [
    Prisma.sql`a.status <> 'open'`,
    Prisma.sql`a.resolved_at IS NOT NULL`,
  ];
  if (filter.status) conditions.push(Prisma.sql`a.status = ${filter.status}::"AttentionStatus"`);
  if (filter.kind) conditions.push(Prisma.sql`a.kind = ${filter.kind}`);
  if (filter.from) conditions.push(Prisma.sql`a.resolved_at >= ${dayStart(filter.from)}`);
  if (filter.to) conditions.push(Prisma.sql`a.resolved_at < ${dayAfter(filter.to)}`);
  if (filter.by) {
    const prefix = `${filter.by.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    conditions.push(
      Prisma.sql`EXISTS (SELECT 1 FROM staff_users s WHERE s.id = a.resolved_by_id AND lower(s.email) LIKE ${prefix})`,
    );
  }
  const q = keysetQuery(HISTORY_SORT, req);
  const keys = await getDb().$queryRaw<{ id: string; resolved_at: Date }[]>`
    SELECT a.id, a.resolved_at FROM attention_items a
    WHERE ${Prisma.join(conditions, " AND ")}${q.boundary}
    ORDER BY ${q.orderBy} LIMIT ${q.take}`;
  const page = finishPage(keys, req, q, (r) => [r.resolved_at, r.id]);
  return { ...page, rows: await loadItems(page.rows.map((r) => r.id)) };
}

export async function getAttentionItem(id: string) {
  if (!z.uuid().safeParse(id).success) throw new NotFoundError("Attention item", id);
  const db = getDb();
  const item = await db.attentionItem.findUnique({
    where: { id },
    select: { ...itemSelect, data: true, dedupeKey: true },
  });
  if (!item) throw new NotFoundError("Attention item", id);
  const purchase = item.purchaseId
    ? await db.purchase.findUnique({
        where: { id: item.purchaseId },
        select: { id: true, checkoutSessionId: true, userId: true, credits: true },
      })
    : item.checkoutSessionId
      ? await db.purchase.findUnique({
          where: { checkoutSessionId: item.checkoutSessionId },
          select: { id: true, checkoutSessionId: true, userId: true, credits: true },
        })
      : null;
  const history = await db.auditLog.findMany({
    where: { targetType: "attention_item", targetId: id },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: 50,
    select: {
      id: true,
      action: true,
      actorLabel: true,
      actorId: true,
      reason: true,
      after: true,
      createdAt: true,
    },
  });
  return { item, purchase, history: history.map((h) => ({ ...h, id: h.id.toString() })) };
}

// ---------------------------------------------------------------------------------------------
// Fixes

export const itemIdSchema = z.uuid({ error: "The item id is not valid: reload the page." });

export const assignSchema = z.object({
  itemId: itemIdSchema,
  userId: z
    .string({ error: "Choose the user to credit." })
    .trim()
    .min(1, { error: "Choose the user to credit." })
    .max(200, { error: "A user id is at most 200 characters." }),
});

export const itemActionSchema = z.object({ itemId: itemIdSchema });

export const dismissSchema = z.object({
  itemId: itemIdSchema,
  reason: z
    .string({ error: "Write why this item needs no fix." })
    .trim()
    .min(10, { error: "Write at least 10 characters, so the next person understands why." })
    .max(2000, { error: "Keep the reason under 2,000 characters." }),
});

export const resolveSchema = z.object({
  itemId: itemIdSchema,
  resolution: z
    .string({ error: "Write what was done." })
    .trim()
    .min(10, { error: "Write at least 10 characters: what was done, so the next person knows." })
    .max(2000, { error: "Keep the note under 2,000 characters." }),
});

export type FixOutcome = {
  tone: "success" | "info" | "error";
  message: string;
  /** The user whose balance changed, to link to. */
  userId?: string | null;
  packSync?: Pick<PackSyncReport, "created" | "updated" | "deactivated" | "errors" | "pricesSeen">;
};

const actorOf = (staff: StaffRef) => ({
  type: "staff" as const,
  id: staff.id,
  label: staff.email,
  ip: staff.ip ?? null,
});

async function openItem(itemId: string) {
  const item = await getDb().attentionItem.findUnique({ where: { id: itemId } });
  if (!item) throw new NotFoundError("Attention item", itemId, "itemId");
  if (item.status !== "open") {
    throw new ConflictError(
      `This item was already ${item.status}${item.resolution ? `: ${item.resolution}` : "."}`,
      "itemId",
    );
  }
  return item;
}

function stripeFailure(error: unknown): never {
  if (error instanceof DomainError && error.status === 404) {
    throw new ValidationError(
      `${error.message} Stripe does not know this session (test and live ids differ).`,
      "itemId",
    );
  }
  if (error instanceof Stripe.errors.StripeError) {
    throw new DomainError(
      502,
      "stripe_error",
      `Stripe could not be asked about this session: ${error.message}`,
    );
  }
  throw error;
}

function describeFulfillment(r: FulfillResult, sessionId: string): FixOutcome {
  switch (r.outcome) {
    case "credited":
      return {
        tone: "success",
        message: `Credited ${r.credits} credits for ${sessionId} to user ${r.userId}.`,
        userId: r.userId,
      };
    case "already_credited":
      return {
        tone: "info",
        message: `${sessionId} was already credited to user ${r.purchase.userId}; nothing was credited again.`,
        userId: r.purchase.userId,
      };
    case "not_paid":
      return {
        tone: "error",
        message: `${sessionId} is not paid (payment status ${r.paymentStatus}); nothing was credited.`,
      };
    case "unmatched_user":
      return {
        tone: "error",
        message: `Still no user matches ${sessionId}: ${r.detail} Assign a user instead.`,
      };
    case "unknown_price":
      return {
        tone: "error",
        message: `Still not credited: ${r.detail} Add metadata.credits to the price in Stripe and retry.`,
      };
    case "amount_mismatch":
      return { tone: "error", message: `Still not credited: ${r.detail}` };
    case "no_credits":
      return { tone: "info", message: `${sessionId} grants no credits: ${r.detail}` };
  }
}

/**
 * Credit an unmatched session to the user staff chose. The shared fulfillment does the work (so it
 * credits at most once) and closes the item itself when it credits; an item whose session had
 * meanwhile been credited another way is closed here with that explanation.
 */
export async function assignAndCredit(
  input: z.output<typeof assignSchema>,
  staff: StaffRef,
): Promise<FixOutcome> {
  const item = await openItem(input.itemId);
  if (item.kind !== "unmatched_user" || !item.checkoutSessionId) {
    throw new ValidationError(
      "Only a paid Checkout Session without a user can be assigned to a user.",
      "itemId",
    );
  }
  const user = await getDb().user.findUnique({ where: { id: input.userId }, select: { id: true } });
  if (!user)
    throw new ValidationError(
      `No user has the id ${input.userId}. Search again and pick one from the list.`,
      "userId",
    );
  let result: FulfillResult;
  try {
    result = await fulfillCheckoutSession(item.checkoutSessionId, "manual", {
      assignUserId: user.id,
      staffId: staff.id,
    });
  } catch (error) {
    stripeFailure(error);
  }
  const outcome = describeFulfillment(result, item.checkoutSessionId);
  if (result.outcome === "already_credited") {
    await closeIfOpen(
      item.id,
      staff,
      `Already credited to user ${result.purchase.userId} (purchase ${result.purchase.id}); nothing more to do.`,
    );
  }
  await writeAudit({
    actor: actorOf(staff),
    action: "attention.assign_credit",
    targetType: "attention_item",
    targetId: item.id,
    after: {
      sessionId: item.checkoutSessionId,
      assignedUserId: user.id,
      outcome: result.outcome,
      ...(result.outcome === "credited" || result.outcome === "already_credited"
        ? { purchaseId: result.purchase?.id ?? null }
        : {}),
    },
  });
  return outcome;
}

async function closeIfOpen(itemId: string, staff: StaffRef, resolution: string) {
  try {
    await resolveAttention(itemId, { staffId: staff.id, resolution });
  } catch (error) {
    // Closed by someone (or by the fulfillment) in the meantime: that is the state we wanted.
    if (!(error instanceof ConflictError)) throw error;
  }
}

/** Kinds whose fix may be "fulfil the session again". */
export const RETRYABLE_KINDS = [
  "unknown_price",
  "amount_mismatch",
  "unmatched_user",
  "reconciliation_error",
];

/**
 * Retry a session that could not be credited (unknown price, amount mismatch, or a user that now
 * exists): sync packs from Stripe first so a price fixed in Stripe is known, then fulfil again.
 */
export async function retrySession(
  input: z.output<typeof itemActionSchema>,
  staff: StaffRef,
): Promise<FixOutcome> {
  const item = await openItem(input.itemId);
  if (!item.checkoutSessionId || !RETRYABLE_KINDS.includes(item.kind)) {
    throw new ValidationError("This item has no Checkout Session to retry.", "itemId");
  }
  let report: PackSyncReport;
  let result: FulfillResult;
  try {
    report = await syncPacks();
    result = await fulfillCheckoutSession(item.checkoutSessionId, "manual", { staffId: staff.id });
  } catch (error) {
    stripeFailure(error);
  }
  const outcome = describeFulfillment(result, item.checkoutSessionId);
  if (result.outcome === "already_credited") {
    await closeIfOpen(
      item.id,
      staff,
      `Already credited to user ${result.purchase.userId} (purchase ${result.purchase.id}); nothing more to do.`,
    );
  }
  const packSync = {
    created: report.created,
    updated: report.updated,
    deactivated: report.deactivated,
    errors: report.errors,
    pricesSeen: report.pricesSeen,
  };
  await writeAudit({
    actor: actorOf(staff),
    action: "attention.retry_session",
    targetType: "attention_item",
    targetId: item.id,
    after: {
      sessionId: item.checkoutSessionId,
      outcome: result.outcome,
      packsCreated: report.created.length,
      packsUpdated: report.updated.length,
      packErrors: report.errors.length,
    },
  });
  return { ...outcome, packSync };
}

/** Replay the failed event behind an item (the replay closes the item when it now succeeds). */
export async function retryEvent(
  input: z.output<typeof itemActionSchema>,
  staff: StaffRef,
): Promise<FixOutcome> {
  const item = await openItem(input.itemId);
  if (item.kind !== "failed_event" || !item.stripeEventId)
    throw new ValidationError("This item has no failed event to replay.", "itemId");
  const r = await replayEvent(item.stripeEventId, staff);
  const ok = r.status === "processed" || r.status === "ignored";
  return {
    tone: ok ? "success" : "error",
    message: ok
      ? `Replayed ${item.stripeEventId}: ${r.status}${r.detail ? ` (${r.detail})` : ""}. The item is resolved.`
      : `Replayed ${item.stripeEventId}, still ${r.status}: ${r.detail ?? "no detail"}.`,
    userId: r.userId,
  };
}

export async function dismissItem(
  input: z.output<typeof dismissSchema>,
  staff: StaffRef,
): Promise<FixOutcome> {
  await dismissAttention(input.itemId, { staffId: staff.id, reason: input.reason });
  return { tone: "success", message: "Item dismissed. It stays in the history with your reason." };
}

export async function resolveItem(
  input: z.output<typeof resolveSchema>,
  staff: StaffRef,
): Promise<FixOutcome> {
  await resolveAttention(input.itemId, { staffId: staff.id, resolution: input.resolution });
  return { tone: "success", message: "Item marked as resolved." };
}

/** Users for the "assign to" search box: part 1's finder (email, id, name or customer prefix). */
export async function findUsersForAssignment(q: string) {
  const term = q.trim();
  if (term.length < 2) return [];
  const page = await searchUsers({ q: term.slice(0, 200) }, 10);
  return page.rows.map((u) => ({ id: u.id, email: u.email, name: u.name, balance: u.balance }));
}

// ---------------------------------------------------------------------------------------------
// One dispatcher for the queue page and the item page, so both forms behave the same.

export const ATTENTION_INTENTS = [
  "assign",
  "retry-session",
  "retry-event",
  "dismiss",
  "resolve",
] as const;
export type AttentionIntent = (typeof ATTENTION_INTENTS)[number];

export type AttentionActionResult =
  | { ok: true; intent: AttentionIntent; itemId: string; outcome: FixOutcome }
  | {
      ok: false;
      intent: AttentionIntent | null;
      itemId: string;
      fieldErrors: Record<string, string>;
      values: Record<string, string>;
      status: number;
    };

/**
 * Validate and run one fix. `canReplay` says whether the caller may replay events (admin); the
 * route has already checked the caller may work the queue at all.
 */
export async function runAttentionAction(
  values: Record<string, string>,
  staff: StaffRef,
  opts: { canReplay: boolean },
): Promise<AttentionActionResult> {
  const itemId = values.itemId ?? "";
  const intent = (ATTENTION_INTENTS as readonly string[]).includes(values.intent ?? "")
    ? (values.intent as AttentionIntent)
    : null;
  const fail = (fieldErrors: Record<string, string>, status = 400): AttentionActionResult => ({
    ok: false,
    intent,
    itemId,
    fieldErrors,
    values,
    status,
  });
  if (!intent) return fail({ form: "Unknown action: reload the page and try again." });
  if (intent === "retry-event" && !opts.canReplay)
    return fail({ form: "Only an admin can replay events." }, 403);
  const schema =
    intent === "assign"
      ? assignSchema
      : intent === "dismiss"
        ? dismissSchema
        : intent === "resolve"
          ? resolveSchema
          : itemActionSchema;
  const parsed = schema.safeParse(values);
  if (!parsed.success) {
    const fieldErrors: Record<string, string> = {};
    for (const issue of parsed.error.issues)
      fieldErrors[String(issue.path[0] ?? "form")] ??= issue.message;
    return fail(fieldErrors);
  }
  try {
    let outcome: FixOutcome;
    switch (intent) {
      case "assign":
        outcome = await assignAndCredit(parsed.data as z.output<typeof assignSchema>, staff);
        break;
      case "retry-session":
        outcome = await retrySession(parsed.data, staff);
        break;
      case "retry-event":
        outcome = await retryEvent(parsed.data, staff);
        break;
      case "dismiss":
        outcome = await dismissItem(parsed.data as z.output<typeof dismissSchema>, staff);
        break;
      case "resolve":
        outcome = await resolveItem(parsed.data as z.output<typeof resolveSchema>, staff);
        break;
    }
    return { ok: true, intent, itemId, outcome };
  } catch (error) {
    if (error instanceof DomainError) {
      const field =
        error.field === "resolution" || error.field === "reason" || error.field === "userId"
          ? error.field
          : "form";
      const status =
        error.status === 404 ? 404 : error.status === 409 ? 409 : error.status >= 500 ? 502 : 400;
      return fail({ [field]: error.message }, status);
    }
    throw error;
  }
}

import { randomUUID } from "node:crypto";
import { Prisma, type AttentionItem } from "~/generated/prisma/client";
import { writeAudit } from "./audit.server";
import { getDb, type Tx } from "./infra/db.server";
import { ConflictError, NotFoundError, ValidationError } from "./errors.server";

/**
 * Attention items are what support must look at: things the system could not do on its own.
 * One open item per dedupe key, enforced by the database (`open_key` is UNIQUE while the item is
 * open and NULL once it is closed), so a webhook retried fifty times raises one item with
 * `occurrences = 50` instead of fifty items.
 */

export const ATTENTION_KINDS = [
  "unmatched_user",
  "unknown_price",
  "failed_event",
  "amount_mismatch",
  "unrecovered_credits",
  "webhook_gap",
  "dispute_lost",
  /** Reconciliation could not process a session (the detail says why). */
  "reconciliation_error",
  /** A reconciliation alert could not be POSTed to ALERT_WEBHOOK_URL (retried on the next run). */
  "alert_delivery",
  /** An outbound events endpoint was disabled after failing too long (app/services/outbound/). */
  "outbound_endpoint_disabled",
] as const;
export type AttentionKind = (typeof ATTENTION_KINDS)[number];

export interface RaiseAttentionInput {
  kind: AttentionKind;
  /** What the item is about, e.g. "unmatched_user:cs_123"; repeated raises of one key count up. */
  dedupeKey: string;
  title: string;
  detail?: string | null;
  checkoutSessionId?: string | null;
  stripeEventId?: string | null;
  /** Must be an existing user id (foreign key). */
  userId?: string | null;
  purchaseId?: string | null;
  runId?: string | null;
  data?: Prisma.InputJsonValue;
}

export interface RaisedAttention {
  id: string;
  /** false when an open item with the same key existed and only its occurrences went up. */
  created: boolean;
  occurrences: number;
}

/** Raise (or count again) the open item for a key, in the caller's transaction when given. */
export async function raiseAttention(
  input: RaiseAttentionInput,
  tx?: Tx,
): Promise<RaisedAttention> {
  if (!(ATTENTION_KINDS as readonly string[]).includes(input.kind)) {
    throw new ValidationError(`kind "${input.kind}" is not an attention kind.`, "kind");
  }
  if (!input.dedupeKey) throw new ValidationError("dedupeKey is required.", "dedupeKey");
  const client = tx ?? getDb();
  const data = input.data === undefined ? null : JSON.stringify(input.data);
  // A single statement: concurrent raisers of one key cannot both insert (unique open_key), and
  // the loser's row turns into an occurrence count on the winner's. The latest detail wins.
  const rows = await client.$queryRaw<{ id: string; occurrences: number; inserted: boolean }[]>`
    INSERT INTO attention_items (id, kind, status, dedupe_key, open_key, title, detail, checkout_session_id,
      stripe_event_id, user_id, purchase_id, run_id, data, occurrences, created_at, updated_at)
    VALUES (${randomUUID()}, ${input.kind}, 'open', ${input.dedupeKey}, ${input.dedupeKey}, ${input.title},
      ${input.detail ?? null}, ${input.checkoutSessionId ?? null}, ${input.stripeEventId ?? null},
      ${input.userId ?? null}, ${input.purchaseId ?? null}, ${input.runId ?? null}, ${data}::jsonb, 1, now(), now())
    ON CONFLICT (open_key) DO UPDATE SET
      occurrences = attention_items.occurrences + 1,
      detail = COALESCE(EXCLUDED.detail, attention_items.detail),
      data = COALESCE(EXCLUDED.data, attention_items.data),
      stripe_event_id = COALESCE(EXCLUDED.stripe_event_id, attention_items.stripe_event_id),
      user_id = COALESCE(EXCLUDED.user_id, attention_items.user_id),
      purchase_id = COALESCE(EXCLUDED.purchase_id, attention_items.purchase_id),
      run_id = COALESCE(EXCLUDED.run_id, attention_items.run_id),
      updated_at = now()
    RETURNING id, occurrences, (xmax = 0) AS inserted`;
  const row = rows[0];
  return { id: row.id, created: row.inserted, occurrences: row.occurrences };
}

/**
 * Close the open items with these keys because the system itself fixed the cause (e.g. the
 * session was credited after staff assigned a user). No-op for keys without an open item.
 */
export async function autoResolveAttention(
  tx: Tx,
  dedupeKeys: string[],
  resolution: string,
  staffId?: string | null,
): Promise<number> {
  if (dedupeKeys.length === 0) return 0;
  return tx.$executeRaw(autoResolveAttentionSql(dedupeKeys, resolution, staffId));
}

/**
 * The same closing as SQL, for a statement that does it itself (fulfillment's single statement);
 * `when` adds a condition (e.g. that the statement's purchase was inserted).
 */
export function autoResolveAttentionSql(
  dedupeKeys: string[],
  resolution: string,
  staffId?: string | null,
  when?: Prisma.Sql,
): Prisma.Sql {
  return Prisma.sql`
    UPDATE attention_items SET status = 'resolved', open_key = NULL, resolved_at = now(),
      resolved_by_id = ${staffId ?? null}, resolution = ${resolution}, updated_at = now()
    WHERE open_key = ANY(${dedupeKeys}::text[])${when ? Prisma.sql` AND ${when}` : Prisma.empty}`;
}

async function closeItem(
  id: string,
  status: "resolved" | "dismissed",
  opts: { staffId: string; text: string; field: "resolution" | "reason" },
): Promise<AttentionItem> {
  const text = opts.text?.trim();
  if (!text)
    throw new ValidationError(`${opts.field} is required: say what was done and why.`, opts.field);
  if (text.length > 2000)
    throw new ValidationError(`${opts.field} must be at most 2000 characters.`, opts.field);
  return getDb().$transaction(async (tx) => {
    const before = await tx.attentionItem.findUnique({ where: { id } });
    if (!before) throw new NotFoundError("Attention item", id, "id");
    if (before.status !== "open") {
      throw new ConflictError(`Attention item ${id} is already ${before.status}.`, "id");
    }
    // The status guard in the WHERE makes two staff closing the same item at once safe.
    const updated = await tx.$executeRaw`
      UPDATE attention_items SET status = ${status}::"AttentionStatus", open_key = NULL, resolved_by_id = ${opts.staffId},
        resolved_at = now(), resolution = ${text}, updated_at = now()
      WHERE id = ${id} AND status = 'open'`;
    if (updated === 0)
      throw new ConflictError(`Attention item ${id} was closed by someone else.`, "id");
    const after = await tx.attentionItem.findUniqueOrThrow({ where: { id } });
    await writeAudit(
      {
        actor: { type: "staff", id: opts.staffId },
        action: status === "resolved" ? "attention.resolve" : "attention.dismiss",
        targetType: "attention_item",
        targetId: id,
        before: { status: before.status, kind: before.kind, dedupeKey: before.dedupeKey },
        after: { status: after.status },
        reason: text,
      },
      tx,
    );
    return after;
  });
}

export function resolveAttention(
  id: string,
  opts: { staffId: string; resolution: string },
): Promise<AttentionItem> {
  return closeItem(id, "resolved", {
    staffId: opts.staffId,
    text: opts.resolution,
    field: "resolution",
  });
}

export function dismissAttention(
  id: string,
  opts: { staffId: string; reason: string },
): Promise<AttentionItem> {
  return closeItem(id, "dismissed", { staffId: opts.staffId, text: opts.reason, field: "reason" });
}

/** Dedupe keys used by the money path, in one place so raisers and resolvers agree. */
export const attentionKeys = {
  unmatchedUser: (objectId: string) => `unmatched_user:${objectId}`,
  unknownPrice: (sessionId: string) => `unknown_price:${sessionId}`,
  amountMismatch: (sessionId: string) => `amount_mismatch:${sessionId}`,
  failedEvent: (eventId: string) => `failed_event:${eventId}`,
  unrecoveredCredits: (purchaseId: string) => `unrecovered_credits:${purchaseId}`,
  disputeLost: (disputeId: string) => `dispute_lost:${disputeId}`,
};

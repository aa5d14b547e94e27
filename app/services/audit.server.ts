import { Prisma } from "~/generated/prisma/client";
import { getDb, type Tx } from "./infra/db.server";

export type Actor =
  | { type: "staff"; id: string; label?: string; ip?: string | null }
  | { type: "api_key"; id: string; label?: string; ip?: string | null }
  | { type: "system"; label?: string }
  | { type: "cli"; label?: string };

export interface AuditInput {
  actor: Actor;
  action: string;
  targetType?: string;
  targetId?: string;
  before?: Prisma.InputJsonValue;
  after?: Prisma.InputJsonValue;
  reason?: string | null;
}

/** Every change made by staff, API keys or operators leaves one append-only audit row. */
export async function writeAudit(input: AuditInput, tx?: Tx) {
  const client = tx ?? getDb();
  const { actor } = input;
  return client.auditLog.create({
    data: {
      actorType: actor.type,
      actorId: "id" in actor ? actor.id : null,
      actorLabel: actor.label ?? null,
      action: input.action,
      targetType: input.targetType ?? null,
      targetId: input.targetId ?? null,
      before: input.before,
      after: input.after,
      reason: input.reason ?? null,
      ip: "ip" in actor ? (actor.ip ?? null) : null,
    },
  });
}

/**
 * The same audit row as SQL, for a statement that writes it itself (fulfillment's single
 * statement): one row per row of `from`, whose `id` column becomes the target id.
 */
export function auditInsertFromSql(
  input: Omit<AuditInput, "targetId" | "before" | "after"> & { after?: unknown },
  from: Prisma.Sql,
): Prisma.Sql {
  const { actor } = input;
  return Prisma.sql`
    INSERT INTO audit_logs (actor_type, actor_id, actor_label, action, target_type, target_id, after, reason, ip)
    SELECT ${actor.type}, ${"id" in actor ? actor.id : null}, ${actor.label ?? null}, ${input.action},
      ${input.targetType ?? null}, src.id, ${input.after === undefined ? null : JSON.stringify(input.after)}::jsonb,
      ${input.reason ?? null}, ${"ip" in actor ? (actor.ip ?? null) : null}
    FROM ${from} src`;
}

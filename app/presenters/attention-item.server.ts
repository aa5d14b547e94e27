import { z } from "zod";
import { getDb } from "~/services/infra/db.server";
import { NotFoundError } from "~/services/errors.server";
import { itemSelect } from "./attention-queue.server";

// One attention item's page: the item, its purchase and the staff actions on it (from the audit log).

export async function presentAttentionItem(id: string) {
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

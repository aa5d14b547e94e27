import type { CreditPack } from "~/generated/prisma/client";
import { findPacksByPriceIds, listActivePacks } from "../packs.server";

/** What the main app needs to show a pack and start a checkout for it. */
export function toApiPack(pack: CreditPack) {
  return {
    id: pack.id,
    priceId: pack.stripePriceId,
    productId: pack.stripeProductId,
    name: pack.name,
    credits: pack.credits,
    unitAmount: pack.unitAmount,
    currency: pack.currency,
    // Stripe's price.type, as syncPacks (packs.server.ts) stores it.
    type: pack.priceType as "one_time" | "recurring",
    grantsTier: pack.grantsTier,
  };
}
export type ApiPack = ReturnType<typeof toApiPack>;

/** Active packs, cheapest first (the packs service keeps them mirrored from Stripe prices). */
export async function listApiPacks(): Promise<ApiPack[]> {
  return (await listActivePacks()).map(toApiPack);
}

export async function findPackByPrice(priceId: string): Promise<CreditPack | null> {
  return (await findPacksByPriceIds([priceId])).get(priceId) ?? null;
}

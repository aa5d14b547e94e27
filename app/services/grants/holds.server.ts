import type { Tx } from "../infra/db.server";

/**
 * A lost dispute voids the purchase's grant: the dispute hold already took its credits out of the
 * balance (credit_allocate), so the grant has nothing left and is marked `voided` for good. When
 * the dispute covered only part of the purchase, the undisputed credits stay spendable: the grant
 * goes back to `active` with them.
 */
export async function settleDisputedGrant(tx: Tx, purchaseId: string): Promise<void> {
  await tx.$executeRaw`
    UPDATE credit_grants
    SET status = (CASE WHEN remaining = 0 THEN 'voided' ELSE 'active' END)::"GrantStatus", updated_at = now()
    WHERE purchase_id = ${purchaseId} AND source = 'purchase' AND status = 'held'`;
}

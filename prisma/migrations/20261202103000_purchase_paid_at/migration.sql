-- Issue 21: one definition of time for finance. A purchase's paid_at is when Stripe took the money
-- (its charge's creation); created_at stays as when creditdesk credited it. Refunds keep their
-- own stripe_created and disputes their opened_at; disputes gain Stripe's evidence due date.

-- AlterTable
ALTER TABLE "disputes" ADD COLUMN     "evidence_due_by" TIMESTAMPTZ(3);

-- AlterTable: added empty, backfilled below from what is stored, then required.
ALTER TABLE "purchases" ADD COLUMN     "paid_at" TIMESTAMPTZ(3);

-- Backfill, best source first:
-- 1. the charge itself, from any stored charge.* event whose object is the purchase's charge
--    (charge.refunded carries the whole charge, with its `created`);
-- 2. the event that said the session was paid (checkout.session.completed /
--    async_payment_succeeded): Stripe created it as the session completed;
-- 3. the session's own creation (stripe_created_at), at most its 24-hour lifetime early.
UPDATE "purchases" p SET "paid_at" = COALESCE(
  (SELECT min(to_timestamp((e.payload->'data'->'object'->>'created')::double precision))
     FROM "stripe_events" e
    WHERE e.type LIKE 'charge.%'
      AND e.payload->'data'->'object'->>'object' = 'charge'
      AND (e.object_id = p.charge_id
           OR e.payload->'data'->'object'->>'payment_intent' = p.payment_intent_id)),
  (SELECT min(e.stripe_created_at) FROM "stripe_events" e
    WHERE e.object_id = p.checkout_session_id
      AND e.type IN ('checkout.session.completed', 'checkout.session.async_payment_succeeded')),
  p.stripe_created_at);

ALTER TABLE "purchases" ALTER COLUMN "paid_at" SET NOT NULL;

-- Evidence due dates from the stored dispute events (the latest event knows the latest date).
UPDATE "disputes" d SET "evidence_due_by" = (
  SELECT to_timestamp((e.payload->'data'->'object'->'evidence_details'->>'due_by')::double precision)
    FROM "stripe_events" e
   WHERE e.object_id = d.id AND e.payload->'data'->'object'->'evidence_details'->>'due_by' IS NOT NULL
   ORDER BY e.stripe_created_at DESC LIMIT 1);

-- CreateIndex
CREATE INDEX "disputes_opened_at_idx" ON "disputes"("opened_at");

-- CreateIndex
CREATE INDEX "disputes_closed_at_idx" ON "disputes"("closed_at");

-- CreateIndex
CREATE INDEX "purchases_paid_at_id_idx" ON "purchases"("paid_at", "id");

-- CreateIndex
CREATE INDEX "refunds_stripe_created_id_idx" ON "refunds"("stripe_created", "id");

-- AlterTable
ALTER TABLE "stripe_events" ADD COLUMN     "available_at" TIMESTAMPTZ(3);

-- CreateIndex
CREATE INDEX "stripe_events_status_available_at_idx" ON "stripe_events"("status", "available_at");

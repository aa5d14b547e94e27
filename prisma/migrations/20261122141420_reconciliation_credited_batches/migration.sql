-- CreateTable
CREATE TABLE "reconciliation_credited_batches" (
    "id" BIGSERIAL NOT NULL,
    "run_id" TEXT NOT NULL,
    "checkout_session_ids" TEXT[],
    "purchase_ids" TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "reconciliation_credited_batches_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "reconciliation_credited_batches_run_id_id_idx" ON "reconciliation_credited_batches"("run_id", "id");

-- AddForeignKey
ALTER TABLE "reconciliation_credited_batches" ADD CONSTRAINT "reconciliation_credited_batches_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "reconciliation_runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

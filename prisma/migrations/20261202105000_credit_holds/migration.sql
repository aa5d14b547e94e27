-- CreateEnum
CREATE TYPE "HoldStatus" AS ENUM ('open', 'captured', 'released', 'expired');

-- CreateTable
CREATE TABLE "credit_holds" (
    "id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "amount" INTEGER NOT NULL,
    "status" "HoldStatus" NOT NULL DEFAULT 'open',
    "captured_amount" INTEGER,
    "idempotency_key" TEXT NOT NULL,
    "payload_hash" TEXT NOT NULL,
    "description" TEXT,
    "api_key_id" TEXT,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "resolved_at" TIMESTAMPTZ(3),
    "capture_entry_id" BIGINT,

    CONSTRAINT "credit_holds_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "credit_holds_idempotency_key_key" ON "credit_holds"("idempotency_key");

-- CreateIndex
CREATE UNIQUE INDEX "credit_holds_capture_entry_id_key" ON "credit_holds"("capture_entry_id");

-- CreateIndex
CREATE INDEX "credit_holds_user_id_status_idx" ON "credit_holds"("user_id", "status");

-- CreateIndex
CREATE INDEX "credit_holds_status_expires_at_idx" ON "credit_holds"("status", "expires_at");

-- AddForeignKey
ALTER TABLE "credit_holds" ADD CONSTRAINT "credit_holds_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- A hold reserves at least one credit; a capture takes at most what was held.
ALTER TABLE "credit_holds" ADD CONSTRAINT "credit_holds_amount_positive" CHECK ("amount" > 0),
  ADD CONSTRAINT "credit_holds_captured_within" CHECK (
    "captured_amount" IS NULL OR ("captured_amount" >= 0 AND "captured_amount" <= "amount"));

-- The sweep and the availability sum read only open holds.
CREATE INDEX "credit_holds_open_user_idx" ON "credit_holds"("user_id", "expires_at") WHERE "status" = 'open';

-- What a debit or a new hold cannot take: the grants migration's credit_unusable (held grants,
-- active grants past their expiry awaiting the expiry pass) plus this user's open API holds that
-- have not expired at p_at (app/services/holds.server.ts). The ledger's debit gate and every new
-- hold subtract it under the user's row lock, so both are checked against `available`.
-- Whoever redefines this function again must keep both parts.
CREATE OR REPLACE FUNCTION credit_unusable(p_user text, p_at timestamptz) RETURNS integer
LANGUAGE sql VOLATILE AS $$
  SELECT (COALESCE((SELECT sum(remaining) FROM credit_grants
            WHERE user_id = p_user AND status = 'active' AND remaining > 0
              AND expires_at IS NOT NULL AND expires_at <= p_at), 0)
        + COALESCE((SELECT sum(remaining) FROM credit_grants
            WHERE user_id = p_user AND status = 'held'), 0)
        + COALESCE((SELECT sum(amount) FROM credit_holds
            WHERE user_id = p_user AND status = 'open' AND expires_at > p_at), 0))::integer
$$;

-- holds:write is new. Keys that may spend credits (debits:write) get it: a hold spends nothing a
-- debit could not, and the main app's key keeps working for the new endpoints. Others do not.
UPDATE "api_keys" SET "scopes" = array_append("scopes", 'holds:write')
WHERE 'debits:write' = ANY("scopes") AND NOT ('holds:write' = ANY("scopes"));

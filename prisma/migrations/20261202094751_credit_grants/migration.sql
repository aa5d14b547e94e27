-- CreateEnum
CREATE TYPE "GrantSource" AS ENUM ('purchase', 'subscription_period', 'manual', 'promotion', 'opening');

-- CreateEnum
CREATE TYPE "GrantStatus" AS ENUM ('active', 'held', 'expired', 'voided');

-- AlterEnum
ALTER TYPE "LedgerKind" ADD VALUE 'expiry';

-- AlterTable
ALTER TABLE "users" ADD COLUMN     "credit_debt" INTEGER NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "credit_grants" (
    "id" BIGSERIAL NOT NULL,
    "user_id" TEXT NOT NULL,
    "source" "GrantSource" NOT NULL,
    "status" "GrantStatus" NOT NULL DEFAULT 'active',
    "granted" INTEGER NOT NULL,
    "remaining" INTEGER NOT NULL,
    "amount_paid" INTEGER NOT NULL DEFAULT 0,
    "currency" TEXT,
    "expires_at" TIMESTAMPTZ(3),
    "priority" INTEGER NOT NULL DEFAULT 50,
    "purchase_id" TEXT,
    "invoice_id" TEXT,
    "subscription_id" TEXT,
    "staff_id" TEXT,
    "ledger_entry_id" BIGINT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "credit_grants_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "credit_allocations" (
    "id" BIGSERIAL NOT NULL,
    "entry_id" BIGINT NOT NULL,
    "grant_id" BIGINT,
    "delta" INTEGER NOT NULL,

    CONSTRAINT "credit_allocations_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "credit_grants_ledger_entry_id_key" ON "credit_grants"("ledger_entry_id");

-- CreateIndex
CREATE INDEX "credit_grants_user_id_id_idx" ON "credit_grants"("user_id", "id");

-- CreateIndex
CREATE INDEX "credit_grants_purchase_id_idx" ON "credit_grants"("purchase_id");

-- CreateIndex
CREATE INDEX "credit_grants_invoice_id_idx" ON "credit_grants"("invoice_id");

-- CreateIndex
CREATE INDEX "credit_allocations_entry_id_idx" ON "credit_allocations"("entry_id");

-- CreateIndex
CREATE INDEX "credit_allocations_grant_id_entry_id_idx" ON "credit_allocations"("grant_id", "entry_id");

-- AddForeignKey
ALTER TABLE "credit_grants" ADD CONSTRAINT "credit_grants_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "credit_grants" ADD CONSTRAINT "credit_grants_purchase_id_fkey" FOREIGN KEY ("purchase_id") REFERENCES "purchases"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "credit_allocations" ADD CONSTRAINT "credit_allocations_entry_id_fkey" FOREIGN KEY ("entry_id") REFERENCES "ledger_entries"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "credit_allocations" ADD CONSTRAINT "credit_allocations_grant_id_fkey" FOREIGN KEY ("grant_id") REFERENCES "credit_grants"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- ---------------------------------------------------------------------------------------------
-- Written by hand (Prisma cannot express partial indexes, triggers or functions; its schema
-- engine leaves them alone when diffing). The grants domain is described in docs/credits.md
-- ("Grants") and app/services/grants/.

-- Burn order: priority, soonest expiry (NULL sorts last in ASC), oldest. Only grants that can
-- still be spent are in it, so a user with 10,000 exhausted daily allowances walks none of them.
CREATE INDEX "credit_grants_burn_idx" ON "credit_grants" ("user_id", "priority", "expires_at", "id")
  WHERE "status" = 'active' AND "remaining" > 0;
-- The expiry pass and the per-user "expired but not yet posted" sum.
CREATE INDEX "credit_grants_expiring_idx" ON "credit_grants" ("expires_at", "user_id")
  WHERE "status" = 'active' AND "remaining" > 0 AND "expires_at" IS NOT NULL;
CREATE INDEX "credit_grants_user_expiring_idx" ON "credit_grants" ("user_id", "expires_at")
  WHERE "status" = 'active' AND "remaining" > 0 AND "expires_at" IS NOT NULL;
CREATE INDEX "credit_grants_held_idx" ON "credit_grants" ("user_id") WHERE "status" = 'held';

CREATE TRIGGER credit_allocations_append_only
  BEFORE UPDATE OR DELETE ON "credit_allocations"
  FOR EACH ROW EXECUTE FUNCTION creditdesk_reject_mutation();
CREATE TRIGGER credit_allocations_no_truncate
  BEFORE TRUNCATE ON "credit_allocations"
  FOR EACH STATEMENT EXECUTE FUNCTION creditdesk_reject_mutation();

-- Credits of the user that exist (in the balance) but cannot be spent now: held grants and
-- active grants past their expiry whose expiry entry is not posted yet. VOLATILE on purpose:
-- called from the ledger statement after it has locked the user's row, its query takes a fresh
-- snapshot, so it sees what the previous holder of the lock committed.
CREATE FUNCTION credit_unusable(p_user text, p_at timestamptz) RETURNS integer
LANGUAGE sql VOLATILE AS $$
  SELECT (COALESCE((SELECT sum(remaining) FROM credit_grants
            WHERE user_id = p_user AND status = 'active' AND remaining > 0
              AND expires_at IS NOT NULL AND expires_at <= p_at), 0)
        + COALESCE((SELECT sum(remaining) FROM credit_grants
            WHERE user_id = p_user AND status = 'held'), 0))::integer
$$;

-- Allocate one ledger entry across the user's grants (app/services/grants/allocation.server.ts
-- explains the rules; both the ledger statement and the rebuild below call this, so they agree).
-- Called once per inserted entry, inside the entry's own statement, after the user's row lock:
-- VOLATILE, so each query here sees the latest committed grants. Writes grants and allocations,
-- never users (the calling statement updates the user's row); returns the change of the user's
-- credit_debt.
CREATE FUNCTION credit_allocate(
  p_entry bigint, p_user text, p_delta integer, p_kind text, p_at timestamptz, p_debt integer,
  p_purchase text, p_reverses bigint, p_staff text, p_grant bigint,
  p_source text, p_amount_paid integer, p_currency text, p_expires_at timestamptz,
  p_priority integer, p_invoice text, p_subscription text
) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  need integer;
  give integer;
  take integer;
  repay integer;
  target bigint := p_grant;
  new_id bigint;
  g record;
BEGIN
  IF p_delta < 0 THEN
    need := -p_delta;
    -- The grant the entry is about comes first: a refund or dispute takes from the purchase's own
    -- grant, a reversal from the grant its entry created, an expiry from the expiring grant.
    IF target IS NULL AND p_reverses IS NOT NULL THEN
      SELECT id INTO target FROM credit_grants WHERE ledger_entry_id = p_reverses;
    END IF;
    IF target IS NULL AND p_purchase IS NOT NULL AND p_kind IN ('refund_clawback', 'dispute_hold') THEN
      SELECT id INTO target FROM credit_grants
        WHERE purchase_id = p_purchase AND source = 'purchase' ORDER BY id LIMIT 1;
    END IF;
    IF target IS NOT NULL THEN
      SELECT id, remaining, status, expires_at INTO g FROM credit_grants
        WHERE id = target AND user_id = p_user FOR UPDATE;
      IF FOUND THEN
        IF p_kind = 'expiry' OR (g.status IN ('active', 'held')
            AND (g.expires_at IS NULL OR g.expires_at > p_at)) THEN
          take := LEAST(g.remaining, need);
          IF take > 0 THEN
            INSERT INTO credit_allocations (entry_id, grant_id, delta) VALUES (p_entry, g.id, -take);
            need := need - take;
          END IF;
          UPDATE credit_grants SET remaining = remaining - take, updated_at = now(),
            status = CASE WHEN p_kind = 'expiry' THEN 'expired'::"GrantStatus"
                          WHEN p_kind = 'dispute_hold' THEN 'held'::"GrantStatus" ELSE status END
            WHERE id = g.id;
        END IF;
      END IF;
    END IF;
    IF p_kind = 'expiry' AND need > 0 THEN
      RAISE EXCEPTION 'expiry entry % takes % credits more than grant % has', p_entry, need, target;
    END IF;
    IF need > 0 THEN
      FOR g IN SELECT id, remaining FROM credit_grants
          WHERE user_id = p_user AND status = 'active' AND remaining > 0
            AND (expires_at IS NULL OR expires_at > p_at)
          ORDER BY priority, expires_at, id LOOP
        take := LEAST(g.remaining, need);
        UPDATE credit_grants SET remaining = remaining - take, updated_at = now() WHERE id = g.id;
        INSERT INTO credit_allocations (entry_id, grant_id, delta) VALUES (p_entry, g.id, -take);
        need := need - take;
        EXIT WHEN need = 0;
      END LOOP;
    END IF;
    IF need > 0 THEN
      -- Beyond every usable grant (only kinds allowed to go negative get here): debt.
      INSERT INTO credit_allocations (entry_id, grant_id, delta) VALUES (p_entry, NULL, -need);
      RETURN need;
    END IF;
    RETURN 0;
  END IF;

  give := p_delta;
  -- A release or reversal gives back to the grants its entry took from, while they are usable.
  IF p_reverses IS NOT NULL THEN
    FOR g IN SELECT a.grant_id, -a.delta AS amount FROM credit_allocations a
        JOIN credit_grants c ON c.id = a.grant_id
        WHERE a.entry_id = p_reverses AND a.delta < 0 AND c.status IN ('active', 'held')
          AND (c.expires_at IS NULL OR c.expires_at > p_at)
        ORDER BY a.id LOOP
      take := LEAST(g.amount, give);
      UPDATE credit_grants SET remaining = remaining + take, updated_at = now(),
        status = CASE WHEN p_kind = 'dispute_release' THEN 'active'::"GrantStatus" ELSE status END
        WHERE id = g.grant_id;
      INSERT INTO credit_allocations (entry_id, grant_id, delta) VALUES (p_entry, g.grant_id, take);
      give := give - take;
      EXIT WHEN give = 0;
    END LOOP;
  END IF;
  IF give = 0 THEN
    RETURN 0;
  END IF;
  -- New credits: a grant of their own, which first repays any debt.
  repay := LEAST(GREATEST(p_debt, 0), give);
  INSERT INTO credit_grants (user_id, source, granted, remaining, amount_paid, currency, expires_at,
      priority, purchase_id, invoice_id, subscription_id, staff_id, ledger_entry_id, created_at, updated_at)
    VALUES (p_user,
      COALESCE(p_source, CASE p_kind WHEN 'purchase' THEN 'purchase' WHEN 'grant' THEN 'promotion'
                                     ELSE 'manual' END)::"GrantSource",
      give, give - repay, COALESCE(p_amount_paid, 0), p_currency, p_expires_at,
      COALESCE(p_priority, 100), p_purchase, p_invoice, p_subscription, p_staff, p_entry, p_at, p_at)
    RETURNING id INTO new_id;
  INSERT INTO credit_allocations (entry_id, grant_id, delta) VALUES (p_entry, new_id, give);
  IF repay > 0 THEN
    INSERT INTO credit_allocations (entry_id, grant_id, delta)
      VALUES (p_entry, new_id, -repay), (p_entry, NULL, repay);
  END IF;
  RETURN -repay;
END;
$$;

-- Rebuild the grants of the existing ledger, entry by entry in each user's seq order, through the
-- same function the ledger calls: purchases become purchase grants with what was paid, manual
-- credits manual grants, other credits opening grants; debits, clawbacks and holds are allocated
-- in burn order (a clawback or hold from its purchase's grant first). Deterministic: the same
-- ledger gives the same grants. Every balance is unchanged (the ledger is not touched);
-- credit_debt is what the ledger took beyond every grant.
DO $$
DECLARE
  e record;
  cur_user text := NULL;
  debt integer := 0;
BEGIN
  FOR e IN SELECT le.id, le.user_id, le.delta, le.kind::text AS kind, le.purchase_id, le.staff_id,
        le.reverses_id, le.created_at, p.amount_total, p.currency
      FROM ledger_entries le LEFT JOIN purchases p ON p.id = le.purchase_id AND le.kind = 'purchase'
      ORDER BY le.user_id, le.seq LOOP
    IF cur_user IS DISTINCT FROM e.user_id THEN
      IF cur_user IS NOT NULL AND debt <> 0 THEN
        UPDATE users SET credit_debt = debt WHERE id = cur_user;
      END IF;
      cur_user := e.user_id;
      debt := 0;
    END IF;
    debt := debt + credit_allocate(e.id, e.user_id, e.delta, e.kind, e.created_at, debt,
      e.purchase_id, e.reverses_id, e.staff_id, NULL,
      CASE WHEN e.kind = 'purchase' THEN 'purchase' WHEN e.kind = 'manual_credit' THEN 'manual'
           ELSE 'opening' END,
      e.amount_total, e.currency, NULL, NULL, NULL, NULL);
  END LOOP;
  IF cur_user IS NOT NULL AND debt <> 0 THEN
    UPDATE users SET credit_debt = debt WHERE id = cur_user;
  END IF;
END;
$$;

-- A lost dispute voids its purchase's grant (app/services/grants/holds.server.ts).
UPDATE credit_grants g
SET status = (CASE WHEN g.remaining = 0 THEN 'voided' ELSE 'active' END)::"GrantStatus"
FROM purchases p
WHERE p.id = g.purchase_id AND g.source = 'purchase' AND g.status = 'held' AND p.status = 'dispute_lost';

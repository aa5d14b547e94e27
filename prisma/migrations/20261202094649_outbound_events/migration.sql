-- CreateEnum
CREATE TYPE "OutboundDeliveryStatus" AS ENUM ('pending', 'delivered', 'failed');

-- CreateTable
CREATE TABLE "outbound_endpoints" (
    "id" TEXT NOT NULL,
    "url" TEXT NOT NULL,
    "description" TEXT,
    "event_types" TEXT[],
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "disabled_reason" TEXT,
    "disabled_at" TIMESTAMPTZ(3),
    "consecutive_failures" INTEGER NOT NULL DEFAULT 0,
    "failing_since" TIMESTAMPTZ(3),
    "last_error" TEXT,
    "last_error_at" TIMESTAMPTZ(3),
    "demo" BOOLEAN NOT NULL DEFAULT false,
    "created_by_id" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "outbound_endpoints_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "outbound_endpoint_secrets" (
    "id" TEXT NOT NULL,
    "endpoint_id" TEXT NOT NULL,
    "secret" TEXT NOT NULL,
    "hint" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "outbound_endpoint_secrets_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "outbound_events" (
    "id" BIGSERIAL NOT NULL,
    "type" TEXT NOT NULL,
    "user_id" TEXT,
    "data" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "dispatched_at" TIMESTAMPTZ(3),
    "test_endpoint_id" TEXT,

    CONSTRAINT "outbound_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "outbound_deliveries" (
    "id" BIGSERIAL NOT NULL,
    "event_id" BIGINT NOT NULL,
    "endpoint_id" TEXT NOT NULL,
    "status" "OutboundDeliveryStatus" NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(3),
    "last_status" INTEGER,
    "last_error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "first_attempt_at" TIMESTAMPTZ(3),
    "last_attempt_at" TIMESTAMPTZ(3),
    "delivered_at" TIMESTAMPTZ(3),

    CONSTRAINT "outbound_deliveries_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "outbound_attempts" (
    "id" BIGSERIAL NOT NULL,
    "delivery_id" BIGINT NOT NULL,
    "endpoint_id" TEXT NOT NULL,
    "attempt" INTEGER NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL,
    "duration_ms" INTEGER NOT NULL,
    "response_status" INTEGER,
    "response_body" TEXT,
    "error" TEXT,
    "ok" BOOLEAN NOT NULL,

    CONSTRAINT "outbound_attempts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "user_thresholds" (
    "user_id" TEXT NOT NULL,
    "low_balance" INTEGER NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "user_thresholds_pkey" PRIMARY KEY ("user_id")
);

-- CreateTable
CREATE TABLE "outbound_settings" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "default_low_balance" INTEGER NOT NULL DEFAULT 100,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "outbound_settings_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "outbound_endpoint_secrets_endpoint_id_idx" ON "outbound_endpoint_secrets"("endpoint_id");

-- CreateIndex
CREATE INDEX "outbound_events_created_at_idx" ON "outbound_events"("created_at");

-- CreateIndex
CREATE INDEX "outbound_events_user_id_created_at_idx" ON "outbound_events"("user_id", "created_at");

-- CreateIndex
CREATE INDEX "outbound_deliveries_endpoint_id_created_at_idx" ON "outbound_deliveries"("endpoint_id", "created_at");

-- CreateIndex
CREATE INDEX "outbound_deliveries_status_last_attempt_at_idx" ON "outbound_deliveries"("status", "last_attempt_at");

-- CreateIndex
CREATE UNIQUE INDEX "outbound_deliveries_event_id_endpoint_id_key" ON "outbound_deliveries"("event_id", "endpoint_id");

-- CreateIndex
CREATE INDEX "outbound_attempts_delivery_id_attempt_idx" ON "outbound_attempts"("delivery_id", "attempt");

-- CreateIndex
CREATE INDEX "outbound_attempts_endpoint_id_started_at_idx" ON "outbound_attempts"("endpoint_id", "started_at");

-- AddForeignKey
ALTER TABLE "outbound_endpoint_secrets" ADD CONSTRAINT "outbound_endpoint_secrets_endpoint_id_fkey" FOREIGN KEY ("endpoint_id") REFERENCES "outbound_endpoints"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "outbound_deliveries" ADD CONSTRAINT "outbound_deliveries_event_id_fkey" FOREIGN KEY ("event_id") REFERENCES "outbound_events"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "outbound_deliveries" ADD CONSTRAINT "outbound_deliveries_endpoint_id_fkey" FOREIGN KEY ("endpoint_id") REFERENCES "outbound_endpoints"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "outbound_attempts" ADD CONSTRAINT "outbound_attempts_delivery_id_fkey" FOREIGN KEY ("delivery_id") REFERENCES "outbound_deliveries"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- ---------------------------------------------------------------------------------------------
-- Outbound events: the outbox is written by triggers, in the transaction of the change it
-- reports (docs/decisions/010-outbox-triggers.md). Inserts only: no counter, no per-endpoint
-- row is touched per event; the delivery worker fans events out to endpoints later.

-- The worker's queues: events not yet fanned out, deliveries due.
CREATE INDEX "outbound_events_undispatched_idx" ON "outbound_events" ("id") WHERE "dispatched_at" IS NULL;
CREATE INDEX "outbound_deliveries_due_idx" ON "outbound_deliveries" ("endpoint_id", "next_attempt_at") WHERE "status" = 'pending';

INSERT INTO "outbound_settings" ("id", "default_low_balance", "updated_at") VALUES (1, 100, now());

-- Ledger entries → credits.* and balance.low. One call per statement (a batch of debits is one),
-- reading the new rows from the transition table. credits.debited is written only while an
-- enabled endpoint subscribes to it (a read of the small endpoints table, no lock).
CREATE FUNCTION outbound_ledger_events() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  want_debits boolean;
  default_low integer;
BEGIN
  SELECT EXISTS (SELECT 1 FROM outbound_endpoints
                 WHERE enabled AND 'credits.debited' = ANY (event_types)) INTO want_debits;
  SELECT default_low_balance INTO default_low FROM outbound_settings WHERE id = 1;
  INSERT INTO outbound_events (type, user_id, data)
  SELECT t.type, n.user_id, jsonb_build_object(
      'userId', n.user_id, 'delta', n.delta, 'amount', abs(n.delta), 'balanceAfter', n.balance_after,
      'ledgerEntryId', n.id::text, 'seq', n.seq, 'kind', n.kind, 'reason', n.reason,
      'idempotencyKey', n.idempotency_key, 'purchaseId', n.purchase_id,
      'grantId', n.metadata ->> 'grantId', 'holdId', n.metadata ->> 'holdId',
      'stripeEventId', n.stripe_event_id, 'reversesId', n.reverses_id::text,
      'createdAt', n.created_at)
  FROM new_entries n
  CROSS JOIN LATERAL (SELECT CASE
      WHEN n.kind::text IN ('usage', 'manual_debit') THEN 'credits.debited'
      WHEN n.kind::text IN ('refund_clawback', 'dispute_hold') THEN 'credits.clawed_back'
      WHEN n.kind::text LIKE 'expir%' THEN 'credits.expired'
      WHEN n.delta > 0 THEN 'credits.granted'
      WHEN n.kind::text = 'reversal' THEN 'credits.clawed_back'
      ELSE 'credits.debited' END AS type) t
  WHERE t.type <> 'credits.debited' OR want_debits;

  -- Downward crossings only: the balance before (balance_after - delta) was at or above the
  -- threshold and the balance after is below it. A user's entries are serialised by the user's
  -- row lock (gapless seq), so each crossing is seen by exactly one entry, and a rise back above
  -- re-arms it without any stored state.
  INSERT INTO outbound_events (type, user_id, data)
  SELECT 'balance.low', n.user_id, jsonb_build_object(
      'userId', n.user_id, 'balanceAfter', n.balance_after, 'balanceBefore', n.balance_after - n.delta,
      'threshold', coalesce(th.low_balance, default_low), 'ledgerEntryId', n.id::text, 'seq', n.seq,
      'kind', n.kind, 'purchaseId', n.purchase_id, 'createdAt', n.created_at)
  FROM new_entries n
  LEFT JOIN user_thresholds th ON th.user_id = n.user_id
  WHERE n.delta < 0
    AND n.balance_after < coalesce(th.low_balance, default_low)
    AND n.balance_after - n.delta >= coalesce(th.low_balance, default_low);
  RETURN NULL;
END $$;

CREATE TRIGGER outbound_ledger_events AFTER INSERT ON ledger_entries
  REFERENCING NEW TABLE AS new_entries
  FOR EACH STATEMENT EXECUTE FUNCTION outbound_ledger_events();

-- Tier changes → tier.changed (tier_changes rows are only inserted).
CREATE FUNCTION outbound_tier_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO outbound_events (type, user_id, data)
  SELECT 'tier.changed', NEW.user_id, jsonb_build_object(
      'userId', NEW.user_id, 'tierChangeId', NEW.id, 'from', NEW.from_tier, 'to', NEW.to_tier,
      'source', NEW.source, 'sourceRef', NEW.source_ref, 'reason', NEW.reason,
      'balanceAfter', u.balance, 'createdAt', NEW.created_at)
  FROM users u WHERE u.id = NEW.user_id;
  RETURN NULL;
END $$;

CREATE TRIGGER outbound_tier_changed AFTER INSERT ON tier_changes
  FOR EACH ROW EXECUTE FUNCTION outbound_tier_changed();

-- New attention items → attention.raised (a repeat of an open item only counts up: no event).
CREATE FUNCTION outbound_attention_raised() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO outbound_events (type, user_id, data)
  VALUES ('attention.raised', NEW.user_id, jsonb_build_object(
      'attentionItemId', NEW.id, 'kind', NEW.kind, 'title', NEW.title, 'userId', NEW.user_id,
      'balanceAfter', (SELECT balance FROM users WHERE id = NEW.user_id),
      'purchaseId', NEW.purchase_id, 'checkoutSessionId', NEW.checkout_session_id,
      'stripeEventId', NEW.stripe_event_id, 'createdAt', NEW.created_at));
  RETURN NULL;
END $$;

CREATE TRIGGER outbound_attention_raised AFTER INSERT ON attention_items
  FOR EACH ROW EXECUTE FUNCTION outbound_attention_raised();

-- Refunds and disputes: deferred to the end of the transaction, so the event carries the balance
-- and the ledger entry the same transaction writes after the refund or dispute row.
CREATE FUNCTION outbound_purchase_refunded() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO outbound_events (type, user_id, data)
  SELECT 'purchase.refunded', p.user_id, jsonb_build_object(
      'userId', p.user_id, 'purchaseId', p.id, 'refundId', NEW.id, 'amount', NEW.amount,
      'currency', NEW.currency, 'creditsClawedBack', NEW.credits_clawed,
      'creditsUnrecovered', NEW.unrecovered, 'purchaseStatus', p.status,
      'balanceAfter', u.balance, 'ledgerEntryId', e.id::text, 'seq', e.seq,
      'createdAt', NEW.created_at)
  FROM purchases p
  JOIN users u ON u.id = p.user_id
  LEFT JOIN ledger_entries e ON e.idempotency_key = 'refund:' || NEW.id
  WHERE p.id = NEW.purchase_id;
  RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER outbound_purchase_refunded AFTER INSERT ON refunds
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION outbound_purchase_refunded();

CREATE FUNCTION outbound_purchase_dispute() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  event_type text;
  entry_key text;
BEGIN
  IF TG_OP = 'INSERT' THEN
    event_type := 'purchase.disputed';
    entry_key := 'dispute_hold:' || NEW.id;
  ELSIF OLD.closed_at IS NULL AND NEW.closed_at IS NOT NULL THEN
    event_type := 'purchase.dispute_closed';
    entry_key := 'dispute_release:' || NEW.id;
  ELSE
    RETURN NULL;
  END IF;
  INSERT INTO outbound_events (type, user_id, data)
  SELECT event_type, p.user_id, jsonb_build_object(
      'userId', p.user_id, 'purchaseId', p.id, 'disputeId', NEW.id, 'amount', NEW.amount,
      'currency', NEW.currency, 'reason', NEW.reason,
      'status', CASE WHEN event_type = 'purchase.dispute_closed' THEN NEW.status ELSE d.status END,
      'creditsHeld', NEW.credits_held, 'purchaseStatus', p.status, 'balanceAfter', u.balance,
      'ledgerEntryId', e.id::text, 'seq', e.seq, 'createdAt', now())
  FROM purchases p
  JOIN users u ON u.id = p.user_id
  LEFT JOIN disputes d ON d.id = NEW.id
  LEFT JOIN ledger_entries e ON e.idempotency_key = entry_key
  WHERE p.id = NEW.purchase_id;
  RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER outbound_purchase_dispute AFTER INSERT OR UPDATE ON disputes
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION outbound_purchase_dispute();

-- The attempt log is a record: like the ledger and the audit log, it is not edited.
CREATE FUNCTION outbound_attempts_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'outbound_attempts is append-only';
END $$;

CREATE TRIGGER outbound_attempts_append_only BEFORE UPDATE ON outbound_attempts
  FOR EACH ROW EXECUTE FUNCTION outbound_attempts_append_only();

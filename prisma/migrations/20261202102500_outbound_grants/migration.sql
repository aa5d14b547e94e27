-- Outbound events learn about credit grants (migration 20261202094751_credit_grants): the ledger
-- events carry the grant an entry created and the grants it moved credits of, and credits.expiring
-- is sent once per grant, N days before its expiry (docs/decisions/010-outbox-triggers.md).

-- The ledger statement allocates each entry inside the same statement (credit_allocate), so this
-- statement-level trigger, which runs after it, sees the entry's grant and allocations.
CREATE OR REPLACE FUNCTION outbound_ledger_events() RETURNS trigger LANGUAGE plpgsql AS $$
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
      'grantId', coalesce((SELECT g.id::text FROM credit_grants g WHERE g.ledger_entry_id = n.id),
                          n.metadata ->> 'grantId'),
      'allocations', coalesce((SELECT jsonb_agg(jsonb_build_object('grantId', a.grant_id::text, 'delta', a.delta) ORDER BY a.id)
                               FROM credit_allocations a WHERE a.entry_id = n.id), '[]'::jsonb),
      'holdId', n.metadata ->> 'holdId',
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

-- credits.expiring: at most one event per grant, enforced by the database.
CREATE UNIQUE INDEX "outbound_events_expiring_grant_key" ON "outbound_events" ((data ->> 'grantId'))
  WHERE type = 'credits.expiring';
CREATE INDEX "credit_grants_active_expiry_idx" ON "credit_grants" ("expires_at")
  WHERE status = 'active' AND expires_at IS NOT NULL;

-- Called by the delivery worker every minute: grants with credits left that expire within `days`.
CREATE FUNCTION outbound_expiring_pass(days integer) RETURNS integer LANGUAGE sql VOLATILE AS $$
  WITH ins AS (
    INSERT INTO outbound_events (type, user_id, data)
    SELECT 'credits.expiring', g.user_id, jsonb_build_object(
        'userId', g.user_id, 'grantId', g.id::text, 'remaining', g.remaining, 'amount', g.remaining,
        'expiresAt', g.expires_at, 'daysBefore', days, 'source', g.source, 'purchaseId', g.purchase_id,
        'balanceAfter', u.balance, 'ledgerEntryId', g.ledger_entry_id::text, 'seq', e.seq)
    FROM credit_grants g
    JOIN users u ON u.id = g.user_id
    JOIN ledger_entries e ON e.id = g.ledger_entry_id
    WHERE g.status = 'active' AND g.expires_at IS NOT NULL AND g.remaining > 0
      AND g.expires_at > now() AND g.expires_at <= now() + make_interval(days => days)
    ON CONFLICT ((data ->> 'grantId')) WHERE type = 'credits.expiring' DO NOTHING
    RETURNING 1)
  SELECT count(*)::integer FROM ins
$$;

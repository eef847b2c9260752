-- The canonical text of one ``stock_ledger`` row as the audit chain hashes it (docs/audit.md,
-- migration 0015): ``["ledger", id, occurredAt, ...]`` as PostgreSQL prints that jsonb array (see
-- ``udipick_audit_record`` for why it is spelled as concatenation). A ledger movement is audited by
-- reference: the ledger row already says who (user or API key, device), when, why (reason, document)
-- and what (its from and to side), and is append-only; the chain seals the row itself instead of a
-- copy, so the pick path writes nothing more than it did.
CREATE OR REPLACE FUNCTION udipick_ledger_record(l stock_ledger) RETURNS text LANGUAGE sql STABLE
AS $$
  SELECT '["ledger", ' || l.id::text
         || ', ' || coalesce(to_json(to_char(l.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text, 'null')
         || ', ' || coalesce(to_json(l.movement)::text, 'null')
         || ', ' || coalesce(l.item_id::text, 'null')
         || ', ' || coalesce(l.lot_id::text, 'null')
         || ', ' || coalesce(l.serial_id::text, 'null')
         || ', ' || coalesce(l.quantity::text, 'null')
         || ', ' || coalesce(l.from_location_id::text, 'null')
         || ', ' || coalesce(l.from_container_id::text, 'null')
         || ', ' || coalesce(to_json(l.from_status)::text, 'null')
         || ', ' || coalesce(l.to_location_id::text, 'null')
         || ', ' || coalesce(l.to_container_id::text, 'null')
         || ', ' || coalesce(to_json(l.to_status)::text, 'null')
         || ', ' || coalesce(l.user_id::text, 'null')
         || ', ' || coalesce(l.api_key_id::text, 'null')
         || ', ' || coalesce(to_json(l.device_id)::text, 'null')
         || ', ' || coalesce(to_json(l.reason)::text, 'null')
         || ', ' || coalesce(to_json(l.document_type)::text, 'null')
         || ', ' || coalesce(to_json(l.document_id)::text, 'null')
         || ', ' || coalesce(to_json(l.event_id)::text, 'null')
         || ']'
$$;

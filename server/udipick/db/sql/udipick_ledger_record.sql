-- The canonical text of one ``stock_ledger`` row as the audit chain hashes it (docs/audit.md,
-- migration 0015). A ledger movement is audited by reference: the ledger row already says who
-- (user or API key, device), when, why (reason, document) and what (before/after is its from/to
-- side), and is append-only; the chain seals the row itself instead of a copy, so the pick path
-- writes nothing more than it did.
CREATE OR REPLACE FUNCTION udipick_ledger_record(l stock_ledger) RETURNS text LANGUAGE sql STABLE
AS $$
  SELECT jsonb_build_array('ledger', l.id, to_char(l.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                           l.movement, l.item_id, l.lot_id, l.serial_id, l.quantity,
                           l.from_location_id, l.from_container_id, l.from_status,
                           l.to_location_id, l.to_container_id, l.to_status,
                           l.user_id, l.api_key_id, l.device_id, l.reason, l.document_type, l.document_id,
                           l.event_id)::text
$$;

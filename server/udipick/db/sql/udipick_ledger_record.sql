-- The canonical text of one ``stock_ledger`` row as the audit chain hashes it (docs/audit.md,
-- migration 0015): ``["ledger", id, occurredAt, ...]`` as PostgreSQL prints that jsonb array (see
-- ``udipick_audit_record`` for why it is spelled as concatenation, column by column). A ledger movement is audited by
-- reference: the ledger row already says who (user or API key, device), when, why (reason, document)
-- and what (its from and to side), and is append-only; the chain seals the row itself instead of a
-- copy, so the pick path writes nothing more than it did.
CREATE OR REPLACE FUNCTION udipick_ledger_record(
    p_id bigint,
    p_occurred_at timestamptz,
    p_movement character varying,
    p_item_id integer,
    p_lot_id integer,
    p_serial_id integer,
    p_quantity integer,
    p_from_location_id integer,
    p_from_container_id integer,
    p_from_status character varying,
    p_to_location_id integer,
    p_to_container_id integer,
    p_to_status character varying,
    p_user_id integer,
    p_api_key_id integer,
    p_device_id character varying,
    p_reason text,
    p_document_type character varying,
    p_document_id character varying,
    p_event_id uuid
) RETURNS text LANGUAGE sql STABLE
AS $$
  SELECT '["ledger", ' || p_id::text
         || ', ' || coalesce(to_json(to_char(p_occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text, 'null')
         || ', ' || coalesce(to_json(p_movement)::text, 'null')
         || ', ' || coalesce(p_item_id::text, 'null')
         || ', ' || coalesce(p_lot_id::text, 'null')
         || ', ' || coalesce(p_serial_id::text, 'null')
         || ', ' || coalesce(p_quantity::text, 'null')
         || ', ' || coalesce(p_from_location_id::text, 'null')
         || ', ' || coalesce(p_from_container_id::text, 'null')
         || ', ' || coalesce(to_json(p_from_status)::text, 'null')
         || ', ' || coalesce(p_to_location_id::text, 'null')
         || ', ' || coalesce(p_to_container_id::text, 'null')
         || ', ' || coalesce(to_json(p_to_status)::text, 'null')
         || ', ' || coalesce(p_user_id::text, 'null')
         || ', ' || coalesce(p_api_key_id::text, 'null')
         || ', ' || coalesce(to_json(p_device_id)::text, 'null')
         || ', ' || coalesce(to_json(p_reason)::text, 'null')
         || ', ' || coalesce(to_json(p_document_type)::text, 'null')
         || ', ' || coalesce(to_json(p_document_id)::text, 'null')
         || ', ' || coalesce(to_json(p_event_id)::text, 'null')
         || ']'
$$;

-- The canonical text of one ``audit_log`` row as the audit chain hashes it (docs/audit.md, migration
-- 0015): the JSON array ``["audit", id, occurredAt, ...]`` exactly as PostgreSQL prints the jsonb
-- array of those values (", " between elements; strings escaped by to_json, nested jsonb printed as
-- jsonb), time as UTC microseconds with a ``Z``. Spelled as concatenation rather than
-- ``jsonb_build_array(...)::text`` (the same text, tested) because it costs a quarter of the CPU, and
-- ``audit verify`` computes it for every record; the columns are passed one by one (a whole-row
-- argument cost 2.6 times as much: the row is formed, then taken apart field by field), each as its
-- column's type (``to_json`` of a varchar cast to text cost about three times as much). Written once
-- here so the sealer and verify cannot disagree; docs/audit.md spells it for an auditor recomputing an
-- NDJSON export without us.
CREATE OR REPLACE FUNCTION udipick_audit_record(
    p_id bigint,
    p_occurred_at timestamptz,
    p_user_id integer,
    p_username character varying,
    p_api_key_id integer,
    p_device_id character varying,
    p_action character varying,
    p_target character varying,
    p_outcome character varying,
    p_reason text,
    p_detail jsonb,
    p_before jsonb,
    p_after jsonb,
    p_signer_name character varying,
    p_signature_meaning character varying
) RETURNS text LANGUAGE sql STABLE
AS $$
  SELECT '["audit", ' || p_id::text
         || ', ' || coalesce(to_json(to_char(p_occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text, 'null')
         || ', ' || coalesce(p_user_id::text, 'null')
         || ', ' || coalesce(to_json(p_username)::text, 'null')
         || ', ' || coalesce(p_api_key_id::text, 'null')
         || ', ' || coalesce(to_json(p_device_id)::text, 'null')
         || ', ' || coalesce(to_json(p_action)::text, 'null')
         || ', ' || coalesce(to_json(p_target)::text, 'null')
         || ', ' || coalesce(to_json(p_outcome)::text, 'null')
         || ', ' || coalesce(to_json(p_reason)::text, 'null')
         || ', ' || coalesce(p_detail::text, 'null')
         || ', ' || coalesce(p_before::text, 'null')
         || ', ' || coalesce(p_after::text, 'null')
         || ', ' || coalesce(to_json(p_signer_name)::text, 'null')
         || ', ' || coalesce(to_json(p_signature_meaning)::text, 'null')
         || ']'
$$;

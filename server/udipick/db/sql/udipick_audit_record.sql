-- The canonical text of one ``audit_log`` row as the audit chain hashes it (docs/audit.md, migration
-- 0015): the JSON array ``["audit", id, occurredAt, ...]`` exactly as PostgreSQL prints the jsonb
-- array of those values (", " between elements; strings escaped by to_json, nested jsonb printed as
-- jsonb), time as UTC microseconds with a ``Z``. Spelled as concatenation rather than
-- ``jsonb_build_array(...)::text`` (the same text, tested) because it costs a quarter of the CPU, and
-- ``audit verify`` computes it for every record. Written once here so the sealer and verify cannot
-- disagree; docs/audit.md spells it for an auditor recomputing an NDJSON export without us.
CREATE OR REPLACE FUNCTION udipick_audit_record(a audit_log) RETURNS text LANGUAGE sql STABLE
AS $$
  SELECT '["audit", ' || a.id::text
         || ', ' || coalesce(to_json(to_char(a.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text, 'null')
         || ', ' || coalesce(a.user_id::text, 'null')
         || ', ' || coalesce(to_json(a.username)::text, 'null')
         || ', ' || coalesce(a.api_key_id::text, 'null')
         || ', ' || coalesce(to_json(a.device_id)::text, 'null')
         || ', ' || coalesce(to_json(a.action)::text, 'null')
         || ', ' || coalesce(to_json(a.target)::text, 'null')
         || ', ' || coalesce(to_json(a.outcome)::text, 'null')
         || ', ' || coalesce(to_json(a.reason)::text, 'null')
         || ', ' || coalesce(a.detail::text, 'null')
         || ', ' || coalesce(a.before::text, 'null')
         || ', ' || coalesce(a.after::text, 'null')
         || ', ' || coalesce(to_json(a.signer_name)::text, 'null')
         || ', ' || coalesce(to_json(a.signature_meaning)::text, 'null')
         || ']'
$$;

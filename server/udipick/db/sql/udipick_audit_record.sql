-- The canonical text of one ``audit_log`` row as the audit chain hashes it (docs/audit.md, migration
-- 0015): a JSON array in PostgreSQL's jsonb text form, fields in a fixed order, time as UTC
-- microseconds with a ``Z``. Written once here so the sealer and ``audit verify`` cannot disagree, and
-- spelled out in docs/audit.md so an auditor can recompute it from an NDJSON export without us.
CREATE OR REPLACE FUNCTION udipick_audit_record(a audit_log) RETURNS text LANGUAGE sql STABLE
AS $$
  SELECT jsonb_build_array('audit', a.id, to_char(a.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                           a.user_id, a.username, a.api_key_id, a.device_id, a.action, a.target, a.outcome,
                           a.reason, a.detail, a.before, a.after, a.signer_name, a.signature_meaning)::text
$$;

-- Trigger function: refuses UPDATE, DELETE and TRUNCATE of an append-only record (``stock_ledger``,
-- ``audit_log``): an ISO 13485 / 21 CFR Part 11 record is never rewritten. Its triggers
-- (``stock_ledger_append_only``, ``audit_log_append_only``) are created by migration 0002.
CREATE OR REPLACE FUNCTION udipick_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;

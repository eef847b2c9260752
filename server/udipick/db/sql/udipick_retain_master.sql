-- Trigger function (``<table>_retained``, BEFORE DELETE on items, lots, serials, locations,
-- containers, users and api_keys, migration 0005): master data a regulated record names is kept
-- (ISO 13485 record retention, 21 CFR 11.10(c)); rows are deactivated, never deleted. This is what
-- lets the ledger and picks do without foreign-key checks on the hot pick path.
CREATE OR REPLACE FUNCTION udipick_retain_master() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% rows are kept for the records that name them; deactivate instead of deleting', TG_TABLE_NAME
    USING ERRCODE = 'restrict_violation';
END $$;

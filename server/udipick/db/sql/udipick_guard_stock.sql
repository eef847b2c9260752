-- Trigger function (``stock_guard``, BEFORE INSERT OR UPDATE OR DELETE ON stock, migration 0002):
-- stock quantities change only through the ledger trigger (trigger depth 2); written any other way,
-- or a row with quantity deleted, they are refused.
CREATE OR REPLACE FUNCTION udipick_guard_stock() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF pg_trigger_depth() < 2 THEN
    IF TG_OP = 'INSERT' AND NEW.quantity <> 0 THEN
      RAISE EXCEPTION 'stock quantity changes only through stock_ledger' USING ERRCODE = 'insufficient_privilege';
    ELSIF TG_OP = 'UPDATE' AND NEW.quantity IS DISTINCT FROM OLD.quantity THEN
      RAISE EXCEPTION 'stock quantity changes only through stock_ledger' USING ERRCODE = 'insufficient_privilege';
    ELSIF TG_OP = 'DELETE' AND OLD.quantity <> 0 THEN
      RAISE EXCEPTION 'stock with quantity cannot be deleted' USING ERRCODE = 'insufficient_privilege';
    END IF;
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$;

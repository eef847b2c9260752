-- Trigger function (``locations_stock_summary_lock``, BEFORE UPDATE OF type, warehouse_id ON locations FOR EACH
-- STATEMENT, and ``locations_stock_summary``, AFTER UPDATE OF type, warehouse_id ON locations FOR EACH ROW when
-- either changed; migration 0026): the summaries key stock by its location's warehouse and type, so a location
-- that changes either moves its stock from the old key to the new one in ``stock_summary_delta``.
-- Before the statement touches a location row, the share lock on ``stock`` waits for the transactions changing
-- stock to end and holds new ones off until this one does (taken first, so a stock writer that goes on to
-- update a location cannot deadlock with it); each row then reads ``stock`` in a snapshot taken after the lock,
-- which READ COMMITTED gives every statement and a REPEATABLE READ transaction would not: that is refused.
-- A location is re-typed rarely, by an admin.
CREATE OR REPLACE FUNCTION udipick_stock_summary_relocate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_LEVEL = 'STATEMENT' THEN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
      RAISE EXCEPTION 'a location''s type or warehouse changes only in a READ COMMITTED transaction'
        USING ERRCODE = 'feature_not_supported';
    END IF;
    LOCK TABLE stock IN SHARE MODE;
    RETURN NULL;
  END IF;
  INSERT INTO stock_summary_delta (item_id, lot_id, warehouse_id, location_type, status, quantity, reserved)
  SELECT s.item_id, s.lot_id, k.warehouse_id, k.type, s.status, k.sign * sum(s.quantity), k.sign * sum(s.reserved)
    FROM stock s,
         (VALUES (OLD.warehouse_id, OLD.type, -1), (NEW.warehouse_id, NEW.type, 1)) k(warehouse_id, type, sign)
   WHERE s.location_id = NEW.id
   GROUP BY s.item_id, s.lot_id, k.warehouse_id, k.type, s.status, k.sign
  HAVING sum(s.quantity) <> 0 OR sum(s.reserved) <> 0;
  RETURN NULL;
END $$;

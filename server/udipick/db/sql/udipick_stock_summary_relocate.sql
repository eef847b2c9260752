-- Trigger function (``locations_stock_summary``, AFTER UPDATE OF type, warehouse_id ON locations FOR EACH
-- ROW, migration 0026): the summary keys stock by its location's warehouse and type, so a location that
-- changes either moves its stock from the old key to the new one in ``stock_summary_delta``. The share lock
-- on ``stock`` waits for transactions changing stock to end and holds new ones off until this one does, so
-- no stock change is summed under the type it had before (a location is re-typed rarely, by an admin).
CREATE OR REPLACE FUNCTION udipick_stock_summary_relocate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  LOCK TABLE stock IN SHARE MODE;
  INSERT INTO stock_summary_delta (item_id, lot_id, warehouse_id, location_type, status, quantity, reserved)
  SELECT s.item_id, s.lot_id, k.warehouse_id, k.type, s.status, k.sign * sum(s.quantity), k.sign * sum(s.reserved)
    FROM stock s,
         (VALUES (OLD.warehouse_id, OLD.type, -1), (NEW.warehouse_id, NEW.type, 1)) k(warehouse_id, type, sign)
   WHERE s.location_id = NEW.id
   GROUP BY s.item_id, s.lot_id, k.warehouse_id, k.type, s.status, k.sign
  HAVING sum(s.quantity) <> 0 OR sum(s.reserved) <> 0;
  RETURN NULL;
END $$;

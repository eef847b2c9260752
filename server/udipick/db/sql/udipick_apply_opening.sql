-- Trigger function (``opening_loads_apply``, AFTER INSERT ON opening_loads, migration 0023): applies a
-- go-live load's ``opening`` ledger rows to ``stock`` in one set-based statement. The row trigger
-- ``stock_ledger_apply`` skips ``opening`` rows (its WHEN clause): at a million rows it cost some
-- 165 µs a row (a plpgsql INSERT ... ON CONFLICT and the stock guard per row), three minutes a load.
-- The load's own row is written last in the load's transaction (services/opening.py), so stock
-- still changes in the same transaction as the ledger and equals its sum; an ``opening`` row only
-- books in (checked by ``ck_stock_ledger_opening_books_in``) and names its load (``document_id``),
-- and the count of the load's rows must equal what the load row says it booked. The rows go in in the
-- order of ``uq_stock_bucket``, so that index (and the lot and item indexes) grow in order.
CREATE OR REPLACE FUNCTION udipick_apply_opening() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  booked bigint;
BEGIN
  INSERT INTO stock AS s (item_id, lot_id, serial_id, location_id, container_id, status, quantity)
  SELECT l.item_id, l.lot_id, l.serial_id, l.to_location_id, l.to_container_id, l.to_status, sum(l.quantity)
    FROM stock_ledger l
   WHERE l.tx_id = (pg_current_xact_id()::text)::bigint AND l.movement = 'opening' AND l.document_id = NEW.load_id
   GROUP BY l.item_id, l.lot_id, l.serial_id, l.to_location_id, l.to_container_id, l.to_status
   ORDER BY l.item_id, l.lot_id, l.serial_id, l.to_location_id
  ON CONFLICT (item_id, lot_id, serial_id, location_id, container_id, status)
  DO UPDATE SET quantity = s.quantity + EXCLUDED.quantity;
  SELECT count(*) INTO booked
    FROM stock_ledger l
   WHERE l.tx_id = (pg_current_xact_id()::text)::bigint AND l.movement = 'opening' AND l.document_id = NEW.load_id;
  IF booked <> NEW.ledger_rows THEN
    RAISE EXCEPTION 'opening load % has % ledger rows, its record says %', NEW.load_id, booked, NEW.ledger_rows
      USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_opening_loads_ledger_rows';
  END IF;
  RETURN NEW;
END $$;

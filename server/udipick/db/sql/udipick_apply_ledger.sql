-- Trigger function (``stock_ledger_apply``, AFTER INSERT ON stock_ledger, migration 0002): applies a
-- movement row to ``stock`` in the same statement, so stock always equals the sum of the ledger.
-- Where lot and serial are known and the stock is loose (a pick, a putaway) it finds the one row
-- through ``uq_stock_bucket``; ``IS NOT DISTINCT FROM`` on every column, which no index serves, only
-- for the other shapes (migration 0004 measured why).
CREATE OR REPLACE FUNCTION udipick_apply_ledger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.from_location_id IS NOT NULL THEN
    IF NEW.lot_id IS NOT NULL AND NEW.serial_id IS NULL AND NEW.from_container_id IS NULL THEN
      UPDATE stock SET quantity = quantity - NEW.quantity
       WHERE item_id = NEW.item_id AND lot_id = NEW.lot_id AND serial_id IS NULL
         AND location_id = NEW.from_location_id AND container_id IS NULL AND status = NEW.from_status;
    ELSIF NEW.serial_id IS NOT NULL AND NEW.from_container_id IS NULL THEN
      UPDATE stock SET quantity = quantity - NEW.quantity
       WHERE item_id = NEW.item_id AND lot_id IS NOT DISTINCT FROM NEW.lot_id AND serial_id = NEW.serial_id
         AND location_id = NEW.from_location_id AND container_id IS NULL AND status = NEW.from_status;
    ELSE
      UPDATE stock SET quantity = quantity - NEW.quantity
       WHERE location_id = NEW.from_location_id AND item_id = NEW.item_id
         AND lot_id IS NOT DISTINCT FROM NEW.lot_id
         AND serial_id IS NOT DISTINCT FROM NEW.serial_id
         AND container_id IS NOT DISTINCT FROM NEW.from_container_id
         AND status = NEW.from_status;
    END IF;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'no stock of item % lot % serial % at location % container % status %',
        NEW.item_id, NEW.lot_id, NEW.serial_id, NEW.from_location_id, NEW.from_container_id, NEW.from_status
        USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_stock_quantity_nonneg';
    END IF;
  END IF;
  IF NEW.to_location_id IS NOT NULL THEN
    INSERT INTO stock (item_id, lot_id, serial_id, location_id, container_id, status, quantity)
    VALUES (NEW.item_id, NEW.lot_id, NEW.serial_id, NEW.to_location_id, NEW.to_container_id, NEW.to_status,
            NEW.quantity)
    ON CONFLICT (item_id, lot_id, serial_id, location_id, container_id, status)
    DO UPDATE SET quantity = stock.quantity + EXCLUDED.quantity;
  END IF;
  RETURN NEW;
END $$;

-- Trigger function (``lots_stock_summary``, ``items_stock_summary``, ``holds_stock_summary``, migration 0026):
-- a change of what ``stock_lot_facts`` says of a lot (its status or expiry, a hold placed on or released from
-- the lot or its item, the item's bonded flag) marks the lot (or, ``lot_key`` NULL, every lot of the item) in
-- ``stock_summary_dirty``, in the changing transaction. The stock view and the fold compare the recorded
-- facts with the current ones for the marked lots only, instead of for every lot.
CREATE OR REPLACE FUNCTION udipick_stock_summary_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'lots' THEN
    INSERT INTO stock_summary_dirty (item_id, lot_key) VALUES (NEW.item_id, NEW.id);
  ELSIF TG_TABLE_NAME = 'items' THEN
    INSERT INTO stock_summary_dirty (item_id, lot_key) VALUES (NEW.id, NULL);
  ELSIF NEW.scope = 'item' THEN
    INSERT INTO stock_summary_dirty (item_id, lot_key) VALUES (NEW.item_id, NULL);
  ELSIF NEW.scope = 'lot' THEN
    INSERT INTO stock_summary_dirty (item_id, lot_key)
    SELECT item_id, id FROM lots WHERE id = NEW.lot_id;
  END IF;
  RETURN NULL;
END $$;

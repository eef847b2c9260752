-- Trigger function (``lots_stock_summary``, ``items_stock_summary``, ``holds_stock_summary``, migration 0026):
-- a change of what ``stock_lot_facts`` says of a lot (its status, expiry or item, a hold placed on, changed on
-- or released from the lot or its item, the item's bonded flag) marks the lot (or, ``lot_key`` NULL, every lot
-- of the item) in ``stock_summary_dirty``, in the changing transaction; a hold's old and new scope both. The
-- stock view and the fold compare the recorded facts with the current ones for the marked lots only. Writing
-- those tables with the triggers off leaves the summaries behind: ``udipick stock rebuild-summary``.
CREATE OR REPLACE FUNCTION udipick_stock_summary_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'lots' THEN
    INSERT INTO stock_summary_dirty (item_id, lot_key) VALUES (NEW.item_id, NEW.id), (OLD.item_id, OLD.id);
  ELSIF TG_TABLE_NAME = 'items' THEN
    INSERT INTO stock_summary_dirty (item_id, lot_key) VALUES (NEW.id, NULL);
  ELSE
    INSERT INTO stock_summary_dirty (item_id, lot_key)
    SELECT h.item_id, NULL FROM (SELECT OLD.scope, OLD.item_id UNION ALL SELECT NEW.scope, NEW.item_id) h(scope, item_id)
     WHERE h.scope = 'item' AND h.item_id IS NOT NULL
    UNION ALL
    SELECT l.item_id, l.id FROM lots l
     WHERE l.id IN (SELECT lot_id FROM (SELECT OLD.scope, OLD.lot_id UNION ALL SELECT NEW.scope, NEW.lot_id) h(scope, lot_id)
                     WHERE h.scope = 'lot');
  END IF;
  RETURN NULL;
END $$;

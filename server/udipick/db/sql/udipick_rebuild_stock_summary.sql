-- Recomputes the summaries (``udipick_fold_stock_summary``) from ``stock`` and empties the delta
-- (migration 0026's first fill, and ``udipick db rebuild-stock-summary`` after stock was written with the
-- summary triggers disabled, as a bench's bulk seed does). The share lock on ``stock`` waits for the
-- transactions changing stock to end and holds new ones off until this one commits, so every change is
-- either in the sums or still to come as a delta row. Returns the ``stock_summary`` rows written.
CREATE OR REPLACE FUNCTION udipick_rebuild_stock_summary() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  written bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('udipick_fold_stock_summary'));
  LOCK TABLE stock IN SHARE MODE;
  DELETE FROM stock_summary_delta;
  DELETE FROM stock_summary;
  DELETE FROM stock_summary_lots;
  DELETE FROM stock_summary_facts;
  DELETE FROM stock_summary_recorded;
  DELETE FROM stock_summary_dirty;
  INSERT INTO stock_summary (item_id, lot_id, warehouse_id, location_type, status, quantity, reserved)
  SELECT s.item_id, s.lot_id, l.warehouse_id, l.type, s.status, sum(s.quantity), sum(s.reserved)
    FROM stock s JOIN locations l ON l.id = s.location_id
   GROUP BY 1, 2, 3, 4, 5
  HAVING sum(s.quantity) <> 0 OR sum(s.reserved) <> 0;
  GET DIAGNOSTICS written = ROW_COUNT;
  INSERT INTO stock_summary_lots (item_id, lot_id, warehouse_id, quantity, reserved)
  SELECT item_id, lot_id, warehouse_id, sum(quantity), sum(reserved) FROM stock_summary GROUP BY 1, 2, 3;
  INSERT INTO stock_summary_recorded (item_id, lot_key, lot_status, expiry, held, bonded)
  SELECT f.item_id, f.lot_key, f.lot_status, f.expiry, f.held, f.bonded
    FROM (SELECT DISTINCT item_id, coalesce(lot_id, 0) AS lot_key FROM stock_summary) p
    JOIN stock_lot_facts f ON f.item_id = p.item_id AND f.lot_key = p.lot_key;
  INSERT INTO stock_summary_facts
         (warehouse_id, location_type, status, lot_status, expiry, held, bonded, quantity, reserved)
  SELECT s.warehouse_id, s.location_type, s.status, r.lot_status, r.expiry, r.held, r.bonded,
         sum(s.quantity), sum(s.reserved)
    FROM stock_summary s JOIN stock_summary_recorded r ON r.item_id = s.item_id AND r.lot_key = coalesce(s.lot_id, 0)
   GROUP BY 1, 2, 3, 4, 5, 6, 7;
  RETURN written;
END $$;

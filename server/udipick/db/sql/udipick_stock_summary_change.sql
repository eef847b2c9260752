-- Trigger function (``stock_summary_insert``, ``stock_summary_update``, ``stock_summary_delete``: AFTER ...
-- ON stock FOR EACH STATEMENT with transition tables, migration 0026): every change of ``stock`` appends
-- its difference to ``stock_summary_delta``, summed per summary key (item, lot, warehouse, location type,
-- status), in the changing transaction. ``stock_summary`` plus the delta rows a snapshot sees is then
-- exactly ``stock`` summed per key in that snapshot: the stock view reads that instead of a million rows.
-- Appending never waits on another transaction (no summary row is locked by a pick); ``udipick_fold_stock_summary``
-- folds committed delta rows into ``stock_summary`` in the background. One function for the three
-- triggers: each branch reads only the transition tables its trigger declares (PL/pgSQL plans a
-- statement the first time it runs).
CREATE OR REPLACE FUNCTION udipick_stock_summary_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO stock_summary_delta (item_id, lot_id, warehouse_id, location_type, status, quantity, reserved)
    SELECT n.item_id, n.lot_id, l.warehouse_id, l.type, n.status, sum(n.quantity), sum(n.reserved)
      FROM stock_new n JOIN locations l ON l.id = n.location_id
     GROUP BY 1, 2, 3, 4, 5
    HAVING sum(n.quantity) <> 0 OR sum(n.reserved) <> 0;
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO stock_summary_delta (item_id, lot_id, warehouse_id, location_type, status, quantity, reserved)
    SELECT c.item_id, c.lot_id, l.warehouse_id, l.type, c.status, sum(c.quantity), sum(c.reserved)
      FROM (SELECT item_id, lot_id, location_id, status, quantity, reserved FROM stock_new
            UNION ALL
            SELECT item_id, lot_id, location_id, status, -quantity, -reserved FROM stock_old) c
      JOIN locations l ON l.id = c.location_id
     GROUP BY 1, 2, 3, 4, 5
    HAVING sum(c.quantity) <> 0 OR sum(c.reserved) <> 0;
  ELSE
    INSERT INTO stock_summary_delta (item_id, lot_id, warehouse_id, location_type, status, quantity, reserved)
    SELECT o.item_id, o.lot_id, l.warehouse_id, l.type, o.status, -sum(o.quantity), -sum(o.reserved)
      FROM stock_old o JOIN locations l ON l.id = o.location_id
     GROUP BY 1, 2, 3, 4, 5
    HAVING sum(o.quantity) <> 0 OR sum(o.reserved) <> 0;
  END IF;
  RETURN NULL;
END $$;

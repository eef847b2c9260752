-- Folds the committed ``stock_summary_delta`` rows into the summaries (called every few seconds by the
-- server, ``services.stock_view.fold_in_background``); returns the ``stock_summary_facts`` keys the delta
-- changed (0: there was nothing to fold), or -1 when another session is folding. The delta rows a statement deletes are exactly those it adds, in one transaction:
-- a reader's snapshot sees each change once, in the delta before the fold commits and in the summaries
-- after.
--   ``stock_summary``: per item, lot, warehouse, location type and status.
--   ``stock_summary_lots``: per item, lot and warehouse (what a view by lot sums: a row a lot and place).
--   ``stock_summary_facts``: the same units per warehouse, location type, status and the facts of their
--   lot as ``stock_summary_recorded`` holds them (``stock_lot_facts`` when the pair was first folded, or
--   at the last fold that found them changed): a few thousand rows where the view's totals would read
--   every (lot, place) pair. A pair whose lot or item facts changed since (a hold, a QC decision; marked in
--   ``stock_summary_dirty``) has its units moved from the recorded facts to the current ones here; the view
--   makes the same correction for the marks after the last fold (``services.stock_view``).
-- Keys summed to nothing are removed (the partial ``*_empty`` indexes find them).
CREATE OR REPLACE FUNCTION udipick_fold_stock_summary() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  folded bigint;
BEGIN
  IF NOT pg_try_advisory_xact_lock(hashtext('udipick_fold_stock_summary')) THEN
    RETURN -1;
  END IF;
  WITH d AS (DELETE FROM stock_summary_delta RETURNING *),
       g AS (SELECT item_id, lot_id, warehouse_id, location_type, status,
                    sum(quantity) AS quantity, sum(reserved) AS reserved
               FROM d GROUP BY 1, 2, 3, 4, 5),
       fine AS (
         INSERT INTO stock_summary AS s (item_id, lot_id, warehouse_id, location_type, status, quantity, reserved)
         SELECT item_id, lot_id, warehouse_id, location_type, status, quantity, reserved FROM g
         ON CONFLICT (item_id, lot_id, warehouse_id, location_type, status)
         DO UPDATE SET quantity = s.quantity + EXCLUDED.quantity, reserved = s.reserved + EXCLUDED.reserved),
       lots AS (
         INSERT INTO stock_summary_lots AS s (item_id, lot_id, warehouse_id, quantity, reserved)
         SELECT item_id, lot_id, warehouse_id, sum(quantity), sum(reserved) FROM g GROUP BY 1, 2, 3
         ON CONFLICT (item_id, lot_id, warehouse_id)
         DO UPDATE SET quantity = s.quantity + EXCLUDED.quantity, reserved = s.reserved + EXCLUDED.reserved),
       pairs AS (SELECT DISTINCT item_id, coalesce(lot_id, 0) AS lot_key FROM g),
       recorded AS (
         INSERT INTO stock_summary_recorded (item_id, lot_key, lot_status, expiry, held, bonded)
         SELECT f.item_id, f.lot_key, f.lot_status, f.expiry, f.held, f.bonded
           FROM pairs p JOIN stock_lot_facts f ON f.item_id = p.item_id AND f.lot_key = p.lot_key
         ON CONFLICT (item_id, lot_key) DO NOTHING
         RETURNING *),
       keyed AS (
         SELECT g.warehouse_id, g.location_type, g.status,
                coalesce(r.lot_status, n.lot_status) AS lot_status,
                CASE WHEN r.item_id IS NULL THEN n.expiry ELSE r.expiry END AS expiry,
                coalesce(r.held, n.held) AS held, coalesce(r.bonded, n.bonded) AS bonded,
                sum(g.quantity) AS quantity, sum(g.reserved) AS reserved
           FROM g
           LEFT JOIN stock_summary_recorded r ON r.item_id = g.item_id AND r.lot_key = coalesce(g.lot_id, 0)
           LEFT JOIN recorded n ON n.item_id = g.item_id AND n.lot_key = coalesce(g.lot_id, 0)
          GROUP BY 1, 2, 3, 4, 5, 6, 7)
  INSERT INTO stock_summary_facts AS s
         (warehouse_id, location_type, status, lot_status, expiry, held, bonded, quantity, reserved)
  SELECT warehouse_id, location_type, status, lot_status, expiry, held, bonded, quantity, reserved FROM keyed
  ON CONFLICT (warehouse_id, location_type, status, lot_status, expiry, held, bonded)
  DO UPDATE SET quantity = s.quantity + EXCLUDED.quantity, reserved = s.reserved + EXCLUDED.reserved;
  GET DIAGNOSTICS folded = ROW_COUNT;
  -- pairs marked since (``stock_summary_dirty``) whose facts changed: their units move to the current facts;
  -- the marks read here are removed in the same statement (a mark committed later waits for the next fold)
  WITH marks AS (DELETE FROM stock_summary_dirty RETURNING item_id, lot_key),
       marked AS (SELECT r.* FROM stock_summary_recorded r
                   WHERE EXISTS (SELECT 1 FROM marks m
                                  WHERE m.item_id = r.item_id AND (m.lot_key IS NULL OR m.lot_key = r.lot_key))),
       changed AS (
         SELECT r.item_id, r.lot_key, r.lot_status AS old_status, r.expiry AS old_expiry, r.held AS old_held,
                r.bonded AS old_bonded, f.lot_status, f.expiry, f.held, f.bonded
           FROM marked r JOIN stock_lot_facts f ON f.item_id = r.item_id AND f.lot_key = r.lot_key
          WHERE (f.lot_status, f.expiry, f.held, f.bonded) IS DISTINCT FROM (r.lot_status, r.expiry, r.held, r.bonded)),
       moved AS (
         SELECT s.warehouse_id, s.location_type, s.status, k.lot_status, k.expiry, k.held, k.bonded,
                sum(k.sign * s.quantity) AS quantity, sum(k.sign * s.reserved) AS reserved
           FROM changed c
           JOIN stock_summary s ON s.item_id = c.item_id AND coalesce(s.lot_id, 0) = c.lot_key
           CROSS JOIN LATERAL (VALUES (-1, c.old_status, c.old_expiry, c.old_held, c.old_bonded),
                                      (1, c.lot_status, c.expiry, c.held, c.bonded))
                 AS k(sign, lot_status, expiry, held, bonded)
          GROUP BY 1, 2, 3, 4, 5, 6, 7),
       facts AS (
         INSERT INTO stock_summary_facts AS s
                (warehouse_id, location_type, status, lot_status, expiry, held, bonded, quantity, reserved)
         SELECT * FROM moved
         ON CONFLICT (warehouse_id, location_type, status, lot_status, expiry, held, bonded)
         DO UPDATE SET quantity = s.quantity + EXCLUDED.quantity, reserved = s.reserved + EXCLUDED.reserved)
  UPDATE stock_summary_recorded r
     SET lot_status = c.lot_status, expiry = c.expiry, held = c.held, bonded = c.bonded
    FROM changed c WHERE r.item_id = c.item_id AND r.lot_key = c.lot_key;
  DELETE FROM stock_summary WHERE quantity = 0 AND reserved = 0;
  DELETE FROM stock_summary_lots WHERE quantity = 0 AND reserved = 0;
  DELETE FROM stock_summary_facts WHERE quantity = 0 AND reserved = 0;
  RETURN folded;
END $$;

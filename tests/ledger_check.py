"""The invariant every stock test ends on: stock equals the sum of the ledger, bucket by bucket."""

#: rows where a stock bucket differs from its ledger sum (0 when the books balance)
LEDGER_MISMATCHES = """
WITH legs AS (
  SELECT item_id, lot_id, serial_id, to_location_id AS loc, to_container_id AS c, to_status AS st, quantity AS q
    FROM stock_ledger WHERE to_location_id IS NOT NULL
  UNION ALL
  SELECT item_id, lot_id, serial_id, from_location_id, from_container_id, from_status, -quantity
    FROM stock_ledger WHERE from_location_id IS NOT NULL),
expected AS (SELECT item_id, lot_id, serial_id, loc, c, st, sum(q) AS q FROM legs GROUP BY 1, 2, 3, 4, 5, 6)
SELECT count(*) FROM expected e FULL JOIN (SELECT * FROM stock WHERE quantity <> 0) s
  ON s.item_id = e.item_id AND s.lot_id IS NOT DISTINCT FROM e.lot_id AND s.serial_id IS NOT DISTINCT FROM e.serial_id
 AND s.location_id = e.loc AND s.container_id IS NOT DISTINCT FROM e.c AND s.status = e.st
 WHERE coalesce(e.q, 0) <> coalesce(s.quantity, 0)
"""

-- The active hold that covers a stock row, if any: a hold on its item, its lot, its serial or its
-- location (the one placed first when several do, so every reader names the same one). Holds are
-- the one eligibility fact the domain cannot work out from the row itself; this is the only place
-- that says which hold covers which stock, for every query that needs it (the pick candidates, the
-- pick write's re-check, the pick faces of replenishment). ``domain.allocation.ineligibility``
-- decides what a covered row means (on hold: not picked, not moved to a pick face).
-- A set-returning SQL function (STABLE, one SELECT, not STRICT, no SET clause) so that PostgreSQL
-- inlines it into the calling query as a subquery on ``holds`` (``ix_holds_active``): a prepared
-- statement on the hot pick path pays no function call per row. A NULL argument matches nothing
-- (a location-only check passes NULL for item, lot and serial).
CREATE OR REPLACE FUNCTION udipick_stock_hold(
  p_item_id integer, p_lot_id integer, p_serial_id integer, p_location_id integer
) RETURNS TABLE (hold_id integer, reason text) LANGUAGE sql STABLE AS $$
  SELECT h.id, h.reason
    FROM holds h
   WHERE h.released_at IS NULL
     AND ((h.scope = 'item' AND h.item_id = p_item_id)
       OR (h.scope = 'lot' AND h.lot_id = p_lot_id)
       OR (h.scope = 'serial' AND h.serial_id = p_serial_id)
       OR (h.scope = 'location' AND h.location_id = p_location_id))
   ORDER BY h.id
   LIMIT 1
$$;

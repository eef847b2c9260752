-- The active block of a location for an item, if any: a short pick blocked it until someone counts
-- it (``location_blocks``; at most one active per location and item, ``uq_location_blocks_active``).
-- The only place that says which block applies to which stock; ``domain.allocation.ineligibility``
-- decides what it means. Inlinable like ``udipick_stock_hold`` (set-returning, STABLE, one SELECT).
CREATE OR REPLACE FUNCTION udipick_location_block(
  p_item_id integer, p_location_id integer
) RETURNS TABLE (block_id integer, reason text) LANGUAGE sql STABLE AS $$
  SELECT b.id, b.reason
    FROM location_blocks b
   WHERE b.cleared_at IS NULL AND b.location_id = p_location_id AND b.item_id = p_item_id
$$;

-- The stream's head (highest position) as a function of its own: its settings leave one plan, the
-- backward walk of the position index, for any caller's cached plan (a plain ``ORDER BY position
-- DESC LIMIT 1`` prepared on an empty, vacuumed outbox became a scan and a sort; migration 0007).
CREATE OR REPLACE FUNCTION udipick_outbox_head() RETURNS bigint LANGUAGE sql STABLE
  SET enable_seqscan = off SET enable_bitmapscan = off SET enable_sort = off
AS $$
  SELECT coalesce((SELECT position FROM outbox_events WHERE position IS NOT NULL ORDER BY position DESC LIMIT 1), 0)
$$;

-- The events not numbered yet and the oldest of them, from the partial index of unsequenced rows
-- in any caller's cached plan (``/metrics``; migration 0007).
CREATE OR REPLACE FUNCTION udipick_outbox_backlog(OUT unsequenced bigint, OUT oldest timestamptz) LANGUAGE sql STABLE
  SET enable_seqscan = off SET enable_bitmapscan = off
AS $$
  SELECT count(*), min(occurred_at) FROM outbox_events WHERE position IS NULL
$$;

-- Outbox sequencer: gap-free stream positions in commit-safe order (migration 0003 explains the
-- horizon). Rows of transactions older than the oldest one still running get positions in
-- ``(tx_id, id)`` order, under a transaction-level advisory lock (7106221334 =
-- hashtext('udipick_outbox_sequencer'), fixed so every process agrees). One plan per session
-- whose shape cannot depend on the table's size when it was planned: rows numbered one at a time
-- by primary key (0005), the head read through ``udipick_outbox_head()`` (0007). NOTIFYs
-- ``udipick_positions`` with the new head.
CREATE OR REPLACE FUNCTION udipick_sequence_outbox(batch integer DEFAULT 10000,
                                        OUT assigned integer, OUT head bigint, OUT waiting integer)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan SET enable_seqscan = off
AS $$
DECLARE
  snap pg_snapshot;
  horizon bigint;
  base bigint;
  oldest timestamptz;
  r record;
BEGIN
  PERFORM pg_advisory_xact_lock(7106221334);
  -- The oldest transaction that may still commit outbox rows (see 0003 and 0004).
  snap := pg_current_snapshot();
  SELECT coalesce(min(x::text::bigint), pg_snapshot_xmax(snap)::text::bigint) INTO horizon
    FROM pg_snapshot_xip(snap) AS x;
  -- A new statement, so a new snapshot: every transaction older than the horizon had finished
  -- before it was taken, so its rows are visible now; every later one has a larger xid.
  -- One row at a time, by primary key: a plan that cannot depend on how big the table was when the
  -- session first planned it (a set-based UPDATE's cached plan once scanned the whole table per call).
  base := udipick_outbox_head();
  assigned := 0;
  FOR r IN SELECT u.id FROM outbox_events u WHERE u.position IS NULL AND u.tx_id < horizon
            ORDER BY u.tx_id, u.id LIMIT batch LOOP
    assigned := assigned + 1;
    UPDATE outbox_events SET position = base + assigned WHERE id = r.id;
  END LOOP;
  SELECT count(*), min(occurred_at) INTO waiting, oldest FROM outbox_events WHERE position IS NULL;
  -- Rows held back for more than 50 ms: perhaps only by a transaction of another database (xids are
  -- cluster-wide; CREATE DATABASE, another application's batch job). An xid that pg_stat_activity
  -- positively places in another database cannot write here and is left out; anything unknown (a
  -- prepared transaction) still counts. This look costs about half a millisecond, so it is made only
  -- then; the refined horizon is never earlier than the plain one.
  IF waiting > 0 AND assigned < batch AND oldest < clock_timestamp() - interval '50 ms' THEN
    SELECT coalesce(min(x::text::bigint), pg_snapshot_xmax(snap)::text::bigint) INTO horizon
      FROM pg_snapshot_xip(snap) AS x
     WHERE (x::text::bigint % 4294967296) NOT IN (
       SELECT backend_xid::text::bigint FROM pg_stat_activity
        WHERE datname <> current_database() AND backend_xid IS NOT NULL);
    FOR r IN SELECT u.id FROM outbox_events u WHERE u.position IS NULL AND u.tx_id < horizon
              ORDER BY u.tx_id, u.id LIMIT batch - assigned LOOP
      assigned := assigned + 1;
      waiting := waiting - 1;
      UPDATE outbox_events SET position = base + assigned WHERE id = r.id;
    END LOOP;
  END IF;
  head := base + assigned;
  IF assigned > 0 THEN
    PERFORM pg_notify('udipick_positions', head::text);
  END IF;
END $$;

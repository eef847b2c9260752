"""The sequencer finds the stream's head through the index, whatever the table held when it planned.

Revision ID: 0007
Revises: 0006

``udipick_sequence_outbox`` keeps one plan per session (0005). Its ``SELECT max(position)`` had two
plans to choose from: the min/max rewrite (walk the position index backwards to its first entry)
or an aggregate over the whole index. Planned while the outbox was nearly empty (a new installation,
a test database, the bench's fresh warehouse), the whole-index aggregate was as cheap, so the
session kept a plan that read every position on every call, a cost growing with the outbox until the
connection is replaced (``docs/benchmarks.md``, fifth session). The head is
now ``udipick_outbox_head()``, ``ORDER BY position DESC LIMIT 1`` in a function whose settings leave
one plan only, the backward walk, at any size; the sequencer and every other reader of the head call it.
``udipick_outbox_backlog()`` counts the unnumbered events the same way, from their partial index.
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


#: the head as a function of its own: its settings leave one plan, the backward walk, for any caller's
#: cached plan (a plain ``ORDER BY position DESC LIMIT 1`` prepared on an empty, vacuumed outbox becomes
#: a sequential scan and a sort elsewhere, where sequential scans are allowed)
HEAD_FUNCTION = """
CREATE FUNCTION udipick_outbox_head() RETURNS bigint LANGUAGE sql STABLE
  SET enable_seqscan = off SET enable_bitmapscan = off SET enable_sort = off
AS $$
  SELECT coalesce((SELECT position FROM outbox_events WHERE position IS NOT NULL ORDER BY position DESC LIMIT 1), 0)
$$
"""

#: the events not numbered yet, from the partial index of unsequenced rows, likewise for any caller (``/metrics``)
BACKLOG_FUNCTION = """
CREATE FUNCTION udipick_outbox_backlog(OUT unsequenced bigint, OUT oldest timestamptz) LANGUAGE sql STABLE
  SET enable_seqscan = off SET enable_bitmapscan = off
AS $$
  SELECT count(*), min(occurred_at) FROM outbox_events WHERE position IS NULL
$$
"""

#: 0005's sequencer with its head read through ``udipick_outbox_head()`` instead of ``max(position)``
SEQUENCER = """
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
  PERFORM pg_advisory_xact_lock({LOCK_KEY});
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
END $$
""".replace("{LOCK_KEY}", str(7_106_221_334))

#: 0005's sequencer, restored by the downgrade
SEQUENCER_0005 = """
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
  PERFORM pg_advisory_xact_lock({LOCK_KEY});
  -- The oldest transaction that may still commit outbox rows (see 0003 and 0004).
  snap := pg_current_snapshot();
  SELECT coalesce(min(x::text::bigint), pg_snapshot_xmax(snap)::text::bigint) INTO horizon
    FROM pg_snapshot_xip(snap) AS x;
  -- A new statement, so a new snapshot: every transaction older than the horizon had finished
  -- before it was taken, so its rows are visible now; every later one has a larger xid.
  -- One row at a time, by primary key: a plan that cannot depend on how big the table was when the
  -- session first planned it (a set-based UPDATE's cached plan once scanned the whole table per call).
  SELECT coalesce(max(position), 0) INTO base FROM outbox_events;
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
END $$
""".replace("{LOCK_KEY}", str(7_106_221_334))


def upgrade() -> None:
    op.execute(HEAD_FUNCTION)
    op.execute(BACKLOG_FUNCTION)
    op.execute(SEQUENCER)


def downgrade() -> None:
    op.execute(SEQUENCER_0005)
    op.execute("DROP FUNCTION udipick_outbox_backlog()")
    op.execute("DROP FUNCTION udipick_outbox_head()")

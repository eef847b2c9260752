"""Outbox sequencer: gap-free stream positions in commit-safe order.

Revision ID: 0003
Revises: 0002

Transactions commit out of order: a cursor over insert ids (or over ``tx_id``) can skip a row
whose transaction was still running when a reader passed it. ``udipick_sequence_outbox()`` gives
positions only to rows of transactions that are finished for every observer — those whose
``tx_id`` is older than the oldest transaction still running (``pg_snapshot_xmin``) — in
``(tx_id, id)`` order, continuing from the highest position, under a transaction-level advisory
lock so that sequencers in several processes never interleave. (Transactions of other databases
in the same cluster are ignored: they cannot write here.) Every transaction that starts
later gets a larger xid, so nothing can ever be sequenced below a position already given: a
reader that has seen position N has seen everything before it.

It NOTIFYs ``udipick_positions`` with the new head so stream readers in every process wake, and
returns how many rows it numbered, the head, and how many visible rows still wait (their
transaction is newer than a still-running one; call again shortly).
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

#: advisory lock key: hashtext('udipick_outbox_sequencer'), fixed so every process agrees
LOCK_KEY = 7_106_221_334


def _run(sql: str) -> None:
    for statement in sql.split("\n\n"):
        if statement.strip():
            op.execute(statement)


def upgrade() -> None:
    _run(
        f"""
CREATE FUNCTION udipick_sequence_outbox(batch integer DEFAULT 10000,
                                        OUT assigned integer, OUT head bigint, OUT waiting integer)
LANGUAGE plpgsql AS $$
DECLARE
  snap pg_snapshot;
  horizon bigint;
BEGIN
  PERFORM pg_advisory_xact_lock({LOCK_KEY});
  -- The oldest transaction that may still commit outbox rows. xids are cluster-wide, so a running
  -- transaction of another database (CREATE DATABASE, another application's batch job) would hold
  -- back pg_snapshot_xmin; an xid that pg_stat_activity positively places in another database
  -- cannot write here and is left out. Anything unknown (a prepared transaction) counts.
  snap := pg_current_snapshot();
  SELECT coalesce(min(x::text::bigint), pg_snapshot_xmax(snap)::text::bigint) INTO horizon
    FROM pg_snapshot_xip(snap) AS x
   WHERE (x::text::bigint % 4294967296) NOT IN (
     SELECT backend_xid::text::bigint FROM pg_stat_activity
      WHERE datname <> current_database() AND backend_xid IS NOT NULL);
  -- A new statement, so a new snapshot: every transaction older than the horizon had finished
  -- before it was taken, so its rows are visible now; every later one has a larger xid.
  WITH base AS (
    SELECT coalesce(max(position), 0) AS p FROM outbox_events
  ), todo AS (
    SELECT o.id, row_number() OVER (ORDER BY o.tx_id, o.id) AS rn
      FROM outbox_events o
     WHERE o.position IS NULL AND o.tx_id < horizon
     ORDER BY o.tx_id, o.id
     LIMIT batch
  )
  UPDATE outbox_events o SET position = base.p + todo.rn
    FROM todo, base
   WHERE o.id = todo.id;
  GET DIAGNOSTICS assigned = ROW_COUNT;
  SELECT coalesce(max(position), 0) INTO head FROM outbox_events;
  SELECT count(*) INTO waiting FROM outbox_events WHERE position IS NULL;
  IF assigned > 0 THEN
    PERFORM pg_notify('udipick_positions', head::text);
  END IF;
END $$
"""
    )


def downgrade() -> None:
    _run(
        """
DROP FUNCTION udipick_sequence_outbox(integer)
"""
    )

"""Leaner pick writes: no foreign-key checks on the append-only records; a sequencer planned once.

Revision ID: 0005
Revises: 0004

* **Foreign keys on ``stock_ledger`` and ``picks``** (and ``user_id`` on ``outbox_events`` and
  ``scan_replies``): every pick inserted a ledger row and a pick row naming about a dozen master
  rows, and PostgreSQL checked each one with a query that also takes a ``FOR KEY SHARE`` row lock:
  under load every concurrent pick locked the same staging location, user and item rows, which
  PostgreSQL must track as shared multixacts.
  These tables only ever receive rows whose ids the same statement has just read (the task, the
  stock row taken, the staging location, the acting user); what the checks protected against is the
  named row being deleted later. That is now refused outright: the master data a record can name
  (items, lots, serials, locations, containers, users, API keys) is never deleted. A regulated record
  must keep naming what it named (ISO 13485 record retention, 21 CFR 11.10(c)); users and keys are
  disabled or revoked, items and locations deactivated. ``picks.task_id`` keeps its key: the task
  carries the order, line and item with keys of its own.
* **The sequencer** was planned on every call (``force_custom_plan``, added in 0004 because a
  generic plan once became a scan of the whole table), about once per pick. Its statements now keep one plan per session, and each is a shape
  whose plan cannot depend on the table's size when it was made: rows numbered one at a time by
  primary key, in the order of the partial index of unnumbered rows, with sequential scans off
  inside the function. (A set-based UPDATE planned while the table was nearly empty kept a plan
  that scanned the whole table on every call.) It also numbers first and then counts what is left,
  in one look, instead of checking for held-back rows before and counting them after.
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

#: (table, column, referenced table) of the foreign keys dropped here; the names follow the naming convention
DROPPED = [
    *[
        ("stock_ledger", c, t)
        for c, t in (
            ("item_id", "items"),
            ("lot_id", "lots"),
            ("serial_id", "serials"),
            ("from_location_id", "locations"),
            ("from_container_id", "containers"),
            ("to_location_id", "locations"),
            ("to_container_id", "containers"),
            ("user_id", "users"),
            ("api_key_id", "api_keys"),
        )
    ],
    *[
        ("picks", c, t)
        for c, t in (
            ("document_id", "outbound_documents"),
            ("line_id", "outbound_lines"),
            ("item_id", "items"),
            ("lot_id", "lots"),
            ("serial_id", "serials"),
            ("from_location_id", "locations"),
            ("staging_location_id", "locations"),
            ("container_id", "containers"),
            ("fefo_override_by", "users"),
            ("picked_by", "users"),
        )
    ],
    ("outbox_events", "user_id", "users"),
    ("scan_replies", "user_id", "users"),
]

#: master data that records name: rows are deactivated, never deleted
RETAINED = ("items", "lots", "serials", "locations", "containers", "users", "api_keys")

RETAIN = """
CREATE FUNCTION udipick_retain_master() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% rows are kept for the records that name them; deactivate instead of deleting', TG_TABLE_NAME
    USING ERRCODE = 'restrict_violation';
END $$
"""

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


#: 0004's sequencer, restored by the downgrade (copied from 0004: a migration never loads another one's text)
SEQUENCER_0004 = """
CREATE OR REPLACE FUNCTION udipick_sequence_outbox(batch integer DEFAULT 10000,
                                        OUT assigned integer, OUT head bigint, OUT waiting integer)
LANGUAGE plpgsql SET plan_cache_mode = force_custom_plan AS $$
DECLARE
  snap pg_snapshot;
  horizon bigint;
  base bigint;
BEGIN
  PERFORM pg_advisory_xact_lock({LOCK_KEY});
  -- The oldest transaction that may still commit outbox rows. xids are cluster-wide, so a running
  -- transaction of another database (CREATE DATABASE, another application's batch job) would hold
  -- back pg_snapshot_xmin; an xid that pg_stat_activity positively places in another database
  -- cannot write here and is left out. Anything unknown (a prepared transaction) counts.
  -- Looking that up in pg_stat_activity costs about half a millisecond, so it is done only when rows
  -- have waited behind the plain horizon for more than 50 ms; the plain horizon is never later than
  -- the refined one, so numbering with it is always safe.
  snap := pg_current_snapshot();
  SELECT coalesce(min(x::text::bigint), pg_snapshot_xmax(snap)::text::bigint) INTO horizon
    FROM pg_snapshot_xip(snap) AS x;
  IF EXISTS (SELECT 1 FROM outbox_events w
              WHERE w.position IS NULL AND w.tx_id >= horizon AND w.occurred_at < clock_timestamp() - interval '50 ms') THEN
    SELECT coalesce(min(x::text::bigint), pg_snapshot_xmax(snap)::text::bigint) INTO horizon
      FROM pg_snapshot_xip(snap) AS x
     WHERE (x::text::bigint % 4294967296) NOT IN (
       SELECT backend_xid::text::bigint FROM pg_stat_activity
        WHERE datname <> current_database() AND backend_xid IS NOT NULL);
  END IF;
  -- A new statement, so a new snapshot: every transaction older than the horizon had finished
  -- before it was taken, so its rows are visible now; every later one has a larger xid.
  -- The rows to number come from the partial index on unsequenced rows, in its order; planned for
  -- each call's horizon (plan_cache_mode below), never as a scan of the whole table.
  SELECT coalesce(max(position), 0) INTO base FROM outbox_events;
  UPDATE outbox_events o SET position = base + todo.rn
    FROM (SELECT s.id, row_number() OVER (ORDER BY s.tx_id, s.id) AS rn
            FROM (SELECT u.id, u.tx_id FROM outbox_events u
                   WHERE u.position IS NULL AND u.tx_id < horizon
                   ORDER BY u.tx_id, u.id
                   LIMIT batch) s) todo
   WHERE o.id = todo.id;
  GET DIAGNOSTICS assigned = ROW_COUNT;
  head := base + assigned;
  SELECT count(*) INTO waiting FROM outbox_events WHERE position IS NULL;
  IF assigned > 0 THEN
    PERFORM pg_notify('udipick_positions', head::text);
  END IF;
END $$
""".replace("{LOCK_KEY}", str(7_106_221_334))


def _fk(table: str, column: str, ref: str) -> str:
    return f"fk_{table}_{column}_{ref}"


def upgrade() -> None:
    for table, column, ref in DROPPED:
        op.drop_constraint(_fk(table, column, ref), table, type_="foreignkey")
    op.execute(RETAIN)
    for table in RETAINED:
        op.execute(
            f"CREATE TRIGGER {table}_retained BEFORE DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION udipick_retain_master()"
        )
    op.execute(SEQUENCER)


def downgrade() -> None:
    op.execute(SEQUENCER_0004)
    for table in RETAINED:
        op.execute(f"DROP TRIGGER {table}_retained ON {table}")
    op.execute("DROP FUNCTION udipick_retain_master()")
    for table, column, ref in DROPPED:
        op.create_foreign_key(_fk(table, column, ref), table, ref, [column], ["id"])

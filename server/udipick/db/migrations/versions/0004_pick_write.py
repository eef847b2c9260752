"""One-statement writes for the pick scan (optimistic concurrency).

Revision ID: 0004
Revises: 0003

A pick scan is read in one statement (no locks), decided in Python (``domain.allocation``), and
written by ``udipick_pick_accept`` in one statement: its own transaction, with the reply row, the
task, the reservation, the order line, the serial, the pick, the ledger movement (whose trigger
moves the stock) and the outbox events. The function re-checks what the decision rested on: the
task is still open with the same picked count and stock row, the stock taken is still eligible
(released lot, no hold, location not frozen or blocked), the serial still in stock. When anything
changed it raises SQLSTATE ``UP001`` and rolls everything back; the caller reads again and decides
again. A scan id that already has an answer raises ``UP002``: the caller returns the stored answer.
Database constraints (stock never negative, reservations within stock, no over-pick) remain the
last word, as before.

Writers no longer NOTIFY: PostgreSQL serialises every transaction that NOTIFYs behind one lock
from pre-commit to the end of its WAL flush, so notifying writers cannot commit in parallel.
The writing process wakes its own outbox hub after the commit, hubs also poll, and the sequencer's
one NOTIFY per batch (``udipick_positions``) still wakes readers in every process.

``ix_locations_staging``: every pick scan looks up its staging location, which without the index is
a sequential scan of all locations.

``udipick_store_reply`` stores a refusal with its events (``pick.refused.v1``, an alert) in one
statement; it returns false when the scan id already had an answer.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


STORE_REPLY = """
CREATE FUNCTION udipick_store_reply(
  p_scan uuid, p_action text, p_user integer, p_device text, p_status integer, p_body text,
  p_event_ids uuid[], p_types text[], p_data text[], p_occurred timestamptz, p_username text
) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO scan_replies (client_scan_id, action, user_id, device_id, status_code, body)
  VALUES (p_scan, p_action, p_user, p_device, p_status, p_body::jsonb)
  ON CONFLICT (client_scan_id) DO NOTHING;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  IF cardinality(p_event_ids) > 0 THEN
    INSERT INTO outbox_events (event_id, type, data, occurred_at, user_id, username, device_id)
    SELECT e.id, e.type, e.data::jsonb, p_occurred, p_user, p_username, p_device
      FROM unnest(p_event_ids, p_types, p_data) AS e(id, type, data);
  END IF;
  RETURN true;
END $$
"""

PICK_ACCEPT = """
CREATE FUNCTION udipick_pick_accept(
  p_scan uuid, p_action text, p_body text,
  p_task bigint, p_picked_before integer, p_units integer,
  p_stock_before bigint, p_stock bigint, p_lot integer, p_serial integer,
  p_trade_task bigint, p_trade_lot integer, p_trade_serial integer,
  p_take_stock bigint, p_take_lot integer, p_take_serial integer,
  p_from_location integer, p_staging integer, p_tote integer,
  p_override_by integer, p_override_reason text, p_ledger_reason text, p_document text,
  p_user integer, p_api_key integer, p_device text, p_username text, p_occurred timestamptz,
  p_event_ids uuid[], p_types text[], p_data text[]
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_task pick_tasks%ROWTYPE;
BEGIN
  INSERT INTO scan_replies (client_scan_id, action, user_id, device_id, status_code, body)
  VALUES (p_scan, p_action, p_user, p_device, 200, p_body::jsonb)
  ON CONFLICT (client_scan_id) DO NOTHING;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'scan % already has an answer', p_scan USING ERRCODE = 'UP002';
  END IF;

  -- a serialised unit another task of the same line had reserved: the two tasks trade units
  IF p_trade_task IS NOT NULL THEN
    UPDATE pick_tasks SET stock_id = p_stock_before, lot_id = p_trade_lot, serial_id = p_trade_serial
     WHERE id = p_trade_task AND stock_id = p_stock AND status = 'open' AND picked = 0;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'pick task % changed', p_trade_task USING ERRCODE = 'UP001';
    END IF;
  END IF;

  UPDATE pick_tasks t
     SET picked = t.picked + p_units, stock_id = p_stock, lot_id = p_lot, serial_id = p_serial,
         status = CASE WHEN t.picked + p_units = t.quantity THEN 'done' ELSE 'open' END
   WHERE t.id = p_task AND t.status = 'open' AND t.picked = p_picked_before AND t.stock_id = p_stock_before
     AND t.tote_id IS NOT DISTINCT FROM p_tote
     AND EXISTS (SELECT 1 FROM outbound_documents d WHERE d.id = t.document_id AND d.status = 'released')
  RETURNING * INTO v_task;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'pick task % changed', p_task USING ERRCODE = 'UP001';
  END IF;

  -- the stock taken is still what the verdict saw: released, not held, not frozen or blocked
  PERFORM 1
     FROM stock s
     JOIN locations loc ON loc.id = s.location_id
     LEFT JOIN lots l ON l.id = s.lot_id
    WHERE s.id = p_take_stock AND s.status = 'available' AND s.container_id IS NULL AND NOT loc.frozen
      AND coalesce(l.status, 'released') = 'released'
      AND NOT EXISTS (SELECT 1 FROM holds h
                       WHERE h.released_at IS NULL
                         AND ((h.scope = 'item' AND h.item_id = s.item_id) OR (h.scope = 'lot' AND h.lot_id = s.lot_id)
                           OR (h.scope = 'serial' AND h.serial_id = s.serial_id)
                           OR (h.scope = 'location' AND h.location_id = s.location_id)))
      AND NOT EXISTS (SELECT 1 FROM location_blocks b
                       WHERE b.cleared_at IS NULL AND b.location_id = s.location_id AND b.item_id = s.item_id);
  IF NOT FOUND THEN
    RAISE EXCEPTION 'stock % changed', p_take_stock USING ERRCODE = 'UP001';
  END IF;

  UPDATE stock SET reserved = reserved - p_units WHERE id = p_stock;
  UPDATE outbound_lines SET quantity_picked = quantity_picked + p_units WHERE id = v_task.line_id;
  IF p_take_serial IS NOT NULL THEN
    UPDATE serials SET status = 'picked', location_id = p_staging WHERE id = p_take_serial AND status = 'in_stock';
    IF NOT FOUND THEN
      RAISE EXCEPTION 'serial % changed', p_take_serial USING ERRCODE = 'UP001';
    END IF;
  END IF;

  INSERT INTO picks (task_id, document_id, line_id, item_id, lot_id, serial_id, quantity, from_location_id,
                     staging_location_id, container_id, client_scan_id, fefo_override_by, override_reason,
                     picked_by, device_id)
  VALUES (p_task, v_task.document_id, v_task.line_id, v_task.item_id, p_take_lot, p_take_serial, p_units,
          p_from_location, p_staging, p_tote, p_scan, p_override_by, p_override_reason, p_user, p_device);

  INSERT INTO stock_ledger (movement, item_id, lot_id, serial_id, quantity, from_location_id, from_status,
                            to_location_id, to_container_id, to_status, reason, document_type, document_id,
                            event_id, user_id, api_key_id, device_id)
  VALUES ('pick', v_task.item_id, p_take_lot, p_take_serial, p_units, p_from_location, 'available',
          p_staging, p_tote, 'picked', p_ledger_reason, 'sales_order', p_document,
          p_event_ids[1], p_user, p_api_key, p_device);

  INSERT INTO outbox_events (event_id, type, data, occurred_at, user_id, username, device_id)
  SELECT e.id, e.type, e.data::jsonb, p_occurred, p_user, p_username, p_device
    FROM unnest(p_event_ids, p_types, p_data) AS e(id, type, data);
END $$
"""


#: 0003's sequencer read its rows with a plan PL/pgSQL had cached for any horizon, which under load
#: can become a scan of the whole table on every call. Now the rows come from the partial index in its order, planned per call, and the
#: costly look at other databases' transactions is made only when rows have been held back.
SEQUENCER = """
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

#: 0002's ledger trigger found the stock row to take from with ``IS NOT DISTINCT FROM`` on lot,
#: serial and container, which no index serves: it filtered every row of the item at the location.
#: Where lot and serial are known and the stock is loose (a pick, a putaway) it now finds the one
#: row through ``uq_stock_bucket``; other shapes keep the general form.
APPLY_LEDGER = """
CREATE OR REPLACE FUNCTION udipick_apply_ledger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.from_location_id IS NOT NULL THEN
    IF NEW.lot_id IS NOT NULL AND NEW.serial_id IS NULL AND NEW.from_container_id IS NULL THEN
      UPDATE stock SET quantity = quantity - NEW.quantity
       WHERE item_id = NEW.item_id AND lot_id = NEW.lot_id AND serial_id IS NULL
         AND location_id = NEW.from_location_id AND container_id IS NULL AND status = NEW.from_status;
    ELSIF NEW.serial_id IS NOT NULL AND NEW.from_container_id IS NULL THEN
      UPDATE stock SET quantity = quantity - NEW.quantity
       WHERE item_id = NEW.item_id AND lot_id IS NOT DISTINCT FROM NEW.lot_id AND serial_id = NEW.serial_id
         AND location_id = NEW.from_location_id AND container_id IS NULL AND status = NEW.from_status;
    ELSE
      UPDATE stock SET quantity = quantity - NEW.quantity
       WHERE location_id = NEW.from_location_id AND item_id = NEW.item_id
         AND lot_id IS NOT DISTINCT FROM NEW.lot_id
         AND serial_id IS NOT DISTINCT FROM NEW.serial_id
         AND container_id IS NOT DISTINCT FROM NEW.from_container_id
         AND status = NEW.from_status;
    END IF;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'no stock of item % lot % serial % at location % container % status %',
        NEW.item_id, NEW.lot_id, NEW.serial_id, NEW.from_location_id, NEW.from_container_id, NEW.from_status
        USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_stock_quantity_nonneg';
    END IF;
  END IF;
  IF NEW.to_location_id IS NOT NULL THEN
    INSERT INTO stock (item_id, lot_id, serial_id, location_id, container_id, status, quantity)
    VALUES (NEW.item_id, NEW.lot_id, NEW.serial_id, NEW.to_location_id, NEW.to_container_id, NEW.to_status,
            NEW.quantity)
    ON CONFLICT (item_id, lot_id, serial_id, location_id, container_id, status)
    DO UPDATE SET quantity = stock.quantity + EXCLUDED.quantity;
  END IF;
  RETURN NEW;
END $$
"""


def upgrade() -> None:
    op.create_index(
        "ix_locations_staging",
        "locations",
        ["warehouse_id", "pick_sequence", "id"],
        postgresql_where=sa.text("type = 'shipping'"),
    )
    op.execute(STORE_REPLY)
    op.execute(PICK_ACCEPT)
    op.execute(SEQUENCER)
    op.execute(APPLY_LEDGER)
    op.execute("DROP TRIGGER outbox_notify ON outbox_events")
    op.execute("DROP FUNCTION udipick_outbox_notify()")
    # updated on every pick scan: room on each page lets PostgreSQL update in place (HOT) instead of
    # writing every index again. New pages only;
    # existing pages get the room as they are rewritten.
    for table in ("stock", "pick_tasks", "outbound_lines", "serials"):
        op.execute(f"ALTER TABLE {table} SET (fillfactor = 80)")


def downgrade() -> None:
    # the sequencer and the ledger trigger keep their faster bodies: they do exactly what 0003's and
    # 0002's did, and those revisions drop them when downgraded further
    op.drop_index("ix_locations_staging", table_name="locations", postgresql_where=sa.text("type = 'shipping'"))
    for table in ("stock", "pick_tasks", "outbound_lines", "serials"):
        op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
    op.execute(
        """
CREATE FUNCTION udipick_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('udipick_outbox', '');
  RETURN NULL;
END $$
"""
    )
    op.execute(
        "CREATE TRIGGER outbox_notify AFTER INSERT ON outbox_events FOR EACH STATEMENT EXECUTE FUNCTION udipick_outbox_notify()"
    )
    op.execute(
        """
DROP FUNCTION udipick_pick_accept(uuid, text, text, bigint, integer, integer, bigint, bigint, integer, integer,
  bigint, integer, integer, bigint, integer, integer, integer, integer, integer, integer, text, text, text,
  integer, integer, text, text, timestamptz, uuid[], text[], text[])
"""
    )
    op.execute(
        "DROP FUNCTION udipick_store_reply(uuid, text, integer, text, integer, text, uuid[], text[], text[], timestamptz, text)"
    )

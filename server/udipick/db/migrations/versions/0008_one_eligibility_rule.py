"""Eligibility is decided in one place (``domain.allocation``); SQL only reads the facts it needs.

Revision ID: 0008
Revises: 0007

``udipick_stock_hold`` (the active hold covering a stock row) and ``udipick_location_block`` (the
active short-pick block of a location for an item) replace the hold and block predicates that the
pick candidates, the wave's Python hold map, the pick write's re-check and replenishment's pick
faces each spelled out. Both are inlinable SQL functions, so the prepared statements that call them
plan them as the subqueries they replace.

``udipick_pick_accept`` re-checks the stock it takes as the facts the verdict judged (lot status,
frozen location, hold, block: four new arguments) instead of re-stating which facts make stock
pickable; the argument list changes, so the function is dropped and created again.

The functions' text is written out here as this revision applied it; the current text of every
function lives in ``udipick/db/sql/*.sql`` (see its README), applied by the newest migration that applies SQL.
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

#: 0004's argument list of ``udipick_pick_accept``
_ACCEPT_0004 = """udipick_pick_accept(uuid, text, text, bigint, integer, integer, bigint, bigint, integer, integer,
  bigint, integer, integer, bigint, integer, integer, integer, integer, integer, integer, text, text, text,
  integer, integer, text, text, timestamptz, uuid[], text[], text[])"""
#: this revision's: four facts of the stock taken after ``p_take_serial``
_ACCEPT_0008 = """udipick_pick_accept(uuid, text, text, bigint, integer, integer, bigint, bigint, integer, integer,
  bigint, integer, integer, bigint, integer, integer, text, boolean, text, boolean, integer, integer, integer, integer,
  text, text, text, integer, integer, text, text, timestamptz, uuid[], text[], text[])"""


STOCK_HOLD = """-- The active hold that covers a stock row, if any: a hold on its item, its lot, its serial or its
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
"""

LOCATION_BLOCK = """-- The active block of a location for an item, if any: a short pick blocked it until someone counts
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
"""

PICK_ACCEPT = """-- Writes one accepted pick scan in one statement, its own transaction (migration 0004 explains the
-- design): the reply row, the task, the reservation, the order line, the serial, the pick, the ledger
-- movement (whose trigger moves the stock) and the outbox events. SQLSTATE UP001: something the
-- verdict rested on changed since the read (the caller reads and decides again); UP002: the scan id
-- already has an answer.
-- The stock taken is re-checked as facts, not as a rule: the verdict (``domain.picking.decide_pick``,
-- through ``domain.allocation.ineligibility``) judged the row on its lot status, its location's
-- frozen flag, the hold covering it and its location block, and passes what it saw (p_take_*);
-- when any of them is different now the write is refused. Eligibility itself is decided in Python
-- only. The row must still be loose available stock, the narrowing every pick candidate is read with
-- (``services.picking.CANDIDATES``, ``domain.allocation.on_the_shelf``).
CREATE OR REPLACE FUNCTION udipick_pick_accept(
  p_scan uuid, p_action text, p_body text,
  p_task bigint, p_picked_before integer, p_units integer,
  p_stock_before bigint, p_stock bigint, p_lot integer, p_serial integer,
  p_trade_task bigint, p_trade_lot integer, p_trade_serial integer,
  p_take_stock bigint, p_take_lot integer, p_take_serial integer,
  p_take_lot_status text, p_take_frozen boolean, p_take_hold text, p_take_blocked boolean,
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

  -- the stock taken is still what the verdict saw (see above)
  PERFORM 1
     FROM stock s
     JOIN locations loc ON loc.id = s.location_id
     LEFT JOIN lots l ON l.id = s.lot_id
    WHERE s.id = p_take_stock AND s.status = 'available' AND s.container_id IS NULL
      AND coalesce(l.status, 'released') = p_take_lot_status
      AND loc.frozen = p_take_frozen
      AND (SELECT h.reason FROM udipick_stock_hold(p_item_id => s.item_id, p_lot_id => s.lot_id, p_serial_id => s.serial_id,
                                                   p_location_id => s.location_id) h) IS NOT DISTINCT FROM p_take_hold
      AND EXISTS (SELECT 1 FROM udipick_location_block(p_item_id => s.item_id, p_location_id => s.location_id)) = p_take_blocked;
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
END $$;
"""

#: 0004's ``udipick_pick_accept``, restored by the downgrade
PICK_ACCEPT_0004 = """
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


def upgrade() -> None:
    op.execute(STOCK_HOLD)
    op.execute(LOCATION_BLOCK)
    op.execute(f"DROP FUNCTION {_ACCEPT_0004}")
    op.execute(PICK_ACCEPT)


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {_ACCEPT_0008}")
    op.execute(PICK_ACCEPT_0004)
    op.execute("DROP FUNCTION udipick_location_block(integer, integer)")
    op.execute("DROP FUNCTION udipick_stock_hold(integer, integer, integer, integer)")

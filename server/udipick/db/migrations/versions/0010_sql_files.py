"""Every function's text from its file in ``db/sql/``; every scan answer stored and read one way.

Revision ID: 0010
Revises: 0009

From this revision on, the current text of each SQL function and trigger function lives in one file,
``udipick/db/sql/<function>.sql``, and this migration applies them (``udipick.db.sqlfiles.apply``):
the newest migration that applies SQL reads the files and records the sha256 of each, so a file
edited later no longer matches and ``alembic upgrade`` refuses it until a new migration records it
(``db/sql/README.md``). Triggers stay where their migrations created them: a trigger names a table
and an event, schema that changes by migration like a column; only its function's text is in a file.

Files whose function this revision did not change (all but the two below) are applied as they are:
``CREATE OR REPLACE`` with the same text leaves the function as it was.

Idempotent scans, one path for every workflow (``services.replay``): every answer is stored by
``udipick_store_reply`` (with its outbox events) and read by ``udipick_scan_reply``.
``udipick_pick_accept`` stores its answer and events through ``udipick_store_reply`` instead of its
own insert into ``scan_replies`` (same arguments, same single statement); ``udipick_scan_reply`` is new.
"""

from __future__ import annotations

from alembic import op

from udipick.db import sqlfiles

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

#: the files this revision applies, in this order, with the sha256 of the text it applied
#: (``python -m udipick.db.sqlfiles`` prints them)
SQL_FILES = {
    "udipick_guard_stock.sql": "e2230fa42e4e5a6211634886b7399ac7ee18825ca1559a3affd9f9f506b55dd9",
    "udipick_apply_ledger.sql": "5a8ef2b60317bbcdc121b10b3c4563bcb990dd7e2f869460929dcbf92d1f8bce",
    "udipick_append_only.sql": "bdb9793b707002b384f01b69b384313933b685ec8690a1eacdc7aa92c156261f",
    "udipick_retain_master.sql": "41555cafa599bb9da9c7a02823cbffae02cdbdf2142792f64ba6e2523361ba58",
    "udipick_outbox_head.sql": "ecda651e3edd1b563c71075a4b426b27e08e526fda34e63219f165638d04be8b",
    "udipick_outbox_backlog.sql": "8475a17709926a56de8605e4df9a9688b4af822e995f013e79766d96e6cae9a9",
    "udipick_sequence_outbox.sql": "b1599334809246c2569062a854e48ddb439a021382c9252139bb449930bd68fc",
    "udipick_stock_hold.sql": "945acfb348b65f92a93574737d19fba93e6e813115285c617c7207388d4e366a",
    "udipick_location_block.sql": "8df88bb185a11736537e62519fb5b8f30718935bde89e1ddba6a5902109443a3",
    "udipick_scan_reply.sql": "644595fc4c1050dfc6c388f0262bc382cf1d7ddadadfe66ff3b72f9ec29a9a05",
    "udipick_store_reply.sql": "2da35ff9cd83a19cc6fbc2916010274a1edf888416d1b965f227beb2b72be66d",
    "udipick_pick_accept.sql": "2d10c5be33b0c761c0642142dfb5e5d3de02742da2141c6c79977767a9e8cf57",
}

#: 0008's ``udipick_pick_accept``, restored by the downgrade
PICK_ACCEPT_0008 = """-- Writes one accepted pick scan in one statement, its own transaction (migration 0004 explains the
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


def upgrade() -> None:
    sqlfiles.apply(op, SQL_FILES)


def downgrade() -> None:
    op.execute(PICK_ACCEPT_0008)
    op.execute("DROP FUNCTION udipick_scan_reply(uuid)")

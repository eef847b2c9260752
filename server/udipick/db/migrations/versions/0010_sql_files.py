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

#: the texts this revision applied (0015 reads the files since; db/sql/README.md)
SQL_TEXTS = {
    "udipick_guard_stock.sql": """-- Trigger function (``stock_guard``, BEFORE INSERT OR UPDATE OR DELETE ON stock, migration 0002):
-- stock quantities change only through the ledger trigger (trigger depth 2); written any other way,
-- or a row with quantity deleted, they are refused.
CREATE OR REPLACE FUNCTION udipick_guard_stock() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF pg_trigger_depth() < 2 THEN
    IF TG_OP = 'INSERT' AND NEW.quantity <> 0 THEN
      RAISE EXCEPTION 'stock quantity changes only through stock_ledger' USING ERRCODE = 'insufficient_privilege';
    ELSIF TG_OP = 'UPDATE' AND NEW.quantity IS DISTINCT FROM OLD.quantity THEN
      RAISE EXCEPTION 'stock quantity changes only through stock_ledger' USING ERRCODE = 'insufficient_privilege';
    ELSIF TG_OP = 'DELETE' AND OLD.quantity <> 0 THEN
      RAISE EXCEPTION 'stock with quantity cannot be deleted' USING ERRCODE = 'insufficient_privilege';
    END IF;
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$;
""",
    "udipick_apply_ledger.sql": """-- Trigger function (``stock_ledger_apply``, AFTER INSERT ON stock_ledger, migration 0002): applies a
-- movement row to ``stock`` in the same statement, so stock always equals the sum of the ledger.
-- Where lot and serial are known and the stock is loose (a pick, a putaway) it finds the one row
-- through ``uq_stock_bucket``; ``IS NOT DISTINCT FROM`` on every column, which no index serves, only
-- for the other shapes (migration 0004 measured why).
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
END $$;
""",
    "udipick_append_only.sql": """-- Trigger function: refuses UPDATE, DELETE and TRUNCATE of an append-only record (``stock_ledger``,
-- ``audit_log``): an ISO 13485 / 21 CFR Part 11 record is never rewritten. Its triggers
-- (``stock_ledger_append_only``, ``audit_log_append_only``) are created by migration 0002.
CREATE OR REPLACE FUNCTION udipick_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;
""",
    "udipick_retain_master.sql": """-- Trigger function (``<table>_retained``, BEFORE DELETE on items, lots, serials, locations,
-- containers, users and api_keys, migration 0005): master data a regulated record names is kept
-- (ISO 13485 record retention, 21 CFR 11.10(c)); rows are deactivated, never deleted. This is what
-- lets the ledger and picks do without foreign-key checks on the hot pick path.
CREATE OR REPLACE FUNCTION udipick_retain_master() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% rows are kept for the records that name them; deactivate instead of deleting', TG_TABLE_NAME
    USING ERRCODE = 'restrict_violation';
END $$;
""",
    "udipick_outbox_head.sql": """-- The stream's head (highest position) as a function of its own: its settings leave one plan, the
-- backward walk of the position index, for any caller's cached plan (a plain ``ORDER BY position
-- DESC LIMIT 1`` prepared on an empty, vacuumed outbox became a scan and a sort; migration 0007).
CREATE OR REPLACE FUNCTION udipick_outbox_head() RETURNS bigint LANGUAGE sql STABLE
  SET enable_seqscan = off SET enable_bitmapscan = off SET enable_sort = off
AS $$
  SELECT coalesce((SELECT position FROM outbox_events WHERE position IS NOT NULL ORDER BY position DESC LIMIT 1), 0)
$$;
""",
    "udipick_outbox_backlog.sql": """-- The events not numbered yet and the oldest of them, from the partial index of unsequenced rows
-- in any caller's cached plan (``/metrics``; migration 0007).
CREATE OR REPLACE FUNCTION udipick_outbox_backlog(OUT unsequenced bigint, OUT oldest timestamptz) LANGUAGE sql STABLE
  SET enable_seqscan = off SET enable_bitmapscan = off
AS $$
  SELECT count(*), min(occurred_at) FROM outbox_events WHERE position IS NULL
$$;
""",
    "udipick_sequence_outbox.sql": """-- Outbox sequencer: gap-free stream positions in commit-safe order (migration 0003 explains the
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
""",
    "udipick_stock_hold.sql": """-- The active hold that covers a stock row, if any: a hold on its item, its lot, its serial or its
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
""",
    "udipick_location_block.sql": """-- The active block of a location for an item, if any: a short pick blocked it until someone counts
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
""",
    "udipick_scan_reply.sql": """-- The stored answer of a client scan id, if any: its HTTP status, JSON body and the action it
-- answered. The one way every answer is read: ``services.replay.SELECT_REPLY`` (every workflow) and
-- the pick scan's one read (``services.picking``), which calls it inside its snapshot statement.
-- Inlinable (set-returning, STABLE, one SELECT, not STRICT, no SET clause): in a prepared statement
-- it plans as the primary-key look-up on ``scan_replies`` it replaces, no function call.
CREATE OR REPLACE FUNCTION udipick_scan_reply(
  p_scan uuid
) RETURNS TABLE (status_code integer, body text, action text) LANGUAGE sql STABLE AS $$
  SELECT r.status_code, r.body::text, r.action::text
    FROM scan_replies r
   WHERE r.client_scan_id = p_scan
$$;
""",
    "udipick_store_reply.sql": """-- Stores the first answer to a client scan id, with its outbox events, in one statement; false when
-- the scan id already had one (the caller then answers the stored one). The one way every answer is
-- stored: ``services.replay`` (every workflow, accepted or refused) and ``udipick_pick_accept`` call
-- it; every answer is read through ``udipick_scan_reply``.
CREATE OR REPLACE FUNCTION udipick_store_reply(
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
END $$;
""",
    "udipick_pick_accept.sql": """-- Writes one accepted pick scan in one statement, its own transaction (migration 0004 explains the
-- design): the reply row and the outbox events (through ``udipick_store_reply``, as every workflow
-- stores its answer), the task, the reservation, the order line, the serial, the pick and the ledger
-- movement (whose trigger moves the stock). SQLSTATE UP001: something the verdict rested on changed
-- since the read (the caller reads and decides again); UP002: the scan id already has an answer.
-- Called with named arguments (``services.picking.PickAccept``), so a renamed parameter fails by name.
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
  IF NOT udipick_store_reply(p_scan => p_scan, p_action => p_action, p_user => p_user, p_device => p_device,
                             p_status => 200, p_body => p_body, p_event_ids => p_event_ids, p_types => p_types,
                             p_data => p_data, p_occurred => p_occurred, p_username => p_username) THEN
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
END $$;
""",
}


def upgrade() -> None:
    sqlfiles.apply(op, SQL_FILES, texts=SQL_TEXTS)


def downgrade() -> None:
    op.execute(PICK_ACCEPT_0008)
    op.execute("DROP FUNCTION udipick_scan_reply(uuid)")

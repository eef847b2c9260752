-- Writes one accepted pick scan in one statement, its own transaction (migration 0004 explains the
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

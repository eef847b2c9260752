-- The stored answer of a client scan id, if any: its HTTP status, JSON body and the action it
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

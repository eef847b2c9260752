-- Stores the first answer to a client scan id, with its outbox events, in one statement; false when
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

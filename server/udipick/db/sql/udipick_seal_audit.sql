-- The audit sealer (migration 0015, docs/audit.md): appends ``audit_chain`` links for audit records
-- (``audit_log``) and ledger movements (``stock_ledger``) that are final, in ``(tx_id, source, id)``
-- order, each link holding the previous link's hash and
-- sha256(previous hash || utf8(seq || E'\n' || canonical text)). Writers never wait for it: they insert
-- their rows as before, and only this function, under its own advisory lock (7106221335, one more than
-- the outbox sequencer's), extends the single chain. "Final" is the outbox sequencer's horizon: rows of
-- transactions older than the oldest still running (an xid that pg_stat_activity places in another
-- database is left out), so a row can never be sealed behind a later one and a sealed range never gains
-- a row. The cursor is the last link itself (its tx_id, source, source id).
CREATE OR REPLACE FUNCTION udipick_seal_audit(batch integer DEFAULT 10000, OUT sealed integer, OUT head bigint)
LANGUAGE plpgsql
AS $$
DECLARE
  snap pg_snapshot;
  horizon bigint;
  c_tx bigint := -1;
  c_src smallint := 1;
  c_id bigint := 0;
  a_after bigint;
  l_after bigint;
  prev bytea := '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
  h bytea;
  r record;
BEGIN
  PERFORM pg_advisory_xact_lock(7106221335);
  snap := pg_current_snapshot();
  SELECT coalesce(min(x::text::bigint), pg_snapshot_xmax(snap)::text::bigint) INTO horizon
    FROM pg_snapshot_xip(snap) AS x
   WHERE (x::text::bigint % 4294967296) NOT IN (
     SELECT backend_xid::text::bigint FROM pg_stat_activity
      WHERE datname IS DISTINCT FROM current_database() AND backend_xid IS NOT NULL);
  -- A new statement, so a new snapshot: every transaction older than the horizon had finished before it.
  SELECT c.seq, c.tx_id, c.source, c.source_id, c.hash INTO head, c_tx, c_src, c_id, prev
    FROM audit_chain c ORDER BY c.seq DESC LIMIT 1;
  IF NOT FOUND THEN
    head := 0; c_tx := -1; c_src := 1; c_id := 0;
    prev := '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
  END IF;
  -- audit rows (source 0) of the cursor's transaction come before its ledger rows (source 1)
  a_after := CASE WHEN c_src = 0 THEN c_id ELSE 9223372036854775807 END;
  l_after := CASE WHEN c_src = 1 THEN c_id ELSE 0 END;
  sealed := 0;
  FOR r IN
    SELECT * FROM (
      (SELECT a.tx_id, 0::smallint AS source, a.id, udipick_audit_record(p_id => a.id,
               p_occurred_at => a.occurred_at,
               p_user_id => a.user_id,
               p_username => a.username,
               p_api_key_id => a.api_key_id,
               p_device_id => a.device_id,
               p_action => a.action,
               p_target => a.target,
               p_outcome => a.outcome,
               p_reason => a.reason,
               p_detail => a.detail,
               p_before => a.before,
               p_after => a.after,
               p_signer_name => a.signer_name,
               p_signature_meaning => a.signature_meaning) AS body FROM audit_log a
        WHERE (a.tx_id, a.id) > (c_tx, a_after) AND a.tx_id < horizon ORDER BY a.tx_id, a.id LIMIT batch)
      UNION ALL
      (SELECT l.tx_id, 1::smallint, l.id, udipick_ledger_record(p_id => l.id,
               p_occurred_at => l.occurred_at,
               p_movement => l.movement,
               p_item_id => l.item_id,
               p_lot_id => l.lot_id,
               p_serial_id => l.serial_id,
               p_quantity => l.quantity,
               p_from_location_id => l.from_location_id,
               p_from_container_id => l.from_container_id,
               p_from_status => l.from_status,
               p_to_location_id => l.to_location_id,
               p_to_container_id => l.to_container_id,
               p_to_status => l.to_status,
               p_user_id => l.user_id,
               p_api_key_id => l.api_key_id,
               p_device_id => l.device_id,
               p_reason => l.reason,
               p_document_type => l.document_type,
               p_document_id => l.document_id,
               p_event_id => l.event_id) FROM stock_ledger l
        WHERE (l.tx_id, l.id) > (c_tx, l_after) AND l.tx_id < horizon ORDER BY l.tx_id, l.id LIMIT batch)
    ) u ORDER BY u.tx_id, u.source, u.id LIMIT batch
  LOOP
    head := head + 1;
    sealed := sealed + 1;
    h := sha256(prev || convert_to(head::text || E'\n' || r.body, 'UTF8'));
    INSERT INTO audit_chain (seq, tx_id, source, source_id, prev_hash, hash)
      VALUES (head, r.tx_id, r.source, r.id, prev, h);
    prev := h;
  END LOOP;
END $$;

"""A tamper-evident audit trail: before/after, reasons and e-signature meanings on audit records, and a
hash chain over audit records and ledger movements (issue 18, docs/audit.md).

Revision ID: 0016
Revises: 0015

``audit_log`` gains ``reason``, ``before``, ``after``, the e-signature's manifestation
(``signer_name``, ``signature_meaning``; 21 CFR Part 11 §11.50) and ``tx_id``. ``stock_ledger`` gains
``tx_id``: a ledger movement is audited by reference, the chain seals the ledger row itself.
``audit_chain`` holds one link per record; ``udipick_seal_audit`` appends links in the background under
its own advisory lock, so no writer waits for the chain. ``audit_chain`` is append-only like
``audit_log`` (``udipick_append_only``, refused UPDATE, DELETE and TRUNCATE).

New functions: ``udipick_audit_record``, ``udipick_ledger_record``, ``udipick_seal_audit`` (it re-applied
the others unchanged; those entries were dropped when 0023 became the newest applying migration).

Adding ``tx_id`` rewrites ``stock_ledger`` and ``audit_log`` once (the default is volatile): on a large
ledger, run it in a maintenance window.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from udipick.db import sqlfiles

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

#: the files this revision applies, in this order, with the sha256 of the text it applied
#: (``python -m udipick.db.sqlfiles`` prints them)
SQL_FILES = {
    "udipick_audit_record.sql": "bfa47aaa5c663902c280032830bb77a2614b1b71ff0219735779dbdcd109aad9",
    "udipick_ledger_record.sql": "961f4dfdbd981fef36f527607327f64a053a2254ce226dc8114ea8991596ac00",
    "udipick_seal_audit.sql": "3ec55dfddd19a4b3fea7e9dc2a3707c44f9e3045f7be4d6724ce33607a870527",
}
#: the texts it applied (migration 0023 applies the files now; db/sql/README.md)
SQL_TEXTS = {
    "udipick_audit_record.sql": """-- The canonical text of one ``audit_log`` row as the audit chain hashes it (docs/audit.md, migration
-- 0015): the JSON array ``["audit", id, occurredAt, ...]`` exactly as PostgreSQL prints the jsonb
-- array of those values (", " between elements; strings escaped by to_json, nested jsonb printed as
-- jsonb), time as UTC microseconds with a ``Z``. Spelled as concatenation rather than
-- ``jsonb_build_array(...)::text`` (the same text, tested) because it costs a quarter of the CPU, and
-- ``audit verify`` computes it for every record; the columns are passed one by one (a whole-row
-- argument cost 2.6 times as much: the row is formed, then taken apart field by field), each as its
-- column's type (``to_json`` of a varchar cast to text cost about three times as much). Written once
-- here so the sealer and verify cannot disagree; docs/audit.md spells it for an auditor recomputing an
-- NDJSON export without us.
CREATE OR REPLACE FUNCTION udipick_audit_record(
    p_id bigint,
    p_occurred_at timestamptz,
    p_user_id integer,
    p_username character varying,
    p_api_key_id integer,
    p_device_id character varying,
    p_action character varying,
    p_target character varying,
    p_outcome character varying,
    p_reason text,
    p_detail jsonb,
    p_before jsonb,
    p_after jsonb,
    p_signer_name character varying,
    p_signature_meaning character varying
) RETURNS text LANGUAGE sql STABLE
AS $$
  SELECT '["audit", ' || p_id::text
         || ', ' || coalesce(to_json(to_char(p_occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text, 'null')
         || ', ' || coalesce(p_user_id::text, 'null')
         || ', ' || coalesce(to_json(p_username)::text, 'null')
         || ', ' || coalesce(p_api_key_id::text, 'null')
         || ', ' || coalesce(to_json(p_device_id)::text, 'null')
         || ', ' || coalesce(to_json(p_action)::text, 'null')
         || ', ' || coalesce(to_json(p_target)::text, 'null')
         || ', ' || coalesce(to_json(p_outcome)::text, 'null')
         || ', ' || coalesce(to_json(p_reason)::text, 'null')
         || ', ' || coalesce(p_detail::text, 'null')
         || ', ' || coalesce(p_before::text, 'null')
         || ', ' || coalesce(p_after::text, 'null')
         || ', ' || coalesce(to_json(p_signer_name)::text, 'null')
         || ', ' || coalesce(to_json(p_signature_meaning)::text, 'null')
         || ']'
$$;
""",
    "udipick_ledger_record.sql": """-- The canonical text of one ``stock_ledger`` row as the audit chain hashes it (docs/audit.md,
-- migration 0015): ``["ledger", id, occurredAt, ...]`` as PostgreSQL prints that jsonb array (see
-- ``udipick_audit_record`` for why it is spelled as concatenation, column by column). A ledger movement is audited by
-- reference: the ledger row already says who (user or API key, device), when, why (reason, document)
-- and what (its from and to side), and is append-only; the chain seals the row itself instead of a
-- copy, so the pick path writes nothing more than it did.
CREATE OR REPLACE FUNCTION udipick_ledger_record(
    p_id bigint,
    p_occurred_at timestamptz,
    p_movement character varying,
    p_item_id integer,
    p_lot_id integer,
    p_serial_id integer,
    p_quantity integer,
    p_from_location_id integer,
    p_from_container_id integer,
    p_from_status character varying,
    p_to_location_id integer,
    p_to_container_id integer,
    p_to_status character varying,
    p_user_id integer,
    p_api_key_id integer,
    p_device_id character varying,
    p_reason text,
    p_document_type character varying,
    p_document_id character varying,
    p_event_id uuid
) RETURNS text LANGUAGE sql STABLE
AS $$
  SELECT '["ledger", ' || p_id::text
         || ', ' || coalesce(to_json(to_char(p_occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text, 'null')
         || ', ' || coalesce(to_json(p_movement)::text, 'null')
         || ', ' || coalesce(p_item_id::text, 'null')
         || ', ' || coalesce(p_lot_id::text, 'null')
         || ', ' || coalesce(p_serial_id::text, 'null')
         || ', ' || coalesce(p_quantity::text, 'null')
         || ', ' || coalesce(p_from_location_id::text, 'null')
         || ', ' || coalesce(p_from_container_id::text, 'null')
         || ', ' || coalesce(to_json(p_from_status)::text, 'null')
         || ', ' || coalesce(p_to_location_id::text, 'null')
         || ', ' || coalesce(p_to_container_id::text, 'null')
         || ', ' || coalesce(to_json(p_to_status)::text, 'null')
         || ', ' || coalesce(p_user_id::text, 'null')
         || ', ' || coalesce(p_api_key_id::text, 'null')
         || ', ' || coalesce(to_json(p_device_id)::text, 'null')
         || ', ' || coalesce(to_json(p_reason)::text, 'null')
         || ', ' || coalesce(to_json(p_document_type)::text, 'null')
         || ', ' || coalesce(to_json(p_document_id)::text, 'null')
         || ', ' || coalesce(to_json(p_event_id)::text, 'null')
         || ']'
$$;
""",
    "udipick_seal_audit.sql": "-- The audit sealer (migration 0015, docs/audit.md): appends ``audit_chain`` links for audit records\n-- (``audit_log``) and ledger movements (``stock_ledger``) that are final, in ``(tx_id, source, id)``\n-- order, each link holding the previous link's hash and\n-- sha256(previous hash || utf8(seq || E'\\n' || canonical text)). Writers never wait for it: they insert\n-- their rows as before, and only this function, under its own advisory lock (7106221335, one more than\n-- the outbox sequencer's), extends the single chain. \"Final\" is the outbox sequencer's horizon: rows of\n-- transactions older than the oldest still running (an xid that pg_stat_activity places in another\n-- database is left out), so a row can never be sealed behind a later one and a sealed range never gains\n-- a row. The cursor is the last link itself (its tx_id, source, source id).\nCREATE OR REPLACE FUNCTION udipick_seal_audit(batch integer DEFAULT 10000, OUT sealed integer, OUT head bigint)\nLANGUAGE plpgsql\nAS $$\nDECLARE\n  snap pg_snapshot;\n  horizon bigint;\n  c_tx bigint := -1;\n  c_src smallint := 1;\n  c_id bigint := 0;\n  a_after bigint;\n  l_after bigint;\n  prev bytea := '\\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;\n  h bytea;\n  r record;\nBEGIN\n  PERFORM pg_advisory_xact_lock(7106221335);\n  snap := pg_current_snapshot();\n  SELECT coalesce(min(x::text::bigint), pg_snapshot_xmax(snap)::text::bigint) INTO horizon\n    FROM pg_snapshot_xip(snap) AS x\n   WHERE (x::text::bigint % 4294967296) NOT IN (\n     SELECT backend_xid::text::bigint FROM pg_stat_activity\n      WHERE datname IS DISTINCT FROM current_database() AND backend_xid IS NOT NULL);\n  -- A new statement, so a new snapshot: every transaction older than the horizon had finished before it.\n  SELECT c.seq, c.tx_id, c.source, c.source_id, c.hash INTO head, c_tx, c_src, c_id, prev\n    FROM audit_chain c ORDER BY c.seq DESC LIMIT 1;\n  IF NOT FOUND THEN\n    head := 0; c_tx := -1; c_src := 1; c_id := 0;\n    prev := '\\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;\n  END IF;\n  -- audit rows (source 0) of the cursor's transaction come before its ledger rows (source 1)\n  a_after := CASE WHEN c_src = 0 THEN c_id ELSE 9223372036854775807 END;\n  l_after := CASE WHEN c_src = 1 THEN c_id ELSE 0 END;\n  sealed := 0;\n  FOR r IN\n    SELECT * FROM (\n      (SELECT a.tx_id, 0::smallint AS source, a.id, udipick_audit_record(p_id => a.id,\n               p_occurred_at => a.occurred_at,\n               p_user_id => a.user_id,\n               p_username => a.username,\n               p_api_key_id => a.api_key_id,\n               p_device_id => a.device_id,\n               p_action => a.action,\n               p_target => a.target,\n               p_outcome => a.outcome,\n               p_reason => a.reason,\n               p_detail => a.detail,\n               p_before => a.before,\n               p_after => a.after,\n               p_signer_name => a.signer_name,\n               p_signature_meaning => a.signature_meaning) AS body FROM audit_log a\n        WHERE (a.tx_id, a.id) > (c_tx, a_after) AND a.tx_id < horizon ORDER BY a.tx_id, a.id LIMIT batch)\n      UNION ALL\n      (SELECT l.tx_id, 1::smallint, l.id, udipick_ledger_record(p_id => l.id,\n               p_occurred_at => l.occurred_at,\n               p_movement => l.movement,\n               p_item_id => l.item_id,\n               p_lot_id => l.lot_id,\n               p_serial_id => l.serial_id,\n               p_quantity => l.quantity,\n               p_from_location_id => l.from_location_id,\n               p_from_container_id => l.from_container_id,\n               p_from_status => l.from_status,\n               p_to_location_id => l.to_location_id,\n               p_to_container_id => l.to_container_id,\n               p_to_status => l.to_status,\n               p_user_id => l.user_id,\n               p_api_key_id => l.api_key_id,\n               p_device_id => l.device_id,\n               p_reason => l.reason,\n               p_document_type => l.document_type,\n               p_document_id => l.document_id,\n               p_event_id => l.event_id) FROM stock_ledger l\n        WHERE (l.tx_id, l.id) > (c_tx, l_after) AND l.tx_id < horizon ORDER BY l.tx_id, l.id LIMIT batch)\n    ) u ORDER BY u.tx_id, u.source, u.id LIMIT batch\n  LOOP\n    head := head + 1;\n    sealed := sealed + 1;\n    h := sha256(prev || convert_to(head::text || E'\\n' || r.body, 'UTF8'));\n    INSERT INTO audit_chain (seq, tx_id, source, source_id, prev_hash, hash)\n      VALUES (head, r.tx_id, r.source, r.id, prev, h);\n    prev := h;\n  END LOOP;\nEND $$;\n",
}

_TX_ID = sa.text("(pg_current_xact_id()::text)::bigint")
_MEANINGS = "('approval', 'review', 'release', 'rejection', 'responsibility')"


def upgrade() -> None:
    op.add_column("audit_log", sa.Column("reason", sa.Text(), nullable=True))
    op.add_column("audit_log", sa.Column("before", postgresql.JSONB(), nullable=True))
    op.add_column("audit_log", sa.Column("after", postgresql.JSONB(), nullable=True))
    op.add_column("audit_log", sa.Column("signer_name", sa.String(200), nullable=True))
    op.add_column("audit_log", sa.Column("signature_meaning", sa.String(16), nullable=True))
    op.add_column("audit_log", sa.Column("tx_id", sa.BigInteger(), server_default=_TX_ID, nullable=False))
    op.create_check_constraint(
        op.f("ck_audit_log_signature_meaning_known"),
        "audit_log",
        f"signature_meaning IS NULL OR signature_meaning IN {_MEANINGS}",
    )
    op.create_check_constraint(
        op.f("ck_audit_log_signature_complete"), "audit_log", "(signer_name IS NULL) = (signature_meaning IS NULL)"
    )
    op.create_index(op.f("ix_audit_log_tx_id_id"), "audit_log", ["tx_id", "id"])
    op.add_column("stock_ledger", sa.Column("tx_id", sa.BigInteger(), server_default=_TX_ID, nullable=False))
    op.create_index(op.f("ix_stock_ledger_tx_id_id"), "stock_ledger", ["tx_id", "id"])
    op.create_table(
        "audit_chain",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("tx_id", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.SmallInteger(), nullable=False),
        sa.Column("source_id", sa.BigInteger(), nullable=False),
        sa.Column("prev_hash", sa.LargeBinary(), nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.Column("sealed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("source IN (0, 1)", name=op.f("ck_audit_chain_source_known")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_chain")),
        sa.UniqueConstraint("source", "source_id", name=op.f("uq_audit_chain_source_source_id")),
    )
    sqlfiles.apply(op, SQL_FILES, texts=SQL_TEXTS)
    op.execute(
        "CREATE TRIGGER audit_chain_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_chain "
        "FOR EACH STATEMENT EXECUTE FUNCTION udipick_append_only()"
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION udipick_seal_audit(integer)")
    op.execute("DROP FUNCTION udipick_ledger_record")
    op.execute("DROP FUNCTION udipick_audit_record")
    op.execute("DROP TRIGGER audit_chain_append_only ON audit_chain")
    op.drop_table("audit_chain")
    op.drop_index(op.f("ix_stock_ledger_tx_id_id"), table_name="stock_ledger")
    op.drop_column("stock_ledger", "tx_id")
    op.drop_index(op.f("ix_audit_log_tx_id_id"), table_name="audit_log")
    op.drop_constraint(op.f("ck_audit_log_signature_complete"), "audit_log", type_="check")
    op.drop_constraint(op.f("ck_audit_log_signature_meaning_known"), "audit_log", type_="check")
    for column in ("tx_id", "signature_meaning", "signer_name", "after", "before", "reason"):
        op.drop_column("audit_log", column)

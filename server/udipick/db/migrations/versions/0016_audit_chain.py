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

New functions: ``udipick_audit_record``, ``udipick_ledger_record``, ``udipick_seal_audit``. The others
are applied as they are (unchanged text leaves them as they were).

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
    "udipick_audit_record.sql": "bfa47aaa5c663902c280032830bb77a2614b1b71ff0219735779dbdcd109aad9",
    "udipick_ledger_record.sql": "961f4dfdbd981fef36f527607327f64a053a2254ce226dc8114ea8991596ac00",
    "udipick_seal_audit.sql": "3ec55dfddd19a4b3fea7e9dc2a3707c44f9e3045f7be4d6724ce33607a870527",
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
    sqlfiles.apply(op, SQL_FILES)
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

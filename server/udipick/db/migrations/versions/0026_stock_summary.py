"""The stock view's summary (issue 19): stock summed per item, lot, warehouse, location type and status.

Revision ID: 0026
Revises: 0025

- ``stock_summary`` and ``stock_summary_delta`` (``db/models_stock_summary.py``): the summary plus the delta
  rows a snapshot sees equal ``stock`` summed per key in that snapshot.
- Statement triggers on ``stock`` (``stock_summary_insert``/``_update``/``_delete``, function
  ``udipick_stock_summary_change``) append each statement's difference to the delta; a trigger on
  ``locations`` (``locations_stock_summary``, ``udipick_stock_summary_relocate``) moves a re-typed or
  re-homed location's stock to its new key.
- ``udipick_fold_stock_summary`` (the server calls it every ``stock_summary_every_seconds``) and
  ``udipick_rebuild_stock_summary`` (fills the summary here).
- ``stock_summary_lots``: the same per item, lot and warehouse, for views by lot or item.
- ``stock_summary_facts`` and ``stock_summary_recorded``: the same units per warehouse, location type, status
  and the facts of their lot as the fold recorded them (view ``stock_lot_facts``), for the view's totals.
- ``stock_summary_dirty``: lots whose facts changed since the last fold, marked by triggers on ``lots``,
  ``items`` and ``holds`` (``udipick_stock_summary_dirty``).
- ``ix_stock_serial``: the view corrects the few rows a serial hold covers, found by serial.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from udipick.db import sqlfiles

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

#: every file, with the sha256 of the text it applied (``python -m udipick.db.sqlfiles``); new here: the
#: four ``*stock_summary*`` functions
SQL_FILES = {
    "udipick_append_only.sql": "bdb9793b707002b384f01b69b384313933b685ec8690a1eacdc7aa92c156261f",
    "udipick_apply_ledger.sql": "5a8ef2b60317bbcdc121b10b3c4563bcb990dd7e2f869460929dcbf92d1f8bce",
    "udipick_apply_opening.sql": "a73046ff5005ffd0b908b347d148a8248efe9c7288da0e8b669364dbec96ffef",
    "udipick_audit_record.sql": "bfa47aaa5c663902c280032830bb77a2614b1b71ff0219735779dbdcd109aad9",
    "udipick_fold_stock_summary.sql": "a14237e6dbe284964bb3191c9019cc12c766ececdf2b982a82a6a4410eda3844",
    "udipick_guard_stock.sql": "e2230fa42e4e5a6211634886b7399ac7ee18825ca1559a3affd9f9f506b55dd9",
    "udipick_ledger_record.sql": "961f4dfdbd981fef36f527607327f64a053a2254ce226dc8114ea8991596ac00",
    "udipick_location_block.sql": "8df88bb185a11736537e62519fb5b8f30718935bde89e1ddba6a5902109443a3",
    "udipick_outbox_backlog.sql": "8475a17709926a56de8605e4df9a9688b4af822e995f013e79766d96e6cae9a9",
    "udipick_outbox_head.sql": "ecda651e3edd1b563c71075a4b426b27e08e526fda34e63219f165638d04be8b",
    "udipick_pick_accept.sql": "2d10c5be33b0c761c0642142dfb5e5d3de02742da2141c6c79977767a9e8cf57",
    "udipick_rebuild_stock_summary.sql": "65fb8c43aa5ec5be791e1764f409dbfe8e7f416b2d3f1514fa5041321a61777c",
    "udipick_retain_master.sql": "41555cafa599bb9da9c7a02823cbffae02cdbdf2142792f64ba6e2523361ba58",
    "udipick_scan_reply.sql": "644595fc4c1050dfc6c388f0262bc382cf1d7ddadadfe66ff3b72f9ec29a9a05",
    "udipick_seal_audit.sql": "3ec55dfddd19a4b3fea7e9dc2a3707c44f9e3045f7be4d6724ce33607a870527",
    "udipick_sequence_outbox.sql": "b1599334809246c2569062a854e48ddb439a021382c9252139bb449930bd68fc",
    "udipick_stock_hold.sql": "945acfb348b65f92a93574737d19fba93e6e813115285c617c7207388d4e366a",
    "udipick_stock_summary_change.sql": "acbea04a3a76606a603990fa46dcdd14ae5024bced43b088ef3267b0c5d2dd7e",
    "udipick_stock_summary_dirty.sql": "45c817c184a1c308235aaafc66933d5b4fa657ea2ec4983e8b2ccf859ce7b6b0",
    "udipick_stock_summary_relocate.sql": "8d465ec68fef9fb5e7cc1ea383366e15237b18453557c808c370efb7c08a0627",
    "udipick_store_reply.sql": "2da35ff9cd83a19cc6fbc2916010274a1edf888416d1b965f227beb2b72be66d",
}

#: what the stock view's status rule needs to know of a lot (and its item) beside the stock row itself, per
#: item and ``lot_key`` (the lot's id; 0 for stock without a lot): its status and expiry, whether an active
#: hold covers the lot or the item (``udipick_stock_hold``'s predicate for those scopes), a bonded item.
#: The fold records these per pair and the view compares them with the recorded ones.
LOT_FACTS = """
CREATE VIEW stock_lot_facts AS
SELECT l.item_id, l.id AS lot_key, l.status AS lot_status, l.expiry,
       coalesce(l.id IN (SELECT lot_id FROM holds
                          WHERE released_at IS NULL AND scope = 'lot' AND lot_id IS NOT NULL)
                OR l.item_id IN (SELECT item_id FROM holds
                                  WHERE released_at IS NULL AND scope = 'item' AND item_id IS NOT NULL), false) AS held,
       i.bonded
  FROM lots l JOIN items i ON i.id = l.item_id
UNION ALL
SELECT i.id, 0, 'released', NULL::date,
       coalesce(i.id IN (SELECT item_id FROM holds
                          WHERE released_at IS NULL AND scope = 'item' AND item_id IS NOT NULL), false),
       i.bonded
  FROM items i
"""

#: what marks a lot's facts changed (``udipick_stock_summary_dirty``)
DIRTY_TRIGGERS = {
    "lots": "UPDATE OF status, expiry, item_id ON lots FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status"
    " OR OLD.expiry IS DISTINCT FROM NEW.expiry OR OLD.item_id IS DISTINCT FROM NEW.item_id)",
    "items": "UPDATE OF bonded ON items FOR EACH ROW WHEN (OLD.bonded IS DISTINCT FROM NEW.bonded)",
    "holds": "INSERT OR UPDATE OR DELETE ON holds FOR EACH ROW",
}

NEW_FUNCTIONS = (
    "udipick_stock_summary_dirty()",
    "udipick_stock_summary_change()",
    "udipick_stock_summary_relocate()",
    "udipick_fold_stock_summary()",
    "udipick_rebuild_stock_summary()",
)


def _key_and_sums() -> list[sa.Column]:
    return [
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=True),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("location_type", sa.String(16), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("reserved", sa.BigInteger(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table("stock_summary", *_key_and_sums())
    op.create_index(
        "uq_stock_summary_key",
        "stock_summary",
        ["item_id", "lot_id", "warehouse_id", "location_type", "status"],
        unique=True,
        postgresql_nulls_not_distinct=True,
    )
    op.create_index(
        "ix_stock_summary_empty",
        "stock_summary",
        ["item_id"],
        postgresql_where=sa.text("quantity = 0 AND reserved = 0"),
    )
    op.create_table(
        "stock_summary_lots",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=True),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("reserved", sa.BigInteger(), nullable=False),
    )
    op.create_index(
        "uq_stock_summary_lots_key",
        "stock_summary_lots",
        ["item_id", "lot_id", "warehouse_id"],
        unique=True,
        postgresql_nulls_not_distinct=True,
    )
    op.create_index(
        "ix_stock_summary_lots_empty",
        "stock_summary_lots",
        ["item_id"],
        postgresql_where=sa.text("quantity = 0 AND reserved = 0"),
    )
    op.create_table("stock_summary_delta", *_key_and_sums())
    op.create_table(
        "stock_summary_recorded",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("lot_key", sa.Integer(), nullable=False),
        sa.Column("lot_status", sa.String(12), nullable=False),
        sa.Column("expiry", sa.Date(), nullable=True),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.Column("bonded", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("item_id", "lot_key", name=op.f("uq_stock_summary_recorded_item_id_lot_key")),
    )
    op.create_table(
        "stock_summary_facts",
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("location_type", sa.String(16), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("lot_status", sa.String(12), nullable=False),
        sa.Column("expiry", sa.Date(), nullable=True),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.Column("bonded", sa.Boolean(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("reserved", sa.BigInteger(), nullable=False),
    )
    op.create_index(
        "uq_stock_summary_facts_key",
        "stock_summary_facts",
        ["warehouse_id", "location_type", "status", "lot_status", "expiry", "held", "bonded"],
        unique=True,
        postgresql_nulls_not_distinct=True,
    )
    op.create_index(
        "ix_stock_summary_facts_empty",
        "stock_summary_facts",
        ["warehouse_id"],
        postgresql_where=sa.text("quantity = 0 AND reserved = 0"),
    )
    op.create_table(
        "stock_summary_dirty",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("lot_key", sa.Integer(), nullable=True),
    )
    op.execute(LOT_FACTS)
    op.create_index("ix_stock_serial", "stock", ["serial_id"], postgresql_where=sa.text("serial_id IS NOT NULL"))
    sqlfiles.apply(op, SQL_FILES)
    for event, tables in (
        ("INSERT", "NEW TABLE AS stock_new"),
        ("UPDATE", "OLD TABLE AS stock_old NEW TABLE AS stock_new"),
        ("DELETE", "OLD TABLE AS stock_old"),
    ):
        op.execute(
            f"CREATE TRIGGER stock_summary_{event.lower()} AFTER {event} ON stock REFERENCING {tables}"
            " FOR EACH STATEMENT EXECUTE FUNCTION udipick_stock_summary_change()"
        )
    op.execute(
        "CREATE TRIGGER locations_stock_summary_lock BEFORE UPDATE OF type, warehouse_id ON locations"
        " FOR EACH STATEMENT EXECUTE FUNCTION udipick_stock_summary_relocate()"
    )
    op.execute(
        "CREATE TRIGGER locations_stock_summary AFTER UPDATE OF type, warehouse_id ON locations FOR EACH ROW"
        " WHEN (OLD.type IS DISTINCT FROM NEW.type OR OLD.warehouse_id IS DISTINCT FROM NEW.warehouse_id)"
        " EXECUTE FUNCTION udipick_stock_summary_relocate()"
    )
    for table, when in DIRTY_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {table}_stock_summary AFTER {when} EXECUTE FUNCTION udipick_stock_summary_dirty()")
    op.execute("SELECT udipick_rebuild_stock_summary()")


def downgrade() -> None:
    for table in DIRTY_TRIGGERS:
        op.execute(f"DROP TRIGGER {table}_stock_summary ON {table}")
    op.drop_table("stock_summary_dirty")
    op.execute("DROP VIEW stock_lot_facts")
    op.drop_table("stock_summary_facts")
    op.drop_table("stock_summary_recorded")
    op.drop_table("stock_summary_lots")
    op.execute("DROP TRIGGER locations_stock_summary ON locations")
    op.execute("DROP TRIGGER locations_stock_summary_lock ON locations")
    for event in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER stock_summary_{event} ON stock")
    for function in NEW_FUNCTIONS:
        op.execute(f"DROP FUNCTION {function}")
    op.drop_index("ix_stock_serial", table_name="stock")
    op.drop_table("stock_summary_delta")
    op.drop_table("stock_summary")

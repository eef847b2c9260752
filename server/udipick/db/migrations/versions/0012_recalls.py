"""Recalls: the recall record, the lots it froze, the cartons it flagged; indexes for the trace.

Revision ID: 0012
Revises: 0011

Opening a recall sets ``lots.status = 'recalled'`` for every lot it covers (allocation and every scan
already refuse such lots) and keeps the status each lot had, so a recall closed as ``released`` can
give it back. The trace reads the ledger by lot, serial and carton, and the receipts by lot and
serial: the partial indexes keep those reads to the rows a trace needs in a ledger of millions.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recalls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("produced_from", sa.Date(), nullable=True),
        sa.Column("produced_to", sa.Date(), nullable=True),
        sa.Column("recall_class", sa.String(length=3), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=8), server_default="open", nullable=False),
        sa.Column("opened_by", sa.Integer(), nullable=True),
        sa.Column("opened_api_key_id", sa.Integer(), nullable=True),
        sa.Column("opened_device", sa.String(length=64), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("closed_by", sa.Integer(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disposition", sa.String(length=24), nullable=True),
        sa.Column("close_note", sa.Text(), nullable=True),
        sa.Column("response_seconds", sa.Integer(), nullable=True),
        sa.CheckConstraint("scope IN ('lots', 'production_dates')", name=op.f("ck_recalls_scope_known")),
        sa.CheckConstraint("recall_class IN ('I', 'II', 'III')", name=op.f("ck_recalls_class_known")),
        sa.CheckConstraint("status IN ('open', 'closed')", name=op.f("ck_recalls_status_known")),
        sa.CheckConstraint(
            "disposition IS NULL OR disposition IN ('destroyed', 'returned_to_supplier', 'released')",
            name=op.f("ck_recalls_disposition_known"),
        ),
        sa.CheckConstraint(
            "opened_by IS NOT NULL OR opened_api_key_id IS NOT NULL", name=op.f("ck_recalls_has_opener")
        ),
        sa.CheckConstraint(
            "(status = 'closed') = (closed_at IS NOT NULL AND disposition IS NOT NULL AND closed_by IS NOT NULL)",
            name=op.f("ck_recalls_closed_when_closed"),
        ),
        sa.CheckConstraint(
            "(scope = 'production_dates') = (produced_from IS NOT NULL AND produced_to IS NOT NULL)",
            name=op.f("ck_recalls_dates_with_scope"),
        ),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_recalls_item_id_items")),
        sa.ForeignKeyConstraint(["opened_by"], ["users.id"], name=op.f("fk_recalls_opened_by_users")),
        sa.ForeignKeyConstraint(
            ["opened_api_key_id"], ["api_keys.id"], name=op.f("fk_recalls_opened_api_key_id_api_keys")
        ),
        sa.ForeignKeyConstraint(["closed_by"], ["users.id"], name=op.f("fk_recalls_closed_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recalls")),
    )
    op.create_index("ix_recalls_open", "recalls", ["status"], postgresql_where=sa.text("status = 'open'"))
    op.create_table(
        "recall_lots",
        sa.Column("recall_id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("prior_status", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(["recall_id"], ["recalls.id"], name=op.f("fk_recall_lots_recall_id_recalls")),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.id"], name=op.f("fk_recall_lots_lot_id_lots")),
        sa.PrimaryKeyConstraint("recall_id", "lot_id", name=op.f("pk_recall_lots")),
    )
    op.create_index("ix_recall_lots_lot_id", "recall_lots", ["lot_id"])
    op.create_table(
        "recall_packages",
        sa.Column("recall_id", sa.Integer(), nullable=False),
        sa.Column("container_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["recall_id"], ["recalls.id"], name=op.f("fk_recall_packages_recall_id_recalls")),
        sa.ForeignKeyConstraint(
            ["container_id"], ["containers.id"], name=op.f("fk_recall_packages_container_id_containers")
        ),
        sa.PrimaryKeyConstraint("recall_id", "container_id", name=op.f("pk_recall_packages")),
    )
    op.create_index("ix_lots_item_production", "lots", ["item_id", "production_date"])
    op.create_index(
        "ix_stock_ledger_ship_lot", "stock_ledger", ["lot_id"], postgresql_where=sa.text("movement = 'ship'")
    )
    op.create_index(
        "ix_stock_ledger_serial", "stock_ledger", ["serial_id"], postgresql_where=sa.text("serial_id IS NOT NULL")
    )
    op.create_index(
        "ix_stock_ledger_ship_container",
        "stock_ledger",
        ["from_container_id"],
        postgresql_where=sa.text("movement = 'ship'"),
    )
    op.create_index(
        "ix_stock_ledger_pack_container",
        "stock_ledger",
        ["to_container_id"],
        postgresql_where=sa.text("movement = 'pack'"),
    )
    op.create_index(
        "ix_stock_container", "stock", ["container_id"], postgresql_where=sa.text("container_id IS NOT NULL")
    )
    op.create_index("ix_receipt_scans_lot_id", "receipt_scans", ["lot_id"])
    op.create_index(
        "ix_receipt_scans_serial_id", "receipt_scans", ["serial_id"], postgresql_where=sa.text("serial_id IS NOT NULL")
    )


def downgrade() -> None:
    for name, table in (
        ("ix_receipt_scans_serial_id", "receipt_scans"),
        ("ix_receipt_scans_lot_id", "receipt_scans"),
        ("ix_stock_container", "stock"),
        ("ix_stock_ledger_pack_container", "stock_ledger"),
        ("ix_stock_ledger_ship_container", "stock_ledger"),
        ("ix_stock_ledger_serial", "stock_ledger"),
        ("ix_stock_ledger_ship_lot", "stock_ledger"),
        ("ix_lots_item_production", "lots"),
    ):
        op.drop_index(name, table_name=table)
    op.drop_table("recall_packages")
    op.drop_index("ix_recall_lots_lot_id", table_name="recall_lots")
    op.drop_table("recall_lots")
    op.drop_index("ix_recalls_open", table_name="recalls")
    op.drop_table("recalls")

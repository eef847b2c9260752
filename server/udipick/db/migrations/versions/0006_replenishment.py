"""Replenishment tasks: reserve stock moved to the pick face, confirmed by scans.

Revision ID: 0006
Revises: 0005

``replenishment_tasks`` names one lot moving from a reserve location to an item's pick face. While
a task is open its units are reserved on the source stock row (``stock.reserved``), so allocation
cannot promise them to a pick task as well; the partial unique index keeps one open task per item,
lot, source and face (``NULLS NOT DISTINCT``: an item without lots too), and the planner raises that
task instead of adding a second.

``items.replenish_min``: units an item's pick face should hold free beyond what open picks need
from reserve; ``NULL`` replenishes for that demand only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("items", sa.Column("replenish_min", sa.Integer(), nullable=True))
    op.create_check_constraint(op.f("ck_items_replenish_min_nonneg"), "items", "replenish_min >= 0")
    op.create_table(
        "replenishment_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=True),
        sa.Column("stock_id", sa.BigInteger(), nullable=False),
        sa.Column("from_location_id", sa.Integer(), nullable=False),
        sa.Column("to_location_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("moved", sa.Integer(), server_default="0", nullable=False),
        sa.Column("status", sa.String(length=10), server_default="open", nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("wave_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by", sa.Integer(), nullable=True),
        sa.Column("done_device", sa.String(length=64), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_by", sa.Integer(), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_replenishment_tasks_quantity_positive")),
        sa.CheckConstraint(
            "moved >= 0 AND moved <= quantity", name=op.f("ck_replenishment_tasks_moved_within_quantity")
        ),
        sa.CheckConstraint("status IN ('open', 'done', 'cancelled')", name=op.f("ck_replenishment_tasks_status_known")),
        sa.CheckConstraint("from_location_id <> to_location_id", name=op.f("ck_replenishment_tasks_moves_somewhere")),
        sa.CheckConstraint(
            "(status = 'done') = (done_at IS NOT NULL)", name=op.f("ck_replenishment_tasks_done_complete")
        ),
        sa.CheckConstraint(
            "(status = 'cancelled') = (cancelled_at IS NOT NULL AND cancel_reason IS NOT NULL)",
            name=op.f("ck_replenishment_tasks_cancel_complete"),
        ),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_replenishment_tasks_item_id_items")),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.id"], name=op.f("fk_replenishment_tasks_lot_id_lots")),
        sa.ForeignKeyConstraint(["stock_id"], ["stock.id"], name=op.f("fk_replenishment_tasks_stock_id_stock")),
        sa.ForeignKeyConstraint(
            ["from_location_id"], ["locations.id"], name=op.f("fk_replenishment_tasks_from_location_id_locations")
        ),
        sa.ForeignKeyConstraint(
            ["to_location_id"], ["locations.id"], name=op.f("fk_replenishment_tasks_to_location_id_locations")
        ),
        sa.ForeignKeyConstraint(["wave_id"], ["waves.id"], name=op.f("fk_replenishment_tasks_wave_id_waves")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_replenishment_tasks_created_by_users")),
        sa.ForeignKeyConstraint(["done_by"], ["users.id"], name=op.f("fk_replenishment_tasks_done_by_users")),
        sa.ForeignKeyConstraint(["cancelled_by"], ["users.id"], name=op.f("fk_replenishment_tasks_cancelled_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replenishment_tasks")),
    )
    op.create_index(
        "uq_replenishment_tasks_open",
        "replenishment_tasks",
        ["item_id", "lot_id", "from_location_id", "to_location_id"],
        unique=True,
        postgresql_where=sa.text("status = 'open'"),
        postgresql_nulls_not_distinct=True,
    )
    op.create_index(
        "ix_replenishment_tasks_stock_open",
        "replenishment_tasks",
        ["stock_id"],
        unique=False,
        postgresql_where=sa.text("status = 'open'"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_replenishment_tasks_stock_open",
        table_name="replenishment_tasks",
        postgresql_where=sa.text("status = 'open'"),
    )
    op.drop_index(
        "uq_replenishment_tasks_open",
        table_name="replenishment_tasks",
        postgresql_where=sa.text("status = 'open'"),
        postgresql_nulls_not_distinct=True,
    )
    op.drop_table("replenishment_tasks")
    op.drop_constraint(op.f("ck_items_replenish_min_nonneg"), "items", type_="check")
    op.drop_column("items", "replenish_min")

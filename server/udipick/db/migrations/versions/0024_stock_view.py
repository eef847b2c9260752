"""The stock view's reorder point (issue 19): the ERP's minimum and maximum per item and warehouse.

Revision ID: 0024
Revises: 0023

``stock_levels`` holds purchasing's minimum and maximum (``POST /api/v1/erp/stock-levels``, erp_id and
version like every ERP master) and ``suggested_at``: when ``replenishment.suggested.v1`` was sent for the
current fall below the minimum (cleared when available stock is back at or above it).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stock_levels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("erp_id", sa.String(length=64), nullable=False),
        sa.Column("erp_version", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("minimum", sa.Integer(), nullable=False),
        sa.Column("maximum", sa.Integer(), nullable=False),
        sa.Column("suggested_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("minimum >= 0 AND maximum >= minimum", name=op.f("ck_stock_levels_min_max")),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_stock_levels_item_id_items")),
        sa.ForeignKeyConstraint(
            ["warehouse_id"], ["warehouses.id"], name=op.f("fk_stock_levels_warehouse_id_warehouses")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_levels")),
        sa.UniqueConstraint("erp_id", name=op.f("uq_stock_levels_erp_id")),
        sa.UniqueConstraint("item_id", "warehouse_id", name=op.f("uq_stock_levels_item_id_warehouse_id")),
    )


def downgrade() -> None:
    op.drop_table("stock_levels")

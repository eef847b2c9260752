"""Moves and directed putaway (issue 19): location capacity, putaway tasks for part of a plate or loose stock.

Revision ID: 0020
Revises: 0019

- ``locations.capacity``: how many base units a location takes (the ERP's location master may send it);
  ``None`` means no limit. Directed putaway never suggests, and refuses, a location it would overfill.
- ``putaway_tasks`` now also come from QC: stock released in a quarantine location must go to a saleable
  one. Such a task has no receipt, may name one item and lot of a plate (a plate holding three lots whose
  lots QA releases one by one) or loose stock (no plate). A plate may therefore have several tasks over
  its life; only one open task per plate, item, lot and place.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("locations", sa.Column("capacity", sa.Integer(), nullable=True))
    op.create_check_constraint(op.f("ck_locations_capacity_positive"), "locations", "capacity > 0")
    op.alter_column("putaway_tasks", "receipt_id", existing_type=sa.Integer(), nullable=True)
    op.alter_column("putaway_tasks", "container_id", existing_type=sa.Integer(), nullable=True)
    op.drop_constraint(op.f("uq_putaway_tasks_container_id"), "putaway_tasks", type_="unique")
    op.add_column("putaway_tasks", sa.Column("item_id", sa.Integer(), nullable=True))
    op.add_column("putaway_tasks", sa.Column("lot_id", sa.Integer(), nullable=True))
    op.create_foreign_key(op.f("fk_putaway_tasks_item_id_items"), "putaway_tasks", "items", ["item_id"], ["id"])
    op.create_foreign_key(op.f("fk_putaway_tasks_lot_id_lots"), "putaway_tasks", "lots", ["lot_id"], ["id"])
    op.create_check_constraint(
        op.f("ck_putaway_tasks_names_its_stock"), "putaway_tasks", "container_id IS NOT NULL OR item_id IS NOT NULL"
    )
    op.create_index(op.f("ix_putaway_tasks_container_id"), "putaway_tasks", ["container_id"])
    op.create_index(
        "uq_putaway_tasks_open_scope",
        "putaway_tasks",
        ["container_id", "item_id", "lot_id", "from_location_id"],
        unique=True,
        postgresql_where=sa.text("status = 'open'"),
        postgresql_nulls_not_distinct=True,
    )


def downgrade() -> None:
    op.drop_index("uq_putaway_tasks_open_scope", table_name="putaway_tasks")
    op.drop_index(op.f("ix_putaway_tasks_container_id"), table_name="putaway_tasks")
    op.drop_constraint(op.f("ck_putaway_tasks_names_its_stock"), "putaway_tasks", type_="check")
    op.execute("DELETE FROM putaway_tasks WHERE receipt_id IS NULL OR container_id IS NULL OR item_id IS NOT NULL")
    op.drop_constraint(op.f("fk_putaway_tasks_lot_id_lots"), "putaway_tasks", type_="foreignkey")
    op.drop_constraint(op.f("fk_putaway_tasks_item_id_items"), "putaway_tasks", type_="foreignkey")
    op.drop_column("putaway_tasks", "lot_id")
    op.drop_column("putaway_tasks", "item_id")
    op.create_unique_constraint(op.f("uq_putaway_tasks_container_id"), "putaway_tasks", ["container_id"])
    op.alter_column("putaway_tasks", "container_id", existing_type=sa.Integer(), nullable=False)
    op.alter_column("putaway_tasks", "receipt_id", existing_type=sa.Integer(), nullable=False)
    op.drop_constraint(op.f("ck_locations_capacity_positive"), "locations", type_="check")
    op.drop_column("locations", "capacity")

"""Count tasks (issue 19): cycle counts by location, zone, item or lot; blind, recounted, approved.

Revision ID: 0022
Revises: 0021

- ``count_tasks`` / ``count_lines``: a task expands to one line per location and item; each line keeps
  the first count, the recount (another user), the comparison with the books and the approval;
- ``count_freezes``: the locations a count froze (``locations.frozen``, which allocation, the pick write,
  replenishment and putaway already refuse) and whether they were frozen before;
- ``items.abc_class``: the ERP's ABC class for the count schedule (``None``: classed by picks).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("items", sa.Column("abc_class", sa.String(length=1), nullable=True))
    op.create_check_constraint(op.f("ck_items_abc_class_known"), "items", "abc_class IN ('A', 'B', 'C')")
    op.create_table(
        "count_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("target", sa.String(length=80), nullable=False),
        sa.Column("origin", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=10), server_default="open", nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("closed_at", TS, nullable=True),
        sa.CheckConstraint("kind IN ('location', 'zone', 'item', 'lot')", name=op.f("ck_count_tasks_kind_known")),
        sa.CheckConstraint("origin IN ('supervisor', 'abc', 'short-pick')", name=op.f("ck_count_tasks_origin_known")),
        sa.CheckConstraint("status IN ('open', 'closed', 'cancelled')", name=op.f("ck_count_tasks_status_known")),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_count_tasks_item_id_items")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_count_tasks_created_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_count_tasks")),
    )
    op.create_index("ix_count_tasks_open", "count_tasks", ["status", "id"], postgresql_where=sa.text("status = 'open'"))
    op.create_table(
        "count_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), server_default="open", nullable=False),
        sa.Column("first_count", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("first_by", sa.Integer(), nullable=True),
        sa.Column("first_at", TS, nullable=True),
        sa.Column("recount", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("recount_by", sa.Integer(), nullable=True),
        sa.Column("recount_at", TS, nullable=True),
        sa.Column("compared", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("units_off", sa.Integer(), nullable=True),
        sa.Column("approved_by", sa.Integer(), nullable=True),
        sa.Column("approved_at", TS, nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('open', 'recount', 'review', 'done')", name=op.f("ck_count_lines_status_known")),
        sa.ForeignKeyConstraint(["task_id"], ["count_tasks.id"], name=op.f("fk_count_lines_task_id_count_tasks")),
        sa.ForeignKeyConstraint(["location_id"], ["locations.id"], name=op.f("fk_count_lines_location_id_locations")),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_count_lines_item_id_items")),
        sa.ForeignKeyConstraint(["first_by"], ["users.id"], name=op.f("fk_count_lines_first_by_users")),
        sa.ForeignKeyConstraint(["recount_by"], ["users.id"], name=op.f("fk_count_lines_recount_by_users")),
        sa.ForeignKeyConstraint(["approved_by"], ["users.id"], name=op.f("fk_count_lines_approved_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_count_lines")),
        sa.UniqueConstraint(
            "task_id", "location_id", "item_id", name=op.f("uq_count_lines_task_id_location_id_item_id")
        ),
    )
    op.create_index(
        "ix_count_lines_location_open",
        "count_lines",
        ["location_id"],
        postgresql_where=sa.text("status <> 'done'"),
    )
    op.create_table(
        "count_freezes",
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("was_frozen", sa.Boolean(), nullable=False),
        sa.Column("since", TS, server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(["location_id"], ["locations.id"], name=op.f("fk_count_freezes_location_id_locations")),
        sa.PrimaryKeyConstraint("location_id", name=op.f("pk_count_freezes")),
    )


def downgrade() -> None:
    # a location a count froze gets back the flag it had
    op.execute("UPDATE locations l SET frozen = f.was_frozen FROM count_freezes f WHERE f.location_id = l.id")
    op.drop_table("count_freezes")
    op.drop_index("ix_count_lines_location_open", table_name="count_lines")
    op.drop_table("count_lines")
    op.drop_index("ix_count_tasks_open", table_name="count_tasks")
    op.drop_table("count_tasks")
    op.drop_constraint(op.f("ck_items_abc_class_known"), "items", type_="check")
    op.drop_column("items", "abc_class")

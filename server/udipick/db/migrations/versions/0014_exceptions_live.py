"""The supervisor's exception queue and the handhelds' offline-queue reports (issue 17).

Revision ID: 0014
Revises: 0013

``exceptions``: one row per refused scan or answer a supervisor (or QA) must look at, raised in the
transaction that stores the answer, unique per client scan id (a replay raises nothing new), resolved once
with a note, by whom and when. ``device_queues``: what each handheld last reported about its offline queue,
for the live floor view.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

KINDS = (
    "count-variance",
    "expired",
    "fefo-violation",
    "held",
    "offline-refused",
    "override",
    "recalled",
    "short-pick",
)


def upgrade() -> None:
    op.create_table(
        "exceptions",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("code", sa.String(length=48), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("task_id", sa.BigInteger(), nullable=True),
        sa.Column("order_ref", sa.String(length=64), nullable=True),
        sa.Column("location", sa.String(length=64), nullable=True),
        sa.Column("gtin", sa.String(length=14), nullable=True),
        sa.Column("lot", sa.String(length=64), nullable=True),
        sa.Column("serial", sa.String(length=64), nullable=True),
        sa.Column("client_scan_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("event_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("queued", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("device_id", sa.String(length=64), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.Integer(), nullable=True),
        sa.Column("resolved_by_name", sa.String(length=64), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "kind IN (" + ", ".join(repr(k) for k in KINDS) + ")", name=op.f("ck_exceptions_kind_known")
        ),
        sa.CheckConstraint(
            "(resolved_at IS NULL) = (resolution_note IS NULL) AND (resolved_at IS NULL) = (resolved_by_name IS NULL)",
            name=op.f("ck_exceptions_resolution_complete"),
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_exceptions_user_id_users")),
        sa.ForeignKeyConstraint(["resolved_by"], ["users.id"], name=op.f("fk_exceptions_resolved_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exceptions")),
        sa.UniqueConstraint("client_scan_id", name=op.f("uq_exceptions_client_scan_id")),
    )
    op.create_index("ix_exceptions_open", "exceptions", ["id"], postgresql_where=sa.text("resolved_at IS NULL"))
    op.create_index("ix_exceptions_event_id", "exceptions", ["event_id"])
    op.create_table(
        "device_queues",
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("queued", sa.Integer(), nullable=False),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("queued >= 0", name=op.f("ck_device_queues_queued_nonneg")),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_device_queues")),
    )

    # the live view's reads: a wave's tasks, and the picks of the last 15 minutes (BRIN: picks arrive in
    # time order, and the pick scan's insert pays next to nothing for it)
    op.create_index("ix_pick_tasks_wave", "pick_tasks", ["wave_id"])
    op.create_index("ix_picks_picked_at", "picks", ["picked_at"], postgresql_using="brin")


def downgrade() -> None:
    op.drop_index("ix_picks_picked_at", table_name="picks")
    op.drop_index("ix_pick_tasks_wave", table_name="pick_tasks")
    op.drop_table("device_queues")
    op.drop_index("ix_exceptions_event_id", table_name="exceptions")
    op.drop_index("ix_exceptions_open", table_name="exceptions")
    op.drop_table("exceptions")

"""Undo of a pick scan (issue 21): a pick taken back is marked, never deleted.

Revision ID: 0029
Revises: 0028

A picker may take back their last pick scan on a task within a few seconds (a double trigger, a wrong
count). The reversal is a ledger movement of its own and a ``pick.undone.v1`` event; the ``picks`` row
stays, with ``undone_at`` and ``undone_by``, so the stream and the ledger keep both facts. Units taken
back were never packed nor handed to a put-back, which the check says; packing and put-backs leave
undone picks out.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("picks", sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("picks", sa.Column("undone_by", sa.Integer(), nullable=True))
    op.create_check_constraint(
        op.f("ck_picks_undone_unpacked"), "picks", "undone_at IS NULL OR (packed = 0 AND put_back = 0)"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_picks_undone_unpacked"), "picks", type_="check")
    op.drop_column("picks", "undone_by")
    op.drop_column("picks", "undone_at")

"""Sign-in lockout: consecutive failed password checks per user, and until when the user is locked.

Revision ID: 0009
Revises: 0008

A password is checked at sign-in and for each electronic signature (QC decisions, hold releases, a
supervisor's countersignature). ``users.failed_attempts`` counts the failed checks since the last
successful one; at ``UDIPICK_LOGIN_MAX_FAILURES`` the user is locked until ``users.locked_until`` and
counting starts again. Kept in PostgreSQL, so every server process (``serve --workers N``) and the
CLI's ``udipick users unlock`` see the same lock.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("failed_attempts", sa.Integer(), server_default="0", nullable=False))
    op.add_column("users", sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
    op.create_check_constraint(op.f("ck_users_failed_attempts_nonneg"), "users", "failed_attempts >= 0")


def downgrade() -> None:
    op.drop_constraint(op.f("ck_users_failed_attempts_nonneg"), "users", type_="check")
    op.drop_column("users", "locked_until")
    op.drop_column("users", "failed_attempts")

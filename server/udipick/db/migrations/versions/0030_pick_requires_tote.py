"""Site setting: a tote before an order's first pick (issue 21).

Revision ID: 0030
Revises: 0029

Batch picking puts several orders on one cart; where a site does that, a picker must scan a tote for an
order before its first unit, or units of different orders mix. Off by default: the server refuses a pick
without a tote (``tote-required``) only where an administrator turned it on (``PUT /api/v1/admin/site``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "site_record", sa.Column("pick_requires_tote", sa.Boolean(), server_default=sa.text("false"), nullable=False)
    )


def downgrade() -> None:
    op.drop_column("site_record", "pick_requires_tote")

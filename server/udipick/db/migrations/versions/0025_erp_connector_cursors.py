"""ERP connectors' cursors (issue 20: the Tryton connector).

Revision ID: 0025
Revises: 0024

``erp_connector_cursors`` keeps, per connector (``tryton:<database>``), the last udipick stream position
booked in the ERP and the ERP-side change time up to which records were sent into udipick.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "erp_connector_cursors",
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("events_after", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("pulled_until", sa.DateTime(timezone=False), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("events_after >= 0", name=op.f("ck_erp_connector_cursors_events_after_not_negative")),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_erp_connector_cursors")),
    )


def downgrade() -> None:
    op.drop_table("erp_connector_cursors")

"""The KPIs' closed days: each KPI's numerators and denominators per closed UTC day and scope (issue 17).

Revision ID: 0017
Revises: 0016

``kpi_days`` holds, per closed day and scope (0: all warehouses; otherwise a warehouse's id), the facts
``services.kpis`` summed from the append-only records, and the stock at the day's end once a period has
ended on that day. Rows are written lazily by the first report that needs them (under an advisory lock) or
by ``udipick kpis rebuild``; nothing is backfilled here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kpi_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("scope", sa.Integer(), nullable=False),
        sa.Column("facts", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("closing", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("scope >= 0", name=op.f("ck_kpi_days_scope_known")),
        sa.PrimaryKeyConstraint("day", "scope", name=op.f("pk_kpi_days")),
    )


def downgrade() -> None:
    op.drop_table("kpi_days")

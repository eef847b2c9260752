"""The site record: company, address, GLN with its GS1 company prefix, licence numbers.

Revision ID: 0011
Revises: 0010

One row (``id = 1``): the SSCC label's FROM block and the SGLNs and PGLN of the EPCIS export are made
from it (``domain/site.py``). The GLN's check digit is checked by the service before it is written;
the database keeps the shape (13 digits, beginning with the company prefix).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "site_record",
        sa.Column("id", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("company_name", sa.String(length=200), nullable=False),
        sa.Column(
            "address_lines",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("city", sa.String(length=100), server_default="", nullable=False),
        sa.Column("postal_code", sa.String(length=20), server_default="", nullable=False),
        sa.Column("country", sa.String(length=2), server_default="CN", nullable=False),
        sa.Column("gln", sa.String(length=13), nullable=False),
        sa.Column("gs1_company_prefix", sa.String(length=12), nullable=False),
        sa.Column(
            "licences", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_site_record_one_row")),
        sa.CheckConstraint("gln ~ '^[0-9]{13}$'", name=op.f("ck_site_record_gln_13_digits")),
        sa.CheckConstraint(
            "gs1_company_prefix ~ '^[0-9]{4,12}$' AND starts_with(gln, gs1_company_prefix)",
            name=op.f("ck_site_record_prefix"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site_record")),
    )


def downgrade() -> None:
    op.drop_table("site_record")

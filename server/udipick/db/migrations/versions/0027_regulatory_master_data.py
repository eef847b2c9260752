"""Regulatory master data for China's medical-device GSP (issue 22).

Revision ID: 0027
Revises: 0026

Items gain their model/specification (规格型号), registration certificate or filing number
(注册证编号/备案编号), its holder (注册人/备案人), device class (I/II/III) and last valid day; suppliers and
customers gain their medical-device business licence or filing number (经营许可证/备案凭证编号) and its
last valid day. All optional: the ERP sends what it holds.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("items", sa.Column("specification", sa.String(length=200), nullable=True))
    op.add_column("items", sa.Column("registration_no", sa.String(length=64), nullable=True))
    op.add_column("items", sa.Column("registration_holder", sa.String(length=200), nullable=True))
    op.add_column("items", sa.Column("device_class", sa.String(length=3), nullable=True))
    op.add_column("items", sa.Column("registration_valid_until", sa.Date(), nullable=True))
    op.create_check_constraint(op.f("ck_items_device_class_known"), "items", "device_class IN ('I', 'II', 'III')")
    for table in ("suppliers", "customers"):
        op.add_column(table, sa.Column("licence_no", sa.String(length=64), nullable=True))
        op.add_column(table, sa.Column("licence_valid_until", sa.Date(), nullable=True))


def downgrade() -> None:
    for table in ("suppliers", "customers"):
        op.drop_column(table, "licence_valid_until")
        op.drop_column(table, "licence_no")
    op.drop_constraint(op.f("ck_items_device_class_known"), "items", type_="check")
    for column in (
        "registration_valid_until",
        "device_class",
        "registration_holder",
        "registration_no",
        "specification",
    ):
        op.drop_column("items", column)

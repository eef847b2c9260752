"""Device identifiers from China's other UDI issuing agencies, MA (IDcode) and AHM (issue 22).

Revision ID: 0031
Revises: 0030

``item_dis`` maps (agency, DI) to the item and the pack level's quantity in base units, as ``item_gtins``
does for GTINs, so one primary-key look-up turns an MA or AHM scan into its item and quantity. A table of
its own rather than ``ma_di``/``ahm_di`` columns on ``item_gtins``: the look-up is one index whatever the
agency (columns would need one unique index and one query shape per agency), and a DI is not a GTIN (no
check digit, letters and dots), so ``item_gtins``' GTIN rules stay as they are.

``items.udi_agency`` records which agency's DI the item was registered with in the NMPA UDI database
(``gs1``, ``ma``, ``ahm``): item labels print that agency's code. ``items.gtin`` stays mandatory (it keys
labels, EPCIS, exports and the Tryton connector): an item registered with MA still carries a GTIN in
udipick (docs/ma_codes.md, "Items with MA and AHM DIs").
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("items", sa.Column("udi_agency", sa.String(length=3), server_default="gs1", nullable=False))
    op.create_check_constraint(op.f("ck_items_udi_agency_known"), "items", "udi_agency IN ('gs1', 'ma', 'ahm')")
    op.create_table(
        "item_dis",
        sa.Column("agency", sa.String(length=3), nullable=False),
        sa.Column("di", sa.String(length=64), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("pack_level", sa.String(length=8), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint("agency IN ('ma', 'ahm')", name=op.f("ck_item_dis_agency_known")),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_item_dis_quantity_positive")),
        sa.CheckConstraint(
            "pack_level IN ('each', 'box', 'case', 'pallet')", name=op.f("ck_item_dis_pack_level_known")
        ),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_item_dis_item_id_items"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("agency", "di", name=op.f("pk_item_dis")),
        sa.UniqueConstraint("item_id", "agency", "pack_level", name=op.f("uq_item_dis_item_id_agency_pack_level")),
    )


def downgrade() -> None:
    op.drop_table("item_dis")
    op.drop_constraint(op.f("ck_items_udi_agency_known"), "items", type_="check")
    op.drop_column("items", "udi_agency")

"""First-business approvals (首营企业 / 首营品种) and QA's signed exceptions to the regulatory blocks (issue 22).

Revision ID: 0032
Revises: 0031

``first_business_decisions``: every approval and revocation of a supplier or an item, from QA (signed) or
the ERP; the newest row is the state. ``regulatory_exceptions``: QA's signed exceptions that let one
receipt's item (or a supplier's goods on one receipt) or one sales order through a regulatory block.
``site_record.gsp_checks`` turns the checks on for a China site; items and suppliers keep what the ERP
last said about its own first-business approval.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("site_record", sa.Column("gsp_checks", sa.Boolean(), server_default=sa.text("false"), nullable=False))
    op.add_column("items", sa.Column("erp_first_business_approved", sa.Boolean(), nullable=True))
    op.add_column("suppliers", sa.Column("erp_first_business_approved", sa.Boolean(), nullable=True))
    op.create_table(
        "first_business_decisions",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=True),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("decision", sa.String(length=8), nullable=False),
        sa.Column("source", sa.String(length=3), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "(supplier_id IS NULL) <> (item_id IS NULL)", name=op.f("ck_first_business_decisions_one_subject")
        ),
        sa.CheckConstraint(
            "decision IN ('approved', 'revoked')", name=op.f("ck_first_business_decisions_decision_known")
        ),
        sa.CheckConstraint("source IN ('qa', 'erp')", name=op.f("ck_first_business_decisions_source_known")),
        sa.CheckConstraint("source = 'erp' OR user_id IS NOT NULL", name=op.f("ck_first_business_decisions_qa_signer")),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_first_business_decisions_item_id_items")),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["suppliers.id"], name=op.f("fk_first_business_decisions_supplier_id_suppliers")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_first_business_decisions_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_first_business_decisions")),
    )
    op.create_index(
        "ix_first_business_decisions_supplier",
        "first_business_decisions",
        ["supplier_id", "id"],
        postgresql_where=sa.text("supplier_id IS NOT NULL"),
    )
    op.create_index(
        "ix_first_business_decisions_item",
        "first_business_decisions",
        ["item_id", "id"],
        postgresql_where=sa.text("item_id IS NOT NULL"),
    )
    op.create_table(
        "regulatory_exceptions",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("receipt_id", sa.Integer(), nullable=True),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("outbound_document_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("signed_by", sa.String(length=200), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "(receipt_id IS NULL) <> (outbound_document_id IS NULL)", name=op.f("ck_regulatory_exceptions_one_subject")
        ),
        sa.CheckConstraint(
            "outbound_document_id IS NULL OR item_id IS NULL", name=op.f("ck_regulatory_exceptions_order_whole")
        ),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_regulatory_exceptions_item_id_items")),
        sa.ForeignKeyConstraint(
            ["outbound_document_id"],
            ["outbound_documents.id"],
            name=op.f("fk_regulatory_exceptions_outbound_document_id_outbound_documents"),
        ),
        sa.ForeignKeyConstraint(
            ["receipt_id"], ["receipts.id"], name=op.f("fk_regulatory_exceptions_receipt_id_receipts")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_regulatory_exceptions_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_regulatory_exceptions")),
    )
    op.create_index(
        "ix_regulatory_exceptions_receipt",
        "regulatory_exceptions",
        ["receipt_id"],
        postgresql_where=sa.text("receipt_id IS NOT NULL"),
    )
    op.create_index(
        "ix_regulatory_exceptions_order",
        "regulatory_exceptions",
        ["outbound_document_id"],
        postgresql_where=sa.text("outbound_document_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_table("regulatory_exceptions")
    op.drop_table("first_business_decisions")
    op.drop_column("suppliers", "erp_first_business_approved")
    op.drop_column("items", "erp_first_business_approved")
    op.drop_column("site_record", "gsp_checks")

"""Customer returns and scrap (issue 19): RMAs from the ERP, returns received, QA's signed disposition.

Revision ID: 0021
Revises: 0020

- ``return_authorizations`` / ``return_authorization_lines``: the ERP's RMA (versioned like its other documents);
- ``returns`` / ``return_lines``: a return received at the dock (against an RMA or blind) and every unit that
  came back: the sales orders that shipped it, the open recall covering it, its disposition and signer;
- ``putaway_tasks.return_id``: a unit QA restocked is put away like a receipt's plate (``receipt_id`` may be
  null since 0020: a QC release's task has neither).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "return_authorizations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("sales_order", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=12), server_default="open", nullable=False),
        sa.Column("erp_id", sa.String(length=64), nullable=False),
        sa.Column("erp_version", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'receiving', 'closed', 'cancelled')", name=op.f("ck_return_authorizations_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_return_authorizations_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["warehouse_id"], ["warehouses.id"], name=op.f("fk_return_authorizations_warehouse_id_warehouses")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_return_authorizations")),
        sa.UniqueConstraint("erp_id", name=op.f("uq_return_authorizations_erp_id")),
    )
    op.create_table(
        "return_authorization_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rma_id", sa.Integer(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("lot", sa.String(length=20), nullable=True),
        sa.Column(
            "serials", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False
        ),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("quantity_received", sa.Integer(), server_default="0", nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_return_authorization_lines_quantity_positive")),
        sa.CheckConstraint("quantity_received >= 0", name=op.f("ck_return_authorization_lines_received_nonneg")),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_return_authorization_lines_item_id_items")),
        sa.ForeignKeyConstraint(
            ["rma_id"],
            ["return_authorizations.id"],
            name=op.f("fk_return_authorization_lines_rma_id_return_authorizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_return_authorization_lines")),
        sa.UniqueConstraint("rma_id", "line_no", name=op.f("uq_return_authorization_lines_rma_id_line_no")),
    )
    op.create_table(
        "returns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rma_id", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=8), server_default="open", nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_device", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("status IN ('open', 'closed')", name=op.f("ck_returns_status_known")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_returns_created_by_users")),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_returns_customer_id_customers")),
        sa.ForeignKeyConstraint(["location_id"], ["locations.id"], name=op.f("fk_returns_location_id_locations")),
        sa.ForeignKeyConstraint(
            ["rma_id"], ["return_authorizations.id"], name=op.f("fk_returns_rma_id_return_authorizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_returns")),
    )
    op.create_index(op.f("ix_returns_rma_id"), "returns", ["rma_id"], unique=False)
    op.create_table(
        "return_lines",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("return_id", sa.Integer(), nullable=False),
        sa.Column("rma_line_id", sa.Integer(), nullable=True),
        sa.Column("client_scan_id", sa.UUID(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=True),
        sa.Column("serial_id", sa.Integer(), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column(
            "shipped_on", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False
        ),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("recall_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=12), server_default="quarantine", nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=True),
        sa.Column("scanned_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("disposed_by", sa.Integer(), nullable=True),
        sa.Column("disposed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disposition_reason", sa.Text(), nullable=True),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.CheckConstraint(
            "(status = 'quarantine') = (disposed_at IS NULL AND disposed_by IS NULL)",
            name=op.f("ck_return_lines_disposed_when_disposed"),
        ),
        sa.CheckConstraint(
            "status IN ('quarantine', 'restocked', 'scrapped', 'to_supplier')",
            name=op.f("ck_return_lines_status_known"),
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_return_lines_quantity_positive")),
        sa.ForeignKeyConstraint(["disposed_by"], ["users.id"], name=op.f("fk_return_lines_disposed_by_users")),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_return_lines_item_id_items")),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.id"], name=op.f("fk_return_lines_lot_id_lots")),
        sa.ForeignKeyConstraint(["recall_id"], ["recalls.id"], name=op.f("fk_return_lines_recall_id_recalls")),
        sa.ForeignKeyConstraint(["return_id"], ["returns.id"], name=op.f("fk_return_lines_return_id_returns")),
        sa.ForeignKeyConstraint(
            ["rma_line_id"],
            ["return_authorization_lines.id"],
            name=op.f("fk_return_lines_rma_line_id_return_authorization_lines"),
        ),
        sa.ForeignKeyConstraint(["serial_id"], ["serials.id"], name=op.f("fk_return_lines_serial_id_serials")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_return_lines_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_return_lines")),
        sa.UniqueConstraint("client_scan_id", name=op.f("uq_return_lines_client_scan_id")),
    )
    op.create_index(
        "ix_return_lines_awaiting",
        "return_lines",
        ["status"],
        unique=False,
        postgresql_where=sa.text("status = 'quarantine'"),
    )
    op.create_index("ix_return_lines_lot_id", "return_lines", ["lot_id"], unique=False)
    op.create_index(op.f("ix_return_lines_recall_id"), "return_lines", ["recall_id"], unique=False)
    op.create_index(op.f("ix_return_lines_return_id"), "return_lines", ["return_id"], unique=False)
    op.create_index(
        "ix_return_lines_serial_id",
        "return_lines",
        ["serial_id"],
        unique=False,
        postgresql_where=sa.text("serial_id IS NOT NULL"),
    )
    op.add_column("putaway_tasks", sa.Column("return_id", sa.Integer(), nullable=True))
    op.create_foreign_key(op.f("fk_putaway_tasks_return_id_returns"), "putaway_tasks", "returns", ["return_id"], ["id"])


def downgrade() -> None:
    op.execute("DELETE FROM putaway_tasks WHERE return_id IS NOT NULL")
    op.drop_constraint(op.f("fk_putaway_tasks_return_id_returns"), "putaway_tasks", type_="foreignkey")
    op.drop_column("putaway_tasks", "return_id")
    op.drop_index(
        "ix_return_lines_serial_id", table_name="return_lines", postgresql_where=sa.text("serial_id IS NOT NULL")
    )
    op.drop_index(op.f("ix_return_lines_return_id"), table_name="return_lines")
    op.drop_index(op.f("ix_return_lines_recall_id"), table_name="return_lines")
    op.drop_index("ix_return_lines_lot_id", table_name="return_lines")
    op.drop_index(
        "ix_return_lines_awaiting", table_name="return_lines", postgresql_where=sa.text("status = 'quarantine'")
    )
    op.drop_table("return_lines")
    op.drop_index(op.f("ix_returns_rma_id"), table_name="returns")
    op.drop_table("returns")
    op.drop_table("return_authorization_lines")
    op.drop_table("return_authorizations")

"""Wave and order control: priority, cancellation, task assignment and put-back tasks.

Revision ID: 0013
Revises: 0012

A supervisor (or the ERP) cancels a wave, an order or an order line: the open pick tasks are
cancelled and their reservations released; units already picked (in a tote or at staging, not yet
packed) are counted on ``picks.put_back`` so packing and shipping no longer see them, and a
``put_back_tasks`` row asks someone to carry them back to the location they were picked from. The
put-back moves them through the ledger when it is confirmed, like every other stock movement.

``waves.priority`` (1 first, as ``outbound_documents.priority``) orders the pickers' task list across
waves; ``pick_tasks.assigned_to`` names the picker a supervisor gave the task to.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("waves", sa.Column("priority", sa.Integer(), server_default="5", nullable=False))
    op.add_column("waves", sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("waves", sa.Column("cancelled_by", sa.Integer(), nullable=True))
    op.add_column("waves", sa.Column("cancel_reason", sa.Text(), nullable=True))
    op.create_foreign_key(op.f("fk_waves_cancelled_by_users"), "waves", "users", ["cancelled_by"], ["id"])
    op.create_check_constraint(op.f("ck_waves_priority_range"), "waves", "priority BETWEEN 1 AND 9")
    op.create_check_constraint(
        op.f("ck_waves_cancel_complete"),
        "waves",
        "(status = 'cancelled') = (cancelled_at IS NOT NULL AND cancel_reason IS NOT NULL)",
    )

    op.add_column("outbound_lines", sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("outbound_lines", sa.Column("cancel_reason", sa.Text(), nullable=True))

    op.add_column("pick_tasks", sa.Column("assigned_to", sa.Integer(), nullable=True))
    op.create_foreign_key(op.f("fk_pick_tasks_assigned_to_users"), "pick_tasks", "users", ["assigned_to"], ["id"])

    op.add_column("picks", sa.Column("put_back", sa.Integer(), server_default="0", nullable=False))
    op.create_check_constraint(
        op.f("ck_picks_put_back_within_quantity"), "picks", "put_back >= 0 AND packed + put_back <= quantity"
    )

    op.create_table(
        "put_back_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("wave_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=True),
        sa.Column("serial_id", sa.Integer(), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("from_location_id", sa.Integer(), nullable=False),
        sa.Column("from_container_id", sa.Integer(), nullable=True),
        sa.Column("to_location_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), server_default="open", nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by", sa.Integer(), nullable=True),
        sa.Column("done_device", sa.String(length=64), nullable=True),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_put_back_tasks_quantity_positive")),
        sa.CheckConstraint("status IN ('open', 'done')", name=op.f("ck_put_back_tasks_status_known")),
        sa.CheckConstraint("(status = 'done') = (done_at IS NOT NULL)", name=op.f("ck_put_back_tasks_done_complete")),
        sa.ForeignKeyConstraint(["wave_id"], ["waves.id"], name=op.f("fk_put_back_tasks_wave_id_waves")),
        sa.ForeignKeyConstraint(
            ["document_id"], ["outbound_documents.id"], name=op.f("fk_put_back_tasks_document_id_outbound_documents")
        ),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_put_back_tasks_item_id_items")),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.id"], name=op.f("fk_put_back_tasks_lot_id_lots")),
        sa.ForeignKeyConstraint(["serial_id"], ["serials.id"], name=op.f("fk_put_back_tasks_serial_id_serials")),
        sa.ForeignKeyConstraint(
            ["from_location_id"], ["locations.id"], name=op.f("fk_put_back_tasks_from_location_id_locations")
        ),
        sa.ForeignKeyConstraint(
            ["from_container_id"], ["containers.id"], name=op.f("fk_put_back_tasks_from_container_id_containers")
        ),
        sa.ForeignKeyConstraint(
            ["to_location_id"], ["locations.id"], name=op.f("fk_put_back_tasks_to_location_id_locations")
        ),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_put_back_tasks_created_by_users")),
        sa.ForeignKeyConstraint(["done_by"], ["users.id"], name=op.f("fk_put_back_tasks_done_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_put_back_tasks")),
    )
    op.create_index(
        "ix_put_back_tasks_open", "put_back_tasks", ["to_location_id"], postgresql_where=sa.text("status = 'open'")
    )


def downgrade() -> None:
    op.drop_index("ix_put_back_tasks_open", table_name="put_back_tasks")
    op.drop_table("put_back_tasks")
    op.drop_constraint(op.f("ck_picks_put_back_within_quantity"), "picks", type_="check")
    op.drop_column("picks", "put_back")
    op.drop_constraint(op.f("fk_pick_tasks_assigned_to_users"), "pick_tasks", type_="foreignkey")
    op.drop_column("pick_tasks", "assigned_to")
    op.drop_column("outbound_lines", "cancel_reason")
    op.drop_column("outbound_lines", "cancelled_at")
    op.drop_constraint(op.f("ck_waves_cancel_complete"), "waves", type_="check")
    op.drop_constraint(op.f("ck_waves_priority_range"), "waves", type_="check")
    op.drop_constraint(op.f("fk_waves_cancelled_by_users"), "waves", type_="foreignkey")
    op.drop_column("waves", "cancel_reason")
    op.drop_column("waves", "cancelled_by")
    op.drop_column("waves", "cancelled_at")
    op.drop_column("waves", "priority")

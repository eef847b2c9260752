"""Recalls of single serials (issue 18): a third scope beside lots and production dates.

Revision ID: 0018
Revises: 0017

A ``serials`` recall names units, not lots: the rest of their lot stays available. Each recalled
serial gets a serial hold that belongs to the recall (``holds.recall_id``): the one eligibility rule
that already keeps held serials out of allocation, the pick write, replenishment and the scans keeps
them out too, and only closing the recall (never ``POST /holds/{id}/release``) releases it.
``recall_serials`` keeps which serials a recall froze and the status each had. A hold the ERP's
recall placed has no user: ``placed_by`` may be null when the hold belongs to a recall.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint(op.f("ck_recalls_scope_known"), "recalls", type_="check")
    op.create_check_constraint(
        op.f("ck_recalls_scope_known"), "recalls", "scope IN ('lots', 'production_dates', 'serials')"
    )
    op.add_column("holds", sa.Column("recall_id", sa.Integer(), nullable=True))
    op.create_foreign_key(op.f("fk_holds_recall_id_recalls"), "holds", "recalls", ["recall_id"], ["id"])
    op.alter_column("holds", "placed_by", existing_type=sa.Integer(), nullable=True)
    op.create_check_constraint(op.f("ck_holds_has_placer"), "holds", "placed_by IS NOT NULL OR recall_id IS NOT NULL")
    op.create_table(
        "recall_serials",
        sa.Column("recall_id", sa.Integer(), nullable=False),
        sa.Column("serial_id", sa.Integer(), nullable=False),
        sa.Column("hold_id", sa.Integer(), nullable=False),
        sa.Column("prior_status", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(["recall_id"], ["recalls.id"], name=op.f("fk_recall_serials_recall_id_recalls")),
        sa.ForeignKeyConstraint(["serial_id"], ["serials.id"], name=op.f("fk_recall_serials_serial_id_serials")),
        sa.ForeignKeyConstraint(["hold_id"], ["holds.id"], name=op.f("fk_recall_serials_hold_id_holds")),
        sa.PrimaryKeyConstraint("recall_id", "serial_id", name=op.f("pk_recall_serials")),
    )
    op.create_index("ix_recall_serials_serial_id", "recall_serials", ["serial_id"])


def downgrade() -> None:
    op.drop_index("ix_recall_serials_serial_id", table_name="recall_serials")
    op.drop_table("recall_serials")
    op.execute("DELETE FROM holds WHERE recall_id IS NOT NULL")
    op.execute("DELETE FROM recalls WHERE scope = 'serials'")
    op.drop_constraint(op.f("ck_holds_has_placer"), "holds", type_="check")
    op.alter_column("holds", "placed_by", existing_type=sa.Integer(), nullable=False)
    op.drop_constraint(op.f("fk_holds_recall_id_recalls"), "holds", type_="foreignkey")
    op.drop_column("holds", "recall_id")
    op.drop_constraint(op.f("ck_recalls_scope_known"), "recalls", type_="check")
    op.create_check_constraint(op.f("ck_recalls_scope_known"), "recalls", "scope IN ('lots', 'production_dates')")

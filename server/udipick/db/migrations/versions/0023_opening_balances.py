"""Go-live opening balances and the expiry sweep (issue 19).

Revision ID: 0023
Revises: 0022

- ``opening_loads``: one row per load of opening balances (its ``loadId``, the body's sha256, the answer it
  got), so a repeat books nothing twice. Inserting the row applies the load's ``opening`` ledger rows to
  ``stock`` in one statement (trigger ``opening_loads_apply``, function ``udipick_apply_opening``);
  the ledger's row trigger ``stock_ledger_apply`` skips ``opening`` rows (WHEN clause). Measured on
  this 2-core machine: a million rows through the row trigger took 204 s; set-based, see
  docs/benchmarks.md.
- ``ck_stock_ledger_opening_books_in``: an ``opening`` row has no from side and names its load.
- ``ck_stock_ledger_has_actor``: an ``expire`` row may be booked by udipick itself (the expiry sweep,
  named in ``device_id``) with no user or API key.
- ``holds.placed_api_key_id``: a hold the ERP placed with a go-live balance held in the old system.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from udipick.db import sqlfiles

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

#: the files this revision applies, in this order, with the sha256 of the text it applied
#: (``python -m udipick.db.sqlfiles`` prints them); only ``udipick_apply_opening`` is new
SQL_FILES = {
    "udipick_append_only.sql": "bdb9793b707002b384f01b69b384313933b685ec8690a1eacdc7aa92c156261f",
    "udipick_apply_ledger.sql": "5a8ef2b60317bbcdc121b10b3c4563bcb990dd7e2f869460929dcbf92d1f8bce",
    "udipick_apply_opening.sql": "a73046ff5005ffd0b908b347d148a8248efe9c7288da0e8b669364dbec96ffef",
    "udipick_audit_record.sql": "bfa47aaa5c663902c280032830bb77a2614b1b71ff0219735779dbdcd109aad9",
    "udipick_guard_stock.sql": "e2230fa42e4e5a6211634886b7399ac7ee18825ca1559a3affd9f9f506b55dd9",
    "udipick_ledger_record.sql": "961f4dfdbd981fef36f527607327f64a053a2254ce226dc8114ea8991596ac00",
    "udipick_location_block.sql": "8df88bb185a11736537e62519fb5b8f30718935bde89e1ddba6a5902109443a3",
    "udipick_outbox_backlog.sql": "8475a17709926a56de8605e4df9a9688b4af822e995f013e79766d96e6cae9a9",
    "udipick_outbox_head.sql": "ecda651e3edd1b563c71075a4b426b27e08e526fda34e63219f165638d04be8b",
    "udipick_pick_accept.sql": "2d10c5be33b0c761c0642142dfb5e5d3de02742da2141c6c79977767a9e8cf57",
    "udipick_retain_master.sql": "41555cafa599bb9da9c7a02823cbffae02cdbdf2142792f64ba6e2523361ba58",
    "udipick_scan_reply.sql": "644595fc4c1050dfc6c388f0262bc382cf1d7ddadadfe66ff3b72f9ec29a9a05",
    "udipick_seal_audit.sql": "3ec55dfddd19a4b3fea7e9dc2a3707c44f9e3045f7be4d6724ce33607a870527",
    "udipick_sequence_outbox.sql": "b1599334809246c2569062a854e48ddb439a021382c9252139bb449930bd68fc",
    "udipick_stock_hold.sql": "945acfb348b65f92a93574737d19fba93e6e813115285c617c7207388d4e366a",
    "udipick_store_reply.sql": "2da35ff9cd83a19cc6fbc2916010274a1edf888416d1b965f227beb2b72be66d",
}

HAS_ACTOR_BEFORE = "user_id IS NOT NULL OR api_key_id IS NOT NULL"
HAS_ACTOR_AFTER = "user_id IS NOT NULL OR api_key_id IS NOT NULL OR (movement = 'expire' AND device_id IS NOT NULL)"
PLACER_BEFORE = "placed_by IS NOT NULL OR recall_id IS NOT NULL"
PLACER_AFTER = "placed_by IS NOT NULL OR recall_id IS NOT NULL OR placed_api_key_id IS NOT NULL"


def _replace_check(table: str, name: str, condition: str) -> None:
    op.drop_constraint(op.f(name), table, type_="check")
    op.create_check_constraint(op.f(name), table, condition)


def upgrade() -> None:
    op.create_table(
        "opening_loads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("load_id", sa.String(64), nullable=False),
        sa.Column("body_sha256", sa.String(64), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("ledger_rows", sa.BigInteger(), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("replaced", sa.Boolean(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        sa.Column("summary", postgresql.JSONB(), nullable=False),
        sa.Column("booked_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("ledger_rows >= 0", name=op.f("ck_opening_loads_ledger_rows")),
        sa.CheckConstraint("user_id IS NOT NULL OR api_key_id IS NOT NULL", name=op.f("ck_opening_loads_has_actor")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_opening_loads_user_id_users")),
        sa.ForeignKeyConstraint(["api_key_id"], ["api_keys.id"], name=op.f("fk_opening_loads_api_key_id_api_keys")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opening_loads")),
        sa.UniqueConstraint("load_id", name=op.f("uq_opening_loads_load_id")),
    )
    op.add_column("holds", sa.Column("placed_api_key_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        op.f("fk_holds_placed_api_key_id_api_keys"), "holds", "api_keys", ["placed_api_key_id"], ["id"]
    )
    _replace_check("holds", "ck_holds_has_placer", PLACER_AFTER)
    _replace_check("stock_ledger", "ck_stock_ledger_has_actor", HAS_ACTOR_AFTER)
    op.create_check_constraint(
        op.f("ck_stock_ledger_opening_books_in"),
        "stock_ledger",
        "movement <> 'opening' OR (from_location_id IS NULL AND document_type = 'opening' AND document_id IS NOT NULL)",
    )
    sqlfiles.apply(op, SQL_FILES)
    op.execute("DROP TRIGGER stock_ledger_apply ON stock_ledger")
    op.execute(
        "CREATE TRIGGER stock_ledger_apply AFTER INSERT ON stock_ledger FOR EACH ROW"
        " WHEN (NEW.movement <> 'opening') EXECUTE FUNCTION udipick_apply_ledger()"
    )
    op.execute(
        "CREATE TRIGGER opening_loads_apply AFTER INSERT ON opening_loads FOR EACH ROW"
        " EXECUTE FUNCTION udipick_apply_opening()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER opening_loads_apply ON opening_loads")
    op.execute("DROP FUNCTION udipick_apply_opening()")
    op.execute("DROP TRIGGER stock_ledger_apply ON stock_ledger")
    op.execute(
        "CREATE TRIGGER stock_ledger_apply AFTER INSERT ON stock_ledger FOR EACH ROW EXECUTE FUNCTION udipick_apply_ledger()"
    )
    op.drop_constraint(op.f("ck_stock_ledger_opening_books_in"), "stock_ledger", type_="check")
    _replace_check("stock_ledger", "ck_stock_ledger_has_actor", HAS_ACTOR_BEFORE)
    _replace_check("holds", "ck_holds_has_placer", PLACER_BEFORE)
    op.drop_constraint(op.f("fk_holds_placed_api_key_id_api_keys"), "holds", type_="foreignkey")
    op.drop_column("holds", "placed_api_key_id")
    op.drop_table("opening_loads")

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

#: the file this revision added, with the sha256 of the text it applied and that text (migration 0026 re-applied
#: every file; 0023 re-applied the others unchanged, so only its own is kept here: db/sql/README.md)
SQL_FILES = {
    "udipick_apply_opening.sql": "a73046ff5005ffd0b908b347d148a8248efe9c7288da0e8b669364dbec96ffef",
}
SQL_TEXTS = {
    "udipick_apply_opening.sql": """-- Trigger function (``opening_loads_apply``, AFTER INSERT ON opening_loads, migration 0023): applies a
-- go-live load's ``opening`` ledger rows to ``stock`` in one set-based statement. The row trigger
-- ``stock_ledger_apply`` skips ``opening`` rows (its WHEN clause): at a million rows it cost some
-- 165 µs a row (a plpgsql INSERT ... ON CONFLICT and the stock guard per row), three minutes a load.
-- The load's own row is written last in the load's transaction (services/opening.py), so stock
-- still changes in the same transaction as the ledger and equals its sum; an ``opening`` row only
-- books in (checked by ``ck_stock_ledger_opening_books_in``) and names its load (``document_id``),
-- and the count of the load's rows must equal what the load row says it booked. The rows go in in the
-- order of ``uq_stock_bucket``, so that index (and the lot and item indexes) grow in order.
CREATE OR REPLACE FUNCTION udipick_apply_opening() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  booked bigint;
BEGIN
  INSERT INTO stock AS s (item_id, lot_id, serial_id, location_id, container_id, status, quantity)
  SELECT l.item_id, l.lot_id, l.serial_id, l.to_location_id, l.to_container_id, l.to_status, sum(l.quantity)
    FROM stock_ledger l
   WHERE l.tx_id = (pg_current_xact_id()::text)::bigint AND l.movement = 'opening' AND l.document_id = NEW.load_id
   GROUP BY l.item_id, l.lot_id, l.serial_id, l.to_location_id, l.to_container_id, l.to_status
   ORDER BY l.item_id, l.lot_id, l.serial_id, l.to_location_id
  ON CONFLICT (item_id, lot_id, serial_id, location_id, container_id, status)
  DO UPDATE SET quantity = s.quantity + EXCLUDED.quantity;
  SELECT count(*) INTO booked
    FROM stock_ledger l
   WHERE l.tx_id = (pg_current_xact_id()::text)::bigint AND l.movement = 'opening' AND l.document_id = NEW.load_id;
  IF booked <> NEW.ledger_rows THEN
    RAISE EXCEPTION 'opening load % has % ledger rows, its record says %', NEW.load_id, booked, NEW.ledger_rows
      USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_opening_loads_ledger_rows';
  END IF;
  RETURN NEW;
END $$;
""",
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
    sqlfiles.apply(op, SQL_FILES, texts=SQL_TEXTS)
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

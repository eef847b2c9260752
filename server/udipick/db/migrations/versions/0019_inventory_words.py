"""The words of the inventory lifecycle (issue 19): go-live balances, expiry, returns and scrap.

Revision ID: 0019
Revises: 0018

- stock status ``expired``: stock past its expiry, blocked like ``hold`` (the expiry sweep and opening
  balances put it there; no allocation, pick or move to sale touches it);
- movements ``opening`` (a go-live balance booked in from the old system), ``expire`` (the sweep's status
  change), ``return`` (units a customer sends back, booked in) and ``scrap`` (units destroyed, booked out);
- serial statuses ``scrapped`` and ``to_supplier`` (returned to the supplier): a serial's last word.
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

STOCK_BEFORE = ("available", "quarantine", "hold", "rejected", "damaged", "picked", "packed")
STOCK_AFTER = (*STOCK_BEFORE, "expired")
MOVEMENTS_BEFORE = ("receipt", "putaway", "pick", "pack", "ship", "adjust", "count", "hold", "release", "move")
MOVEMENTS_AFTER = (*MOVEMENTS_BEFORE, "opening", "expire", "return", "scrap")
SERIALS_BEFORE = ("in_stock", "picked", "packed", "shipped", "hold", "rejected")
SERIALS_AFTER = (*SERIALS_BEFORE, "scrapped", "to_supplier")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _check(table: str, name: str, column: str, values: tuple[str, ...]) -> None:
    op.drop_constraint(op.f(name), table, type_="check")
    op.create_check_constraint(op.f(name), table, _in(column, values))


def upgrade() -> None:
    _check("stock", "ck_stock_status_known", "status", STOCK_AFTER)
    _check("stock_ledger", "ck_stock_ledger_movement_known", "movement", MOVEMENTS_AFTER)
    _check("serials", "ck_serials_status_known", "status", SERIALS_AFTER)


def downgrade() -> None:
    _check("serials", "ck_serials_status_known", "status", SERIALS_BEFORE)
    _check("stock_ledger", "ck_stock_ledger_movement_known", "movement", MOVEMENTS_BEFORE)
    _check("stock", "ck_stock_status_known", "status", STOCK_BEFORE)

"""Eligibility is decided in one place (``domain.allocation``); SQL only reads the facts it needs.

Revision ID: 0008
Revises: 0007

``udipick_stock_hold`` (the active hold covering a stock row) and ``udipick_location_block`` (the
active short-pick block of a location for an item) replace the hold and block predicates that the
pick candidates, the wave's Python hold map, the pick write's re-check and replenishment's pick
faces each spelled out. Both are inlinable SQL functions, so the prepared statements that call them
plan them as the subqueries they replace.

``udipick_pick_accept`` re-checks the stock it takes as the facts the verdict judged (lot status,
frozen location, hold, block: four new arguments) instead of re-stating which facts make stock
pickable; the argument list changes, so the function is dropped and created again.

The functions' SQL lives in ``udipick/db/sql/*.sql``; this revision applies the files.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

SQL = Path(__file__).resolve().parents[2] / "sql"

#: 0004's argument list of ``udipick_pick_accept``
_ACCEPT_0004 = """udipick_pick_accept(uuid, text, text, bigint, integer, integer, bigint, bigint, integer, integer,
  bigint, integer, integer, bigint, integer, integer, integer, integer, integer, integer, text, text, text,
  integer, integer, text, text, timestamptz, uuid[], text[], text[])"""
#: this revision's: four facts of the stock taken after ``p_take_serial``
_ACCEPT_0008 = """udipick_pick_accept(uuid, text, text, bigint, integer, integer, bigint, bigint, integer, integer,
  bigint, integer, integer, bigint, integer, integer, text, boolean, text, boolean, integer, integer, integer, integer,
  text, text, text, integer, integer, text, text, timestamptz, uuid[], text[], text[])"""


def _sql(name: str) -> str:
    return (SQL / name).read_text(encoding="utf-8")


def upgrade() -> None:
    op.execute(_sql("udipick_stock_hold.sql"))
    op.execute(_sql("udipick_location_block.sql"))
    op.execute(f"DROP FUNCTION {_ACCEPT_0004}")
    op.execute(_sql("udipick_pick_accept.sql"))


def downgrade() -> None:
    spec = importlib.util.spec_from_file_location("udipick_migration_0004", Path(__file__).with_name("0004_pick_write.py"))
    assert spec is not None and spec.loader is not None
    previous = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(previous)
    op.execute(f"DROP FUNCTION {_ACCEPT_0008}")
    op.execute(previous.PICK_ACCEPT)
    op.execute("DROP FUNCTION udipick_location_block(integer, integer)")
    op.execute("DROP FUNCTION udipick_stock_hold(integer, integer, integer, integer)")

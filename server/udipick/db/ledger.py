"""Writing stock movements. The ledger trigger applies each row to ``stock`` in the same statement."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from udipick.db.pg import raw
from udipick.domain.access import Actor
from udipick.domain.errors import InsufficientStock


@dataclass(frozen=True, slots=True)
class Movement:
    movement: str
    item_id: int
    quantity: int
    lot_id: int | None = None
    serial_id: int | None = None
    from_location_id: int | None = None
    from_container_id: int | None = None
    from_status: str | None = None
    to_location_id: int | None = None
    to_container_id: int | None = None
    to_status: str | None = None
    reason: str | None = None
    document_type: str | None = None
    document_id: str | None = None
    event_id: uuid.UUID | None = None


_INSERT = """
INSERT INTO stock_ledger (movement, item_id, lot_id, serial_id, quantity, from_location_id, from_container_id, from_status,
                          to_location_id, to_container_id, to_status, reason, document_type, document_id, event_id,
                          user_id, api_key_id, device_id)
SELECT m.*, $16::int, $17::int, $18::text
  FROM unnest($1::text[], $2::int[], $3::int[], $4::int[], $5::int[], $6::int[], $7::int[], $8::text[], $9::int[],
              $10::int[], $11::text[], $12::text[], $13::text[], $14::text[], $15::uuid[]) AS m
"""
#: the stock table's checks (migration 0001) that mean "the units are not there"
STOCK_CHECKS = frozenset({"ck_stock_quantity_nonneg", "ck_stock_reserved_within_quantity"})

_FIELDS = (
    "movement",
    "item_id",
    "lot_id",
    "serial_id",
    "quantity",
    "from_location_id",
    "from_container_id",
    "from_status",
    "to_location_id",
    "to_container_id",
    "to_status",
    "reason",
    "document_type",
    "document_id",
    "event_id",
)


async def post_movements(session: AsyncSession, actor: Actor, movements: list[Movement]) -> None:
    """Append movements; stock that is not there (would go negative) is refused as a business fact.

    Callers lock and check the stock first; the database check is the safety net, and when it
    fires the caller's whole transaction rolls back. One statement whatever the number of rows.
    """
    if not movements:
        return
    columns = [[getattr(m, f) for m in movements] for f in _FIELDS]
    conn = await raw(session)
    try:
        await conn.execute(_INSERT, *columns, actor.user_id, actor.api_key_id, actor.device_id)
    except asyncpg.CheckViolationError as exc:
        # the ledger trigger raises check_violation naming ck_stock_quantity_nonneg when the stock row is not
        # there at all; the table's own checks fire when it would go negative or below what is reserved
        if exc.constraint_name in STOCK_CHECKS:
            raise InsufficientStock(
                "not enough stock at that place for this movement", movement=movements[0].movement
            ) from None
        raise

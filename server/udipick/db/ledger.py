"""Writing stock movements. The ledger trigger applies each row to ``stock`` in the same statement."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from udipick.db.models import StockLedger
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


async def post_movements(session: AsyncSession, actor: Actor, movements: list[Movement]) -> None:
    """Append movements; stock that is not there (would go negative) is refused as a business fact.

    Callers lock and check the stock first; the database check is the safety net, and when it
    fires the caller's whole transaction rolls back.
    """
    if not movements:
        return
    rows = [
        {**asdict(m), "user_id": actor.user_id, "api_key_id": actor.api_key_id, "device_id": actor.device_id}
        for m in movements
    ]
    try:
        await session.execute(insert(StockLedger), rows)
    except IntegrityError as exc:
        if "ck_stock_quantity_nonneg" in str(exc.orig) or "no stock of item" in str(exc.orig):
            raise InsufficientStock("not enough stock at that place for this movement", movement=movements[0].movement) from None
        raise

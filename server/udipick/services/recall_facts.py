"""Which recall froze a lot: the fact every refused scan of a recalled lot names.

A leaf module (it imports no workflow), so picking, packing, shipping and receiving can all name the
recall without importing ``services.recalls``, which itself re-allocates through ``services.picking``.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from udipick.domain import errors as e


def recall_number(recall_id: int) -> str:
    return f"RCL-{recall_id:06d}"


#: the recall that holds each lot: its newest open recall, else its newest (one closed as destroyed or
#: returned to the supplier leaves the lot recalled for good)
_OPEN_RECALLS = """
SELECT DISTINCT ON (rl.lot_id) rl.lot_id, r.id, r.reference, r.recall_class
  FROM recall_lots rl JOIN recalls r ON r.id = rl.recall_id
 WHERE rl.lot_id = ANY({lots})
 ORDER BY rl.lot_id, r.status = 'open' DESC, r.id DESC
"""


def _naming(rows: list[Any]) -> dict[int, dict[str, Any]]:
    return {
        r[0]: {"recall": recall_number(r[1]), "recallId": r[1], "recallReference": r[2], "recallClass": r[3]}
        for r in rows
    }


async def open_recalls(session: AsyncSession, lot_ids: list[int]) -> dict[int, dict[str, Any]]:
    """lot id → the problem fields naming the recall that holds it (``recall``, ``recallId``, ``recallReference``, ``recallClass``)."""
    if not lot_ids:
        return {}
    rows = (await session.execute(text(_OPEN_RECALLS.format(lots="CAST(:lots AS int[])")), {"lots": lot_ids})).all()
    return _naming(list(rows))


async def open_recall_by_lot(conn: asyncpg.Connection, item_id: int, lot: str) -> dict[str, Any]:
    """The same for a lot named by item and lot number, on the scan pool's connection (the pick scan)."""
    rows = await conn.fetch(
        _OPEN_RECALLS.format(lots="ARRAY(SELECT id FROM lots WHERE item_id = $1 AND lot = $2)"), item_id, lot
    )
    return next(iter(_naming(list(rows)).values()), {})


#: the open serial recall that freezes each serial (through its hold): the newest, when several do
_SERIAL_RECALLS = """
SELECT DISTINCT ON (rs.serial_id) rs.serial_id, r.id, r.reference, r.recall_class
  FROM recall_serials rs JOIN recalls r ON r.id = rs.recall_id JOIN holds h ON h.id = rs.hold_id
 WHERE rs.serial_id = ANY({serials}) AND h.released_at IS NULL
 ORDER BY rs.serial_id, r.id DESC
"""


async def serial_recalls(session: AsyncSession, serial_ids: list[int]) -> dict[int, dict[str, Any]]:
    """serial id → the problem fields naming the recall that freezes it (only serials a recall freezes)."""
    if not serial_ids:
        return {}
    rows = (
        await session.execute(text(_SERIAL_RECALLS.format(serials="CAST(:ids AS int[])")), {"ids": serial_ids})
    ).all()
    return _naming(list(rows))


async def serial_recall_by_serial(conn: asyncpg.Connection, item_id: int, serial: str) -> dict[str, Any]:
    """The same for a serial named by item and serial number, on the scan pool's connection (the pick scan)."""
    rows = await conn.fetch(
        _SERIAL_RECALLS.format(serials="ARRAY(SELECT id FROM serials WHERE item_id = $1 AND serial = $2)"),
        item_id,
        serial,
    )
    return next(iter(_naming(list(rows)).values()), {})


def serial_recalled(
    serial: str, lot: str | None, naming: dict[str, Any], *, doing: str, **context: Any
) -> e.SerialRecalled:
    """The ``serial-recalled`` refusal for a unit a serial recall freezes (``doing``: what was refused)."""
    return e.SerialRecalled(
        f"Serial {serial} is recalled (recall {naming['recall']}): do not {doing} it, put it aside and tell QA",
        serial=serial,
        lot=lot,
        **naming,
        **context,
    )


def name_the_recall(refusal: Any, naming: dict[str, Any]) -> None:
    """Add the recall to a ``lot-recalled`` refusal: its fields, and its number in the message."""
    if naming:
        refusal.context.update(naming)
        refusal.message = f"{refusal.message} (recall {naming['recall']})"

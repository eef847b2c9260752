"""Which recall froze a lot: the fact every refused scan of a recalled lot names.

A leaf module (it imports no workflow), so picking, packing, shipping and receiving can all name the
recall without importing ``services.recalls``, which itself re-allocates through ``services.picking``.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


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


def name_the_recall(refusal: Any, naming: dict[str, Any]) -> None:
    """Add the recall to a ``lot-recalled`` refusal: its fields, and its number in the message."""
    if naming:
        refusal.context.update(naming)
        refusal.message = f"{refusal.message} (recall {naming['recall']})"

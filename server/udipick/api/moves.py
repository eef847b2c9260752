"""Moves: ``POST /api/v1/moves`` — any quantity, lot or serial between locations and licence plates.

The request carries the scans of one move: ``from`` (a location label or a licence plate), ``units``
(goods barcodes, each with a count for goods counted by hand) and ``to`` (a location label, or a plate
to put the units on). No ``units`` with a plate as ``from`` moves the whole plate; onto another plate
that is a merge. The answer is ``200`` with what moved, or an RFC 9457 problem
(``location-unsuitable``, ``stock-on-hold``, ``lot-expired``, ``lot-recalled``, ``stock-reserved``,
``insufficient-stock``, ``location-frozen``, ...); a replayed ``clientScanId`` gets the first answer,
marked ``Idempotent-Replayed: true``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec
from litestar import Response, Router, post
from litestar.params import JSONBody
from msgspec import Meta

from udipick.api.deps import AppSettings, CurrentActor, Db, allow
from udipick.api.picking import reply_response
from udipick.api.replenishment import MOVERS
from udipick.services import moves as svc
from udipick.services.moves import MoveDone

Raw = Annotated[str, Meta(min_length=1, max_length=4096)]


class UnitIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    #: the goods barcode (GS1 element string, HIBC or Digital Link)
    raw: Raw
    #: base units, for lot-tracked goods counted by hand; absent: what the barcode says
    quantity: Annotated[int, Meta(ge=1, le=10_000_000)] | None = None


class MoveIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    client_scan_id: uuid.UUID
    #: the source: a location label or a licence plate
    from_: Raw = msgspec.field(name="from")
    #: the destination: a location label or a licence plate
    to: Raw
    units: Annotated[list[UnitIn], Meta(max_length=1000)] = []


@post("/moves", status_code=200, **allow(*MOVERS))
async def move(data: JSONBody[MoveIn], db: Db, actor: CurrentActor, settings: AppSettings) -> Response[MoveDone]:
    """Move goods (or a whole plate) from a location or plate to a suitable location or plate; status is kept."""
    reply = await svc.move_stock(
        db,
        actor,
        settings,
        data.client_scan_id,
        source=data.from_,
        units=[svc.UnitScan(u.raw, u.quantity) for u in data.units],
        destination=data.to,
        today=dt.date.today(),
    )
    return reply_response(reply, workflow="move")


moves_router = Router(path="/api/v1", route_handlers=[move], tags=["Moves"])

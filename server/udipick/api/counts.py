"""Counting a location for one item: the answer to a short pick's "count required" block.

``POST /api/v1/counts`` carries everything found of the item at the location, by lot (or serial);
an empty ``lines`` means nothing was there. The differences are booked, the block is lifted, and a
replayed ``clientScanId`` gets the first answer (``Idempotent-Replayed: true``) and changes nothing.
"""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec
from litestar import Response, Router, post
from litestar.params import JSONBody
from msgspec import Meta

from udipick.api.deps import AppSettings, CurrentActor, Db, allow
from udipick.api.picking import PICKERS, reply_response
from udipick.domain.counting import Counted
from udipick.services import counts, scans
from udipick.services.counts import CountResult


class CountLineIn(msgspec.Struct, rename="camel"):
    #: units in the item's base unit; a serial is 1 (found) or 0 (not found); negative is refused as a problem
    quantity: Annotated[int, Meta(ge=-1_000_000, le=1_000_000)]
    lot: Annotated[str, Meta(min_length=1, max_length=20)] | None = None
    serial: Annotated[str, Meta(min_length=1, max_length=20)] | None = None


class CountIn(msgspec.Struct, rename="camel"):
    client_scan_id: uuid.UUID
    #: location code or barcode
    location: Annotated[str, Meta(min_length=1, max_length=80)]
    #: ERP item id, GTIN (each level), or the scanned code of a unit (MA, AHM, GS1 or HIBC: named by the rule
    #: every scan path uses)
    item: Annotated[str, Meta(min_length=1, max_length=4096)]
    lines: Annotated[list[CountLineIn], Meta(max_length=10_000)] = []


@post("/counts", status_code=200, **allow(*PICKERS))
async def record_count(
    data: JSONBody[CountIn], db: Db, actor: CurrentActor, settings: AppSettings
) -> Response[CountResult]:
    """Book what was counted of one item at one location and clear its "count required" block."""
    reply = await counts.record_count(
        db,
        actor,
        client_scan_id=data.client_scan_id,
        location=data.location,
        item=data.item,
        lines=[Counted(ln.lot, ln.serial, ln.quantity) for ln in data.lines],
        scan_config=scans.config(settings),
    )
    return reply_response(reply, workflow="count")


counts_router = Router(path="/api/v1", route_handlers=[record_count], tags=["Counting"])

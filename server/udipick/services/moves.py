"""Moves: any quantity, lot or serial between locations and licence plates, by scans.

One request carries the scans of one move: the source (a location label, or a licence plate), the
goods (GS1 or HIBC barcodes; a count for lot-tracked goods counted by hand) and the destination (a
location label, or a licence plate to put the units on). No goods scan with a plate as source moves
the whole plate. The ledger books ``move`` rows with the status kept; ``stock.moved.v1`` goes in the
same transaction. Which units may go is ``domain.moves.take``; where they may go, ``domain.putaway``.
A replayed ``clientScanId`` gets the first answer and moves nothing twice.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from udipick.config import Settings
from udipick.db.ledger import Movement, post_movements
from udipick.db.models import Container, Location, Serial
from udipick.domain import moves as rules
from udipick.domain import putaway as directed
from udipick.domain.access import Actor
from udipick.domain.errors import InvalidRecord, LocationFrozen, NotFound
from udipick.domain.receiving import Content
from udipick.services import scans
from udipick.services.events import StockMoved, emit
from udipick.services.receiving.common import ContentLine, identify_item
from udipick.services.receiving.putaway import PICKABLE_TYPES, place_of
from udipick.services.replay import Reply, once


@dataclass(frozen=True, slots=True)
class UnitScan:
    raw: str
    #: base units, for goods counted by hand; absent: what the barcode says (a box of 100 is 100, a serial 1)
    quantity: int | None = None


class MoveDone(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    """A booked move: from where to where, what moved (status kept)."""

    move: str
    #: ``units``, ``plate``, ``merge`` or ``split``
    kind: str
    from_location: str
    from_lpn: str | None
    to_location: str
    to_lpn: str | None
    lines: list[ContentLine]


#: the stock at a place or on a plate, with what decides whether it may move; locked in id order
_SOURCE = """
SELECT s.id, s.item_id, s.lot_id, s.serial_id, s.location_id, s.container_id, s.status, s.quantity, s.reserved,
       i.erp_id, i.gtin, i.min_temp_c, i.max_temp_c, i.bonded, l.lot, l.expiry, l.status AS lot_status,
       se.serial, c.code AS lpn,
       (SELECT h.reason FROM udipick_stock_hold(p_item_id => s.item_id, p_lot_id => s.lot_id, p_serial_id => s.serial_id,
                                                p_location_id => s.location_id) h) AS hold
  FROM stock s
  JOIN items i ON i.id = s.item_id
  LEFT JOIN lots l ON l.id = s.lot_id
  LEFT JOIN serials se ON se.id = s.serial_id
  LEFT JOIN containers c ON c.id = s.container_id
 WHERE s.location_id = :loc AND s.quantity > 0 {narrow}
 ORDER BY s.container_id NULLS FIRST, s.id
   FOR UPDATE OF s
"""


@dataclass(frozen=True, slots=True)
class _End:
    """A scanned source or destination: a location, or a plate and the location it lies in."""

    location: Location
    plate: Container | None


async def _end(session: AsyncSession, settings: Settings, raw: str, today: dt.date, *, role: str) -> _End:
    scan = scans.read(raw, settings, today)
    if scan.kind == "location":
        loc = await scans.match_location(session, scan)
        if loc is None:
            raise NotFound(f"no location {raw.strip()}", location=raw.strip())
        return _End(loc, None)
    if scan.kind in ("lpn", "tote", "sscc"):
        plate = await scans.match_container(session, scan)
        if plate is None:
            raise NotFound(f"no licence plate {raw.strip()}", lpn=raw.strip())
        if plate.location_id is None:
            raise NotFound(f"{plate.code} is not at any location", lpn=plate.code)
        loc = await session.get(Location, plate.location_id)
        assert loc is not None  # the container's foreign key
        return _End(loc, plate)
    raise InvalidRecord(
        f"{raw.strip()} is a {scan.kind} scan: the {role} is a location label or a licence plate",
        pointer=f"/{role}",
        kind=scan.kind,
    )


def _content(r: Any) -> Content:
    return Content(
        item=r.erp_id, cold_chain=r.min_temp_c is not None or r.max_temp_c is not None, bonded=r.bonded, status=r.status
    )


def _source_row(r: Any) -> rules.SourceRow:
    return rules.SourceRow(
        stock_id=r.id,
        item_id=r.item_id,
        item=r.erp_id,
        lot_id=r.lot_id,
        lot=r.lot,
        serial=r.serial,
        container=r.lpn,
        status=r.status,
        quantity=r.quantity,
        reserved=r.reserved,
        expiry=r.expiry,
        lot_status=r.lot_status,
        hold=r.hold,
    )


async def _wanted(
    session: AsyncSession, settings: Settings, units: list[UnitScan], today: dt.date
) -> list[rules.Wanted]:
    out = []
    for u in units:
        scan = scans.read(u.raw, settings, today)
        match = await identify_item(session, scan)
        quantity = u.quantity if u.quantity is not None else (1 if scan.serial else match.units)
        out.append(rules.Wanted(match.item_id, match.erp_id, scan.lot, scan.serial, quantity))
    return out


async def move_stock(
    db: async_sessionmaker,
    actor: Actor,
    settings: Settings,
    client_scan_id: uuid.UUID,
    *,
    source: str,
    units: list[UnitScan],
    destination: str,
    today: dt.date,
) -> Reply:
    """Book one move. Without goods scans the source must be a plate: the whole plate moves (onto the
    destination plate: a merge)."""

    async def decide_and_write(session: AsyncSession) -> MoveDone:
        src = await _end(session, settings, source, today, role="from")
        dst = await _end(session, settings, destination, today, role="to")
        if src.location.frozen:
            raise LocationFrozen(
                f"{src.location.code} is frozen (a count or a hold): nothing leaves it now", location=src.location.code
            )
        if not units and src.plate is None:
            raise InvalidRecord(
                "scan the goods to move from a location (or scan a licence plate to move it whole)", pointer="/units"
            )
        if src.plate is not None and dst.plate is not None and src.plate.id == dst.plate.id:
            raise InvalidRecord(f"{src.plate.code} is both source and destination", pointer="/to")
        if dst.plate is None and src.plate is None and src.location.id == dst.location.id:
            raise InvalidRecord(f"{src.location.code} is both source and destination", pointer="/to")
        narrow, params = "", {"loc": src.location.id}
        if src.plate is not None:
            narrow, params = "AND s.container_id = :plate", {"loc": src.location.id, "plate": src.plate.id}
        rows = (await session.execute(text(_SOURCE.format(narrow=narrow)), params)).all()
        source_name = src.plate.code if src.plate is not None else src.location.code
        facts = [_source_row(r) for r in rows]
        if units:
            wanted = await _wanted(session, settings, units, today)
        else:
            if not facts:
                raise NotFound(f"{source_name} is empty: nothing to move", lpn=source_name)
            wanted = [
                rules.Wanted(i, name, lot, serial, None)
                for i, name, lot, serial in dict.fromkeys((f.item_id, f.item, f.lot, f.serial) for f in facts)
            ]
        taken = rules.take(facts, wanted, today=today, source=source_name)
        by_id = {r.id: r for r in rows}
        moving = [(by_id[f.stock_id], q) for f, q in taken]

        whole_plate = src.plate is not None and sum(q for _, q in moving) == sum(r.quantity for r in rows)
        load = directed.load_of(
            [_content(r) for r, _ in moving],
            (r.item_id for r, _ in moving),
            (r.lot_id for r, _ in moving),
            sum(q for _, q in moving),
        )
        if dst.plate is not None:
            on_plate = (
                await session.execute(
                    text(_SOURCE.format(narrow="AND s.container_id = :plate")),
                    {"loc": dst.location.id, "plate": dst.plate.id},
                )
            ).all()
            directed.check_plate(
                load.contents, [_content(r) for r in on_plate], plate=dst.plate.code, location=dst.location.code
            )
        # a plate on the dock is merged or split before its putaway, which judges its destination
        if dst.plate is None or dst.location.type != "receiving":
            directed.check_destination(load, await place_of(session, dst.location))

        if dst.plate is not None:
            to_container, kind = dst.plate.id, ("merge" if whole_plate else "split")
        elif whole_plate and dst.location.type not in PICKABLE_TYPES:
            # a plate into quarantine keeps together (as putaway keeps it) until QC decides
            to_container, kind = src.plate.id if src.plate else None, "plate"
        else:
            to_container, kind = None, "plate" if whole_plate else "units"
        number = f"MOV-{client_scan_id.hex[:12].upper()}"
        await post_movements(
            session,
            actor,
            [
                Movement(
                    "move",
                    item_id=r.item_id,
                    quantity=q,
                    lot_id=r.lot_id,
                    serial_id=r.serial_id,
                    from_location_id=r.location_id,
                    from_container_id=r.container_id,
                    from_status=r.status,
                    to_location_id=dst.location.id,
                    to_container_id=to_container,
                    to_status=r.status,
                    reason=f"move {kind}",
                    document_type="move",
                    document_id=number,
                )
                for r, q in moving
            ],
        )
        if src.plate is not None and whole_plate and to_container == src.plate.id:
            await session.execute(
                update(Container).where(Container.id == src.plate.id).values(location_id=dst.location.id)
            )
        serial_ids = [r.serial_id for r, _ in moving if r.serial_id is not None]
        if serial_ids:
            await session.execute(update(Serial).where(Serial.id.in_(serial_ids)).values(location_id=dst.location.id))
        await _finish_putaway(session, actor, src, dst.location.id)
        lines = [
            ContentLine(item=r.erp_id, gtin=r.gtin, lot=r.lot, serial=r.serial, quantity=q, status=r.status)
            for r, q in moving
        ]
        done = MoveDone(
            move=number,
            kind=kind,
            from_location=src.location.code,
            from_lpn=src.plate.code if src.plate else None,
            to_location=dst.location.code,
            to_lpn=dst.plate.code if dst.plate else None,
            lines=lines,
        )
        await emit(
            session,
            actor,
            StockMoved(
                move=number,
                kind=kind,
                from_location=done.from_location,
                from_lpn=done.from_lpn,
                to_location=done.to_location,
                to_lpn=done.to_lpn,
                lines=msgspec.to_builtins(lines),
            ),
        )
        return done

    return await once(db, client_scan_id, "move", actor, decide_and_write)


_FINISH_PUTAWAY = """
UPDATE putaway_tasks t
   SET status = 'done', to_location_id = :dest, done_by = :user, done_device = :device, done_at = now()
 WHERE t.status = 'open' AND t.from_location_id = :loc AND t.container_id IS NOT DISTINCT FROM :plate
   AND NOT EXISTS (SELECT 1 FROM stock s
                    WHERE s.location_id = t.from_location_id AND s.container_id IS NOT DISTINCT FROM t.container_id
                      AND (t.item_id IS NULL OR s.item_id = t.item_id) AND (t.lot_id IS NULL OR s.lot_id = t.lot_id)
                      AND s.quantity > 0)
"""


async def _finish_putaway(session: AsyncSession, actor: Actor, src: _End, dest_id: int) -> None:
    """An open putaway task whose stock the move took away is done: its units went where the mover took them."""
    await session.execute(
        text(_FINISH_PUTAWAY),
        {
            "dest": dest_id,
            "user": actor.user_id,
            "device": actor.device_id,
            "loc": src.location.id,
            "plate": src.plate.id if src.plate else None,
        },
    )

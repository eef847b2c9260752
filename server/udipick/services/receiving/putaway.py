"""Putaway: a closed receipt leaves one task per licence plate on the dock; a QC release of stock in a
quarantine location leaves one per plate, item and lot released (``open_putaway_tasks``). The first
scan names the plate (or an item on it), the second the destination, which must fit every piece of
stock going there (``domain.putaway``: cold chain, quarantine, bonded, not frozen, capacity). Each
open task suggests a destination (``domain.putaway.suggest``) with its reason; the receiver may take
another suitable one. A goods scan with the destination moves only that item (lot, serial) of the
plate: a plate holding three lots goes away one lot at a time."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec
from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from udipick.config import Settings
from udipick.db.ledger import Movement, post_movements
from udipick.db.models import LOCATION_TYPES, Container, Item, Location, Lot, Serial, Stock
from udipick.db.models_receiving import PutawayTask
from udipick.domain import putaway as directed
from udipick.domain import receiving as rules
from udipick.domain.access import Actor
from udipick.domain.errors import Conflict, InsufficientStock, NotFound
from udipick.domain.expiry import barcode_expired
from udipick.domain.replenishment import FACE_TYPES
from udipick.services import scans
from udipick.services.events import PutawayCompleted, emit
from udipick.services.receiving.common import (
    ContentLine,
    identify_item,
    receipt_number,
    receiving_user,
)
from udipick.services.replay import Reply, once

PICKABLE_TYPES = ("pick", "reserve", "cold", "bonded")


class PutawaySuggestion(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    """A destination directed putaway proposes, and why (``reason``: pick-face, same-lot, item-zone, empty, fits)."""

    location: str
    reason: str
    detail: str


class PutawayTaskView(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    """A licence plate (or part of one, or loose stock) to put away, what it holds and where it should go.

    ``to``: where it went (done) or the suggested destination (open; ``None`` when nothing fits)."""

    id: int
    lpn: str | None
    #: the receipt that brought it; ``None`` for stock a QC release freed in a quarantine location
    receipt: str | None
    status: str
    from_: str = msgspec.field(name="from")
    to: str | None
    needs: str
    contents: list[ContentLine]
    suggestion: PutawaySuggestion | None = None
    #: further suitable destinations, best first
    alternatives: list[PutawaySuggestion] = []


class PutawayDone(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    """The answer to the destination scan; ``status`` stays ``open`` while part of the task's stock is left."""

    task_id: int
    lpn: str | None
    from_: str = msgspec.field(name="from")
    to: str
    status: str
    contents: list[ContentLine]
    #: the suggestion the destination followed, or ``None`` when the receiver chose another suitable one
    suggested: str | None = None


async def _contents(
    session: AsyncSession,
    container_id: int | None,
    location_id: int,
    *,
    item_id: int | None = None,
    lot_id: int | None = None,
    lock: bool = False,
) -> list[Any]:
    """The stock a task names: on the plate (or loose) at the place, narrowed to its item and lot."""
    q = (
        select(
            Stock.id,
            Stock.item_id,
            Stock.lot_id,
            Stock.serial_id,
            Stock.status,
            Stock.quantity,
            Stock.reserved,
            Item.erp_id,
            Item.gtin,
            Item.min_temp_c,
            Item.max_temp_c,
            Item.bonded,
            Lot.lot,
            Serial.serial,
        )
        .join(Item, Item.id == Stock.item_id)
        .outerjoin(Lot, Lot.id == Stock.lot_id)
        .outerjoin(Serial, Serial.id == Stock.serial_id)
        .where(
            Stock.container_id.is_not_distinct_from(container_id), Stock.location_id == location_id, Stock.quantity > 0
        )
        .order_by(Stock.id)
    )
    if item_id is not None:
        q = q.where(Stock.item_id == item_id)
    if lot_id is not None:
        q = q.where(Stock.lot_id == lot_id)
    if lock:
        q = q.with_for_update(of=Stock)
    return list((await session.execute(q)).all())


def _content_facts(rows: list[Any]) -> list[rules.Content]:
    return [
        rules.Content(
            item=r.erp_id,
            cold_chain=r.min_temp_c is not None or r.max_temp_c is not None,
            bonded=r.bonded,
            status=r.status,
        )
        for r in rows
    ]


def _content_lines(rows: list[Any]) -> list[ContentLine]:
    return [
        ContentLine(item=r.erp_id, gtin=r.gtin, lot=r.lot, serial=r.serial, quantity=r.quantity, status=r.status)
        for r in rows
    ]


#: every storage location of a warehouse with what it holds: units, lots, the items it is the pick face
#: of and, of those, the ones whose face needs stock (free available units below the item's minimum,
#: or none at all; an emptied face keeps its stock row and stays the item's face)
_PLACES = """
SELECT loc.id, loc.code, loc.type, loc.frozen, loc.zone, loc.pick_sequence, loc.capacity,
       EXISTS (SELECT 1 FROM locations z WHERE z.warehouse_id = loc.warehouse_id AND z.zone = loc.zone
                                            AND z.type = 'cold') AS cold_zone,
       EXISTS (SELECT 1 FROM locations z WHERE z.warehouse_id = loc.warehouse_id AND z.zone = loc.zone
                                            AND z.type = 'bonded') AS bonded_zone,
       coalesce(st.occupied, 0) AS occupied, coalesce(st.lots, '{}') AS lots,
       coalesce(fc.faces, '{}') AS faces, coalesce(fc.short, '{}') AS short
  FROM locations loc
  LEFT JOIN LATERAL (
       SELECT sum(s.quantity) AS occupied,
              array_agg(DISTINCT s.lot_id) FILTER (WHERE s.lot_id IS NOT NULL AND s.quantity > 0) AS lots
         FROM stock s WHERE s.location_id = loc.id) st ON true
  LEFT JOIN LATERAL (
       SELECT array_agg(f.item_id) AS faces,
              array_agg(f.item_id) FILTER (WHERE f.free < greatest(coalesce(i.replenish_min, 0), 1)) AS short
         FROM (SELECT s.item_id, coalesce(sum(s.quantity - s.reserved) FILTER (WHERE s.status = 'available'), 0) AS free
                 FROM stock s WHERE s.location_id = loc.id AND s.container_id IS NULL GROUP BY s.item_id) f
         JOIN items i ON i.id = f.item_id
        WHERE loc.type = ANY(CAST(:face_types AS text[]))) fc ON true
 WHERE loc.warehouse_id = :warehouse AND loc.type = ANY(CAST(:types AS text[]))
 ORDER BY loc.id
"""


def _place(r: Any) -> directed.Place:
    return directed.Place(
        id=r.id,
        facts=rules.LocationFacts(
            code=r.code, type=r.type, frozen=r.frozen, cold_zone=r.cold_zone, bonded_zone=r.bonded_zone
        ),
        zone=r.zone,
        pick_sequence=r.pick_sequence,
        capacity=r.capacity,
        occupied=int(r.occupied),
        lot_ids=frozenset(r.lots),
        face_for=frozenset(r.faces),
        face_short=frozenset(r.short),
    )


async def storage_places(
    session: AsyncSession, warehouse_id: int, *, location_id: int | None = None
) -> list[directed.Place]:
    """The warehouse's storage locations (or the one named) as directed putaway judges them."""
    sql = _PLACES if location_id is None else _PLACES.replace("ORDER BY loc.id", "AND loc.id = :loc ORDER BY loc.id")
    params: dict[str, Any] = {
        "warehouse": warehouse_id,
        "types": sorted(rules.STORAGE_TYPES) if location_id is None else list(LOCATION_TYPES),
        "face_types": list(FACE_TYPES),
    }
    if location_id is not None:
        params["loc"] = location_id
    return [_place(r) for r in (await session.execute(text(sql), params)).all()]


async def place_of(session: AsyncSession, loc: Location) -> directed.Place:
    """One location as directed putaway judges it (any type: a dock or shipping lane is judged unsuitable)."""
    return (await storage_places(session, loc.warehouse_id, location_id=loc.id))[0]


def load_of(rows: list[Any], quantities: list[int] | None = None) -> directed.Load:
    """Stock rows (``quantities`` of each, or all) as the load directed putaway judges."""
    return directed.load_of(
        _content_facts(rows),
        (r.item_id for r in rows),
        (r.lot_id for r in rows),
        sum(quantities) if quantities is not None else sum(r.quantity for r in rows),
    )


def _suggestion(s: directed.Suggestion) -> PutawaySuggestion:
    return PutawaySuggestion(location=s.location, reason=s.reason, detail=s.detail)


async def open_putaway_tasks(
    session: AsyncSession,
    scopes: list[tuple[int, int | None, int | None, int | None]],
    *,
    receipt_id: int | None = None,
) -> None:
    """Open a putaway task for stock lying at a place: ``(from_location_id, container_id, item_id, lot_id)``,
    a whole plate when item and lot are ``None``, else that item (and lot) on the plate or loose. A scope
    that already has an open task keeps it. Used by receipt close and QC release; reusable for any flow that
    leaves saleable stock where it must not stay (a return restocked, say)."""
    if not scopes:
        return
    await session.execute(
        pg_insert(PutawayTask)
        .values(
            [
                {
                    "receipt_id": receipt_id,
                    "from_location_id": loc,
                    "container_id": container,
                    "item_id": item,
                    "lot_id": lot,
                }
                for loc, container, item, lot in dict.fromkeys(scopes)
            ]
        )
        .on_conflict_do_nothing()
    )


def _source_number(task: PutawayTask) -> str | None:
    """The receipt that brought the plate in, or the return whose unit QA restocked (``return_id``); none for
    stock a QC release left in quarantine."""
    if task.receipt_id is not None:
        return receipt_number(task.receipt_id)
    if task.return_id is not None:
        return f"RET-{task.return_id:06d}"
    return None  # QC released it where it lay


async def task_views(
    session: AsyncSession, *, receipt_id: int | None = None, open_only: bool = True, task_ids: list[int] | None = None
) -> list[PutawayTaskView]:
    from_loc = Location.__table__.alias("from_loc")
    to_loc = Location.__table__.alias("to_loc")
    q = (
        select(
            PutawayTask,
            Container.code,
            from_loc.c.code.label("from_code"),
            from_loc.c.warehouse_id,
            to_loc.c.code.label("to_code"),
        )
        .outerjoin(Container, Container.id == PutawayTask.container_id)
        .join(from_loc, from_loc.c.id == PutawayTask.from_location_id)
        .outerjoin(to_loc, to_loc.c.id == PutawayTask.to_location_id)
        .order_by(PutawayTask.id)
    )
    if receipt_id is not None:
        q = q.where(PutawayTask.receipt_id == receipt_id)
    if open_only:
        q = q.where(PutawayTask.status == "open")
    if task_ids is not None:
        q = q.where(PutawayTask.id.in_(task_ids))
    out = []
    places: dict[int, list[directed.Place]] = {}
    for task, lpn, from_code, warehouse_id, to_code in (await session.execute(q)).all():
        if task.status == "open":
            rows = await _contents(
                session, task.container_id, task.from_location_id, item_id=task.item_id, lot_id=task.lot_id
            )
            if warehouse_id not in places:
                places[warehouse_id] = await storage_places(session, warehouse_id)
            ranked = directed.suggest(load_of(rows), places[warehouse_id]) if rows else []
        else:
            rows = await _contents(
                session, task.container_id, task.to_location_id, item_id=task.item_id, lot_id=task.lot_id
            )
            ranked = []
        out.append(
            PutawayTaskView(
                id=task.id,
                lpn=lpn,
                receipt=_source_number(task),
                status=task.status,
                from_=from_code,
                to=to_code if task.status != "open" else (ranked[0].location if ranked else None),
                needs=rules.needed_location(_content_facts(rows)),
                contents=_content_lines(rows),
                suggestion=_suggestion(ranked[0]) if ranked else None,
                alternatives=[_suggestion(r) for r in ranked[1:]],
            )
        )
    return out


async def putaway_tasks(db: async_sessionmaker) -> list[PutawayTaskView]:
    async with db() as session:
        return await task_views(session)


async def identify_putaway(
    db: async_sessionmaker, settings: Settings, raw: str, *, today: dt.date
) -> list[PutawayTaskView]:
    """First putaway scan: the licence plate, or an item on one (or loose in quarantine); answers the open
    task(s) it names."""
    scan = scans.read(raw, settings, today)
    # the barcode's own expiry comes first: an expired unit is not put away to a pickable place
    if (expired := barcode_expired(scan.expiry, scan.lot, today=today, doing="put it away")) is not None:
        raise expired
    async with db() as session:
        if scan.kind in ("lpn", "sscc"):
            container = await scans.match_container(session, scan)
            if container is None:
                raise NotFound(f"no licence plate {raw.strip()}", lpn=raw.strip())
            ids = (
                await session.scalars(
                    select(PutawayTask.id).where(PutawayTask.container_id == container.id, PutawayTask.status == "open")
                )
            ).all()
            if not ids:
                raise NotFound(f"{container.code} has nothing left to put away", lpn=container.code)
        else:
            match = await identify_item(session, scan)
            lot_id = None
            if scan.lot is not None:
                lot_id = await session.scalar(select(Lot.id).where(Lot.item_id == match.item_id, Lot.lot == scan.lot))
            stock = select(Stock.id).where(
                Stock.container_id.is_not_distinct_from(PutawayTask.container_id),
                Stock.location_id == PutawayTask.from_location_id,
                Stock.item_id == match.item_id,
                Stock.quantity > 0,
                (PutawayTask.item_id.is_(None)) | (PutawayTask.item_id == Stock.item_id),
                (PutawayTask.lot_id.is_(None)) | (PutawayTask.lot_id == Stock.lot_id),
            )
            if scan.lot is not None:
                if lot_id is None:
                    raise NotFound(
                        f"no open putaway for {match.erp_id} lot {scan.lot}", item=match.erp_id, lot=scan.lot
                    )
                stock = stock.where(Stock.lot_id == lot_id)
            ids = (
                await session.scalars(
                    select(PutawayTask.id).where(PutawayTask.status == "open", stock.exists()).order_by(PutawayTask.id)
                )
            ).all()
            if not ids:
                raise NotFound(f"no open putaway for {match.erp_id}", item=match.erp_id)
        return await task_views(session, task_ids=list(ids))


async def confirm_putaway(
    db: async_sessionmaker,
    actor: Actor,
    settings: Settings,
    task_id: int,
    client_scan_id: uuid.UUID,
    raw: str,
    *,
    today: dt.date,
    units: str | None = None,
    quantity: int | None = None,
) -> Reply:
    """Second putaway scan: the destination. It must fit every piece of stock going there. With ``units``
    (a goods scan) only that item, lot or serial of the task's stock goes (``quantity`` of it, or all of
    it); the task stays open until nothing is left."""
    user_id = receiving_user(actor)

    async def decide_and_write(session: AsyncSession) -> PutawayDone:
        task = (
            await session.execute(select(PutawayTask).where(PutawayTask.id == task_id).with_for_update())
        ).scalar_one_or_none()
        if task is None:
            raise NotFound(f"no putaway task {task_id}", task=task_id)
        lpn = (
            await session.scalar(select(Container.code).where(Container.id == task.container_id))
            if task.container_id is not None
            else None
        )
        what = lpn or f"putaway task {task.id}"
        if task.status != "open":
            to = await session.scalar(select(Location.code).where(Location.id == task.to_location_id))
            raise Conflict(f"{what} was already put away to {to}", lpn=lpn, location=to)
        scan = scans.read(raw, settings, today)
        if scan.kind != "location":
            raise NotFound(f"{raw.strip()} is not a location label: scan the destination's label", kind=scan.kind)
        dest = await scans.match_location(session, scan)
        if dest is None:
            raise NotFound(f"no location {raw.strip()}", location=raw.strip())
        from_loc = await session.get(Location, task.from_location_id)
        assert from_loc is not None  # the task's foreign key
        rows = await _contents(
            session, task.container_id, task.from_location_id, item_id=task.item_id, lot_id=task.lot_id, lock=True
        )
        if not rows:
            raise NotFound(f"{what} is empty at {from_loc.code}: nothing to put away", lpn=lpn)
        moving = (
            [(r, r.quantity) for r in rows]
            if units is None
            else await _part(session, settings, rows, units, quantity, today=today, what=what)
        )
        load = load_of([r for r, _ in moving], [q for _, q in moving])
        ranked = directed.suggest(load, await storage_places(session, from_loc.warehouse_id), limit=1)
        directed.check_destination(load, await place_of(session, dest))
        number = _source_number(task)
        whole = sum(q for _, q in moving) == sum(r.quantity for r in rows)
        # into a saleable location the plate is emptied, so pickers take units from the location;
        # quarantine keeps a whole plate together until QC decides
        to_container = task.container_id if dest.type not in PICKABLE_TYPES and whole else None
        await post_movements(
            session,
            actor,
            [
                Movement(
                    "putaway",
                    item_id=r.item_id,
                    quantity=q,
                    lot_id=r.lot_id,
                    serial_id=r.serial_id,
                    from_location_id=task.from_location_id,
                    from_container_id=task.container_id,
                    from_status=r.status,
                    to_location_id=dest.id,
                    to_container_id=to_container,
                    to_status=r.status,
                    document_type="receipt" if number else "putaway",
                    document_id=number or f"PUT-{task.id:06d}",
                )
                for r, q in moving
            ],
        )
        if whole and task.container_id is not None and (task.item_id is None or to_container is not None):
            await session.execute(
                update(Container).where(Container.id == task.container_id).values(location_id=dest.id)
            )
        serial_ids = [r.serial_id for r, _ in moving if r.serial_id is not None]
        if serial_ids:
            await session.execute(update(Serial).where(Serial.id.in_(serial_ids)).values(location_id=dest.id))
        status = "done" if whole else "open"
        if whole:
            await session.execute(
                update(PutawayTask)
                .where(PutawayTask.id == task.id)
                .values(
                    status="done",
                    to_location_id=dest.id,
                    done_by=user_id,
                    done_device=actor.device_id,
                    done_at=func.now(),
                )
            )
        contents = _content_lines_of(moving)
        await emit(
            session,
            actor,
            PutawayCompleted(
                lpn=lpn,
                receipt=number,
                from_location=from_loc.code,
                to_location=dest.code,
                contents=msgspec.to_builtins(contents),
            ),
        )
        return PutawayDone(
            task_id=task.id,
            lpn=lpn,
            from_=from_loc.code,
            to=dest.code,
            status=status,
            contents=contents,
            suggested=ranked[0].location if ranked and ranked[0].location_id == dest.id else None,
        )

    return await once(db, client_scan_id, "putaway.confirm", actor, decide_and_write)


def _content_lines_of(moving: list[tuple[Any, int]]) -> list[ContentLine]:
    return [
        ContentLine(item=r.erp_id, gtin=r.gtin, lot=r.lot, serial=r.serial, quantity=q, status=r.status)
        for r, q in moving
    ]


async def _part(
    session: AsyncSession,
    settings: Settings,
    rows: list[Any],
    units: str,
    quantity: int | None,
    *,
    today: dt.date,
    what: str,
) -> list[tuple[Any, int]]:
    """The rows a goods scan picks out of a task's stock, and how many of each move (all, or ``quantity``
    taken in row order)."""
    scan = scans.read(units, settings, today)
    match = await identify_item(session, scan)
    chosen = [
        r
        for r in rows
        if r.item_id == match.item_id
        and (scan.lot is None or r.lot == scan.lot)
        and (scan.serial is None or r.serial == scan.serial)
    ]
    have = sum(r.quantity for r in chosen)
    if not chosen:
        raise NotFound(
            f"{match.erp_id}" + (f" lot {scan.lot}" if scan.lot else "") + f" is not on {what}",
            item=match.erp_id,
            lot=scan.lot,
        )
    want = have if quantity is None else quantity
    if want > have:
        raise InsufficientStock(
            f"{what} holds {have} of {match.erp_id}" + (f" lot {scan.lot}" if scan.lot else "") + f", not {want}",
            item=match.erp_id,
            lot=scan.lot,
            available=have,
            requested=want,
        )
    out: list[tuple[Any, int]] = []
    for r in chosen:
        if want <= 0:
            break
        q = min(r.quantity, want)
        out.append((r, q))
        want -= q
    return out

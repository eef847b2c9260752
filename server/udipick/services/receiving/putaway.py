"""Putaway: a closed receipt leaves one task per licence plate on the dock. The first scan names the
plate (or an item on it), the second the destination, which must fit every piece of stock on the
plate (``domain.receiving.check_putaway``: cold chain, quarantine, bonded, not frozen)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec
from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from udipick.config import Settings
from udipick.db.ledger import Movement, post_movements
from udipick.db.models import Container, Item, Location, Lot, Serial, Stock
from udipick.db.models_receiving import PutawayTask
from udipick.domain import receiving as rules
from udipick.domain.access import Actor
from udipick.domain.errors import Conflict, NotFound
from udipick.domain.expiry import barcode_expired
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


class PutawayTaskView(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    """A licence plate to put away (or put away), what is on it and what kind of location it needs."""

    id: int
    lpn: str
    receipt: str
    status: str
    from_: str = msgspec.field(name="from")
    to: str | None
    needs: str
    contents: list[ContentLine]


class PutawayDone(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    """The answer to the destination scan."""

    task_id: int
    lpn: str
    from_: str = msgspec.field(name="from")
    to: str
    status: str
    contents: list[ContentLine]


async def _contents(session: AsyncSession, container_id: int, location_id: int, *, lock: bool = False) -> list[Any]:
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
        .where(Stock.container_id == container_id, Stock.location_id == location_id, Stock.quantity > 0)
        .order_by(Stock.id)
    )
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


async def task_views(
    session: AsyncSession, *, receipt_id: int | None = None, open_only: bool = True, task_ids: list[int] | None = None
) -> list[PutawayTaskView]:
    from_loc = Location.__table__.alias("from_loc")
    to_loc = Location.__table__.alias("to_loc")
    q = (
        select(PutawayTask, Container.code, from_loc.c.code.label("from_code"), to_loc.c.code.label("to_code"))
        .join(Container, Container.id == PutawayTask.container_id)
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
    for task, lpn, from_code, to_code in (await session.execute(q)).all():
        where = task.from_location_id if task.status == "open" else task.to_location_id
        rows = await _contents(session, task.container_id, where)
        out.append(
            PutawayTaskView(
                id=task.id,
                lpn=lpn,
                receipt=receipt_number(task.receipt_id),
                status=task.status,
                from_=from_code,
                to=to_code,
                needs=rules.needed_location(_content_facts(rows)),
                contents=_content_lines(rows),
            )
        )
    return out


async def putaway_tasks(db: async_sessionmaker) -> list[PutawayTaskView]:
    async with db() as session:
        return await task_views(session)


async def identify_putaway(
    db: async_sessionmaker, settings: Settings, raw: str, *, today: dt.date
) -> list[PutawayTaskView]:
    """First putaway scan: the licence plate, or an item on one; answers the open task(s) it names."""
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
            ids = (
                await session.scalars(
                    select(PutawayTask.id)
                    .join(
                        Stock,
                        and_(
                            Stock.container_id == PutawayTask.container_id,
                            Stock.location_id == PutawayTask.from_location_id,
                        ),
                    )
                    .where(PutawayTask.status == "open", Stock.item_id == match.item_id, Stock.quantity > 0)
                    .distinct()
                )
            ).all()
            if not ids:
                raise NotFound(f"no open putaway for {match.erp_id}", item=match.erp_id)
        return await task_views(session, task_ids=list(ids))


async def _location_facts(session: AsyncSession, loc: Location) -> rules.LocationFacts:
    zone_types = set(
        (
            await session.scalars(
                select(Location.type).where(Location.warehouse_id == loc.warehouse_id, Location.zone == loc.zone)
            )
        ).all()
    )
    return rules.LocationFacts(
        code=loc.code,
        type=loc.type,
        frozen=loc.frozen,
        cold_zone="cold" in zone_types,
        bonded_zone="bonded" in zone_types,
    )


async def confirm_putaway(
    db: async_sessionmaker,
    actor: Actor,
    settings: Settings,
    task_id: int,
    client_scan_id: uuid.UUID,
    raw: str,
    *,
    today: dt.date,
) -> Reply:
    """Second putaway scan: the destination. It must fit every piece of stock on the plate."""
    user_id = receiving_user(actor)

    async def decide_and_write(session: AsyncSession) -> PutawayDone:
        task = (
            await session.execute(select(PutawayTask).where(PutawayTask.id == task_id).with_for_update())
        ).scalar_one_or_none()
        if task is None:
            raise NotFound(f"no putaway task {task_id}", task=task_id)
        lpn = await session.scalar(select(Container.code).where(Container.id == task.container_id))
        if task.status != "open":
            to = await session.scalar(select(Location.code).where(Location.id == task.to_location_id))
            raise Conflict(f"{lpn} was already put away to {to}", lpn=lpn, location=to)
        scan = scans.read(raw, settings, today)
        if scan.kind != "location":
            raise NotFound(f"{raw.strip()} is not a location label: scan the destination's label", kind=scan.kind)
        dest = await scans.match_location(session, scan)
        if dest is None:
            raise NotFound(f"no location {raw.strip()}", location=raw.strip())
        from_code = await session.scalar(select(Location.code).where(Location.id == task.from_location_id))
        rows = await _contents(session, task.container_id, task.from_location_id, lock=True)
        if not rows:
            raise NotFound(f"{lpn} is empty at {from_code}: nothing to put away", lpn=lpn)
        rules.check_putaway(_content_facts(rows), await _location_facts(session, dest))
        number = receipt_number(task.receipt_id)
        # into a saleable location the plate is emptied, so pickers take units from the location;
        # quarantine keeps the plate together until QC decides
        to_container = None if dest.type in PICKABLE_TYPES else task.container_id
        await post_movements(
            session,
            actor,
            [
                Movement(
                    "putaway",
                    item_id=r.item_id,
                    quantity=r.quantity,
                    lot_id=r.lot_id,
                    serial_id=r.serial_id,
                    from_location_id=task.from_location_id,
                    from_container_id=task.container_id,
                    from_status=r.status,
                    to_location_id=dest.id,
                    to_container_id=to_container,
                    to_status=r.status,
                    document_type="receipt",
                    document_id=number,
                )
                for r in rows
            ],
        )
        await session.execute(update(Container).where(Container.id == task.container_id).values(location_id=dest.id))
        serial_ids = [r.serial_id for r in rows if r.serial_id is not None]
        if serial_ids:
            await session.execute(update(Serial).where(Serial.id.in_(serial_ids)).values(location_id=dest.id))
        await session.execute(
            update(PutawayTask)
            .where(PutawayTask.id == task.id)
            .values(
                status="done", to_location_id=dest.id, done_by=user_id, done_device=actor.device_id, done_at=func.now()
            )
        )
        contents = _content_lines(rows)
        await emit(
            session,
            actor,
            PutawayCompleted(
                lpn=lpn,
                receipt=number,
                from_location=from_code,
                to_location=dest.code,
                contents=msgspec.to_builtins(contents),
            ),
        )
        return PutawayDone(task_id=task.id, lpn=lpn, from_=from_code, to=dest.code, status="done", contents=contents)  # type: ignore[arg-type]  # the task's foreign keys guarantee the plate and location codes

    return await once(db, client_scan_id, "putaway.confirm", actor, decide_and_write)

"""Replenishment: plan moves from reserve to the pick face, confirm them with scans, cancel them.

Planning is query, snapshot, decide, apply: the items are locked with the allocator's per-item lock
(so a wave being released and a planner run never plan on each other's stale numbers), their stock
rows are read as the same ``Candidate`` values allocation reads, ``domain.replenishment`` decides,
and the tasks, their reservations (``stock.reserved`` on the reserve row) and
``replenishment.created.v1`` / ``replenishment.increased.v1`` events are written in one transaction.

Planning runs after a wave is released (``after_wave``), on a supervisor's request
(``POST /api/v1/replenishment/plan``) and every few minutes inside ``udipick serve``
(``planner_in_background``); every run sees the open tasks, so running it again never adds a task
for units already on their way.

A confirm is three scans (source location, goods, pick face), decided by the pure rule and written
with the ledger movement (``move``), the released reservation, the task and
``replenishment.confirmed.v1`` in one transaction; a replayed ``clientScanId`` gets its first answer.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Annotated, Any, Literal

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from udipick.config import Settings
from udipick.db.ledger import Movement, post_movements
from udipick.domain import errors as e
from udipick.domain.access import Actor
from udipick.domain.expiry import barcode_expired
from udipick.domain.problem import OrProblem, problem_body
from udipick.domain.replenishment import (
    FACE_TYPES,
    ItemNeed,
    ItemPlan,
    LocationScan,
    MoveScan,
    OpenTask,
    PickFace,
    TaskView,
    judge_replenishment_scan,
    plan_replenishment,
)
from udipick.services import periodic, replay, scans
from udipick.services.events import (
    ReplenishmentCancelled,
    ReplenishmentConfirmed,
    ReplenishmentCreated,
    ReplenishmentIncreased,
    emit,
)

# the allocator's stock read and per-item lock: replenishment must judge stock exactly as allocation
# does, and queue behind the same lock (services/picking.py owns both)
# a replenishment task names its item and locations as a pick task does
from udipick.services.picking import (
    CANDIDATES,
    ReleasedWave,
    TaskItem,
    TaskLocation,
    candidate_of,
    candidates_of,
    lock_items,
)

log = logging.getLogger(__name__)

#: who planned, when no person did (the periodic planner)
PLANNER = Actor(username="replenishment-planner")


def task_number(task_id: int) -> str:
    return f"RPL-{task_id:06d}"


# ---- answers ----------------------------------------------------------------------------------------


class ReplenishmentTask(msgspec.Struct, rename="camel"):
    """One lot to move from a reserve location to the item's pick face."""

    task_id: int
    #: ``RPL-000042``: the task as people name it (and the ledger's document id)
    number: str
    status: Literal["open", "done", "cancelled"]
    wave_id: int | None
    item: TaskItem
    lot: str | None
    expiry: dt.date | None
    from_: TaskLocation = msgspec.field(name="from")
    to: TaskLocation
    quantity: int
    moved: int
    #: what is still to move (0 once the task is done or cancelled)
    remaining: int
    #: the pick face's numbers when the planner created it
    reason: str
    #: ISO 8601 timestamps with offset
    created_at: str
    done_at: str | None
    cancelled_at: str | None
    cancel_reason: str | None


class CancelledTask(ReplenishmentTask):
    #: units the task still reserved at the source, free again now
    released: int


class NoPickFace(msgspec.Struct, rename="camel"):
    """An item that needs replenishment but has no usable pick face to fill."""

    item: str
    gtin: str
    needed: int
    reason: str


class NotCovered(msgspec.Struct, rename="camel"):
    """Units of an item the pick face needs that reserve cannot give (none left, or none eligible)."""

    item: str
    gtin: str
    missing: int
    reason: str


class ReplenishmentPlan(msgspec.Struct, rename="camel"):
    wave_id: int | None
    #: the tasks this run created or raised
    tasks: list[ReplenishmentTask]
    no_pick_face: list[NoPickFace]
    not_covered: list[NotCovered]


class ReplenishmentMoved(msgspec.Struct, rename="camel"):
    """A confirmed move: what this scan moved and where the task stands."""

    task_id: int
    number: str
    task_status: Literal["open", "done"]
    item: str
    gtin: str
    lot: str | None
    expiry: dt.date | None
    #: source and pick face location codes
    from_: str = msgspec.field(name="from")
    to: str
    units: int
    moved: int
    remaining: int


# ---- planning ---------------------------------------------------------------------------------------

#: items worth a look: open picks from reserve, or a minimum to keep on the face; serialised items are
#: picked where each unit lies and are never replenished
_ITEMS_ALL = """
SELECT t.item_id FROM pick_tasks t
  JOIN locations loc ON loc.id = t.location_id
  JOIN items i ON i.id = t.item_id
 WHERE t.status = 'open' AND loc.type = 'reserve' AND NOT i.serial_tracked
UNION
SELECT i.id FROM items i WHERE i.replenish_min > 0 AND NOT i.serial_tracked
"""
_ITEMS_OF_WAVE = """
SELECT DISTINCT t.item_id FROM pick_tasks t JOIN items i ON i.id = t.item_id
 WHERE t.wave_id = :wave AND NOT i.serial_tracked
"""
#: open picks' demand from reserve summed in one pass over the open tasks (a sum per item, correlated,
#: read the open tasks once per item: 0.8 s for a 1,000-item wave)
_NEEDS = """
SELECT i.id, i.erp_id, i.gtin, i.min_shelf_life_days, coalesce(i.replenish_min, 0) AS minimum, coalesce(r.demand, 0) AS demand
  FROM items i
  LEFT JOIN (SELECT t.item_id, sum(t.quantity - t.picked) AS demand FROM pick_tasks t JOIN locations loc ON loc.id = t.location_id
              WHERE t.status = 'open' AND loc.type = 'reserve' AND t.item_id = ANY(CAST(:items AS int[]))
              GROUP BY t.item_id) r ON r.item_id = i.id
 WHERE i.id = ANY(CAST(:items AS int[])) ORDER BY i.id
"""
_FACES = """
SELECT DISTINCT ON (s.item_id, loc.id) s.item_id, loc.id AS location_id, loc.code AS location, loc.pick_sequence, loc.frozen,
       EXISTS (SELECT 1 FROM udipick_location_block(p_item_id => s.item_id, p_location_id => loc.id)) AS blocked,
       -- a hold on the location itself (item, lot and serial holds are on the stock, judged with it)
       EXISTS (SELECT 1 FROM udipick_stock_hold(p_item_id => NULL, p_lot_id => NULL, p_serial_id => NULL,
                                                p_location_id => loc.id)) AS held
  FROM stock s JOIN locations loc ON loc.id = s.location_id
 WHERE s.item_id = ANY(CAST(:items AS int[])) AND s.container_id IS NULL AND loc.type = ANY(CAST(:types AS text[]))
 ORDER BY s.item_id, loc.id
"""
_OPEN_TASKS = """
SELECT id, item_id, lot_id, from_location_id, to_location_id, quantity - moved AS remaining, stock_id FROM replenishment_tasks
 WHERE status = 'open' AND item_id = ANY(CAST(:items AS int[])) ORDER BY id FOR UPDATE
"""


def _reason(plan: ItemPlan, need: ItemNeed, wave_id: int | None) -> str:
    assert plan.face is not None
    text_ = (
        f"pick face {plan.face.location}: {plan.available} free, {plan.incoming} on the way; open picks need "
        f"{need.reserve_demand} from reserve; minimum {need.minimum}"
    )
    return text_ + (f"; after wave {wave_id}" if wave_id is not None else "")


async def plan(
    db: async_sessionmaker, actor: Actor, *, today: dt.date, wave_id: int | None = None
) -> ReplenishmentPlan:
    """Create (or raise) the replenishment tasks the pick faces need now; all items, or the wave's."""
    async with db.begin() as session:
        if wave_id is not None:
            if await session.scalar(text("SELECT id FROM waves WHERE id = :w"), {"w": wave_id}) is None:
                raise e.NotFound(f"no wave {wave_id}", waveId=wave_id)
            items = list((await session.scalars(text(_ITEMS_OF_WAVE), {"wave": wave_id})).all())
        else:
            items = list((await session.scalars(text(_ITEMS_ALL))).all())
        result = ReplenishmentPlan(wave_id=wave_id, tasks=[], no_pick_face=[], not_covered=[])
        if not items:
            return result
        items.sort()
        await lock_items(session, items)
        need_rows = (await session.execute(text(_NEEDS), {"items": items})).all()
        # an item whose open picks take nothing from reserve and that keeps no minimum on its face wants
        # nothing: its stock is not read (a 10,000-line wave over 1,000 items would read every stock row)
        needs = [
            ItemNeed(r.id, int(r.demand), int(r.minimum), r.min_shelf_life_days)
            for r in need_rows
            if int(r.demand) + int(r.minimum) > 0
        ]
        names = {r.id: (r.erp_id, r.gtin) for r in need_rows}
        items = [n.item_id for n in needs]
        if not items:
            return result
        stock = candidates_of(
            await session.execute(
                text(CANDIDATES + " AND s.item_id = ANY(CAST(:items AS int[])) AND s.quantity > 0 ORDER BY s.id"),
                {"items": items},
            )
        )
        faces = [
            PickFace(r.item_id, r.location_id, r.location, r.pick_sequence, r.frozen, r.blocked, r.held)
            for r in (await session.execute(text(_FACES), {"items": items, "types": list(FACE_TYPES)})).all()
        ]
        open_tasks = [OpenTask(*r) for r in (await session.execute(text(_OPEN_TASKS), {"items": items})).all()]
        plans = plan_replenishment(needs, stock, faces, open_tasks, today=today)

        by_item = {n.item_id: n for n in needs}
        touched: list[int] = []
        for p in plans:
            erp_id, gtin = names[p.item_id]
            if p.face is None:
                # the plan names a reason whenever units are missing
                result.no_pick_face.append(NoPickFace(item=erp_id, gtin=gtin, needed=p.missing, reason=p.reason or ""))
                continue
            if p.missing:
                result.not_covered.append(NotCovered(item=erp_id, gtin=gtin, missing=p.missing, reason=p.reason or ""))
            reason = _reason(p, by_item[p.item_id], wave_id)
            for m in p.moves:
                c = m.candidate
                reserved = await session.scalar(
                    text(
                        "UPDATE stock SET reserved = reserved + :q WHERE id = :id AND quantity - reserved >= :q RETURNING id"
                    ),
                    {"q": m.quantity, "id": c.stock_id},
                )
                if reserved is None:
                    raise e.StockChanged("stock changed while planning replenishment; send the same request again")
                common = dict(
                    item=erp_id,
                    gtin=gtin,
                    lot=c.lot,
                    expiry=c.expiry,
                    from_location=c.location,
                    to_location=m.to.location,
                    wave_id=wave_id,
                    reason=reason,
                )
                if m.task_id is None:
                    task_id = await session.scalar(
                        text(
                            "INSERT INTO replenishment_tasks (item_id, lot_id, stock_id, from_location_id, to_location_id, quantity,"
                            " reason, wave_id, created_by) VALUES (:item, :lot, :stock, :src, :dst, :q, :reason, :wave, :user)"
                            " RETURNING id"
                        ),
                        {
                            "item": p.item_id,
                            "lot": c.lot_id,
                            "stock": c.stock_id,
                            "src": c.location_id,
                            "dst": m.to.location_id,
                            "q": m.quantity,
                            "reason": reason,
                            "wave": wave_id,
                            "user": actor.user_id,
                        },
                    )
                    await emit(session, actor, ReplenishmentCreated(task_id=task_id, quantity=m.quantity, **common))
                else:
                    task_id = m.task_id
                    total = await session.scalar(
                        text(
                            "UPDATE replenishment_tasks SET quantity = quantity + :q WHERE id = :id AND status = 'open' RETURNING quantity"
                        ),
                        {"q": m.quantity, "id": task_id},
                    )
                    await emit(
                        session,
                        actor,
                        ReplenishmentIncreased(task_id=task_id, quantity=total, added=m.quantity, **common),
                    )
                touched.append(task_id)
        if touched:
            result.tasks = [task_of(r) for r in await _task_rows(session, ids=touched)]
    return result


class WaveWithReplenishment(ReleasedWave):
    """A released wave, and the replenishment its picks from reserve and emptied pick faces triggered."""

    #: the planning run's result, or the problem that stopped it (the wave stands either way)
    replenishment: Annotated[Any, OrProblem(ReplenishmentPlan)]


async def after_wave(
    db: async_sessionmaker, actor: Actor, wave: ReleasedWave, *, today: dt.date
) -> WaveWithReplenishment:
    """The released wave's answer with the replenishment it triggered (``replenishment``).

    The wave is committed already: a planning failure is logged and answered inside the wave's reply,
    never turned into an error for the release (the periodic planner catches up).
    """
    summary: ReplenishmentPlan | dict[str, Any]
    try:
        summary = await plan(db, actor, today=today, wave_id=wave.wave_id)
    except e.DomainError as exc:
        log.warning("replenishment after wave %s: %s", wave.wave_id, exc)
        summary = problem_body(exc)
    return WaveWithReplenishment(**msgspec.structs.asdict(wave), replenishment=summary)


def planner_in_background(db: async_sessionmaker, every_seconds: float) -> AbstractAsyncContextManager[None]:
    """Plan every ``every_seconds``: picks from reserve and per-item minimums get their tasks even when no
    wave release asked for them (a wave released by another process, a minimum raised by the ERP)."""
    return periodic.every(
        "replenishment-planner",
        every_seconds,
        lambda: plan(db, PLANNER, today=dt.date.today()),
        first_after=every_seconds,
    )


# ---- task list ------------------------------------------------------------------------------------

_TASK = """
SELECT r.id, r.item_id, r.lot_id, r.stock_id, r.from_location_id, r.to_location_id, r.quantity, r.moved, r.status,
       r.reason, r.wave_id, r.created_at, r.done_at, r.cancelled_at, r.cancel_reason,
       i.erp_id AS item_erp_id, i.name AS item_name, i.gtin, i.lot_tracked, l.lot, l.expiry, i.udi_agency,
       (SELECT dd.di FROM item_dis dd WHERE dd.item_id = i.id AND dd.agency = i.udi_agency AND dd.pack_level = 'each')
         AS udi_di,
       f.code AS from_code, f.barcode AS from_barcode, f.pick_sequence AS from_sequence,
       t.code AS to_code, t.barcode AS to_barcode, t.frozen AS to_frozen,
       EXISTS (SELECT 1 FROM udipick_location_block(p_item_id => r.item_id, p_location_id => r.to_location_id)) AS to_blocked
  FROM replenishment_tasks r
  JOIN items i ON i.id = r.item_id
  JOIN locations f ON f.id = r.from_location_id
  JOIN locations t ON t.id = r.to_location_id
  LEFT JOIN lots l ON l.id = r.lot_id
"""


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def task_of(r: Any) -> ReplenishmentTask:
    return ReplenishmentTask(
        task_id=r.id,
        number=task_number(r.id),
        status=r.status,
        wave_id=r.wave_id,
        item=TaskItem(erp_id=r.item_erp_id, name=r.item_name, gtin=r.gtin),
        lot=r.lot,
        expiry=r.expiry,
        from_=TaskLocation(code=r.from_code, barcode=r.from_barcode),
        to=TaskLocation(code=r.to_code, barcode=r.to_barcode),
        quantity=r.quantity,
        moved=r.moved,
        remaining=r.quantity - r.moved if r.status == "open" else 0,
        reason=r.reason,
        created_at=r.created_at.isoformat(),
        done_at=_iso(r.done_at),
        cancelled_at=_iso(r.cancelled_at),
        cancel_reason=r.cancel_reason,
    )


async def _task_rows(session: AsyncSession, *, ids: list[int]) -> Sequence[Any]:
    return (
        await session.execute(text(_TASK + " WHERE r.id = ANY(CAST(:ids AS int[])) ORDER BY r.id"), {"ids": ids})
    ).all()


async def list_tasks(db: async_sessionmaker, *, status: str = "open", limit: int = 200) -> list[ReplenishmentTask]:
    """Tasks in the order a worker walks reserve (the source's pick sequence)."""
    async with db() as session:
        rows = (
            await session.execute(
                text(_TASK + " WHERE r.status = :status ORDER BY f.pick_sequence, f.code, r.id LIMIT :limit"),
                {"status": status, "limit": limit},
            )
        ).all()
    return [task_of(r) for r in rows]


async def _lock_task(session: AsyncSession, task_id: int) -> Any:
    """The task, locked, after the item's allocation lock (every path that changes reservations takes
    that first, so they queue instead of deadlocking)."""
    item_id = await session.scalar(text("SELECT item_id FROM replenishment_tasks WHERE id = :id"), {"id": task_id})
    if item_id is None:
        raise e.NotFound(f"no replenishment task {task_id}", taskId=task_id)
    await lock_items(session, [item_id])
    return (await session.execute(text(_TASK + " WHERE r.id = :id FOR UPDATE OF r"), {"id": task_id})).one()


def _not_open(task: Any) -> e.TaskNotOpen:
    return e.TaskNotOpen(
        f"{task_number(task.id)} is {task.status}: go to the next task", taskId=task.id, taskStatus=task.status
    )


# ---- confirm ----------------------------------------------------------------------------------------


def _location_scan(raw: str, settings: Settings, today: dt.date) -> LocationScan:
    where = scans.read(raw, settings, today)
    if where.kind == "location":
        return LocationScan(label=where.raw.strip(), shown=where.code or where.raw.strip())
    return LocationScan(label="", shown=where.raw.strip())


async def confirm(
    db: async_sessionmaker,
    actor: Actor,
    settings: Settings,
    *,
    task_id: int,
    client_scan_id: uuid.UUID,
    from_location_raw: str,
    raw: str,
    to_location_raw: str,
    quantity: int | None,
    today: dt.date,
) -> replay.Reply:
    """Move the task's units (or ``quantity`` of the scanned pack) from reserve to the pick face.

    ``quantity`` counts the scanned pack (a box GTIN with quantity 2 is two boxes), as in receiving;
    a barcode that carries its own count (AI 30/37) counts itself; neither: everything the task
    still needs. An unreadable barcode is refused before the database is asked (and not kept as the
    scan's answer); every other refusal is.
    """
    source_scan = _location_scan(from_location_raw, settings, today)
    goods = scans.read(raw, settings, today)
    destination_scan = _location_scan(to_location_raw, settings, today)

    async def decide_and_write(session: AsyncSession) -> ReplenishmentMoved:
        task = await _lock_task(session, task_id)
        if task.status != "open":
            raise _not_open(task)
        # the barcode's own expiry comes first: an expired unit is not moved to the pick face
        if (expired := barcode_expired(goods.expiry, goods.lot, today=today, doing="move it")) is not None:
            raise expired
        match = (
            None
            if goods.kind in ("location", "lpn", "tote", "badge", "sscc")
            else await scans.match_item(session, goods)
        )
        units = None
        if match is not None:
            if goods.quantity is not None:
                units = match.units
            elif quantity is not None:
                units = match.pack_quantity * quantity
        row = (await session.execute(text(CANDIDATES + " AND s.id = :id"), {"id": task.stock_id})).one_or_none()
        if row is None:
            raise e.StockChanged("the reserved stock row changed; send the same scan again")
        source = candidate_of(row)
        remaining = task.quantity - task.moved
        view = TaskView(
            task_id=task.id,
            item_id=task.item_id,
            item_name=task.item_name,
            gtin=task.gtin,
            lot_tracked=task.lot_tracked,
            lot=task.lot,
            from_location=task.from_code,
            from_barcode=task.from_barcode,
            to_location=task.to_code,
            to_barcode=task.to_barcode,
            remaining=remaining,
            to_frozen=task.to_frozen,
            to_blocked=task.to_blocked,
            udi_agency=task.udi_agency,
            udi_di=task.udi_di,
        )
        scan = MoveScan(
            source=source_scan,
            item_id=match.item_id if match else None,
            gtin=goods.gtin or goods.content_gtin,
            lot=goods.lot,
            units=units,
            destination=destination_scan,
        )
        moved_now = judge_replenishment_scan(view, scan, source, today=today)

        moved = task.moved + moved_now
        status: Literal["open", "done"] = "done" if moved == task.quantity else "open"
        (event_id,) = await emit(
            session,
            actor,
            ReplenishmentConfirmed(
                task_id=task.id,
                item=task.item_erp_id,
                gtin=task.gtin,
                lot=task.lot,
                expiry=task.expiry,
                from_location=task.from_code,
                to_location=task.to_code,
                quantity=moved_now,
                moved=moved,
                remaining=task.quantity - moved,
                task_status=status,
                client_scan_id=str(client_scan_id),
            ),
        )
        # the reservation first: the move takes the units out of the row, and reserved never exceeds quantity
        await session.execute(
            text("UPDATE stock SET reserved = reserved - :q WHERE id = :id"), {"q": moved_now, "id": task.stock_id}
        )
        await post_movements(
            session,
            actor,
            [
                Movement(
                    "move",
                    item_id=task.item_id,
                    quantity=moved_now,
                    lot_id=task.lot_id,
                    from_location_id=task.from_location_id,
                    from_status="available",
                    to_location_id=task.to_location_id,
                    to_status="available",
                    reason=f"replenishment of pick face {task.to_code}",
                    document_type="replenishment",
                    document_id=task_number(task.id),
                    event_id=event_id,
                )
            ],
        )
        if status == "done":
            await session.execute(
                text(
                    "UPDATE replenishment_tasks SET moved = :moved, status = 'done', done_at = now(), done_by = :user,"
                    " done_device = :device WHERE id = :id"
                ),
                {"moved": moved, "user": actor.user_id, "device": actor.device_id, "id": task.id},
            )
        else:
            await session.execute(
                text("UPDATE replenishment_tasks SET moved = :moved WHERE id = :id"), {"moved": moved, "id": task.id}
            )
        return ReplenishmentMoved(
            task_id=task.id,
            number=task_number(task.id),
            task_status=status,
            item=task.item_erp_id,
            gtin=task.gtin,
            lot=task.lot,
            expiry=task.expiry,
            from_=task.from_code,
            to=task.to_code,
            units=moved_now,
            moved=moved,
            remaining=task.quantity - moved,
        )

    return await replay.once(db, client_scan_id, f"replenish:{task_id}", actor, decide_and_write)


# ---- cancel -----------------------------------------------------------------------------------------


async def cancel(db: async_sessionmaker, actor: Actor, *, task_id: int, reason: str) -> CancelledTask:
    """A supervisor drops the task (the reserve is short, the face was refilled otherwise, ...): what it
    still reserved is free again; what it already moved stays moved."""
    reason = reason.strip()
    if not reason:
        raise e.MissingReason("cancelling a replenishment needs a reason", needs=["reason"])
    async with db.begin() as session:
        task = await _lock_task(session, task_id)
        if task.status != "open":
            raise _not_open(task)
        released = task.quantity - task.moved
        await session.execute(
            text("UPDATE stock SET reserved = reserved - :q WHERE id = :id"), {"q": released, "id": task.stock_id}
        )
        await session.execute(
            text(
                "UPDATE replenishment_tasks SET status = 'cancelled', cancelled_at = now(), cancelled_by = :user,"
                " cancel_reason = :reason WHERE id = :id"
            ),
            {"user": actor.user_id, "reason": reason, "id": task.id},
        )
        await emit(
            session,
            actor,
            ReplenishmentCancelled(
                task_id=task.id,
                item=task.item_erp_id,
                gtin=task.gtin,
                lot=task.lot,
                expiry=task.expiry,
                from_location=task.from_code,
                to_location=task.to_code,
                quantity=task.quantity,
                moved=task.moved,
                released=released,
                reason=reason,
            ),
        )
        (row,) = await _task_rows(session, ids=[task.id])
    return CancelledTask(**msgspec.structs.asdict(task_of(row)), released=released)

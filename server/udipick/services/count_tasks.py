"""Cycle counts (盘点): count tasks by location, zone, item or lot; blind counts; recount; approval.

A task expands to lines, one per location and item with stock on the books there. While a line is
not done its location is frozen (``locations.frozen``; ``count_freezes`` keeps the flag it had): the
allocator plans no pick there, the pick write and replenishment refuse it, putaway refuses it, and
the pick scan says ``location-under-count``. A short pick's task is the exception: the short pick's
item block (``location_blocks``) already closes the location for that item, and the rest of the
location stays pickable.

The counter never sees the books. A line's first count is compared with them under the allocator's
item lock: within the tolerance (``Settings.count_tolerance_*``, ``domain.counting.within_tolerance``)
the difference is booked at once with the reason ``within-tolerance``; beyond it another user
recounts, blind too. A recount equal to the books ends the line with nothing booked (the first count
was wrong); any other recount waits for a supervisor, who approves it with a reason code. Booking
writes ``count`` ledger movements (the stock follows through the ledger trigger), ``count.adjusted.v1``
per lot or serial, and an audit record, in one transaction.

Units of a lot past its expiry are booked in status ``expired``, never ``available``; a lot udipick
never received is counted in when its barcode carried the expiry (the lot is created), refused
otherwise.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from udipick.config import Settings
from udipick.db.ledger import Movement, post_movements
from udipick.domain import errors as e
from udipick.domain.access import Actor
from udipick.domain.allocation import PICKABLE_TYPES
from udipick.domain.counting import (
    AUTO_REASON,
    Booked,
    Counted,
    CountLine,
    Tolerance,
    abc_classes,
    check_counted,
    check_reason,
    check_recounter,
    compare_count,
    count_due,
    counted_status,
    reservation_shortfalls,
    units_off,
    within_tolerance,
)
from udipick.services import replay
from udipick.services.counts import _found_serial, _Item, _item, _location
from udipick.services.events import CountAdjusted, emit
from udipick.services.identity import audit
from udipick.services.picking import lock_items

#: stock statuses a count covers: loose units on the shelf, saleable or past their expiry
COUNTED_STATUSES = ("available", "expired")


class CountedIn(msgspec.Struct, rename="camel"):
    """One line the counter sends: units of a lot (quantity entry), or one serial; ``expiry`` as the barcode said."""

    quantity: int
    lot: str | None = None
    serial: str | None = None
    expiry: dt.date | None = None


class TaskLineView(msgspec.Struct, rename="camel"):
    line_id: int
    location: str
    location_barcode: str
    item: str
    item_name: str
    gtin: str
    lot_tracked: bool
    serial_tracked: bool
    #: open (first count), recount (another user), review (a supervisor), done
    status: str
    #: the user asking made this line's first count: the recount is someone else's (the handheld hides it)
    counted_first: bool = False
    #: for supervisors only (``GET /count-tasks/{id}``, review): expected against counted per lot; never on handhelds
    compared: list[dict[str, Any]] | None = None
    units_off: int | None = None
    first_by: str | None = None
    recount_by: str | None = None
    reason: str | None = None


class CountTaskView(msgspec.Struct, rename="camel"):
    task_id: int
    kind: str
    target: str
    origin: str
    status: str
    note: str | None
    created_at: dt.datetime
    lines: list[TaskLineView]


class CountSubmitted(msgspec.Struct, rename="camel"):
    line_id: int
    task_id: int
    #: done (booked or nothing to book), recount (another user must count it again), review (a supervisor decides)
    status: str
    #: lots or serials whose difference was booked by this count (within the tolerance)
    adjusted: int
    task_status: str


class CountApproved(msgspec.Struct, rename="camel"):
    line_id: int
    task_id: int
    adjusted: int
    reason: str
    task_status: str


# ---- creating tasks ----------------------------------------------------------------------------------

_PAIRS = """
SELECT DISTINCT s.location_id, s.item_id FROM stock s JOIN locations loc ON loc.id = s.location_id
 WHERE s.quantity > 0 AND s.container_id IS NULL AND s.status IN ('available', 'expired')
   AND loc.type = ANY(CAST(:types AS text[])) AND {where}
 ORDER BY s.location_id, s.item_id
"""


async def _pairs(
    session: AsyncSession, kind: str, *, location: str | None, zone: str | None, item: str | None, lot: str | None
) -> tuple[str, int | None, list[tuple[int, int]]]:
    """The task's target as stored, its item, and the (location, item) pairs it counts."""
    params: dict[str, Any] = {"types": list(PICKABLE_TYPES)}
    item_id: int | None = None
    if kind == "location":
        if not location:
            raise e.InvalidCount("a location count needs the location", pointer="/location")
        params["loc"], target = await _location(session, location)
        where = "s.location_id = :loc"
        if item:  # one item at the location (a short pick's count)
            it = await _item(session, item)
            params["item"], item_id = it.id, it.id
            where += " AND s.item_id = :item"
    elif kind == "zone":
        if not zone:
            raise e.InvalidCount("a zone count needs the zone", pointer="/zone")
        params["zone"], target, where = zone, zone, "loc.zone = :zone"
    else:
        if not item:
            raise e.InvalidCount(f"a {kind} count needs the item", pointer="/item")
        it = await _item(session, item)
        item_id, params["item"], target, where = it.id, it.id, it.erp_id, "s.item_id = :item"
        if kind == "lot":
            if not lot:
                raise e.InvalidCount("a lot count needs the lot", pointer="/lot")
            lot_id = await session.scalar(
                text("SELECT id FROM lots WHERE item_id = :i AND lot = :l"), {"i": it.id, "l": lot}
            )
            if lot_id is None:
                raise e.UnknownLot(f"lot {lot} of {it.erp_id} is not known", item=it.erp_id, lot=lot, pointer="/lot")
            params["lot"], target = lot_id, f"{it.erp_id}/{lot}"
            where += " AND s.lot_id = :lot"
    rows = (await session.execute(text(_PAIRS.format(where=where)), params)).all()
    if kind == "location" and not rows and item_id is not None:  # nothing left on the books: count it all the same
        rows = [(params["loc"], item_id)]
    if not rows:
        raise e.NotFound(f"nothing on the books to count for {kind} {target}", kind=kind, target=target)
    return target, item_id, [(r[0], r[1]) for r in rows]


async def freeze(session: AsyncSession, location_ids: list[int]) -> None:
    """Close locations to picking and putaway for a count, remembering whether they were frozen already."""
    await session.execute(
        text(
            "INSERT INTO count_freezes (location_id, was_frozen) SELECT id, frozen FROM locations"
            " WHERE id = ANY(CAST(:ids AS int[])) ON CONFLICT DO NOTHING"
        ),
        {"ids": location_ids},
    )
    await session.execute(
        text("UPDATE locations SET frozen = true WHERE id = ANY(CAST(:ids AS int[])) AND NOT frozen"),
        {"ids": location_ids},
    )


async def add_task(
    session: AsyncSession,
    actor: Actor | None,
    *,
    kind: str,
    origin: str,
    location: str | None = None,
    zone: str | None = None,
    item: str | None = None,
    lot: str | None = None,
    note: str | None = None,
) -> int:
    """A count task and its lines, in the caller's transaction; the counted locations are frozen (but for
    a short pick's task, whose item block already closes the location for that item)."""
    target, item_id, pairs = await _pairs(session, kind, location=location, zone=zone, item=item, lot=lot)
    task_id = await session.scalar(
        text(
            "INSERT INTO count_tasks (kind, target, origin, item_id, note, created_by)"
            " VALUES (:k, :t, :o, :i, :n, :u) RETURNING id"
        ),
        {"k": kind, "t": target, "o": origin, "i": item_id, "n": note, "u": actor.user_id if actor else None},
    )
    await session.execute(
        text(
            "INSERT INTO count_lines (task_id, location_id, item_id)"
            " SELECT :t, l, i FROM unnest(CAST(:locs AS int[]), CAST(:items AS int[])) AS p(l, i)"
        ),
        {"t": task_id, "locs": [p[0] for p in pairs], "items": [p[1] for p in pairs]},
    )
    if origin != "short-pick":
        await freeze(session, sorted({p[0] for p in pairs}))
    await audit(
        session,
        actor,
        "count.task.created",
        "ok",
        target=f"count-task:{task_id}",
        username=None if actor else "count-schedule",
        detail={"kind": kind, "target": target, "origin": origin, "lines": len(pairs)},
        reason=note,
    )
    return int(task_id)


async def create_task(
    db: async_sessionmaker,
    actor: Actor,
    *,
    kind: str,
    location: str | None,
    zone: str | None,
    item: str | None,
    lot: str | None,
    note: str | None,
) -> CountTaskView:
    async with db.begin() as session:
        task_id = await add_task(
            session, actor, kind=kind, origin="supervisor", location=location, zone=zone, item=item, lot=lot, note=note
        )
        return await _view(session, task_id, supervisor=True)


# ---- reading tasks -----------------------------------------------------------------------------------

_LINES = """
SELECT cl.id, cl.task_id, cl.status, cl.compared, cl.units_off, cl.reason, cl.first_by, cl.recount_by,
       loc.code AS location, loc.barcode AS location_barcode, i.erp_id AS item, i.name AS item_name, i.gtin,
       i.lot_tracked, i.serial_tracked, fu.username AS first_name, ru.username AS recount_name
  FROM count_lines cl
  JOIN locations loc ON loc.id = cl.location_id
  JOIN items i ON i.id = cl.item_id
  LEFT JOIN users fu ON fu.id = cl.first_by
  LEFT JOIN users ru ON ru.id = cl.recount_by
 WHERE cl.task_id = ANY(CAST(:tasks AS int[]))
 ORDER BY loc.pick_sequence, loc.code, i.erp_id, cl.id
"""


def _line_view(r: Any, *, supervisor: bool, user_id: int | None = None) -> TaskLineView:
    return TaskLineView(
        line_id=r.id,
        location=r.location,
        location_barcode=r.location_barcode,
        item=r.item,
        item_name=r.item_name,
        gtin=r.gtin,
        lot_tracked=r.lot_tracked,
        serial_tracked=r.serial_tracked,
        status=r.status,
        counted_first=user_id is not None and r.first_by == user_id and r.status == "recount",
        compared=r.compared if supervisor else None,
        units_off=r.units_off if supervisor else None,
        first_by=r.first_name if supervisor else None,
        recount_by=r.recount_name if supervisor else None,
        reason=r.reason if supervisor else None,
    )


async def _views(
    session: AsyncSession, where: str, params: dict[str, Any], *, supervisor: bool, user_id: int | None = None
) -> list[CountTaskView]:
    tasks = (
        await session.execute(
            text(
                "SELECT id, kind, target, origin, status, note, created_at FROM count_tasks t"
                f" WHERE {where} ORDER BY id DESC LIMIT 200"
            ),
            params,
        )
    ).all()
    lines = (await session.execute(text(_LINES), {"tasks": [t.id for t in tasks]})).all()
    return [
        CountTaskView(
            task_id=t.id,
            kind=t.kind,
            target=t.target,
            origin=t.origin,
            status=t.status,
            note=t.note,
            created_at=t.created_at,
            lines=[_line_view(r, supervisor=supervisor, user_id=user_id) for r in lines if r.task_id == t.id],
        )
        for t in tasks
    ]


async def _view(session: AsyncSession, task_id: int, *, supervisor: bool) -> CountTaskView:
    views = await _views(session, "t.id = :id", {"id": task_id}, supervisor=supervisor)
    if not views:
        raise e.NotFound(f"count task {task_id} does not exist", taskId=task_id)
    return views[0]


async def task(db: async_sessionmaker, task_id: int) -> CountTaskView:
    """A supervisor's view: what was expected and counted, by whom."""
    async with db() as session:
        return await _view(session, task_id, supervisor=True)


async def tasks(
    db: async_sessionmaker, *, status: str | None, supervisor: bool, user_id: int | None = None
) -> list[CountTaskView]:
    """Count tasks, newest first. Handhelds get them blind (no quantities): the books are not shown to a counter."""
    async with db() as session:
        if status is None:
            return await _views(session, "true", {}, supervisor=supervisor, user_id=user_id)
        return await _views(session, "t.status = :s", {"s": status}, supervisor=supervisor, user_id=user_id)


# ---- counting ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Bucket:
    stock_id: int
    lot_id: int | None
    lot: str | None
    expiry: dt.date | None
    serial_id: int | None
    serial: str | None
    status: str
    quantity: int
    reserved: int


_BOOK = """
SELECT s.id AS stock_id, s.lot_id, l.lot, l.expiry, s.serial_id, se.serial, s.status, s.quantity, s.reserved
  FROM stock s
  LEFT JOIN lots l ON l.id = s.lot_id
  LEFT JOIN serials se ON se.id = s.serial_id
 WHERE s.location_id = :loc AND s.item_id = :item AND s.container_id IS NULL
   AND s.status IN ('available', 'expired') AND (s.quantity > 0 OR s.reserved > 0)
 ORDER BY s.id
   FOR UPDATE OF s
"""


async def _book(session: AsyncSession, location_id: int, item_id: int) -> list[_Bucket]:
    """The item's loose stock at the location that a count covers, locked (quarantined, held or palletised
    units are not on the shelf to count: QC and putaway own them)."""
    rows = (await session.execute(text(_BOOK), {"loc": location_id, "item": item_id})).all()
    return [_Bucket(*r) for r in rows]


async def _lots(session: AsyncSession, it: _Item, counted: list[CountedIn], book: list[_Bucket]) -> dict[str, tuple]:
    """Lot id and expiry of every lot counted or booked; a lot never received is created when the counter's
    barcode carried its expiry (GS1 AI 17: the unit itself says it), refused otherwise."""
    out: dict[str, tuple] = {b.lot: (b.lot_id, b.expiry) for b in book if b.lot is not None}
    wanted = {c.lot: c.expiry for c in counted if c.lot is not None and c.serial is None and c.lot not in out}
    if not wanted:
        return out
    rows = (
        await session.execute(
            text("SELECT id, lot, expiry FROM lots WHERE item_id = :i AND lot = ANY(CAST(:l AS text[]))"),
            {"i": it.id, "l": sorted(wanted)},
        )
    ).all()
    out.update({r.lot: (r.id, r.expiry) for r in rows})
    for name, expiry in sorted(wanted.items()):
        if name in out:
            continue
        if expiry is None:
            raise e.UnknownLot(
                f"lot {name} of {it.erp_id} was never received and the scan carried no expiry:"
                " scan the unit's full barcode (with its expiry), or receive it first",
                item=it.erp_id,
                lot=name,
                pointer="/lines",
            )
        lot_id = await session.scalar(
            text(
                "INSERT INTO lots (item_id, lot, expiry) VALUES (:i, :l, :x)"
                " ON CONFLICT (item_id, lot) DO UPDATE SET lot = EXCLUDED.lot RETURNING id"
            ),
            {"i": it.id, "l": name, "x": expiry},
        )
        out[name] = (lot_id, expiry)
    return out


def _stored(lines: list[CountedIn]) -> list[dict[str, Any]]:
    return [msgspec.to_builtins(ln) for ln in lines]


def _compared(result: list[CountLine]) -> list[dict[str, Any]]:
    return [
        {
            "lot": ln.lot,
            "serial": ln.serial,
            "expected": ln.expected,
            "counted": ln.counted,
            "difference": ln.difference,
        }
        for ln in result
    ]


async def _load_line(session: AsyncSession, line_id: int) -> Any:
    row = (
        await session.execute(
            text(
                "SELECT cl.id, cl.task_id, cl.location_id, cl.item_id, cl.status, cl.first_by, cl.first_count, cl.recount,"
                "       t.status AS task_status, t.origin, i.erp_id, loc.code AS location"
                "  FROM count_lines cl JOIN count_tasks t ON t.id = cl.task_id"
                "  JOIN items i ON i.id = cl.item_id JOIN locations loc ON loc.id = cl.location_id"
                " WHERE cl.id = :id FOR UPDATE OF cl"
            ),
            {"id": line_id},
        )
    ).first()
    if row is None:
        raise e.NotFound(f"count line {line_id} does not exist", lineId=line_id)
    if row.task_status != "open":
        raise e.CountLineNotOpen(
            f"count task {row.task_id} is {row.task_status}", lineId=line_id, taskStatus=row.task_status
        )
    return row


async def _compare(
    session: AsyncSession, it: _Item, location_id: int, lines: list[CountedIn]
) -> tuple[list[_Bucket], list[CountLine]]:
    counted = check_counted(
        [Counted(ln.lot, ln.serial, ln.quantity) for ln in lines],
        lot_tracked=it.lot_tracked,
        serial_tracked=it.serial_tracked,
    )
    await lock_items(session, [it.id])
    book = await _book(session, location_id, it.id)
    booked = [Booked(b.lot, b.serial, b.quantity, b.reserved) for b in book]
    return book, compare_count(booked, counted)


async def _item_by_id(session: AsyncSession, item_id: int) -> _Item:
    r = (
        await session.execute(
            text("SELECT id, erp_id, gtin, lot_tracked, serial_tracked FROM items WHERE id = :i"), {"i": item_id}
        )
    ).one()
    return _Item(r.id, r.erp_id, r.gtin, r.lot_tracked, r.serial_tracked)


async def _post(
    session: AsyncSession,
    actor: Actor,
    *,
    it: _Item,
    location_id: int,
    location: str,
    counted: list[CountedIn],
    book: list[_Bucket],
    result: list[CountLine],
    today: dt.date,
    reason: str,
    document_id: str,
) -> int:
    """Book ``result`` (expected against counted per lot or serial): ``count`` movements, ``count.adjusted.v1``.

    Counted units of a lot past its expiry land in ``expired``; units booked in the other status are
    booked out, so the stock of each lot at the location ends as counted, in the status it belongs in.
    Returns the number of lots or serials that changed."""
    short = reservation_shortfalls(result)
    if short:
        first = short[0]
        raise e.CountBelowReserved(
            f"open pick tasks hold {first.reserved} of {first.serial or first.lot or it.erp_id} at {location}"
            f" but {first.counted} were counted: report those tasks short first, then approve again",
            location=location,
            item=it.erp_id,
            lot=first.lot,
            serial=first.serial,
            counted=first.counted,
            reserved=first.reserved,
        )
    lots = await _lots(session, it, counted, book)
    plans: list[tuple[CountLine, int | None, int | None, dt.date | None, str, list[tuple[str, int]]]] = []
    for ln in result:
        mine = [
            b
            for b in book
            if (b.serial == ln.serial if ln.serial is not None else b.serial is None and b.lot == ln.lot)
        ]
        if ln.serial is not None:
            if mine:
                lot_id, serial_id, expiry, lot = mine[0].lot_id, mine[0].serial_id, mine[0].expiry, ln.lot
            else:
                serial_id, lot_id, lot, expiry = await _found_serial(session, it, ln)
        else:
            lot_id, expiry = lots.get(ln.lot, (None, None)) if ln.lot is not None else (None, None)
            serial_id, lot = None, ln.lot
        status = counted_status(expiry, today)
        moves: list[tuple[str, int]] = [(b.status, -b.quantity) for b in mine if b.status != status and b.quantity]
        here = sum(b.quantity for b in mine if b.status == status)
        if ln.counted != here:
            moves.append((status, ln.counted - here))
        if moves:
            line = CountLine(lot, ln.serial, ln.expected, ln.counted, ln.reserved)
            plans.append((line, lot_id, serial_id, expiry, status, moves))
    if not plans:
        return 0
    ids = await emit(
        session,
        actor,
        *[
            CountAdjusted(
                location=location,
                item=it.erp_id,
                gtin=it.gtin,
                lot=ln.lot,
                expiry=expiry,
                serial=ln.serial,
                status=status,
                book_quantity=ln.expected,
                counted_quantity=ln.counted,
                delta=ln.difference,
                reason=reason,
                count_id=document_id,
            )
            for ln, _, _, expiry, status, _ in plans
        ],
    )
    movements = [
        Movement(
            "count",
            item_id=it.id,
            quantity=abs(q),
            lot_id=lot_id,
            serial_id=serial_id,
            from_location_id=location_id if q < 0 else None,
            from_status=st if q < 0 else None,
            to_location_id=location_id if q > 0 else None,
            to_status=st if q > 0 else None,
            reason=f"{reason}; count at {location}: expected {ln.expected}, counted {ln.counted}",
            document_type="count",
            document_id=document_id,
            event_id=event_id,
        )
        for (ln, lot_id, serial_id, _, _, moves), event_id in zip(plans, ids, strict=True)
        for st, q in sorted(moves, key=lambda m: m[1])  # out before in
    ]
    await post_movements(session, actor, movements)
    lost = [sid for ln, _, sid, *_ in plans if sid is not None and ln.counted == 0]
    found = [sid for ln, _, sid, *_ in plans if sid is not None and ln.counted > 0]
    if lost:
        await session.execute(
            text("UPDATE serials SET location_id = NULL WHERE id = ANY(CAST(:ids AS int[]))"), {"ids": lost}
        )
    if found:
        await session.execute(
            text("UPDATE serials SET location_id = :l WHERE id = ANY(CAST(:ids AS int[]))"),
            {"l": location_id, "ids": found},
        )
    return len(plans)


async def _line_done(session: AsyncSession, line: Any) -> str:
    """After a line is done: lift a short pick's item block, close the task when no line is left, and give
    back the locations no open count covers any more. The task's status."""
    await session.execute(
        text(
            "UPDATE location_blocks SET cleared_at = now()"
            " WHERE location_id = :l AND item_id = :i AND cleared_at IS NULL"
        ),
        {"l": line.location_id, "i": line.item_id},
    )
    left = await session.scalar(
        text("SELECT count(*) FROM count_lines WHERE task_id = :t AND status <> 'done'"), {"t": line.task_id}
    )
    if left:
        return "open"
    await session.execute(
        text("UPDATE count_tasks SET status = 'closed', closed_at = now() WHERE id = :t"), {"t": line.task_id}
    )
    await thaw(session, line.task_id)
    return "closed"


async def thaw(session: AsyncSession, task_id: int) -> None:
    """Give back the task's locations that no other open count covers, with the frozen flag they had."""
    params = {"t": task_id}
    free = """
      f.location_id IN (SELECT location_id FROM count_lines WHERE task_id = :t)
      AND NOT EXISTS (SELECT 1 FROM count_lines cl JOIN count_tasks t ON t.id = cl.task_id
                       WHERE cl.location_id = f.location_id AND cl.status <> 'done' AND t.status = 'open'
                         AND t.origin <> 'short-pick')"""
    await session.execute(
        text(
            f"UPDATE locations l SET frozen = f.was_frozen FROM count_freezes f WHERE f.location_id = l.id AND {free}"
        ),
        params,
    )
    await session.execute(text(f"DELETE FROM count_freezes f WHERE {free}"), params)


async def submit_count(
    db: async_sessionmaker,
    actor: Actor,
    settings: Settings,
    *,
    line_id: int,
    client_scan_id: uuid.UUID,
    lines: list[CountedIn],
    today: dt.date,
) -> replay.Reply:
    """A blind count (first count or recount) of one task line, once per ``clientScanId``."""
    tolerance = Tolerance(settings.count_tolerance_units, settings.count_tolerance_percent)

    async def decide_and_write(session: AsyncSession) -> CountSubmitted:
        line = await _load_line(session, line_id)
        if line.status not in ("open", "recount"):
            raise e.CountLineNotOpen(
                f"count line {line_id} is {line.status}: it does not wait for a count",
                lineId=line_id,
                lineStatus=line.status,
            )
        recount = line.status == "recount"
        if recount:
            check_recounter(line.first_by, actor.user_id)
        it = await _item_by_id(session, line.item_id)
        book, result = await _compare(session, it, line.location_id, lines)
        off = units_off(result)
        # within the tolerance a first count is booked; a recount is booked only by a supervisor, unless it
        # agrees with the books exactly (then the first count was the mistake and nothing changes)
        adjusted, status = 0, "done"
        if not recount and within_tolerance(result, tolerance) or recount and off == 0:
            adjusted = await _post(
                session,
                actor,
                it=it,
                location_id=line.location_id,
                location=line.location,
                counted=lines,
                book=book,
                result=result,
                today=today,
                reason=AUTO_REASON,
                document_id=f"count-line:{line_id}",
            )
        else:
            status = "review" if recount else "recount"
            await _lots(session, it, lines, book)  # an unknown lot without expiry is refused now, not at approval
        count, by, at = ("recount", "recount_by", "recount_at") if recount else ("first_count", "first_by", "first_at")
        await session.execute(
            text(
                f"UPDATE count_lines SET status = :s, {count} = CAST(:c AS jsonb), {by} = :u, {at} = now(),"
                "       compared = CAST(:cmp AS jsonb), units_off = :off,"
                "       reason = coalesce(:r, reason) WHERE id = :id"
            ),
            {
                "s": status,
                "c": msgspec.json.encode(_stored(lines)).decode(),
                "u": actor.user_id,
                "cmp": msgspec.json.encode(_compared(result)).decode(),
                "off": off,
                "r": AUTO_REASON if adjusted else None,
                "id": line_id,
            },
        )
        task_status = await _line_done(session, line) if status == "done" else "open"
        return CountSubmitted(line_id, line.task_id, status, adjusted, task_status)

    return await replay.once(db, client_scan_id, f"count-line:{line_id}", actor, decide_and_write)


async def approve(
    db: async_sessionmaker, actor: Actor, *, line_id: int, reason: str, note: str | None, today: dt.date
) -> CountApproved:
    """A supervisor books a recounted difference: the recount against the books as they are now."""
    why = check_reason(reason, note)
    async with db.begin() as session:
        line = await _load_line(session, line_id)
        if line.status != "review":
            raise e.CountLineNotOpen(
                f"count line {line_id} is {line.status}: only a recounted line waits for approval",
                lineId=line_id,
                lineStatus=line.status,
            )
        it = await _item_by_id(session, line.item_id)
        counted = msgspec.convert(line.recount, list[CountedIn])
        book, result = await _compare(session, it, line.location_id, counted)
        adjusted = await _post(
            session,
            actor,
            it=it,
            location_id=line.location_id,
            location=line.location,
            counted=counted,
            book=book,
            result=result,
            today=today,
            reason=why,
            document_id=f"count-line:{line_id}",
        )
        await session.execute(
            text(
                "UPDATE count_lines SET status = 'done', approved_by = :u, approved_at = now(), reason = :r,"
                " compared = CAST(:cmp AS jsonb), units_off = :off WHERE id = :id"
            ),
            {
                "u": actor.user_id,
                "r": why,
                "cmp": msgspec.json.encode(_compared(result)).decode(),
                "off": units_off(result),
                "id": line_id,
            },
        )
        await audit(
            session,
            actor,
            "count.approved",
            "ok",
            target=f"count-line:{line_id}",
            reason=why,
            before={"lines": [{"lot": ln.lot, "serial": ln.serial, "quantity": ln.expected} for ln in result]},
            after={"lines": [{"lot": ln.lot, "serial": ln.serial, "quantity": ln.counted} for ln in result]},
            detail={"location": line.location, "item": line.erp_id, "task": line.task_id},
        )
        task_status = await _line_done(session, line)
        return CountApproved(line_id, line.task_id, adjusted, why, task_status)


async def cancel_task(db: async_sessionmaker, actor: Actor, *, task_id: int, note: str | None) -> CountTaskView:
    """A supervisor ends a task without booking what is left of it; its locations open again."""
    async with db.begin() as session:
        status = await session.scalar(text("SELECT status FROM count_tasks WHERE id = :t FOR UPDATE"), {"t": task_id})
        if status is None:
            raise e.NotFound(f"count task {task_id} does not exist", taskId=task_id)
        if status != "open":
            raise e.CountLineNotOpen(f"count task {task_id} is {status}", taskId=task_id, taskStatus=status)
        await session.execute(
            text("UPDATE count_tasks SET status = 'cancelled', closed_at = now() WHERE id = :t"), {"t": task_id}
        )
        await thaw(session, task_id)
        await audit(session, actor, "count.task.cancelled", "ok", target=f"count-task:{task_id}", reason=note)
        return await _view(session, task_id, supervisor=True)


async def under_count(conn: Any, location_id: int) -> int | None:
    """The open count task that froze this location, if any (asyncpg connection: the pick scan's)."""
    return await conn.fetchval(
        "SELECT t.id FROM count_lines cl JOIN count_tasks t ON t.id = cl.task_id"
        " WHERE cl.location_id = $1 AND cl.status <> 'done' AND t.status = 'open' AND t.origin <> 'short-pick'"
        " ORDER BY t.id LIMIT 1",
        location_id,
    )


# ---- the ABC schedule --------------------------------------------------------------------------------


class ScheduleRun(msgspec.Struct, rename="camel"):
    #: item ERP id → its class this run
    classes: dict[str, str]
    #: the count tasks created (one per item due)
    created: list[int]


async def schedule(
    db: async_sessionmaker, settings: Settings, *, today: dt.date, actor: Actor | None = None
) -> ScheduleRun:
    """Create item count tasks for the items whose class interval has passed since their last count.

    Items with stock on the shelf are classed by the ERP's ``abcClass`` or else by picks over the last
    ``count_abc_period_days`` (``domain.counting.abc_classes``); an item with an open task is skipped. At
    most ``count_schedule_max_tasks`` tasks a round, A items first: a new warehouse (nothing counted yet)
    is not frozen whole at once."""
    intervals = {"A": settings.count_days_a, "B": settings.count_days_b, "C": settings.count_days_c}
    async with db.begin() as session:
        # one round at a time: two servers running the schedule would create the same tasks twice
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('udipick-count-schedule'))"))
        rows = (
            await session.execute(
                text(
                    "SELECT i.id, i.erp_id, i.abc_class,"
                    "       (SELECT count(*) FROM stock_ledger m WHERE m.item_id = i.id AND m.movement = 'pick'"
                    "           AND m.occurred_at >= CAST(:today AS date) - CAST(:days AS int)) AS picks,"
                    "       (SELECT max(t.created_at)::date FROM count_tasks t WHERE t.item_id = i.id AND t.kind = 'item'"
                    "           AND t.status <> 'cancelled') AS last_counted,"
                    "       EXISTS (SELECT 1 FROM count_lines cl JOIN count_tasks t ON t.id = cl.task_id"
                    "                WHERE cl.item_id = i.id AND t.status = 'open') AS counting"
                    "  FROM items i"
                    " WHERE EXISTS (SELECT 1 FROM stock s JOIN locations loc ON loc.id = s.location_id"
                    "                WHERE s.item_id = i.id AND s.quantity > 0 AND s.container_id IS NULL"
                    "                  AND s.status IN ('available', 'expired') AND loc.type = ANY(CAST(:types AS text[])))"
                    " ORDER BY i.id"
                ),
                {"today": today, "days": settings.count_abc_period_days, "types": list(PICKABLE_TYPES)},
            )
        ).all()
        by_picks = abc_classes({r.id: r.picks for r in rows})
        classes = {r.erp_id: r.abc_class or by_picks[r.id] for r in rows}
        due = [r for r in rows if not r.counting and count_due(classes[r.erp_id], r.last_counted, today, intervals)]
        due.sort(key=lambda r: (classes[r.erp_id], r.id))  # A first; the rest comes in the next rounds
        created = [
            await add_task(
                session, actor, kind="item", origin="abc", item=r.erp_id, note=f"ABC class {classes[r.erp_id]}"
            )
            for r in due[: settings.count_schedule_max_tasks]
        ]
        return ScheduleRun(classes, created)


def schedule_in_background(db: async_sessionmaker, settings: Settings) -> Any:
    """Inside ``udipick serve`` (with the relay): the ABC schedule every ``count_schedule_every_seconds``."""
    from udipick.services import periodic

    async def round_() -> None:
        await schedule(db, settings, today=dt.date.today())

    # the first round after one interval, not at start: a server restarted often must not count more often
    every = settings.count_schedule_every_seconds
    return periodic.every("count-schedule", every, round_, first_after=every)

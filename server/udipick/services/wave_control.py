"""Wave and order control for supervisors: the wave board, cancels, put-backs, assignment and priority.

Cancels are load → decide → write: the scope's tasks are locked after the allocator's per-item lock
(``picking.lock_items``, the order every path that changes reservations takes), their picks read,
``domain.wave_control.plan_cancel`` decides, and the tasks, reservations, order lines, put-back tasks
and the ``wave.cancelled.v1`` / ``order.cancelled.v1`` / ``order.line-cancelled.v1`` event are written
in one transaction. A pick scan racing the cancel either commits first (and its units are put back)
or finds its task cancelled when ``udipick_pick_accept`` re-checks it, reads again and is refused with
``task-cancelled``: the pick path itself needs no extra query.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from udipick.config import Settings
from udipick.db.ledger import Movement, post_movements
from udipick.domain import errors as e
from udipick.domain.access import Actor
from udipick.domain.picking import check_location
from udipick.domain.wave_control import (
    CancelPlan,
    PickedUnits,
    TaskState,
    check_cancellable,
    order_status_after_wave_cancel,
    plan_cancel,
)
from udipick.services import replay, scans
from udipick.services.events import (
    OrderCancelled,
    OrderLineCancelled,
    PutBackConfirmed,
    PutBackLine,
    WaveCancelled,
    emit,
)
from udipick.services.identity import audit
from udipick.services.picking import TaskItem, TaskLocation, lock_items

WaveStatus = Literal["released", "done", "cancelled"]

# ---- answers ----------------------------------------------------------------------------------------


class WavePicker(msgspec.Struct, rename="camel"):
    username: str
    #: tasks of the wave assigned to the picker that are still open
    assigned_open: int
    #: accepted pick scans and the units they took
    scans: int
    units: int
    first_pick_at: dt.datetime | None
    last_pick_at: dt.datetime | None


class WaveShortLine(msgspec.Struct, rename="camel"):
    """A line of the wave's orders with units neither allocated nor picked (short at release or short-picked)."""

    order: str
    line_no: int
    item: str
    quantity: int
    allocated: int
    picked: int
    missing: int


class WaveOrder(msgspec.Struct, rename="camel"):
    order: str
    status: str
    priority: int
    lines_total: int
    lines_picked: int
    short_lines: int
    cancelled_lines: int
    units: int
    units_picked: int


class WaveSummary(msgspec.Struct, rename="camel"):
    """One wave on the board. ``status`` ``done``: released and no task left open. Lines are those of the
    wave's orders (cancelled lines and orders apart); a line is picked when all its units are, short when some of
    them are neither allocated nor picked. Units are those of the wave's pick tasks."""

    wave_id: int
    status: WaveStatus
    priority: int
    released_at: dt.datetime
    released_by: str | None
    allocation_date: dt.date
    orders: int
    lines_total: int
    lines_picked: int
    short_lines: int
    tasks_open: int
    units: int
    units_picked: int
    pickers: int
    #: the first accepted pick scan; the last one, once no task is open
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    cancel_reason: str | None


class WavePage(msgspec.Struct, rename="camel"):
    """Newest first; ``nextBefore``: pass it as ``before`` for the next page (``None``: this was the last)."""

    waves: list[WaveSummary]
    next_before: int | None


class WaveDetail(WaveSummary):
    order_lines: list[WaveOrder]
    short: list[WaveShortLine]
    picker_list: list[WavePicker]


class PutBackTask(msgspec.Struct, rename="camel"):
    put_back_id: int
    status: Literal["open", "done"]
    wave_id: int
    order: str
    item: TaskItem
    lot: str | None
    expiry: dt.date | None
    serial: str | None
    quantity: int
    #: where the units are (staging) and the tote they are in, if any
    from_: TaskLocation = msgspec.field(name="from")
    tote: str | None
    #: where they go back to (the location they were picked from): scan its label to confirm
    to: TaskLocation
    #: why (the cancel's target and reason)
    reason: str
    created_at: dt.datetime
    done_at: dt.datetime | None


class Cancelled(msgspec.Struct, rename="camel"):
    """What a cancel did: tasks cancelled, units whose reservation was released, put-back tasks created."""

    target: str
    reason: str
    tasks: int
    released: int
    put_back: int
    put_backs: list[PutBackTask]
    #: a wave's orders that are open again (to be released in another wave)
    reopened: list[str] = []


class TaskAssigned(msgspec.Struct, rename="camel"):
    task_id: int
    wave_id: int
    assigned_to: str | None
    previous: str | None


class WavePriority(msgspec.Struct, rename="camel"):
    wave_id: int
    priority: int
    previous: int


# ---- the board ---------------------------------------------------------------------------------------

_SUMMARY = """
SELECT w.id, st.status, w.priority, w.released_at, u.username AS released_by, w.allocation_date,
       w.cancelled_at, w.cancel_reason, tk.orders, tk.tasks_open, tk.units, tk.units_picked,
       ln.lines_total, ln.lines_picked, ln.short_lines, pk.pickers, pk.started_at, pk.last_pick_at
  FROM waves w
  LEFT JOIN users u ON u.id = w.released_by
  CROSS JOIN LATERAL (
       SELECT count(DISTINCT t.document_id) AS orders,
              count(*) FILTER (WHERE t.status = 'open') AS tasks_open,
              coalesce(sum(t.quantity) FILTER (WHERE t.status <> 'cancelled'), 0) AS units,
              coalesce(sum(t.picked) FILTER (WHERE t.status <> 'cancelled'), 0) AS units_picked
         FROM pick_tasks t WHERE t.wave_id = w.id) tk
  CROSS JOIN LATERAL (
       SELECT CASE WHEN w.status = 'cancelled' THEN 'cancelled'
                   WHEN tk.tasks_open = 0 THEN 'done' ELSE 'released' END AS status) st
  CROSS JOIN LATERAL (
       SELECT count(*) AS lines_total,
              count(*) FILTER (WHERE ol.quantity_picked >= ol.quantity) AS lines_picked,
              count(*) FILTER (WHERE ol.quantity_allocated < ol.quantity) AS short_lines
         FROM outbound_lines ol JOIN outbound_documents d ON d.id = ol.document_id
        WHERE ol.cancelled_at IS NULL AND d.status <> 'cancelled'
          AND ol.document_id IN (SELECT t.document_id FROM pick_tasks t WHERE t.wave_id = w.id)) ln
  CROSS JOIN LATERAL (
       SELECT count(DISTINCT p.picked_by) AS pickers, min(p.picked_at) AS started_at, max(p.picked_at) AS last_pick_at
         FROM picks p JOIN pick_tasks t ON t.id = p.task_id WHERE t.wave_id = w.id) pk
"""


def _summary(r: Any) -> dict[str, Any]:
    return dict(
        wave_id=r.id,
        status=r.status,
        priority=r.priority,
        released_at=r.released_at,
        released_by=r.released_by,
        allocation_date=r.allocation_date,
        orders=r.orders,
        lines_total=r.lines_total,
        lines_picked=r.lines_picked,
        short_lines=r.short_lines,
        tasks_open=r.tasks_open,
        units=int(r.units),
        units_picked=int(r.units_picked),
        pickers=r.pickers,
        started_at=r.started_at,
        finished_at=r.last_pick_at if r.status == "done" else None,
        cancelled_at=r.cancelled_at,
        cancel_reason=r.cancel_reason,
    )


async def list_waves(
    db: async_sessionmaker,
    *,
    status: WaveStatus | None,
    date: dt.date | None,
    before: int | None,
    limit: int,
) -> WavePage:
    """Waves newest first, a page at a time (keyset on the wave id, so a page never shifts under a reader)."""
    where, params = ["true"], {"limit": limit + 1}
    if status is not None:
        where.append("st.status = :status")
        params["status"] = status
    if date is not None:
        where.append("w.allocation_date = :date")
        params["date"] = date
    if before is not None:
        where.append("w.id < :before")
        params["before"] = before
    async with db() as session:
        rows = (
            await session.execute(
                text(_SUMMARY + " WHERE " + " AND ".join(where) + " ORDER BY w.id DESC LIMIT :limit"), params
            )
        ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return WavePage([WaveSummary(**_summary(r)) for r in rows], rows[-1].id if more else None)


async def wave_detail(db: async_sessionmaker, wave_id: int) -> WaveDetail:
    async with db() as session:
        r = (await session.execute(text(_SUMMARY + " WHERE w.id = :id"), {"id": wave_id})).one_or_none()
        if r is None:
            raise e.WaveNotFound(f"wave {wave_id} does not exist", waveId=wave_id)
        orders = (
            await session.execute(
                text(
                    "SELECT d.erp_id, d.status, d.priority,"
                    " count(ol.id) FILTER (WHERE ol.cancelled_at IS NULL) AS lines_total,"
                    " count(ol.id) FILTER (WHERE ol.cancelled_at IS NULL AND ol.quantity_picked >= ol.quantity) AS picked,"
                    " count(ol.id) FILTER (WHERE ol.cancelled_at IS NULL AND ol.quantity_allocated < ol.quantity) AS short,"
                    " count(ol.id) FILTER (WHERE ol.cancelled_at IS NOT NULL) AS cancelled,"
                    " (SELECT coalesce(sum(t.quantity), 0) FROM pick_tasks t"
                    "   WHERE t.wave_id = :w AND t.document_id = d.id AND t.status <> 'cancelled') AS units,"
                    " (SELECT coalesce(sum(t.picked), 0) FROM pick_tasks t"
                    "   WHERE t.wave_id = :w AND t.document_id = d.id AND t.status <> 'cancelled') AS units_picked"
                    " FROM outbound_documents d JOIN outbound_lines ol ON ol.document_id = d.id"
                    " WHERE d.id IN (SELECT t.document_id FROM pick_tasks t WHERE t.wave_id = :w)"
                    " GROUP BY d.id ORDER BY d.priority, d.erp_id"
                ),
                {"w": wave_id},
            )
        ).all()
        short = (
            await session.execute(
                text(
                    "SELECT d.erp_id, ol.line_no, i.erp_id AS item, ol.quantity, ol.quantity_allocated, ol.quantity_picked"
                    " FROM outbound_lines ol JOIN outbound_documents d ON d.id = ol.document_id"
                    " JOIN items i ON i.id = ol.item_id"
                    " WHERE ol.cancelled_at IS NULL AND ol.quantity_allocated < ol.quantity AND d.status <> 'cancelled'"
                    " AND d.id IN (SELECT t.document_id FROM pick_tasks t WHERE t.wave_id = :w)"
                    " ORDER BY d.erp_id, ol.line_no"
                ),
                {"w": wave_id},
            )
        ).all()
        pickers = (
            await session.execute(
                text(
                    "SELECT u.username, coalesce(a.open, 0) AS assigned_open, coalesce(p.scans, 0) AS scans,"
                    " coalesce(p.units, 0) AS units, p.first_at, p.last_at"
                    " FROM (SELECT t.assigned_to AS uid, count(*) AS open FROM pick_tasks t"
                    "        WHERE t.wave_id = :w AND t.status = 'open' AND t.assigned_to IS NOT NULL GROUP BY 1) a"
                    " FULL JOIN (SELECT p.picked_by AS uid, count(*) AS scans, sum(p.quantity) AS units,"
                    "        min(p.picked_at) AS first_at, max(p.picked_at) AS last_at"
                    "        FROM picks p JOIN pick_tasks t ON t.id = p.task_id"
                    "        WHERE t.wave_id = :w AND p.picked_by IS NOT NULL AND p.undone_at IS NULL GROUP BY 1) p ON p.uid = a.uid"
                    " JOIN users u ON u.id = coalesce(a.uid, p.uid) ORDER BY u.username"
                ),
                {"w": wave_id},
            )
        ).all()
    return WaveDetail(
        **_summary(r),
        order_lines=[WaveOrder(o[0], o[1], o[2], o[3], o[4], o[5], o[6], int(o[7]), int(o[8])) for o in orders],
        short=[WaveShortLine(s[0], s[1], s[2], s[3], s[4], s[5], s[3] - max(s[4], s[5])) for s in short],
        picker_list=[WavePicker(p[0], p[1], p[2], int(p[3]), p[4], p[5]) for p in pickers],
    )


# ---- cancel ------------------------------------------------------------------------------------------

_PUT_BACK = """
SELECT b.id, b.status, b.wave_id, d.erp_id AS order_erp_id, i.erp_id AS item_erp_id, i.name AS item_name, i.gtin,
       l.lot, l.expiry, se.serial, b.quantity, b.item_id, b.lot_id, b.serial_id,
       b.from_location_id, f.code AS from_code, f.barcode AS from_barcode, b.from_container_id, c.code AS tote,
       b.to_location_id, t.code AS to_code, t.barcode AS to_barcode, b.reason, b.created_at, b.done_at
  FROM put_back_tasks b
  JOIN outbound_documents d ON d.id = b.document_id
  JOIN items i ON i.id = b.item_id
  JOIN locations f ON f.id = b.from_location_id
  JOIN locations t ON t.id = b.to_location_id
  LEFT JOIN lots l ON l.id = b.lot_id
  LEFT JOIN serials se ON se.id = b.serial_id
  LEFT JOIN containers c ON c.id = b.from_container_id
"""


def put_back_of(r: Any) -> PutBackTask:
    return PutBackTask(
        put_back_id=r.id,
        status=r.status,
        wave_id=r.wave_id,
        order=r.order_erp_id,
        item=TaskItem(r.item_erp_id, r.item_name, r.gtin),
        lot=r.lot,
        expiry=r.expiry,
        serial=r.serial,
        quantity=r.quantity,
        from_=TaskLocation(r.from_code, r.from_barcode),
        tote=r.tote,
        to=TaskLocation(r.to_code, r.to_barcode),
        reason=r.reason,
        created_at=r.created_at,
        done_at=r.done_at,
    )


def _line_of(t: PutBackTask) -> PutBackLine:
    return PutBackLine(
        put_back_id=t.put_back_id,
        order=t.order,
        gtin=t.item.gtin,
        item=t.item.erp_id,
        lot=t.lot,
        expiry=t.expiry,
        serial=t.serial,
        quantity=t.quantity,
        from_location=t.from_.code,
        tote=t.tote,
        to_location=t.to.code,
    )


async def _lock_scope(
    session: AsyncSession, where: str, params: dict[str, Any]
) -> tuple[list[TaskState], list[PickedUnits], list[int]]:
    """The scope's tasks (``where`` on ``pick_tasks t``), locked after their items' allocation locks,
    and their picks; also the waves they belong to."""
    items = (
        (await session.execute(text(f"SELECT DISTINCT t.item_id FROM pick_tasks t WHERE {where}"), params))
        .scalars()
        .all()
    )
    if items:
        await lock_items(session, list(items))
    rows = (
        await session.execute(
            text(
                "SELECT t.id, t.document_id, t.line_id, t.stock_id, t.quantity, t.picked, t.status, t.wave_id"
                f" FROM pick_tasks t WHERE {where} ORDER BY t.id FOR UPDATE OF t"
            ),
            params,
        )
    ).all()
    tasks = [TaskState(r[0], r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows]
    waves = sorted({r[7] for r in rows if r[6] != "cancelled"})
    picks = [
        PickedUnits(*p)
        for p in (
            await session.execute(
                text(
                    "SELECT p.id, p.task_id, t.wave_id, p.document_id, p.item_id, p.lot_id, p.serial_id, p.quantity,"
                    " p.packed, p.put_back, p.from_location_id, p.staging_location_id, p.container_id"
                    " FROM picks p JOIN pick_tasks t ON t.id = p.task_id"
                    " WHERE p.task_id = ANY(CAST(:tasks AS bigint[])) AND p.undone_at IS NULL ORDER BY p.id FOR UPDATE OF p"
                ),
                {"tasks": [t.task_id for t in tasks]},
            )
        ).all()
    ]
    return tasks, picks, waves


async def _apply(session: AsyncSession, actor: Actor, plan: CancelPlan, reason: str) -> list[PutBackTask]:
    """Write a decided cancel (the caller emits its event)."""
    if plan.tasks:
        await session.execute(
            text("UPDATE pick_tasks SET status = 'cancelled' WHERE id = ANY(CAST(:ids AS bigint[]))"),
            {"ids": list(plan.tasks)},
        )
    if plan.releases:
        await session.execute(
            text(
                "UPDATE stock SET reserved = stock.reserved - v.q"
                " FROM (SELECT id, sum(q) AS q FROM unnest(CAST(:ids AS bigint[]), CAST(:qs AS int[])) AS u(id, q)"
                "       GROUP BY id) v WHERE stock.id = v.id"
            ),
            {"ids": [s for s, _ in plan.releases], "qs": [q for _, q in plan.releases]},
        )
    if plan.lines:
        await session.execute(
            text(
                "UPDATE outbound_lines SET quantity_allocated = quantity_allocated - v.a, quantity_picked = quantity_picked - v.p"
                " FROM unnest(CAST(:ids AS int[]), CAST(:a AS int[]), CAST(:p AS int[])) AS v(id, a, p)"
                " WHERE outbound_lines.id = v.id"
            ),
            {
                "ids": [ln.line_id for ln in plan.lines],
                "a": [ln.allocated for ln in plan.lines],
                "p": [ln.picked for ln in plan.lines],
            },
        )
    if plan.picks:
        await session.execute(
            text(
                "UPDATE picks SET put_back = put_back + v.q FROM unnest(CAST(:ids AS bigint[]), CAST(:qs AS int[])) AS v(id, q)"
                " WHERE picks.id = v.id"
            ),
            {"ids": [p for p, _ in plan.picks], "qs": [q for _, q in plan.picks]},
        )
    ids: list[int] = []
    for b in plan.put_backs:
        ids.append(
            await session.scalar(
                text(
                    "INSERT INTO put_back_tasks (wave_id, document_id, item_id, lot_id, serial_id, quantity,"
                    " from_location_id, from_container_id, to_location_id, reason, created_by)"
                    " VALUES (:w, :d, :i, :l, :s, :q, :f, :c, :t, :r, :u) RETURNING id"
                ),
                {
                    "w": b.wave_id,
                    "d": b.document_id,
                    "i": b.item_id,
                    "l": b.lot_id,
                    "s": b.serial_id,
                    "q": b.quantity,
                    "f": b.from_location_id,
                    "c": b.from_container_id,
                    "t": b.to_location_id,
                    "r": reason,
                    "u": actor.user_id,
                },
            )
        )
    if not ids:
        return []
    rows = (
        await session.execute(text(_PUT_BACK + " WHERE b.id = ANY(CAST(:ids AS int[])) ORDER BY b.id"), {"ids": ids})
    ).all()
    return [put_back_of(r) for r in rows]


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise e.MissingReason("a cancel needs a reason", needs=["reason"])
    return reason


async def cancel_wave(db: async_sessionmaker, actor: Actor, *, wave_id: int, reason: str) -> Cancelled:
    """Undo a wave's picking; its orders go back to ``open`` to be released again (``order_status_after_wave_cancel``)."""
    reason = _reason(reason)
    target = f"wave {wave_id}"
    async with db.begin() as session:
        wave = (
            await session.execute(text("SELECT id, status FROM waves WHERE id = :id FOR UPDATE"), {"id": wave_id})
        ).one_or_none()
        if wave is None:
            raise e.WaveNotFound(f"wave {wave_id} does not exist", waveId=wave_id)
        check_cancellable(target, wave.status)
        docs = (
            await session.execute(
                text(
                    "SELECT d.id, d.erp_id, d.status, EXISTS (SELECT 1 FROM pick_tasks o WHERE o.document_id = d.id"
                    "   AND o.wave_id <> :w AND o.status <> 'cancelled') AS other"
                    " FROM outbound_documents d WHERE d.id IN (SELECT t.document_id FROM pick_tasks t WHERE t.wave_id = :w)"
                    " ORDER BY d.id FOR UPDATE OF d"
                ),
                {"w": wave_id},
            )
        ).all()
        # the orders before their items and tasks, as a release and an ERP change lock them
        tasks, picks, _ = await _lock_scope(session, "t.wave_id = :w", {"w": wave_id})
        for d in docs:
            if d.status == "shipped":
                check_cancellable(f"{target} (order {d.erp_id})", d.status)
        plan = plan_cancel(target, tasks, picks)
        put_backs = await _apply(session, actor, plan, f"{target} cancelled: {reason}")
        reopened = []
        for d in docs:
            after = order_status_after_wave_cancel(d.status, other_live_tasks=d.other)
            if after != d.status:
                reopened.append(d.erp_id)
                await session.execute(
                    text("UPDATE outbound_documents SET status = :s, updated_at = now() WHERE id = :id"),
                    {"s": after, "id": d.id},
                )
        await session.execute(
            text(
                "UPDATE waves SET status = 'cancelled', cancelled_at = now(), cancelled_by = :u, cancel_reason = :r"
                " WHERE id = :id"
            ),
            {"u": actor.user_id, "r": reason, "id": wave_id},
        )
        await emit(
            session,
            actor,
            WaveCancelled(
                wave_id=wave_id,
                reason=reason,
                orders=[d.erp_id for d in docs],
                reopened=reopened,
                tasks=len(plan.tasks),
                released=plan.released,
                put_backs=[_line_of(b) for b in put_backs],
            ),
        )
        await audit(session, actor, "wave.cancel", "ok", target=f"wave:{wave_id}", detail={"reason": reason})
    return Cancelled(target, reason, len(plan.tasks), plan.released, plan.put_back, put_backs, reopened)


async def _order(session: AsyncSession, erp_id: str) -> Any:
    doc = (
        await session.execute(
            text("SELECT id, erp_id, status FROM outbound_documents WHERE erp_id = :o FOR UPDATE"), {"o": erp_id}
        )
    ).one_or_none()
    if doc is None:
        raise e.OrderNotFound(f"no sales order {erp_id}", order=erp_id)
    return doc


async def cancel_order_in(
    session: AsyncSession,
    actor: Actor,
    doc: Any,
    *,
    reason: str,
    source: Literal["udipick", "erp", "erp-change"],
    version: int | None = None,
) -> Cancelled:
    """Cancel a locked order's picking inside the caller's transaction (``erp_inbound`` uses it for the
    ERP's cancel and for a new version of an order being picked); the order ends ``cancelled``."""
    target = f"order {doc.erp_id}"
    check_cancellable(target, doc.status)
    tasks, picks, waves = await _lock_scope(session, "t.document_id = :d", {"d": doc.id})
    plan = plan_cancel(target, tasks, picks)
    put_backs = await _apply(session, actor, plan, f"{target} cancelled: {reason}")
    await session.execute(
        text("UPDATE outbound_documents SET status = 'cancelled', updated_at = now() WHERE id = :id"), {"id": doc.id}
    )
    await emit(
        session,
        actor,
        OrderCancelled(
            order=doc.erp_id,
            reason=reason,
            source=source,
            version=version,
            waves=waves,
            tasks=len(plan.tasks),
            released=plan.released,
            put_backs=[_line_of(b) for b in put_backs],
        ),
    )
    await audit(
        session, actor, "order.cancel", "ok", target=f"order:{doc.erp_id}", detail={"reason": reason, "source": source}
    )
    return Cancelled(target, reason, len(plan.tasks), plan.released, plan.put_back, put_backs)


async def cancel_order(
    db: async_sessionmaker, actor: Actor, *, order: str, reason: str, source: Literal["udipick", "erp"] = "udipick"
) -> Cancelled:
    reason = _reason(reason)
    async with db.begin() as session:
        return await cancel_order_in(session, actor, await _order(session, order), reason=reason, source=source)


async def cancel_line(db: async_sessionmaker, actor: Actor, *, order: str, line_no: int, reason: str) -> Cancelled:
    reason = _reason(reason)
    target = f"line {line_no} of order {order}"
    async with db.begin() as session:
        doc = await _order(session, order)
        line = (
            await session.execute(
                text("SELECT id, cancelled_at FROM outbound_lines WHERE document_id = :d AND line_no = :n FOR UPDATE"),
                {"d": doc.id, "n": line_no},
            )
        ).one_or_none()
        if line is None:
            raise e.OrderLineNotFound(f"order {order} has no line {line_no}", order=order, lineNo=line_no)
        check_cancellable(target, doc.status, cancelled=line.cancelled_at is not None)
        tasks, picks, waves = await _lock_scope(session, "t.line_id = :l", {"l": line.id})
        plan = plan_cancel(target, tasks, picks)
        put_backs = await _apply(session, actor, plan, f"{target} cancelled: {reason}")
        await session.execute(
            text("UPDATE outbound_lines SET cancelled_at = now(), cancel_reason = :r WHERE id = :id"),
            {"r": reason, "id": line.id},
        )
        await emit(
            session,
            actor,
            OrderLineCancelled(
                order=order,
                line_no=line_no,
                reason=reason,
                waves=waves,
                tasks=len(plan.tasks),
                released=plan.released,
                put_backs=[_line_of(b) for b in put_backs],
            ),
        )
        await audit(
            session, actor, "order.line.cancel", "ok", target=f"order:{order}:{line_no}", detail={"reason": reason}
        )
    return Cancelled(target, reason, len(plan.tasks), plan.released, plan.put_back, put_backs)


# ---- put-back ----------------------------------------------------------------------------------------


async def list_put_backs(db: async_sessionmaker, *, status: str = "open", limit: int = 200) -> list[PutBackTask]:
    """In the order a worker walks the shelves (the destination's pick sequence)."""
    async with db() as session:
        rows = (
            await session.execute(
                text(_PUT_BACK + " WHERE b.status = :s ORDER BY t.pick_sequence, t.code, b.id LIMIT :limit"),
                {"s": status, "limit": limit},
            )
        ).all()
    return [put_back_of(r) for r in rows]


async def confirm_put_back(
    db: async_sessionmaker,
    actor: Actor,
    settings: Settings,
    *,
    put_back_id: int,
    client_scan_id: uuid.UUID,
    location_raw: str,
    today: dt.date,
) -> replay.Reply:
    """The units are back on the shelf: the destination's label is scanned, the ledger moves them from
    staging (``picked``, in their tote) to ``available`` stock there; a replay gets the first answer."""
    config = scans.config(settings)

    async def decide_and_write(session: AsyncSession) -> PutBackTask:
        item_id = await session.scalar(text("SELECT item_id FROM put_back_tasks WHERE id = :id"), {"id": put_back_id})
        if item_id is None:
            raise e.PutBackNotFound(f"put-back task {put_back_id} does not exist", putBackId=put_back_id)
        await lock_items(session, [item_id])
        r = (await session.execute(text(_PUT_BACK + " WHERE b.id = :id FOR UPDATE OF b"), {"id": put_back_id})).one()
        if r.status != "open":
            raise e.TaskNotOpen(
                f"put-back {put_back_id} is {r.status}: go to the next task", taskId=r.id, taskStatus=r.status
            )
        check_location(r.to_code, r.to_barcode, location_raw, config=config, today=today)
        (event_id,) = await emit(
            session,
            actor,
            PutBackConfirmed(
                put_back_id=r.id,
                order=r.order_erp_id,
                gtin=r.gtin,
                item=r.item_erp_id,
                lot=r.lot,
                expiry=r.expiry,
                serial=r.serial,
                quantity=r.quantity,
                from_location=r.from_code,
                tote=r.tote,
                to_location=r.to_code,
            ),
        )
        await post_movements(
            session,
            actor,
            [
                Movement(
                    "move",
                    item_id=r.item_id,
                    quantity=r.quantity,
                    lot_id=r.lot_id,
                    serial_id=r.serial_id,
                    from_location_id=r.from_location_id,
                    from_container_id=r.from_container_id,
                    from_status="picked",
                    to_location_id=r.to_location_id,
                    to_status="available",
                    reason=f"put back: {r.reason}",
                    document_type="put_back",
                    document_id=f"PB-{r.id:06d}",
                    event_id=event_id,
                )
            ],
        )
        if r.serial_id is not None:
            await session.execute(
                text("UPDATE serials SET status = 'in_stock', location_id = :l WHERE id = :id AND status = 'picked'"),
                {"l": r.to_location_id, "id": r.serial_id},
            )
        await session.execute(
            text(
                "UPDATE put_back_tasks SET status = 'done', done_at = now(), done_by = :u, done_device = :d WHERE id = :id"
            ),
            {"u": actor.user_id, "d": actor.device_id, "id": r.id},
        )
        (done,) = (await session.execute(text(_PUT_BACK + " WHERE b.id = :id"), {"id": r.id})).all()
        return put_back_of(done)

    return await replay.once(db, client_scan_id, f"put-back:{put_back_id}", actor, decide_and_write)


# ---- assignment and priority -------------------------------------------------------------------------

#: roles that pick (a task can be given to any of them)
_PICKING_ROLES = ("picker", "supervisor", "admin")


async def assign_task(db: async_sessionmaker, actor: Actor, *, task_id: int, username: str | None) -> TaskAssigned:
    """Give an open pick task to a picker (``None``: to whoever comes first). Audited."""
    async with db.begin() as session:
        task = (
            await session.execute(
                text(
                    "SELECT t.id, t.wave_id, t.status, u.username AS previous FROM pick_tasks t"
                    " LEFT JOIN users u ON u.id = t.assigned_to WHERE t.id = :id FOR UPDATE OF t"
                ),
                {"id": task_id},
            )
        ).one_or_none()
        if task is None:
            raise e.NotFound(f"pick task {task_id} does not exist", taskId=task_id)
        if task.status != "open":
            raise e.TaskNotOpen(
                f"task {task_id} is {task.status}: only an open task can be assigned",
                taskId=task_id,
                taskStatus=task.status,
            )
        user_id = None
        if username is not None:
            user = (
                await session.execute(text("SELECT id, roles, active FROM users WHERE username = :n"), {"n": username})
            ).one_or_none()
            if user is None or not user.active:
                raise e.UnknownUser(f"no active user {username}", username=username)
            if not set(user.roles) & set(_PICKING_ROLES):
                raise e.Conflict(f"{username} does not pick (roles: {', '.join(user.roles)})", username=username)
            user_id = user.id
        await session.execute(
            text("UPDATE pick_tasks SET assigned_to = :u WHERE id = :id"), {"u": user_id, "id": task_id}
        )
        await audit(
            session,
            actor,
            "pick-task.assign",
            "ok",
            target=f"pick-task:{task_id}",
            detail={"assignedTo": username, "previous": task.previous},
        )
    return TaskAssigned(task_id, task.wave_id, username, task.previous)


async def set_priority(db: async_sessionmaker, actor: Actor, *, wave_id: int, priority: int) -> WavePriority:
    """1 first: the pickers' task list takes the waves in priority order. Audited."""
    async with db.begin() as session:
        wave = (
            await session.execute(
                text("SELECT id, status, priority FROM waves WHERE id = :id FOR UPDATE"), {"id": wave_id}
            )
        ).one_or_none()
        if wave is None:
            raise e.WaveNotFound(f"wave {wave_id} does not exist", waveId=wave_id)
        if wave.status == "cancelled":
            raise e.AlreadyCancelled(f"wave {wave_id} is cancelled", target=f"wave {wave_id}")
        await session.execute(text("UPDATE waves SET priority = :p WHERE id = :id"), {"p": priority, "id": wave_id})
        await audit(
            session,
            actor,
            "wave.priority",
            "ok",
            target=f"wave:{wave_id}",
            detail={"priority": priority, "previous": wave.priority},
        )
    return WavePriority(wave_id, priority, wave.priority)

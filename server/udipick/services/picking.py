"""Picking: release sales orders into waves (FEFO allocation), then decide every pick scan.

Query, snapshot, decide, apply: stock rows are read under lock into immutable ``Candidate`` values,
``domain.allocation`` decides, and the result is written with its ledger rows and outbox events
in the same transaction. Allocation reserves stock (``stock.reserved``), so two waves released at
once never promise the same units; the database check ``reserved <= quantity`` is the last word.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import uuid
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Literal, NamedTuple

import asyncpg
import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from udipick.config import Settings
from udipick.db.ledger import Movement, post_movements
from udipick.db.pg import connection as pg_connection
from udipick.db.pg import raw as pg_conn
from udipick.db.sqlfiles import named_call
from udipick.domain import errors as e
from udipick.domain.access import Actor
from udipick.domain.allocation import PICKABLE_TYPES, Allocation, Candidate, Need, Shortfall, plan_wave
from udipick.domain.exceptions import kind_of_refusal
from udipick.domain.expiry import barcode_expired
from udipick.domain.picking import (
    PickScan,
    PickTask,
    PickToUndo,
    ReservedSerial,
    check_short_found,
    check_tote,
    check_undo,
    decide_pick,
)
from udipick.domain.picking import check_location as check_location_scan
from udipick.domain.problem import problem_body, status_for
from udipick.domain.udi_di import DiKey, GtinKey, HibcKey, item_key
from udipick.services import replay, scans
from udipick.services.events import (
    EventData,
    PickConfirmed,
    PickOverridden,
    PickRefused,
    PickShorted,
    StockAlertRaised,
    WaveReleased,
    emit,
    encode_events,
)
from udipick.services.events import (
    PickUndone as PickUndoneEvent,
)
from udipick.services.exceptions import Raised, raise_in
from udipick.services.outbox import wake_sequencer
from udipick.services.recall_facts import name_the_recall, open_recall_by_lot, serial_recall_by_serial, serial_recalled
from udipick.services.regulatory import HeldOrder, held_order_of, order_holds

log = logging.getLogger(__name__)


# ---- answers ----------------------------------------------------------------------------------------


class TaskItem(msgspec.Struct, rename="camel"):
    erp_id: str
    name: str
    gtin: str


class TaskLocation(msgspec.Struct, rename="camel"):
    code: str
    #: what the location's label scans as
    barcode: str


class TaskPack(msgspec.Struct, rename="camel"):
    """A pack of the task's item bigger than one unit, as its GTIN is labelled: the handheld says "take 20 =
    2 boxes of 10" with it."""

    level: Literal["each", "box", "case", "pallet"]
    #: base units in one pack
    quantity: int
    gtin: str


class PickingTask(msgspec.Struct, rename="camel"):
    """One allocated lot (or serial) of an order line, at one location: what the picker takes next."""

    task_id: int
    wave_id: int
    order: str
    line_no: int
    status: Literal["open", "done", "short", "cancelled"]
    #: the location's place on the pick path
    sequence: int
    location: TaskLocation
    item: TaskItem
    lot: str | None
    expiry: dt.date | None
    serial: str | None
    quantity: int
    picked: int
    remaining: int
    #: the tote the order's picks go into (batch picking), if one was scanned
    tote: str | None
    #: the site requires a tote before the order's first pick (site setting ``pickRequiresTote``)
    tote_required: bool = False
    #: what a tote label starts with, so the handheld knows one wherever it is scanned (offline too)
    tote_prefix: str | None = None
    #: the picker a supervisor gave the task to (``None``: whoever comes first)
    assigned_to: str | None = None
    #: the item's packs of more than one unit, biggest first
    packs: list[TaskPack] = msgspec.field(default_factory=list)


class ShortLine(msgspec.Struct, rename="camel"):
    """Units of an order line the wave could not allocate, and why (the reason most of the refused stock had)."""

    order: str
    line_no: int
    missing: int
    reason: str


class ReleasedWave(msgspec.Struct, rename="camel"):
    wave_id: int
    orders: list[str]
    #: pick tasks created
    tasks: int
    short_lines: list[ShortLine]
    #: orders left unallocated because a customer's licence holds them (GSP, ``services.regulatory``)
    held: list[HeldOrder]


class LocationChecked(msgspec.Struct, rename="camel"):
    task_id: int
    location: str
    ok: bool


class PickAccepted(msgspec.Struct, rename="camel"):
    """An accepted pick scan (``confirm_pick``'s answer, which builds it as a dict of these members, in this order)."""

    verdict: Literal["accepted"]
    task_id: int
    lot: str | None
    expiry: dt.date | None
    serial: str | None
    #: base units this scan took (a pack counts its contents)
    units: int
    picked: int
    remaining: int
    #: another lot (or serial) than allocated was taken, and the allocation swapped to it
    swapped: bool
    fefo_overridden: bool
    task_status: Literal["open", "done"]
    #: the picker may take this scan back (``POST .../undo``) for this many seconds (0: not at all)
    undo_seconds: int = 0


class ShortReported(msgspec.Struct, rename="camel"):
    task_id: int
    #: units of the task not found
    short_by: int
    #: tasks the re-allocation created for them
    reallocated_tasks: int
    #: units left on backorder
    backordered: int
    #: the location now blocked for the item until it is counted
    location_blocked: str


class PickUndone(msgspec.Struct, rename="camel"):
    """A pick scan taken back: its units are on the shelf again, reserved for the task."""

    task_id: int
    #: the pick scan taken back
    scan_id: uuid.UUID
    units: int
    picked: int
    remaining: int
    #: where the units went back to
    location: str
    lot: str | None
    serial: str | None


class ToteAssigned(msgspec.Struct, rename="camel"):
    wave_id: int
    order: str
    tote: str
    #: the order's unstarted tasks in the wave that now go into the tote
    tasks: int


#: Every stock row, with the facts ``domain.allocation`` judges it on, in ``Candidate``'s field order.
#: The hold covering a row and its location block come from the one SQL definition of each
#: (``udipick_stock_hold``, ``udipick_location_block``, migration 0008), inlined by the planner.
STOCK_FACTS = """
SELECT s.id AS stock_id, s.item_id, s.lot_id, l.lot, l.expiry, coalesce(l.status, 'released') AS lot_status,
       s.serial_id, se.serial, s.location_id, loc.code AS location, loc.type AS location_type, loc.pick_sequence,
       loc.frozen AS location_frozen, s.quantity - s.reserved AS available,
       (SELECT h.reason FROM udipick_stock_hold(p_item_id => s.item_id, p_lot_id => s.lot_id, p_serial_id => s.serial_id,
                                                p_location_id => s.location_id) h) AS hold,
       EXISTS (SELECT 1 FROM udipick_location_block(p_item_id => s.item_id, p_location_id => s.location_id)) AS blocked,
       s.status AS stock_status, s.container_id IS NOT NULL AS in_container
  FROM stock s
  JOIN locations loc ON loc.id = s.location_id
  LEFT JOIN lots l ON l.id = s.lot_id
  LEFT JOIN serials se ON se.id = s.serial_id
"""

#: ``domain.allocation.on_the_shelf`` as a WHERE clause, exactly: the rows it leaves out are rows the
#: domain would skip anyway, so every query of pick candidates starts from it (and the indexes serve it)
ON_THE_SHELF = (
    "s.status = 'available' AND s.container_id IS NULL AND loc.type IN ("
    + ", ".join(f"'{t}'" for t in PICKABLE_TYPES)
    + ")"
)

#: the stock rows that can serve a pick; callers narrow further with ``AND ...``
CANDIDATES = STOCK_FACTS + " WHERE " + ON_THE_SHELF + "\n"


_CANDIDATE_FIELDS = Candidate.__struct_fields__  # the order CANDIDATES selects them in


def candidates_of(result: Any) -> list[Candidate]:
    """The rows of a query that selects ``Candidate``'s fields in its order (as ``CANDIDATES`` does), by
    position: a wave reads tens of thousands, and reading each field by name cost more than the query."""
    if tuple(result.keys()) != _CANDIDATE_FIELDS:
        raise ValueError(f"stock rows with columns {tuple(result.keys())}; Candidate has {_CANDIDATE_FIELDS}")
    return [Candidate(*r) for r in result]


def candidate_of(row: Any, *, extra: int = 0) -> Candidate:
    return Candidate(
        stock_id=row.stock_id,
        item_id=row.item_id,
        lot_id=row.lot_id,
        lot=row.lot,
        expiry=row.expiry,
        lot_status=row.lot_status,
        serial_id=row.serial_id,
        serial=row.serial,
        location_id=row.location_id,
        location=row.location,
        location_type=row.location_type,
        pick_sequence=row.pick_sequence,
        location_frozen=row.location_frozen,
        available=row.available + extra,
        hold=row.hold,
        blocked=row.blocked,
        stock_status=row.stock_status,
        in_container=row.in_container,
    )


# ---- waves ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Line:
    line_id: int
    document_id: int
    order: str
    line_no: int
    item_id: int
    open_qty: int
    min_days: int
    allow_bonded: bool


_OPEN_LINES = """
SELECT ol.id, d.id, d.erp_id, ol.line_no, ol.item_id, ol.quantity - ol.quantity_allocated,
       GREATEST(i.min_shelf_life_days, c.min_shelf_life_days, coalesce(ol.min_shelf_life_days, 0)), d.allow_bonded
  FROM outbound_lines ol
  JOIN outbound_documents d ON d.id = ol.document_id
  JOIN customers c ON c.id = d.customer_id
  JOIN items i ON i.id = ol.item_id
 WHERE {where} AND ol.quantity > ol.quantity_allocated AND ol.cancelled_at IS NULL
 ORDER BY d.priority, d.requested_date NULLS LAST, d.id, ol.line_no
"""


async def _open_lines(session: AsyncSession, where: str, ids: list[int]) -> list[_Line]:
    """Order lines still to allocate, priority first; the shelf life they need is the strictest of
    the item's, the customer's and the line's own minimum."""
    rows = (await session.execute(text(_OPEN_LINES.format(where=where)), {"ids": ids})).all()
    return [_Line(*r) for r in rows]


async def release_wave(
    db: async_sessionmaker, actor: Actor, *, orders: list[str] | None, today: dt.date, max_orders: int = 1000
) -> ReleasedWave:
    """Allocate open sales orders (all, or the named ERP ids) FEFO and create pick tasks."""
    async with db.begin() as session:
        docs = (
            await session.execute(
                text(
                    "SELECT d.id, d.erp_id FROM outbound_documents d WHERE d.status IN ('open', 'released')"
                    " AND EXISTS (SELECT 1 FROM outbound_lines ol WHERE ol.document_id = d.id AND ol.quantity > ol.quantity_allocated"
                    " AND ol.cancelled_at IS NULL)"
                    + (" AND d.erp_id = ANY(CAST(:orders AS text[]))" if orders is not None else "")
                    + " ORDER BY d.priority, d.requested_date NULLS LAST, d.id LIMIT :limit FOR UPDATE SKIP LOCKED"
                ),
                {"orders": orders or [], "limit": max_orders},
            )
        ).all()
        if orders is not None:
            found = {d.erp_id for d in docs}
            missing = [o for o in orders if o not in found]
            if missing:
                raise e.Conflict(
                    f"nothing to release for {', '.join(missing)} (unknown, shipped, fully allocated or being released)",
                    orders=missing,
                )
        # GSP (China): an order for a customer without a valid business licence is held before allocation
        holds = await order_holds(session, [d.id for d in docs], on=today)
        if holds and orders is not None:
            raise next(holds[d.id] for d in docs if d.id in holds)
        held = [held_order_of(holds[d.id]) for d in docs if d.id in holds]
        if holds and len(holds) == len(docs):
            # nothing but held orders: the first one's block says why, not "nothing to allocate"
            raise next(holds[d.id] for d in docs)
        docs = [d for d in docs if d.id not in holds]
        if not docs:
            raise e.Conflict("no sales order has anything left to allocate")
        doc_ids = [d.id for d in docs]
        lines = await _open_lines(session, "d.id = ANY(CAST(:ids AS int[]))", doc_ids)
        wave_id = await session.scalar(
            text("INSERT INTO waves (released_by, released_device, allocation_date) VALUES (:u, :d, :t) RETURNING id"),
            {"u": actor.user_id, "d": actor.device_id, "t": today},
        )
        tasks, shorts = await _allocate(session, wave_id, lines, today)
        await session.execute(
            text(
                "UPDATE outbound_documents SET status = 'released', updated_at = now() WHERE id = ANY(CAST(:docs AS int[]))"
            ),
            {"docs": doc_ids},
        )
        await emit(
            session,
            actor,
            WaveReleased(
                wave_id=wave_id,
                orders=[d.erp_id for d in docs],
                tasks=tasks,
                short_lines=[
                    {"order": s_line.order, "lineNo": s_line.line_no, "missing": s.missing, "reason": s.reason}
                    for s, s_line in shorts
                ],
            ),
        )
    return ReleasedWave(
        wave_id,
        [d.erp_id for d in docs],
        tasks,
        [ShortLine(ln.order, ln.line_no, s.missing, s.reason) for s, ln in shorts],
        held,
    )


async def _allocate(session: AsyncSession, wave_id: int, lines: list[_Line], today: dt.date) -> tuple[int, list]:
    """Plan FEFO for ``lines`` against the free stock of their items; reserve it; create tasks."""
    if not lines:
        return 0, []
    items = sorted({ln.item_id for ln in lines})
    await lock_items(session, items)
    allocations, shortfalls = await plan_needs(
        session, [Need(ln.line_id, ln.item_id, ln.open_qty, ln.min_days, ln.allow_bonded) for ln in lines], today
    )
    by_line = {ln.line_id: ln for ln in lines}
    if allocations:
        reserve: dict[int, int] = {}
        for a in allocations:
            reserve[a.candidate.stock_id] = reserve.get(a.candidate.stock_id, 0) + a.quantity
        ids, qtys = list(reserve), list(reserve.values())
        updated = (
            await session.execute(
                text(
                    "UPDATE stock SET reserved = reserved + v.q FROM unnest(CAST(:ids AS bigint[]), CAST(:qs AS int[])) AS v(id, q)"
                    " WHERE stock.id = v.id AND stock.quantity - stock.reserved >= v.q RETURNING stock.id"
                ),
                {"ids": ids, "qs": qtys},
            )
        ).all()
        if len(updated) != len(ids):
            raise e.StockChanged("stock changed while allocating; send the same request again")
        cols: dict[str, list[Any]] = {
            k: []
            for k in (
                "wave_id",
                "document_id",
                "line_id",
                "item_id",
                "stock_id",
                "lot_id",
                "serial_id",
                "location_id",
                "quantity",
                "sequence",
                "min_shelf_life_days",
                "allow_bonded",
            )
        }
        for a in allocations:
            ln, c = by_line[a.line_id], a.candidate
            for k, v in (
                ("wave_id", wave_id),
                ("document_id", ln.document_id),
                ("line_id", ln.line_id),
                ("item_id", ln.item_id),
                ("stock_id", c.stock_id),
                ("lot_id", c.lot_id),
                ("serial_id", c.serial_id),
                ("location_id", c.location_id),
                ("quantity", a.quantity),
                ("sequence", c.pick_sequence),
                ("min_shelf_life_days", ln.min_days),
                ("allow_bonded", ln.allow_bonded),
            ):
                cols[k].append(v)
        await session.execute(
            text(
                "INSERT INTO pick_tasks (wave_id, document_id, line_id, item_id, stock_id, lot_id, serial_id, location_id,"
                " quantity, sequence, min_shelf_life_days, allow_bonded) SELECT * FROM unnest(CAST(:wave_id AS int[]),"
                " CAST(:document_id AS int[]), CAST(:line_id AS int[]), CAST(:item_id AS int[]), CAST(:stock_id AS bigint[]),"
                " CAST(:lot_id AS int[]), CAST(:serial_id AS int[]), CAST(:location_id AS int[]), CAST(:quantity AS int[]),"
                " CAST(:sequence AS int[]), CAST(:min_shelf_life_days AS int[]), CAST(:allow_bonded AS bool[]))"
            ),
            cols,
        )
        per_line: dict[int, int] = {}
        for a in allocations:
            per_line[a.line_id] = per_line.get(a.line_id, 0) + a.quantity
        await session.execute(
            text(
                "UPDATE outbound_lines SET quantity_allocated = quantity_allocated + v.q"
                " FROM unnest(CAST(:ids AS int[]), CAST(:qs AS int[])) AS v(id, q) WHERE outbound_lines.id = v.id"
            ),
            {"ids": list(per_line), "qs": list(per_line.values())},
        )
    return len(allocations), [(s, by_line[s.line_id]) for s in shortfalls]


async def lock_items(session: AsyncSession, items: list[int]) -> None:
    """One allocator per item at a time: concurrent waves, short picks and holds queue here instead of
    planning on stale numbers. Every path that changes reservations takes these first, in item order,
    before it touches a stock row, so they cannot deadlock each other. Re-entrant within a transaction."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(7301, i) FROM unnest(CAST(:items AS int[])) AS i ORDER BY i"),
        {"items": sorted(items)},
    )


async def plan_needs(
    session: AsyncSession, needs: list[Need], today: dt.date
) -> tuple[list[Allocation], list[Shortfall]]:
    """``domain.allocation.plan_wave`` over the free stock of the needs' items, read in two passes.

    The first pass reads only the start of each item's stock in FEFO order (``_wave_candidates``
    says which rows, and why they are a superset of what the plan can take without falling short);
    when a line falls short anyway, its item is read in full and planned again, so the shortfall
    names the real reason (short-dated, on hold, ...). The result equals ``plan_wave`` over every
    stock row (``tests/db/test_candidate_narrowing.py``).
    """
    if not needs:
        return [], []
    candidates = await _wave_candidates(session, needs, today, limited=True)
    allocations, shortfalls = plan_wave(candidates, needs, today=today)
    if shortfalls:
        short_lines = {s.line_id for s in shortfalls}
        short_items = {n.item_id for n in needs if n.line_id in short_lines}
        full = await _wave_candidates(session, [n for n in needs if n.item_id in short_items], today, limited=False)
        candidates = [c for c in candidates if c.item_id not in short_items] + full
        allocations, shortfalls = plan_wave(candidates, needs, today=today)
    return allocations, shortfalls


#: An item's lotted stock on the shelf with something free, by expiry (no expiry last), from the first
#: ``nlots`` lots, the first ``nrows`` rows, each limit widened to every lot and row of the last expiry
#: it reaches (``WITH TIES``): the plan takes an expiry's rows in ``fewest_visits`` order, so a whole
#: expiry is read or none of it. ``strict`` leaves out rows every line of the item would
#: refuse anyway: lots not released, lots expiring before ``today`` + the smallest minimum shelf life
#: of the item's lines, frozen locations.
_WAVE_CANDIDATES = (
    """
SELECT s.id AS stock_id, s.item_id, s.lot_id, l.lot, l.expiry, l.status AS lot_status, s.serial_id, se.serial,
       s.location_id, loc.code AS location, loc.type AS location_type, loc.pick_sequence, loc.frozen AS location_frozen,
       s.quantity - s.reserved AS available,
       (SELECT h.reason FROM udipick_stock_hold(p_item_id => s.item_id, p_lot_id => s.lot_id, p_serial_id => s.serial_id,
                                                p_location_id => s.location_id) h) AS hold,
       EXISTS (SELECT 1 FROM udipick_location_block(p_item_id => s.item_id, p_location_id => s.location_id)) AS blocked,
       s.status AS stock_status, s.container_id IS NOT NULL AS in_container
  FROM unnest(CAST(:items AS int[]), CAST(:min_days AS int[]), CAST(:rows AS int[]), CAST(:lots AS int[]))
       AS d(item_id, min_days, nrows, nlots)
 CROSS JOIN LATERAL (
       SELECT s.* FROM (
              SELECT l.id FROM lots l
               WHERE l.item_id = d.item_id
                 AND (NOT :strict OR (l.status = 'released'
                                      AND (l.expiry IS NULL OR l.expiry >= CAST(:today AS date) + d.min_days)))
               ORDER BY l.expiry NULLS LAST FETCH FIRST d.nlots ROWS WITH TIES) fl
         JOIN stock s ON s.lot_id = fl.id
         JOIN lots l ON l.id = s.lot_id
         JOIN locations loc ON loc.id = s.location_id
        WHERE """
    + ON_THE_SHELF
    + """ AND s.quantity > s.reserved AND (NOT :strict OR NOT loc.frozen)
        ORDER BY l.expiry NULLS LAST FETCH FIRST d.nrows ROWS WITH TIES) s
  JOIN lots l ON l.id = s.lot_id
  JOIN locations loc ON loc.id = s.location_id
  LEFT JOIN serials se ON se.id = s.serial_id
"""
)


async def _wave_candidates(
    session: AsyncSession, needs: list[Need], today: dt.date, *, limited: bool
) -> list[Candidate]:
    """Free stock of the needs' items on the shelf: every row (``limited=False``), or a superset of the
    rows a plan that falls short nowhere takes (``limited=True``).

    The limited read: every row without a lot, and of the lotted rows the first ``demand + 20`` by
    expiry among the first three lots, both widened to the whole of the last expiry they reach, leaving
    out rows each line of the item refuses (see ``_WAVE_CANDIDATES``). Why a plan on it that falls
    short nowhere is the plan on every row: ``plan_wave`` takes an item's rows expiry by expiry, each
    expiry's eligible rows in an order that depends only on those rows and what the line still needs
    (``fewest_visits``). The rows read are every row of the expiries up to some point, less rows every
    line refuses; the rows not read are of later expiries, or refused. A plan that filled every line
    took nothing beyond the point, and the full plan walks the same expiries up to it the same way. Rows without
    a lot sort as a lot without expiry (``fefo_key``): after every lot that has one. For an item that
    has them, the lotted rows are read without a limit, or the point would be earlier than they are.
    Eligibility itself is never decided here: ``domain.allocation`` has the last word either way.
    """
    demand: dict[int, list[int]] = {}
    for n in needs:
        d = demand.setdefault(n.item_id, [0, n.min_shelf_life_days])
        d[0] += n.quantity
        d[1] = min(d[1], n.min_shelf_life_days)
    items = sorted(demand)
    big = 2**31 - 1
    rows = candidates_of(
        await session.execute(
            text(
                CANDIDATES
                + " AND s.item_id = ANY(CAST(:items AS int[])) AND s.lot_id IS NULL AND s.quantity > s.reserved"
            ),
            {"items": items},
        )
    )
    without_lot = {c.item_id for c in rows}
    whole = [not limited or i in without_lot for i in items]
    params = {
        "items": items,
        "min_days": [demand[i][1] for i in items],
        "rows": [big if w else demand[i][0] + 20 for i, w in zip(items, whole, strict=True)],
        "lots": [big if w else 3 for w in whole],
        "strict": limited,  # the full pass reads refused stock too, so a short line says why
        "today": today,
    }
    return candidates_of(await session.execute(text(_WAVE_CANDIDATES), params)) + rows


# ---- tasks ----------------------------------------------------------------------------------------

_TASK = """
SELECT t.id, t.wave_id, t.document_id, t.line_id, t.item_id, t.stock_id, t.lot_id, t.serial_id, t.location_id, t.quantity,
       t.picked, t.status, t.sequence, t.min_shelf_life_days, t.allow_bonded, t.tote_id,
       i.name AS item_name, i.gtin, i.erp_id AS item_erp_id, l.lot, l.expiry, se.serial, i.udi_agency,
       (SELECT dd.di FROM item_dis dd WHERE dd.item_id = i.id AND dd.agency = i.udi_agency AND dd.pack_level = 'each')
         AS udi_di,
       loc.code AS location, loc.barcode AS location_barcode, loc.warehouse_id,
       d.erp_id AS order_erp_id, d.status AS order_status, ol.line_no, tote.code AS tote,
       coalesce((SELECT sr.pick_requires_tote FROM site_record sr WHERE sr.id = 1), false) AS tote_required,
       (SELECT st.id FROM locations st WHERE st.warehouse_id = loc.warehouse_id AND st.type = 'shipping'
         ORDER BY st.pick_sequence, st.id LIMIT 1) AS staging_id
  FROM pick_tasks t
  JOIN items i ON i.id = t.item_id
  JOIN locations loc ON loc.id = t.location_id
  JOIN outbound_documents d ON d.id = t.document_id
  JOIN outbound_lines ol ON ol.id = t.line_id
  LEFT JOIN lots l ON l.id = t.lot_id
  LEFT JOIN serials se ON se.id = t.serial_id
  LEFT JOIN containers tote ON tote.id = t.tote_id
"""


def picking_task(t: Any) -> PickingTask:
    return PickingTask(
        task_id=t.id,
        wave_id=t.wave_id,
        order=t.order_erp_id,
        line_no=t.line_no,
        status=t.status,
        sequence=t.sequence,
        location=TaskLocation(t.location, t.location_barcode),
        item=TaskItem(t.item_erp_id, t.item_name, t.gtin),
        lot=t.lot,
        expiry=t.expiry,
        serial=t.serial,
        quantity=t.quantity,
        picked=t.picked,
        remaining=t.quantity - t.picked,
        tote=t.tote,
        tote_required=bool(t.tote_required),
    )


async def list_tasks(
    db: async_sessionmaker,
    *,
    wave_id: int | None,
    status: str = "open",
    limit: int = 200,
    user_id: int | None = None,
    everyone: bool = True,
    tote_prefix: str | None = None,
) -> list[PickingTask]:
    """Tasks in the order to pick them, the next one first: those assigned to ``user_id`` first, then
    by wave priority (1 first), then on the pick path (location pick sequence). Without ``everyone``
    (a picker's own list), tasks a supervisor gave to another picker are left out."""
    async with db() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT t.*, au.username AS assigned_username FROM ("
                    + _TASK.replace("SELECT t.id,", "SELECT t.assigned_to, t.id,", 1)
                    + " WHERE t.status = :status"
                    + (" AND t.wave_id = :wave" if wave_id else "")
                    + ("" if everyone else " AND (t.assigned_to IS NULL OR t.assigned_to = :me)")
                    + ") t JOIN waves w ON w.id = t.wave_id LEFT JOIN users au ON au.id = t.assigned_to"
                    " ORDER BY t.assigned_to IS NOT DISTINCT FROM CAST(:me AS int) DESC, w.priority, t.sequence,"
                    " t.location, t.id LIMIT :limit"
                ),
                {"status": status, "wave": wave_id, "limit": limit, "me": user_id},
            )
        ).all()
        packs: dict[int, list[TaskPack]] = {}
        if rows:
            for g in await session.execute(
                text(
                    "SELECT item_id, pack_level, quantity, gtin FROM item_gtins"
                    " WHERE item_id = ANY(CAST(:items AS int[])) AND quantity > 1 ORDER BY item_id, quantity DESC, gtin"
                ),
                {"items": sorted({r.item_id for r in rows})},
            ):
                packs.setdefault(g.item_id, []).append(TaskPack(g.pack_level, g.quantity, g.gtin))
    tasks = []
    for r in rows:
        task = picking_task(r)
        task.assigned_to = r.assigned_username
        task.packs = packs.get(r.item_id, [])
        task.tote_prefix = tote_prefix
        tasks.append(task)
    return tasks


class WaveProgress(msgspec.Struct, rename="camel"):
    """How far a wave is, as the picker's task list shows it (cancelled tasks apart): tasks and units
    picked of all, and the stops (locations) still to visit for the caller's open tasks of the wave."""

    wave_id: int
    tasks: int
    tasks_open: int
    units: int
    units_picked: int
    #: distinct locations among the open tasks the caller may pick (another picker's assigned tasks apart)
    stops_left: int


async def wave_progress(
    db: async_sessionmaker, *, wave_id: int, user_id: int | None = None, everyone: bool = True
) -> WaveProgress:
    """One aggregate over the wave's tasks, read when the task list is (never on a pick scan)."""
    async with db() as session:
        row = (
            await session.execute(
                text(
                    "SELECT w.id, count(t.id) FILTER (WHERE t.status <> 'cancelled') AS tasks,"
                    " count(t.id) FILTER (WHERE t.status = 'open') AS tasks_open,"
                    " coalesce(sum(t.quantity) FILTER (WHERE t.status <> 'cancelled'), 0) AS units,"
                    " coalesce(sum(t.picked) FILTER (WHERE t.status <> 'cancelled'), 0) AS units_picked,"
                    " count(DISTINCT t.location_id) FILTER (WHERE t.status = 'open' AND (CAST(:everyone AS bool)"
                    " OR t.assigned_to IS NULL OR t.assigned_to = CAST(:me AS int))) AS stops_left"
                    " FROM waves w LEFT JOIN pick_tasks t ON t.wave_id = w.id WHERE w.id = :w GROUP BY w.id"
                ),
                {"w": wave_id, "me": user_id, "everyone": everyone},
            )
        ).first()
    if row is None:
        raise e.WaveNotFound(f"wave {wave_id} does not exist", waveId=wave_id)
    return WaveProgress(
        wave_id=wave_id,
        tasks=row.tasks,
        tasks_open=row.tasks_open,
        units=int(row.units),
        units_picked=int(row.units_picked),
        stops_left=row.stops_left,
    )


async def _load_task(session: AsyncSession, task_id: int, *, lock: bool) -> Any:
    rec = await (await pg_conn(session)).fetchrow(
        _TASK + " WHERE t.id = $1" + (" FOR UPDATE OF t" if lock else ""), task_id
    )
    if rec is None:
        raise e.NotFound(f"pick task {task_id} does not exist", taskId=task_id)
    return SimpleNamespace(**dict(rec))


async def check_overridable(db: async_sessionmaker, task_id: int) -> None:
    """Refuse an override of a task that is not there to pick (missing, closed, its order no longer
    released) before the supervisor's password is checked: a refusal that only a right password
    reaches would tell the picker the password was right."""
    async with db() as session:
        task = await _load_task(session, task_id, lock=False)
    if task.status != "open":
        raise e.TaskNotOpen(
            f"task {task_id} is {task.status}: go to the next task", taskId=task_id, taskStatus=task.status
        )
    if task.order_status != "released":
        raise e.OrderNotReleased(
            f"order {task.order_erp_id} is {task.order_status}: nothing more is picked for it",
            order=task.order_erp_id,
            orderStatus=task.order_status,
        )


async def check_location(
    db: async_sessionmaker, settings: Settings, task_id: int, raw: str, today: dt.date
) -> LocationChecked:
    async with db() as session:
        task = await _load_task(session, task_id, lock=False)
    check_location_scan(task.location, task.location_barcode, raw, config=scans.config(settings), today=today)
    return LocationChecked(task_id, task.location, True)


# ---- the pick scan ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Override:
    """A supervisor's e-signed approval to take a later-expiring lot than FEFO allows."""

    supervisor: Actor
    reason: str


#: One read for one pick scan, without locks: the stored answer (a replay; ``udipick_scan_reply``, as
#: ``replay.SELECT_REPLY`` reads it), the task as allocated,
#: the item behind the scanned GTIN (or HIBC code, or MA / AHM DI), the serial's status, the stock of the task's item
#: at its location, and (for a serialised unit another task of the line reserved) that task.
#: ``udipick_pick_accept`` (``db/sql/udipick_pick_accept.sql``) re-checks what the verdict rested on when it writes.
#: Six shapes (``_SNAPSHOTS``): the serial look-ups only when the scan carries a serial, the HIBC
#: look-up only for an HIBC label, the DI look-up only for an MA or AHM code. PostgreSQL sets up every node of a plan on each execution, used or
#: not, so a shape carries only the look-ups its scans need.
_SERIAL_STATUS = "(SELECT x.status FROM serials x WHERE x.item_id = m.id AND x.serial = $4)"
_TRADE = """(SELECT row(ot.id, ot.stock_id, ot.lot_id, ot.serial_id)
          FROM serials x
          JOIN stock xs ON xs.serial_id = x.id
          JOIN pick_tasks ot ON ot.stock_id = xs.id AND ot.status = 'open'
         WHERE x.serial = $4 AND x.item_id = t.item_id AND ot.line_id = t.line_id
           AND ot.picked = 0 AND ot.id <> t.id
         LIMIT 1)"""
_MATCH_GTIN = """SELECT i.id, i.name, i.lot_tracked, i.serial_tracked, g.quantity AS pack_qty
         FROM item_gtins g JOIN items i ON i.id = g.item_id WHERE g.gtin = $3"""
_MATCH_HIBC = """SELECT i.id, i.name, i.lot_tracked, i.serial_tracked,
              coalesce((SELECT g.quantity FROM item_gtins g WHERE g.item_id = i.id AND g.hibc_uom = $7::int LIMIT 1), 1) AS pack_qty
         FROM items i WHERE i.hibc_lic = $5 AND i.hibc_pcn = $6"""


#: the MA / AHM look-up is the one every scan path uses (``scans.by_di_sql``), on parameters $9 and $10
_MATCH_DI = (
    "SELECT m.id, m.name, m.lot_tracked, m.serial_tracked, m.pack_qty FROM (" + scans.by_di_sql("$9", "$10") + ") m"
)
#: parameters a shape does not use are only cast (``OR true`` folds away when the plan is made)
_UNUSED = {
    "gtin": " AND (CAST($5 AS text) IS NULL OR CAST($6 AS text) IS NULL OR CAST($7 AS int) IS NULL"
    " OR CAST($9 AS text) IS NULL OR CAST($10 AS text) IS NULL OR true)",
    "hibc": " AND CAST($3 AS text) IS NULL AND (CAST($9 AS text) IS NULL OR CAST($10 AS text) IS NULL OR true)",
    "di": " WHERE CAST($3 AS text) IS NULL AND (CAST($5 AS text) IS NULL OR CAST($6 AS text) IS NULL"
    " OR CAST($7 AS int) IS NULL OR true)",
}
_MATCH = {"gtin": _MATCH_GTIN, "hibc": _MATCH_HIBC, "di": _MATCH_DI}
#: by the key ``domain.udi_di.item_key`` reads from the scan (``None``: a scan that names no goods)
_SHAPE = {GtinKey: "gtin", HibcKey: "hibc", DiKey: "di", type(None): "gtin"}


def _snapshot_sql(*, serial: bool, shape: str) -> str:
    # every shape names all ten parameters, so one argument list fits all
    return (
        """
SELECT (SELECT row(r.status_code, r.body, r.action) FROM udipick_scan_reply(p_scan => $2) r) AS reply,
       t.*,
       m.id AS match_item_id, m.name AS match_name, m.lot_tracked AS match_lot_tracked,
       m.serial_tracked AS match_serial_tracked, m.pack_qty AS match_pack_qty,
       """
        + (_SERIAL_STATUS if serial else "CAST($4 AS text)")
        + """ AS serial_status,
       ARRAY(SELECT row(c.*) FROM ("""
        + CANDIDATES
        + """
               AND s.location_id = t.location_id AND s.item_id = t.item_id
               -- the task's own row and the rows of the scanned lot (or, for an item without lots, every row
               -- without one), found by key: filtering all rows of the item at the location read them all
               AND s.id = ANY (ARRAY(
                     SELECT t.stock_id
                     UNION ALL
                     SELECT s2.id FROM lots x JOIN stock s2 ON s2.item_id = x.item_id AND s2.lot_id = x.id
                      WHERE x.item_id = t.item_id AND x.lot = coalesce($8::text, t.lot) AND s2.location_id = t.location_id
                     UNION ALL
                     SELECT s2.id FROM stock s2
                      WHERE coalesce($8::text, t.lot) IS NULL AND s2.item_id = t.item_id AND s2.location_id = t.location_id
                        AND s2.lot_id IS NULL))
             ORDER BY s.id) c) AS candidates,
       """
        + (_TRADE if serial else "NULL")
        + """ AS trade
  FROM (SELECT 1) one
  LEFT JOIN LATERAL ("""
        + _TASK
        + """ WHERE t.id = $1) t ON true
  LEFT JOIN LATERAL (
       """
        + _MATCH[shape]
        + _UNUSED[shape]
        + """
       LIMIT 1) m ON true
"""
    )


#: by (the scan carries a serial, how the scan names its item: GTIN, HIBC or an MA/AHM DI)
_SNAPSHOTS = {
    (serial, shape): _snapshot_sql(serial=serial, shape=shape) for serial in (False, True) for shape in _MATCH
}
_AT_LOCATION = CANDIDATES + " AND s.location_id = $1 AND s.item_id = $2 ORDER BY s.id"

#: SQLSTATEs of ``udipick_pick_accept``: what the verdict rested on changed; the scan id has an answer
_CHANGED, _ANSWERED = "UP001", "UP002"
#: a database rule caught a race the re-check could not see (stock, reservations, over-pick), or a deadlock
_RACES = {"23514", "40P01", "40001", _CHANGED}
_ATTEMPTS = 8


async def prepare_statements(conn: asyncpg.Connection) -> None:
    """Prepare each shape of the pick scan's read on a new connection (by reading a task that does not
    exist), so that the connection's first real scan is not the one that pays for it."""
    for sql in _SNAPSHOTS.values():
        await conn.fetchrow(sql, 0, uuid.UUID(int=0), None, None, None, None, None, None, None, None)


class PickAccept(NamedTuple):
    """The arguments of ``udipick_pick_accept`` (``db/sql/udipick_pick_accept.sql``), each the parameter
    ``p_<field>``: the call names every one (``_ACCEPT``), so a parameter renamed in the file fails by name."""

    scan: uuid.UUID
    action: str
    body: str  # the reply, JSON
    task: int
    picked_before: int
    units: int
    stock_before: int  # the task's stock row as read
    stock: int  # ... and as written (a swap moves the reservation)
    lot: int | None
    serial: int | None
    trade_task: int | None  # a serialised unit another task of the line had reserved: that task
    trade_lot: int | None
    trade_serial: int | None
    take_stock: int  # the stock row taken
    take_lot: int | None
    take_serial: int | None
    take_lot_status: str  # the facts the verdict judged the row on, re-checked as it writes
    take_frozen: bool
    take_hold: str | None
    take_blocked: bool
    from_location: int
    staging: int
    tote: int | None
    override_by: int | None
    override_reason: str | None
    ledger_reason: str | None
    document: str
    user: int | None
    api_key: int | None
    device: str | None
    username: str | None
    occurred: dt.datetime
    event_ids: list[str]
    types: list[str]
    data: list[str]


#: the pick write, one statement, called by name
_ACCEPT = named_call("udipick_pick_accept", PickAccept._fields)


@dataclass(frozen=True, slots=True)
class _Accept:
    """A decided, accepted pick scan: the reply body and what ``udipick_pick_accept`` writes."""

    body: dict[str, Any]
    args: PickAccept


def _decide_pick(
    snap: Any,
    scan: Any,
    actor: Actor,
    settings: Settings,
    *,
    task_id: int,
    client_scan_id: uuid.UUID,
    location_raw: str | None,
    today: dt.date,
    override: Override | None,
    all_rows: list | None = None,
    confirmed: int | None = None,
) -> _Accept | None:
    """The verdict on one snapshot: an ``_Accept`` to write, or a ``DomainError`` raised (the refusal).

    The snapshot's record becomes immutable values (the task, the scan, the stock rows) and
    ``domain.picking.decide_pick`` decides. The snapshot carries the stock rows the verdict needs in
    the usual case: the task's own row and the rows of the scanned lot. ``None``: the decision needs
    every row of the item at the location (``all_rows``): the caller reads them and asks again.
    """
    if snap["id"] is None:
        raise e.NotFound(f"pick task {task_id} does not exist", taskId=task_id)
    # the barcode's own expiry comes first: an expired unit in hand is refused whatever the books hold
    if (expired := barcode_expired(scan.expiry, scan.lot, today=today, doing="pick it")) is not None:
        raise expired
    check_tote(
        required=snap["tote_required"],
        tote=snap["tote"],
        picked=snap["picked"],
        order=snap["order_erp_id"],
        task_id=task_id,
    )
    rows = all_rows if all_rows is not None else snap["candidates"]  # tuples in ``Candidate`` field order
    for r in rows:
        if len(r) != len(_CANDIDATE_FIELDS):
            raise ValueError(f"a stock row has {len(r)} columns; Candidate has {len(_CANDIDATE_FIELDS)}")
    task = PickTask(
        snap["id"],
        snap["status"],
        snap["quantity"],
        snap["picked"],
        snap["order_erp_id"],
        snap["order_status"],
        snap["item_id"],
        snap["item_name"],
        snap["gtin"],
        snap["location_id"],
        snap["location"],
        snap["location_barcode"],
        snap["stock_id"],
        snap["lot_id"],
        snap["lot"],
        snap["expiry"],
        snap["serial_id"],
        snap["min_shelf_life_days"],
        snap["allow_bonded"],
        snap["staging_id"],
        udi_agency=snap["udi_agency"],
        udi_di=snap["udi_di"],
    )
    item_id = snap["match_item_id"]
    scanned = PickScan(
        scan.gtin or scan.content_gtin,
        scan.lot,
        scan.serial,
        scan.quantity or 1,
        item_id,
        snap["match_name"],
        bool(snap["match_lot_tracked"]),
        bool(snap["match_serial_tracked"]),
        snap["match_pack_qty"] if item_id is not None else 1,
        snap["serial_status"],
        confirmed,
    )
    other = snap["trade"]
    decision = decide_pick(
        task,
        scanned,
        [Candidate(*r) for r in rows],
        every_row=all_rows is not None,
        today=today,
        location_raw=location_raw,
        scan_config=scans.config(settings),
        override_fefo=override is not None,
        trade=ReservedSerial(*other) if other is not None else None,
    )
    if decision is None:
        return None
    verdict, trade = decision.verdict, decision.trade
    task_pk, gtin, location, order = task.task_id, task.gtin, task.location, task.order
    lot, expiry, quantity, picked_before = decision.lot, decision.expiry, task.quantity, task.picked
    c = verdict.candidate
    overridden = override if verdict.fefo_overridden else None
    picked = decision.picked
    events: list[EventData] = [
        PickConfirmed(
            order=order,
            line_no=snap["line_no"],
            task_id=task_pk,
            gtin=gtin,
            item=snap["item_erp_id"],
            lot=c.lot,
            expiry=c.expiry,
            serial=c.serial,
            quantity=verdict.units,
            location=location,
            allocated_lot=lot,
            swapped=verdict.swapped,
            tote=snap["tote"],
            client_scan_id=str(client_scan_id),
        )
    ]
    if overridden:
        events.append(
            PickOverridden(
                order=order,
                task_id=task_pk,
                gtin=gtin,
                lot=c.lot,
                expiry=c.expiry,
                allocated_lot=lot,
                allocated_expiry=expiry,
                approved_by=overridden.supervisor.username or "",
                reason=overridden.reason,
            )
        )
    # the answer is ``PickAccepted``'s members, built as a dict: the hot path encodes it twice (for
    # ``scan_replies`` and for the response) and a replay decodes it to a dict again
    body = {
        "verdict": "accepted",
        "taskId": task_pk,
        "lot": c.lot,
        "expiry": c.expiry.isoformat() if c.expiry else None,
        "serial": c.serial,
        "units": verdict.units,
        "picked": picked,
        "remaining": quantity - picked,
        "swapped": verdict.swapped,
        "fefoOverridden": verdict.fefo_overridden,
        "taskStatus": "done" if picked == quantity else "open",
        "undoSeconds": settings.pick_undo_seconds,
    }
    ids, types, data = encode_events(events)
    args = PickAccept(
        scan=client_scan_id,
        action=f"pick:{task_id}",
        body=msgspec.json.encode(body).decode(),
        task=task_pk,
        picked_before=picked_before,
        units=verdict.units,
        stock_before=task.stock_id,
        stock=decision.stock_id,
        lot=decision.lot_id,
        serial=decision.serial_id,
        trade_task=trade.task_id if trade else None,
        trade_lot=task.lot_id if trade else None,
        trade_serial=task.serial_id if trade else None,
        take_stock=c.stock_id,
        take_lot=c.lot_id,
        take_serial=c.serial_id,
        take_lot_status=c.lot_status,
        take_frozen=c.location_frozen,
        take_hold=c.hold,
        take_blocked=c.blocked,
        from_location=snap["location_id"],
        staging=snap["staging_id"],
        tote=snap["tote_id"],
        override_by=overridden.supervisor.user_id if overridden else None,
        override_reason=overridden.reason if overridden else None,
        ledger_reason=f"FEFO override approved by {overridden.supervisor.username}: {overridden.reason}"
        if overridden
        else None,
        document=order,
        user=actor.user_id,
        api_key=actor.api_key_id,
        device=actor.device_id,
        username=actor.label,
        occurred=dt.datetime.now(dt.UTC),
        event_ids=ids,
        types=types,
        data=data,
    )
    return _Accept(body, args)


def _refusal_events(
    snap: Any, task_id: int, scan: Any, client_scan_id: uuid.UUID, refusal: e.DomainError
) -> list[EventData]:
    order = snap["order_erp_id"] if snap is not None else None
    location = snap["location"] if snap is not None else None
    events: list[EventData] = [
        PickRefused(
            task_id=task_id,
            order=order,
            location=location,
            code=refusal.code,
            detail=refusal.message,
            scanned_gtin=scan.gtin or scan.content_gtin,
            scanned_lot=scan.lot,
            scanned_serial=scan.serial,
            client_scan_id=str(client_scan_id),
        )
    ]
    if isinstance(refusal, (e.StockOnHold, e.LotRecalled, e.SerialRecalled)):
        events.append(
            StockAlertRaised(
                code=refusal.code,
                detail=refusal.message,
                lot=scan.lot,
                gtin=scan.gtin,
                location=location,
                task_id=task_id,
            )
        )
    return events


def _raised(
    snap: Any,
    task_id: int,
    scan: Any,
    client_scan_id: uuid.UUID,
    refusal: e.DomainError,
    actor: Actor,
    *,
    queued: bool,
) -> Raised | None:
    """The exception a refused pick scan raises (``domain.exceptions``), if any."""
    kind = kind_of_refusal(refusal.code, queued=queued)
    if kind is None:
        return None
    ctx = refusal.context
    return Raised(
        kind=kind,
        code=refusal.code,
        detail=refusal.message,
        task_id=task_id if snap is not None else None,
        order_ref=snap["order_erp_id"] if snap is not None else None,
        location=ctx.get("location") or (snap["location"] if snap is not None else None),
        gtin=scan.gtin or scan.content_gtin,
        lot=ctx.get("scannedLot") or ctx.get("lot") or scan.lot,
        serial=scan.serial,
        client_scan_id=client_scan_id,
        event_id=None,  # the pick.refused.v1 event's, given by ``replay.store``
        queued=queued,
        user_id=actor.user_id,
        username=actor.label,
        device_id=actor.device_id,
    )


async def confirm_pick(
    db: async_sessionmaker,
    actor: Actor,
    settings: Settings,
    *,
    task_id: int,
    client_scan_id: uuid.UUID,
    raw: str,
    location_raw: str | None,
    today: dt.date,
    override: Override | None = None,
    queued: bool = False,
    quantity: int | None = None,
) -> replay.Reply:
    """One item scan against a task: accept (move stock to the picked staging area) or refuse.

    ``quantity``: the base units the picker confirmed for this one scan (``domain.picking.confirmed_units``),
    decided by the same rules as a scan of that many units.

    Read (one statement, no locks) → decide (pure) → write (one statement, one transaction, with the
    reply and the outbox events). The write re-checks what the verdict rested on; when another scan,
    a hold or a short pick changed it meanwhile, the scan is read and decided again. A replayed
    ``client_scan_id`` gets its first answer and changes nothing.
    """
    scan = scans.read(raw, settings, today)  # an unreadable barcode is refused before the database is asked
    action = f"pick:{task_id}"
    key = item_key(scan)
    gtin = key.gtin if isinstance(key, GtinKey) else None
    hibc = key if isinstance(key, HibcKey) else None
    di = key if isinstance(key, DiKey) else None
    last = ""
    async with pg_connection(db) as conn:
        for attempt in range(_ATTEMPTS):
            snap = await conn.fetchrow(
                _SNAPSHOTS[scan.serial is not None, _SHAPE[type(key)]],
                task_id,
                client_scan_id,
                gtin,
                scan.serial,
                hibc.lic if hibc else None,
                hibc.pcn if hibc else None,
                hibc.uom if hibc else None,
                scan.lot,
                di.agency if di else None,
                di.di if di else None,
            )
            if snap["reply"] is not None:
                return replay.reply_from_row(snap["reply"], client_scan_id, action)
            try:
                plan = _decide_pick(
                    snap,
                    scan,
                    actor,
                    settings,
                    task_id=task_id,
                    client_scan_id=client_scan_id,
                    location_raw=location_raw,
                    today=today,
                    override=override,
                    confirmed=quantity,
                )
                if plan is None:
                    every = await conn.fetch(_AT_LOCATION, snap["location_id"], snap["item_id"])
                    plan = _decide_pick(
                        snap,
                        scan,
                        actor,
                        settings,
                        task_id=task_id,
                        client_scan_id=client_scan_id,
                        location_raw=location_raw,
                        today=today,
                        override=override,
                        all_rows=[tuple(r) for r in every],
                        confirmed=quantity,
                    )
                    assert plan is not None
            except e.DomainError as refusal:
                if isinstance(refusal, e.LotRecalled) and snap["id"] is not None and refusal.context.get("lot"):
                    name_the_recall(refusal, await open_recall_by_lot(conn, snap["item_id"], refusal.context["lot"]))
                elif isinstance(refusal, e.StockOnHold) and snap["id"] is not None and scan.serial:
                    # a serial hold of a recall: the unit is recalled (the rest of its lot is not)
                    naming = await serial_recall_by_serial(conn, snap["item_id"], scan.serial)
                    if naming:
                        refusal = serial_recalled(
                            scan.serial,
                            refusal.context.get("lot"),
                            naming,
                            doing="pick",
                            location=refusal.context.get("location"),
                        )
                elif isinstance(refusal, e.LocationFrozen) and snap["id"] is not None:
                    refusal = await _under_count(conn, snap["location_id"], refusal)
                known = snap if snap["id"] is not None else None
                return await _store_refusal(
                    conn,
                    action,
                    actor,
                    client_scan_id,
                    refusal,
                    _refusal_events(known, task_id, scan, client_scan_id, refusal),
                    _raised(known, task_id, scan, client_scan_id, refusal, actor, queued=queued),
                )
            try:
                await conn.execute(_ACCEPT, *plan.args)
            except asyncpg.PostgresError as exc:
                if exc.sqlstate == _ANSWERED:  # the same scan id raced in from a second request: its answer is ours
                    first = await replay.answer(conn, client_scan_id, action)
                    assert first is not None
                    return first
                if exc.sqlstate in _RACES:
                    last = f"{exc.sqlstate}: {exc}"
                    await asyncio.sleep(random.uniform(0, 0.002 * (attempt + 1)))
                    continue
                raise
            wake_sequencer()
            return replay.Reply(200, plan.body, False)
    # each write found the stock changed since its read: under heavy contention on one item, or a re-check
    # that can never pass (a bug); the log says which
    log.warning(
        "pick scan %s on task %s: gave up after %d attempts; last: %s", client_scan_id, task_id, _ATTEMPTS, last
    )
    refusal = e.StockChanged("the stock changed while this scan was decided, several times; scan again")
    return replay.Reply(status_for(refusal), problem_body(refusal), False)


async def _under_count(conn: asyncpg.Connection, location_id: int, refusal: e.DomainError) -> e.DomainError:
    """A frozen location that a count task froze: say so, and what to do (issue 19)."""
    from udipick.services.count_tasks import under_count

    task = await under_count(conn, location_id)
    if task is None:
        return refusal
    where = refusal.context.get("location")
    return e.LocationUnderCount(
        f"Location {where} is being counted (count task {task}): pick nothing here until the count ends;"
        " report the task short or come back later",
        location=where,
        countTask=task,
    )


async def _store_refusal(
    conn: asyncpg.Connection,
    action: str,
    actor: Actor,
    client_scan_id: uuid.UUID,
    refusal: e.DomainError,
    events: list[EventData],
    raised: Raised | None = None,
) -> replay.Reply:
    """Store a refusal as the scan id's answer, with its events (``replay.store``, as every workflow stores
    its answers), and the exception it raises for the supervisor's queue, if any, in the same statement;
    a race for the same id keeps the first."""
    problem, status = problem_body(refusal), status_for(refusal)
    if refusal.retryable:  # a race, not a verdict: the same scan id may be sent again
        return replay.Reply(status, problem, False)
    if not await replay.store(conn, client_scan_id, action, actor, status, problem, events, raised):
        first = await replay.answer(conn, client_scan_id, action)
        assert first is not None
        return first
    wake_sequencer()
    return replay.Reply(status, problem, False)


# ---- short pick -------------------------------------------------------------------------------------


async def _count_after_short(session: AsyncSession, actor: Actor, task: Any) -> None:
    from udipick.services.count_tasks import add_task

    open_line = await session.scalar(
        text(
            "SELECT 1 FROM count_lines cl JOIN count_tasks t ON t.id = cl.task_id"
            " WHERE cl.location_id = :l AND cl.item_id = :i AND cl.status <> 'done' AND t.status = 'open'"
        ),
        {"l": task.location_id, "i": task.item_id},
    )
    if open_line is None:
        item = await session.scalar(text("SELECT erp_id FROM items WHERE id = :i"), {"i": task.item_id})
        await add_task(
            session,
            actor,
            kind="location",
            origin="short-pick",
            location=task.location,
            item=item,
            note=f"short pick on task {task.id} (order {task.order_erp_id})",
        )


async def report_short(
    db: async_sessionmaker,
    actor: Actor,
    *,
    task_id: int,
    client_scan_id: uuid.UUID,
    today: dt.date,
    found: int = 0,
) -> replay.Reply:
    """The shelf has less than udipick thinks: record the count discrepancy, block the location for
    the item until counted, and re-allocate the rest FEFO (or backorder it).

    ``found``: units the picker found there and could not take (0 to the task's remainder), carried by
    ``pick.shorted.v1`` and the exception, so the supervisor and the count start from what was seen."""

    async def decide_and_write(session: AsyncSession) -> ShortReported:
        # the item's lock first, then the task's, in the order every other writer takes them (a cancel, a
        # replenishment): the other way round, a short pick racing a cancel of its task could deadlock
        await lock_items(session, [(await _load_task(session, task_id, lock=False)).item_id])
        task = await _load_task(session, task_id, lock=True)
        if task.status != "open":
            raise e.TaskNotOpen(f"task {task_id} is {task.status}", taskId=task_id, taskStatus=task.status)
        remaining = task.quantity - task.picked  # scan what is there first; the rest is short
        check_short_found(found, remaining)
        await session.execute(
            text("UPDATE stock SET reserved = reserved - :q WHERE id = :id"), {"q": remaining, "id": task.stock_id}
        )
        await session.execute(
            text(
                "UPDATE pick_tasks SET status = 'short', quantity = CASE WHEN picked > 0 THEN picked ELSE quantity END WHERE id = :id"
            ),
            {"id": task.id},
        )
        await session.execute(
            text("UPDATE outbound_lines SET quantity_allocated = quantity_allocated - :q WHERE id = :id"),
            {"q": remaining, "id": task.line_id},
        )
        await session.execute(
            text(
                "INSERT INTO location_blocks (location_id, item_id, reason, created_by) VALUES (:l, :i, :r, :u)"
                " ON CONFLICT DO NOTHING"
            ),
            {
                "l": task.location_id,
                "i": task.item_id,
                "r": f"short pick on task {task.id}: count required",
                "u": actor.user_id,
            },
        )
        # the block becomes a count task for the item at the location (unless one is open already)
        await _count_after_short(session, actor, task)
        allocated_before = await session.scalar(
            text("SELECT quantity_allocated FROM outbound_lines WHERE id = :id"), {"id": task.line_id}
        )
        n, _ = await _allocate(
            session, task.wave_id, await _open_lines(session, "ol.id = ANY(CAST(:ids AS int[]))", [task.line_id]), today
        )
        allocated_after = await session.scalar(
            text("SELECT quantity_allocated FROM outbound_lines WHERE id = :id"), {"id": task.line_id}
        )
        # the line may carry an older backorder too: this event speaks of this task's units only
        reallocated = min(remaining, allocated_after - allocated_before)
        backordered = remaining - reallocated
        ids = await emit(
            session,
            actor,
            PickShorted(
                order=task.order_erp_id,
                line_no=task.line_no,
                task_id=task.id,
                gtin=task.gtin,
                lot=task.lot,
                location=task.location,
                expected=remaining,
                found=found,
                reallocated=reallocated,
                backordered=backordered,
            ),
        )
        # the books said more than the shelf held: a supervisor sees it in the queue (the count follows)
        await raise_in(
            session,
            Raised(
                kind="short-pick",
                code="short-pick",
                detail=f"{remaining} of lot {task.lot} not picked at {task.location} (order {task.order_erp_id}"
                f" line {task.line_no}; the picker found {found} there): {reallocated} re-allocated,"
                f" {backordered} backordered",
                task_id=task.id,
                order_ref=task.order_erp_id,
                location=task.location,
                gtin=task.gtin,
                lot=task.lot,
                serial=None,
                client_scan_id=client_scan_id,
                event_id=ids[0],
                queued=False,
                user_id=actor.user_id,
                username=actor.label,
                device_id=actor.device_id,
            ),
        )
        return ShortReported(task.id, remaining, n, backordered, task.location)

    return await replay.once(db, client_scan_id, f"short:{task_id}", actor, decide_and_write)


# ---- undo of a pick scan ----------------------------------------------------------------------------

_PICK_TO_UNDO = """
SELECT p.id, p.task_id, p.picked_by, p.undone_at IS NOT NULL AS undone, p.packed, p.put_back, p.quantity,
       p.lot_id, p.serial_id, p.from_location_id, p.staging_location_id, p.container_id,
       extract(epoch FROM now() - p.picked_at) AS age_seconds,
       NOT EXISTS (SELECT 1 FROM picks q WHERE q.task_id = p.task_id AND q.picked_by IS NOT DISTINCT FROM p.picked_by
                      AND q.undone_at IS NULL AND q.id > p.id) AS latest,
       l.lot, l.expiry, se.serial, loc.code AS from_location, tote.code AS tote
  FROM picks p
  JOIN locations loc ON loc.id = p.from_location_id
  LEFT JOIN lots l ON l.id = p.lot_id
  LEFT JOIN serials se ON se.id = p.serial_id
  LEFT JOIN containers tote ON tote.id = p.container_id
 WHERE p.client_scan_id = :scan
 ORDER BY p.id
 LIMIT 1
"""


async def undo_pick(
    db: async_sessionmaker,
    actor: Actor,
    *,
    task_id: int,
    client_scan_id: uuid.UUID,
    scan_id: uuid.UUID,
    window_seconds: int,
) -> replay.Reply:
    """Take back the caller's last pick scan on ``task_id`` (``domain.picking.check_undo``): a reversing
    ledger movement from staging back to the shelf it came from, the reservation and the task as before the
    scan, ``pick.undone.v1`` in the outbox, all in one transaction. The pick row stays, marked undone: the
    ledger and the event stream are append-only, the reversal is an entry of its own."""

    async def decide_and_write(session: AsyncSession) -> PickUndone:
        # the item's lock, then the task's, as every writer of reservations takes them (``lock_items``)
        await lock_items(session, [(await _load_task(session, task_id, lock=False)).item_id])
        task = await _load_task(session, task_id, lock=True)
        p = (await session.execute(text(_PICK_TO_UNDO + " FOR UPDATE OF p"), {"scan": scan_id})).one_or_none()
        if p is None:
            raise e.UndoNotLast(f"Only your last pick on task {task_id} can be undone, once", taskId=task_id)
        check_undo(
            PickToUndo(
                task_id=task_id,
                pick_task_id=p.task_id,
                picked_by=p.picked_by,
                undone=p.undone,
                packed=p.packed,
                put_back=p.put_back,
                age_seconds=float(p.age_seconds),
                latest=p.latest,
                task_status=task.status,
                order=task.order_erp_id,
                order_status=task.order_status,
            ),
            user_id=actor.user_id,
            window_seconds=window_seconds,
        )
        (event_id,) = await emit(
            session,
            actor,
            PickUndoneEvent(
                order=task.order_erp_id,
                line_no=task.line_no,
                task_id=task.id,
                gtin=task.gtin,
                item=task.item_erp_id,
                lot=p.lot,
                expiry=p.expiry,
                serial=p.serial,
                quantity=p.quantity,
                location=p.from_location,
                tote=p.tote,
                undone_client_scan_id=str(scan_id),
                client_scan_id=str(client_scan_id),
            ),
        )
        await post_movements(
            session,
            actor,
            [
                Movement(
                    "move",
                    item_id=task.item_id,
                    quantity=p.quantity,
                    lot_id=p.lot_id,
                    serial_id=p.serial_id,
                    from_location_id=p.staging_location_id,
                    from_container_id=p.container_id,
                    from_status="picked",
                    to_location_id=p.from_location_id,
                    to_status="available",
                    reason=f"undo of pick scan {scan_id}",
                    document_type="sales_order",
                    document_id=task.order_erp_id,
                    event_id=event_id,
                )
            ],
        )
        # the units are the task's again: the scan took its reservation off the task's stock row (also when
        # the picker took another lot, whose units have just gone back to their own row), so it goes back there
        await session.execute(
            text("UPDATE stock SET reserved = reserved + :q WHERE id = :id"), {"q": p.quantity, "id": task.stock_id}
        )
        picked = task.picked - p.quantity
        await session.execute(
            text("UPDATE pick_tasks SET picked = :picked, status = 'open' WHERE id = :id"),
            {"picked": picked, "id": task.id},
        )
        await session.execute(
            text("UPDATE outbound_lines SET quantity_picked = quantity_picked - :q WHERE id = :id"),
            {"q": p.quantity, "id": task.line_id},
        )
        if p.serial_id is not None:
            await session.execute(
                text("UPDATE serials SET status = 'in_stock', location_id = :l WHERE id = :id AND status = 'picked'"),
                {"l": p.from_location_id, "id": p.serial_id},
            )
        await session.execute(
            text("UPDATE picks SET undone_at = now(), undone_by = :u WHERE id = :id"), {"u": actor.user_id, "id": p.id}
        )
        return PickUndone(
            task.id, scan_id, p.quantity, picked, task.quantity - picked, p.from_location, p.lot, p.serial
        )

    return await replay.once(db, client_scan_id, f"undo:{task_id}", actor, decide_and_write)


async def release_for_hold(session: AsyncSession, hold_sql: str, params: dict[str, Any], today: dt.date) -> int:
    """Open tasks whose stock a new hold covers lose their reservation and are re-allocated."""
    items = (
        (
            await session.execute(
                text(
                    "SELECT DISTINCT t.item_id FROM pick_tasks t JOIN stock s ON s.id = t.stock_id WHERE t.status = 'open' AND "
                    + hold_sql
                ),
                params,
            )
        )
        .scalars()
        .all()
    )
    if not items:
        return 0
    await lock_items(session, list(items))
    rows = (
        await session.execute(
            text(
                "SELECT t.id, t.stock_id, t.line_id, t.wave_id, t.quantity - t.picked AS remaining FROM pick_tasks t"
                " JOIN stock s ON s.id = t.stock_id WHERE t.status = 'open' AND "
                + hold_sql
                + " ORDER BY t.id FOR UPDATE OF t"
            ),
            params,
        )
    ).all()
    for r in rows:
        await session.execute(
            text("UPDATE stock SET reserved = reserved - :q WHERE id = :id"), {"q": r.remaining, "id": r.stock_id}
        )
        await session.execute(
            text(
                "UPDATE pick_tasks SET status = CASE WHEN picked > 0 THEN 'done' ELSE 'cancelled' END,"
                " quantity = CASE WHEN picked > 0 THEN picked ELSE quantity END WHERE id = :id"
            ),
            {"id": r.id},
        )
        await session.execute(
            text("UPDATE outbound_lines SET quantity_allocated = quantity_allocated - :q WHERE id = :id"),
            {"q": r.remaining, "id": r.line_id},
        )
    if not rows:
        return 0
    waves: dict[int, int] = {}
    for r in rows:
        waves[r.line_id] = max(waves.get(r.line_id, 0), r.wave_id)
    for ln in await _open_lines(session, "ol.id = ANY(CAST(:ids AS int[]))", sorted(waves)):
        await _allocate(session, waves[ln.line_id], [ln], today)
    return len(rows)


async def assign_tote(
    db: async_sessionmaker, settings: Settings, *, wave_id: int, order: str, raw: str, today: dt.date
) -> ToteAssigned:
    """Batch picking: the order's picks in this wave go into this tote (created on first use)."""
    scan = scans.read(raw, settings, today)
    if scan.kind != "tote":
        raise e.UnreadableBarcode(
            f"this is not a tote label (they start with {settings.tote_prefix})", position=0, reason="not a tote"
        )
    code = scan.raw.strip()
    async with db.begin() as session:
        doc_id = await session.scalar(text("SELECT id FROM outbound_documents WHERE erp_id = :o"), {"o": order})
        if doc_id is None:
            raise e.NotFound(f"no sales order {order}", order=order)
        tote_id = await session.scalar(
            text(
                "INSERT INTO containers (kind, code) VALUES ('tote', :c) ON CONFLICT (code) DO UPDATE SET kind = containers.kind"
                " RETURNING id"
            ),
            {"c": code},
        )
        kind = await session.scalar(text("SELECT kind FROM containers WHERE id = :id"), {"id": tote_id})
        if kind != "tote":
            raise e.Conflict(f"{code} is a {kind}, not a tote", tote=code)
        other = await session.scalar(
            text(
                "SELECT d.erp_id FROM pick_tasks t JOIN outbound_documents d ON d.id = t.document_id"
                " WHERE t.tote_id = :tote AND t.document_id <> :doc AND t.status = 'open' LIMIT 1"
            ),
            {"tote": tote_id, "doc": doc_id},
        )
        if other is None:
            other = await session.scalar(
                text(
                    "SELECT d.erp_id FROM picks p JOIN outbound_documents d ON d.id = p.document_id"
                    " WHERE p.container_id = :tote AND p.document_id <> :doc AND p.quantity > p.packed AND p.undone_at IS NULL LIMIT 1"
                ),
                {"tote": tote_id, "doc": doc_id},
            )
        if other:
            raise e.Conflict(f"tote {code} is in use for order {other}: take an empty tote", tote=code, order=other)
        n = (
            await session.execute(
                text(
                    "UPDATE pick_tasks SET tote_id = :tote WHERE wave_id = :w AND document_id = :doc AND status = 'open' AND picked = 0"
                ),
                {"tote": tote_id, "w": wave_id, "doc": doc_id},
            )
        ).rowcount
        if not n:
            raise e.Conflict(f"order {order} has no unstarted tasks in wave {wave_id}", order=order, waveId=wave_id)
    return ToteAssigned(wave_id, order, code, n)

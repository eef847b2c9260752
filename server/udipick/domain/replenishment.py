"""Replenishment: refill an item's pick face from reserve before pickers have to walk to reserve.

A wave allocates pick faces first and falls back to reserve (``domain.allocation``): units promised
from reserve are demand the pick face could not serve. The planner tops the face up by that demand
plus the item's minimum (``items.replenish_min``), net of what is already on the face and on its way
there, from reserve stock in FEFO order, so the next wave finds the units where pickers walk and the
earliest-expiring lot leaves reserve first. Held, recalled, quarantined, expired or short-dated lots
are never moved to a pick face: the same eligibility rule as allocation decides.

Serialised items are not replenished: every unit is its own stock row, allocated and picked where it
lies (moving single serials ahead of demand buys nothing).

Pure: stock snapshots in, moves out, ``today`` passed in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from udipick.domain import errors as e
from udipick.domain.allocation import (
    Candidate,
    fefo_key,
    ineligibility,
    unfit_stock,
)
from udipick.domain.udi_di import wrong_item
from udipick.domain.values import Value

#: location types allocation prefers to reserve; stock there is "on the pick face"
FACE_TYPES = ("pick", "cold", "bonded")
RESERVE = "reserve"

#: why units stay uncovered, besides the ineligibility reasons of ``domain.allocation``
NO_PICK_FACE = "no-pick-face"
PICK_FACE_UNUSABLE = "pick-face-unusable"
NO_STOCK = "no-stock"


class ItemNeed(Value):
    item_id: int
    #: units open pick tasks still have to take from reserve locations
    reserve_demand: int
    #: ``items.replenish_min``: units the pick face should hold free beyond that demand (0 when unset)
    minimum: int = 0
    #: the item's own minimum remaining shelf life: a lot below it is of no use on the pick face
    min_shelf_life_days: int = 0


class PickFace(Value):
    """A pick-face location that holds the item, or held it (an emptied slot keeps its stock row)."""

    item_id: int
    location_id: int
    location: str
    pick_sequence: int
    frozen: bool = False
    #: blocked for this item after a short pick, until counted
    blocked: bool = False
    #: an active location hold
    held: bool = False

    @property
    def usable(self) -> bool:
        return not (self.frozen or self.blocked or self.held)


class OpenTask(Value):
    task_id: int
    item_id: int
    lot_id: int | None
    from_location_id: int
    to_location_id: int
    #: units still to move (quantity - moved); they count as on their way to the face
    remaining: int
    #: the reserve stock row holding them: when its lot went on hold (or expired, was recalled, ...) they
    #: cannot arrive, and the face is planned as if the task were not there (a supervisor cancels it)
    stock_id: int | None = None


class Move(Value):
    """Move ``quantity`` of one reserve stock row to ``to``."""

    candidate: Candidate
    to: PickFace
    quantity: int
    #: the open task for the same lot, source and face, raised by ``quantity`` (never a second open task)
    task_id: int | None = None


class ItemPlan(Value):
    """What one item's pick face lacks and how reserve covers it."""

    item_id: int
    face: PickFace | None
    #: eligible free units on the item's pick faces
    available: int
    #: units of open replenishment tasks still to arrive
    incoming: int
    #: reserve demand + minimum
    wanted: int
    moves: tuple[Move, ...]
    #: units reserve could not cover (all of them when there is no usable face)
    missing: int
    #: why ``missing`` is not zero: no-pick-face, pick-face-unusable, no-stock, or the reason most reserve stock was refused
    reason: str | None

    @property
    def short(self) -> int:
        return self.wanted - self.available - self.incoming


def choose_face(faces: Iterable[PickFace]) -> PickFace | None:
    """The usable face first on the pick path (lowest pick sequence, then code)."""
    return min((f for f in faces if f.usable), key=lambda f: (f.pick_sequence, f.location, f.location_id), default=None)


def face_available(stock: Iterable[Candidate], need: ItemNeed, *, today: dt.date) -> int:
    """Free units on the item's pick faces that a wave could allocate (eligible for the item's own minimum)."""
    return sum(
        c.available
        for c in stock
        if c.item_id == need.item_id
        and c.location_type in FACE_TYPES
        and c.available > 0
        and ineligibility(c, today=today, min_shelf_life_days=need.min_shelf_life_days, allow_bonded=True) is None
    )


def _can_arrive(task: OpenTask, sources: dict[int, Candidate], today: dt.date) -> bool:
    source = sources.get(task.stock_id) if task.stock_id is not None else None
    return source is None or ineligibility(source, today=today, min_shelf_life_days=0, allow_bonded=True) is None


def plan_item(
    need: ItemNeed,
    stock: Sequence[Candidate],
    faces: Sequence[PickFace],
    open_tasks: Sequence[OpenTask],
    *,
    today: dt.date,
) -> ItemPlan | None:
    """``None`` when the face holds (or will hold) enough; else the moves from reserve, earliest expiry first."""
    mine = [t for t in open_tasks if t.item_id == need.item_id]
    available = face_available(stock, need, today=today)
    sources = {c.stock_id: c for c in stock if c.item_id == need.item_id}
    incoming = sum(t.remaining for t in mine if _can_arrive(t, sources, today))
    wanted = need.reserve_demand + need.minimum
    short = wanted - available - incoming
    if short <= 0:
        return None
    item_faces = [f for f in faces if f.item_id == need.item_id]
    face = choose_face(item_faces)
    if face is None:
        return ItemPlan(
            need.item_id,
            None,
            available,
            incoming,
            wanted,
            (),
            short,
            PICK_FACE_UNUSABLE if item_faces else NO_PICK_FACE,
        )
    open_by_key = {(t.lot_id, t.from_location_id, t.to_location_id): t.task_id for t in mine}
    refused: dict[str, int] = {}
    moves: list[Move] = []
    left = short
    for c in sorted((c for c in stock if c.item_id == need.item_id and c.location_type == RESERVE), key=fefo_key):
        if left == 0:
            break
        if c.available <= 0 or c.serial_id is not None:
            continue
        why = ineligibility(c, today=today, min_shelf_life_days=need.min_shelf_life_days, allow_bonded=True)
        if why is not None:
            refused[why] = refused.get(why, 0) + c.available
            continue
        qty = min(left, c.available)
        moves.append(Move(c, face, qty, open_by_key.get((c.lot_id, c.location_id, face.location_id))))
        left -= qty
    reason = None if left == 0 else (max(refused, key=lambda k: refused[k]) if refused else NO_STOCK)
    return ItemPlan(need.item_id, face, available, incoming, wanted, tuple(moves), left, reason)


def plan_replenishment(
    needs: Iterable[ItemNeed],
    stock: Sequence[Candidate],
    faces: Sequence[PickFace],
    open_tasks: Sequence[OpenTask],
    *,
    today: dt.date,
) -> list[ItemPlan]:
    """One plan per item whose pick face is short; items are independent (their stock rows never overlap)."""
    stock_of: dict[int, list[Candidate]] = {}
    faces_of: dict[int, list[PickFace]] = {}
    tasks_of: dict[int, list[OpenTask]] = {}
    for c in stock:
        stock_of.setdefault(c.item_id, []).append(c)
    for f in faces:
        faces_of.setdefault(f.item_id, []).append(f)
    for t in open_tasks:
        tasks_of.setdefault(t.item_id, []).append(t)
    plans = []
    for need in needs:
        # each item sees only its own rows: filtering every row for every item was items x rows
        plan = plan_item(
            need,
            stock_of.get(need.item_id, ()),
            faces_of.get(need.item_id, ()),
            tasks_of.get(need.item_id, ()),
            today=today,
        )
        if plan is not None:
            plans.append(plan)
    return plans


# ---- the confirm scans -------------------------------------------------------------------------------


class TaskView(Value):
    """An open replenishment task, as the worker must carry it out."""

    task_id: int
    item_id: int
    item_name: str
    gtin: str
    lot_tracked: bool
    lot: str | None
    from_location: str
    from_barcode: str
    to_location: str
    to_barcode: str
    #: units still to move; the task's own reservation on the source row
    remaining: int
    to_frozen: bool = False
    to_blocked: bool = False
    #: the registering agency and, for MA or AHM, the item's DI of the each level (named by a wrong-item refusal)
    udi_agency: str = "gs1"
    udi_di: str | None = None


class LocationScan(Value):
    #: the label as scanned (compared with the location's barcode)
    label: str
    #: what to call it in a message: the location code when it is a location label, else the raw text
    shown: str


class MoveScan(Value):
    source: LocationScan
    item_id: int | None
    gtin: str | None
    lot: str | None
    #: units the worker says were moved; ``None``: all the task still needs
    units: int | None
    destination: LocationScan


def judge_replenishment_scan(task: TaskView, scan: MoveScan, source: Candidate, *, today: dt.date) -> int:
    """Decide one confirm: the units to move, or the refusal that tells the worker what to do instead.

    Checked in the order the worker walks: the source location, the item, its lot (exactly the lot the
    task reserved), the source stock still movable, the quantity, the destination. ``source`` is the
    reserved stock row; its ``available`` does not count the task's own reservation.
    """
    if scan.source.label != task.from_barcode:
        raise e.WrongLocation(
            f"You are at {scan.source.shown}; this replenishment takes from {task.from_location}. Go to {task.from_location}",
            expectedLocation=task.from_location,
            scannedLocation=scan.source.shown,
            takeLocation=task.from_location,
        )
    if scan.item_id is None or scan.item_id != task.item_id:
        raise wrong_item(
            item_name=task.item_name,
            gtin=task.gtin,
            udi_agency=task.udi_agency,
            udi_di=task.udi_di,
            scanned_gtin=scan.gtin,
            location=task.from_location,
        )
    if task.lot_tracked and scan.lot is None:
        raise e.MissingLot(f"{task.item_name} is lot-tracked: scan the code that carries the lot (10)", needs=["lot"])
    if task.lot is not None and scan.lot != task.lot:
        raise e.WrongLot(
            f"This is lot {scan.lot}; this replenishment moves lot {task.lot}: take lot {task.lot} from {task.from_location}",
            takeLot=task.lot,
            takeLocation=task.from_location,
            scannedLot=scan.lot,
        )
    why = ineligibility(source, today=today, min_shelf_life_days=0, allow_bonded=True)
    if why is not None:
        raise unfit_stock(why, source, taking="move", today=today)
    units = task.remaining if scan.units is None else scan.units
    if units > task.remaining:
        raise e.OverPick(
            f"Only {task.remaining} more to move; this is {units}. Move {task.remaining}",
            remaining=task.remaining,
            scannedUnits=units,
        )
    on_shelf = source.available + task.remaining
    if units > on_shelf:
        raise e.InsufficientStock(
            f"Udipick shows only {on_shelf} of lot {task.lot} at {task.from_location}: move what is there, then tell your supervisor",
            available=on_shelf,
            lot=task.lot,
            location=task.from_location,
        )
    if scan.destination.label != task.to_barcode:
        raise e.WrongLocation(
            f"You are at {scan.destination.shown}; these units go to {task.to_location}. Go to {task.to_location}",
            expectedLocation=task.to_location,
            scannedLocation=scan.destination.shown,
            takeLocation=task.to_location,
        )
    if task.to_frozen or task.to_blocked:
        why_not = "frozen (count or investigation)" if task.to_frozen else "blocked for this item until it is counted"
        raise e.LocationFrozen(
            f"Location {task.to_location} is {why_not}: put nothing there; tell your supervisor",
            location=task.to_location,
        )
    return units

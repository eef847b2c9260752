"""The pick scan: is the unit in the picker's hand the one this task may take, here and now?

Pure: the task, the scan and the stock rows at the task's location are immutable snapshots the
service read (``services.picking``), ``today`` is passed in. Eligibility and FEFO order are those
of ``domain.allocation``, the same rules that made the allocation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from msgspec.structs import replace

from udipick.domain import errors as e
from udipick.domain.allocation import (
    Candidate,
    fefo_key,
    ineligibility,
    on_the_shelf,
    unfit_stock,
)
from udipick.domain.barcodes import ScanConfig, interpret
from udipick.domain.udi_di import wrong_item
from udipick.domain.values import Value

#: how scans are read when the caller does not say (the settings' defaults)
DEFAULT_SCAN_CONFIG = ScanConfig()

# ---- the scan verdict ------------------------------------------------------------------------------


class TaskView(Value):
    """What a pick task asks for, as allocated."""

    task_id: int
    item_id: int
    item_name: str
    gtin: str
    location_id: int
    location: str
    lot_id: int | None
    lot: str | None
    expiry: dt.date | None
    serial_id: int | None
    remaining: int
    min_shelf_life_days: int
    allow_bonded: bool
    #: the agency the item was registered with (``items.udi_agency``) and its DI of the each level when that
    #: is MA or AHM: the code on the units' labels, which a refusal names instead of a GTIN nobody sees
    udi_agency: str = "gs1"
    udi_di: str | None = None


class ScannedUnit(Value):
    item_id: int | None
    gtin: str | None
    lot: str | None
    serial: str | None
    units: int
    #: the serial's own status when the serial is known (in_stock, picked, packed, shipped, ...)
    serial_status: str | None = None


class Verdict(Value):
    """An accepted scan: take ``units`` from ``candidate`` (a different lot than allocated when ``swapped``)."""

    candidate: Candidate
    units: int
    swapped: bool
    fefo_overridden: bool = False


def judge_pick_scan(
    task: TaskView,
    scanned: ScannedUnit,
    at_location: Sequence[Candidate],
    first_eligible: Candidate | None,
    *,
    today: dt.date,
    override_fefo: bool = False,
) -> Verdict:
    """Decide one item scan at the task's location.

    ``at_location``: the stock of the task's item at the task's location (all lots and statuses), with
    ``available`` counting the task's own reservation as available to it.
    ``first_eligible``: the earliest-expiring eligible stock of the item anywhere, for the message
    that tells the picker what to take instead.
    A different lot than allocated is accepted (and the allocation swapped) when it is eligible and
    expires no later than the allocated lot; later-expiring lots are a ``FefoViolation``.
    """
    if scanned.item_id is None or scanned.item_id != task.item_id:
        raise wrong_item(
            item_name=task.item_name,
            gtin=task.gtin,
            udi_agency=task.udi_agency,
            udi_di=task.udi_di,
            scanned_gtin=scanned.gtin,
            location=task.location,
        )
    if scanned.serial_status in ("picked", "packed"):
        raise e.SerialAlreadyPicked(
            f"Serial {scanned.serial} was already picked: scan another unit", serial=scanned.serial
        )
    if scanned.serial_status == "shipped":
        raise e.SerialAlreadyShipped(
            f"Serial {scanned.serial} has already shipped: this unit must not be here; put it aside and tell your supervisor",
            serial=scanned.serial,
        )
    if scanned.serial_status == "hold":
        raise e.StockOnHold(
            f"Serial {scanned.serial} is on hold: do not pick it",
            reason="serial hold",
            serial=scanned.serial,
            lot=scanned.lot,
            location=task.location,
        )
    if scanned.serial_status == "rejected":
        raise e.LotQuarantined(
            f"Serial {scanned.serial} was rejected by QC: it is not released for sale",
            lotStatus="rejected",
            serial=scanned.serial,
            lot=scanned.lot,
            location=task.location,
        )
    if scanned.units > task.remaining:
        raise e.OverPick(
            f"Only {task.remaining} more needed; this scan is {scanned.units}. Take single units instead",
            remaining=task.remaining,
            scannedUnits=scanned.units,
        )
    lot = scanned.lot if scanned.lot is not None else task.lot
    matching = [c for c in at_location if c.lot == lot and (scanned.serial is None or c.serial == scanned.serial)]
    if not matching:
        raise e.LotNotAtLocation(
            f"Udipick has no lot {lot} of this item at {task.location}: take lot {task.lot} from {task.location}",
            scannedLot=lot,
            takeLot=task.lot,
            takeLocation=task.location,
        )
    # the first matching row with stock; a held or expired lot is refused for that reason, not for quantity
    candidate = next((c for c in matching if c.available > 0), matching[0])
    why = ineligibility(
        candidate, today=today, min_shelf_life_days=task.min_shelf_life_days, allow_bonded=task.allow_bonded
    )
    if why is not None:
        raise unfit_stock(why, candidate, taking="pick", today=today, min_shelf_life_days=task.min_shelf_life_days)
    swapped = lot != task.lot or (scanned.serial is not None and candidate.serial_id != task.serial_id)
    overridden = False
    if lot != task.lot and task.expiry is not None and (candidate.expiry is None or candidate.expiry > task.expiry):
        if not override_fefo:
            take = first_eligible if first_eligible is not None and first_eligible.expiry is not None else None
            take_lot, take_loc, take_exp = (
                (take.lot, take.location, take.expiry) if take else (task.lot, task.location, task.expiry)
            )
            raise e.FefoViolation(
                f"Take lot {take_lot} from {take_loc}: it expires first ({take_exp}); lot {lot} expires {candidate.expiry}",
                takeLot=take_lot,
                takeLocation=take_loc,
                takeExpiry=take_exp,
                scannedLot=lot,
                scannedExpiry=candidate.expiry,
            )
        overridden = True
    if candidate.available < scanned.units:
        raise e.InsufficientStock(
            f"Udipick shows only {candidate.available} of lot {lot} at {task.location}: report a short pick",
            available=candidate.available,
            lot=lot,
            location=task.location,
        )
    return Verdict(candidate, scanned.units, swapped, overridden)


# ---- the whole decision on one scan ------------------------------------------------------------------


class PickTask(Value):
    """A pick task as the scan reads it: what was allocated, how much is picked, the order's state."""

    task_id: int
    status: str
    quantity: int
    picked: int
    order: str
    order_status: str
    item_id: int
    item_name: str
    gtin: str
    location_id: int
    location: str
    location_barcode: str
    stock_id: int
    lot_id: int | None
    lot: str | None
    expiry: dt.date | None
    serial_id: int | None
    min_shelf_life_days: int
    allow_bonded: bool
    #: the warehouse's staging (shipping) location picked goods go to; None when it has none
    staging_id: int | None
    #: as ``TaskView``: the registering agency and, for MA or AHM, the item's DI of the each level
    udi_agency: str = "gs1"
    udi_di: str | None = None


class PickScan(Value):
    """What the picker scanned and what udipick knows of it: the trade item behind its GTIN (or HIBC
    code), and the serial's own status when the serial is known."""

    gtin: str | None
    lot: str | None
    serial: str | None
    #: how many of the scanned pack (a count in the barcode, AI 30), else 1
    count: int
    #: the item behind the scanned code, None when udipick does not know it
    item_id: int | None
    item_name: str | None = None
    lot_tracked: bool = False
    serial_tracked: bool = False
    #: base units in one scanned pack
    pack_quantity: int = 1
    serial_status: str | None = None
    #: the base units the picker confirmed for this one scan (scan once, say how many: ``confirmed_units``);
    #: ``None``: the scan counts what it carries (its pack, times AI 30)
    confirmed: int | None = None


class ReservedSerial(Value):
    """Another open, untouched task of the same order line that reserved the scanned serial's stock row."""

    task_id: int
    stock_id: int
    lot_id: int | None
    serial_id: int | None


class PickDecision(Value):
    """An accepted scan: the verdict, and the stock row, lot and serial the task holds from now on
    (another line task's serialised unit when the two trade, ``trade``)."""

    verdict: Verdict
    stock_id: int
    lot_id: int | None
    serial_id: int | None
    lot: str | None
    expiry: dt.date | None
    trade: ReservedSerial | None
    #: units picked on the task after this scan
    picked: int


def check_tote(*, required: bool, tote: str | None, picked: int, order: str, task_id: int) -> None:
    """Where the site requires a tote (batch picking, several orders on one cart), an order's first unit
    is not picked until a tote was scanned for it: otherwise units of different orders mix on the cart.
    A task already started without one (the setting turned on mid-wave) goes on: its units are out."""
    if required and tote is None and picked == 0:
        raise e.ToteRequired(f"scan a tote for order {order} before its first pick", order=order, taskId=task_id)


def check_location(
    location: str, location_barcode: str, location_raw: str | None, *, config: ScanConfig, today: dt.date
) -> None:
    """The picker confirms the location by scanning its label; anything else is a ``WrongLocation``
    that says where to go. (No location scan at all is accepted: the item scan is checked anyway.)"""
    if location_raw is None or location_raw.strip() == location_barcode:
        return  # the usual case needs no interpretation; anything else is read for the message
    where = interpret(location_raw, today=today, config=config)
    if where.kind != "location" or where.raw.strip() != location_barcode:
        scanned = where.code if where.kind == "location" else where.raw.strip()
        raise e.WrongLocation(
            f"You are at {scanned}; this task is at {location}. Go to {location}",
            expectedLocation=location,
            scannedLocation=scanned,
            takeLocation=location,
        )


def decide_pick(
    task: PickTask,
    scanned: PickScan,
    stock: Sequence[Candidate],
    *,
    every_row: bool,
    today: dt.date,
    location_raw: str | None = None,
    scan_config: ScanConfig = DEFAULT_SCAN_CONFIG,
    override_fefo: bool = False,
    trade: ReservedSerial | None = None,
) -> PickDecision | None:
    """The verdict on one item scan against ``task``: a ``PickDecision``, or a ``DomainError`` raised
    (the refusal, checked in the order a picker can act on: the task, the place, the item, the unit).

    ``stock``: rows of the task's item at the task's location, as read (``available`` not counting the
    task's own reservation). Usually only the task's own row and the rows of the scanned lot; when the
    task's own row is gone or no longer eligible, a FEFO refusal must name the first eligible lot at
    the location instead, and the decision returns ``None`` unless ``every_row`` says ``stock`` holds
    every row of the item there: the caller reads them and asks again.
    ``trade``: the scanned serial is reserved for another task of the same order line.
    """
    if task.status == "cancelled":
        raise e.TaskCancelled(
            f"task {task.task_id} was cancelled: pick nothing more for it; go to the next task",
            taskId=task.task_id,
            order=task.order,
        )
    if task.status != "open":
        raise e.TaskNotOpen(
            f"task {task.task_id} is {task.status}: go to the next task", taskId=task.task_id, taskStatus=task.status
        )
    if task.order_status != "released":
        raise e.OrderNotReleased(
            f"order {task.order} is {task.order_status}: nothing more is picked for it",
            order=task.order,
            orderStatus=task.order_status,
        )
    check_location(task.location, task.location_barcode, location_raw, config=scan_config, today=today)
    # traceability: the unit in hand names its own lot and serial; udipick never picks one for it
    if scanned.item_id is not None and scanned.item_id == task.item_id:
        if scanned.serial_tracked and not scanned.serial:
            raise e.MissingSerial(
                f"{scanned.item_name} is serialised: scan the code that carries the serial (21)", needs=["serial"]
            )
        if scanned.lot_tracked and not scanned.lot:
            raise e.MissingLot(
                f"{scanned.item_name} is lot-tracked: scan the code that carries the lot (10)", needs=["lot"]
            )
    rows = [c for c in stock if on_the_shelf(c)]
    stock_id, lot_id, serial_id, lot, expiry = task.stock_id, task.lot_id, task.serial_id, task.lot, task.expiry
    remaining = task.quantity - task.picked
    if (
        trade is not None
        and scanned.serial
        and scanned.serial_status == "in_stock"
        and not task.picked
        and task.quantity == 1
    ):
        row = next((c for c in rows if c.serial == scanned.serial), None)
        if row is not None and row.stock_id != stock_id and trade.stock_id == row.stock_id:
            # the picker took another serialised unit this order line also reserved: trade the two tasks'
            # units, so each serial stays promised exactly once
            stock_id, lot_id, serial_id, lot, expiry = row.stock_id, row.lot_id, row.serial_id, row.lot, row.expiry
        else:
            trade = None
    else:
        trade = None
    min_days, allow_bonded = task.min_shelf_life_days, task.allow_bonded
    # the task's own reservation counts as available to it
    at_location = [c if c.stock_id != stock_id else _with_available(c, c.available + remaining) for c in rows]
    eligible = {
        c.stock_id
        for c in at_location
        if ineligibility(c, today=today, min_shelf_life_days=min_days, allow_bonded=allow_bonded) is None
    }
    mine = next((c for c in at_location if c.stock_id == stock_id), None)
    if mine is None or mine.stock_id not in eligible:
        if not every_row:
            return None
        first = min((c for c in at_location if c.stock_id in eligible and c.available > 0), key=fefo_key, default=None)
    else:
        first = mine
    view = TaskView(
        task_id=task.task_id,
        item_id=task.item_id,
        item_name=task.item_name,
        gtin=task.gtin,
        location_id=task.location_id,
        location=task.location,
        lot_id=lot_id,
        lot=lot,
        expiry=expiry,
        serial_id=serial_id,
        remaining=remaining,
        min_shelf_life_days=min_days,
        allow_bonded=allow_bonded,
        udi_agency=task.udi_agency,
        udi_di=task.udi_di,
    )
    units = scanned.pack_quantity * scanned.count if scanned.item_id is not None else 1
    if scanned.confirmed is not None and scanned.item_id == task.item_id:
        units = confirmed_units(scanned, units)
    unit = ScannedUnit(
        item_id=scanned.item_id,
        gtin=scanned.gtin,
        lot=scanned.lot,
        serial=scanned.serial,
        units=units,
        serial_status=scanned.serial_status,
    )
    verdict = judge_pick_scan(view, unit, at_location, first, today=today, override_fefo=override_fefo)
    if task.staging_id is None:
        raise e.Conflict("this warehouse has no shipping location to stage picked goods; ask an admin to add one")
    return PickDecision(verdict, stock_id, lot_id, serial_id, lot, expiry, trade, task.picked + verdict.units)


def confirmed_units(scanned: PickScan, scan_units: int) -> int:
    """The units one scan takes when the picker confirmed a quantity: that many, in whole scanned packs.

    One scan stands for the units in hand that carry the same code (GTIN, lot): the lot is on every
    label, so scanning each of 30 adds nothing to traceability. A serial is on one unit only: a
    serialised unit is scanned unit by unit. The quantity goes through every other check of the scan
    (over-pick, FEFO, stock at the location) as a scan of that many units would."""
    confirmed = scanned.confirmed
    assert confirmed is not None
    if confirmed == scan_units:
        return confirmed
    if scanned.serial or scanned.serial_tracked:
        raise e.SerialsOneByOne(
            f"{scanned.item_name} is serialised: scan each unit (its serial is on that unit only)",
            scannedUnits=scan_units,
            quantity=confirmed,
        )
    if confirmed % scan_units:
        raise e.QuantityNotWholePacks(
            f"You scanned a pack of {scan_units}: confirm a multiple of {scan_units}, or scan a single unit",
            packUnits=scan_units,
            quantity=confirmed,
        )
    return confirmed


# ---- undo of a pick scan ---------------------------------------------------------------------------


class PickToUndo(Value):
    """A confirmed pick scan as the undo reads it, with the task it picked for."""

    task_id: int
    #: the pick's task
    pick_task_id: int
    picked_by: int | None
    undone: bool
    packed: int
    put_back: int
    #: seconds since the pick was confirmed (the database's clock, the one that stamped it)
    age_seconds: float
    #: this picker's latest pick on the task that is not undone is this one
    latest: bool
    task_status: str
    order: str
    order_status: str


def check_undo(pick: PickToUndo, *, user_id: int | None, window_seconds: int) -> None:
    """May the picker take back this pick scan? A slip (a double trigger, the wrong count) is undone at
    once, by the picker who made it, before anything happened downstream: later, the units are
    someone else's business (packing, a put-back) and go back the way everything else does."""
    if pick.pick_task_id != pick.task_id or pick.picked_by != user_id or not pick.latest or pick.undone:
        raise e.UndoNotLast(
            f"Only your last pick on task {pick.task_id} can be undone, once",
            taskId=pick.task_id,
        )
    if pick.packed or pick.put_back:
        raise e.UndoAfterPacking(
            "These units are packed (or on a put-back) already: undo is no longer possible; tell your supervisor",
            taskId=pick.task_id,
        )
    if pick.age_seconds > window_seconds:
        raise e.UndoTooLate(
            f"Undo is possible for {window_seconds} s after a pick; put the units back and tell your supervisor",
            taskId=pick.task_id,
            undoSeconds=window_seconds,
        )
    if pick.task_status not in ("open", "done"):
        raise e.TaskNotOpen(
            f"task {pick.task_id} is {pick.task_status}: undo is no longer possible",
            taskId=pick.task_id,
            taskStatus=pick.task_status,
        )
    if pick.order_status != "released":
        raise e.OrderNotReleased(
            f"order {pick.order} is {pick.order_status}: undo is no longer possible",
            order=pick.order,
            orderStatus=pick.order_status,
        )


def check_short_found(found: int, remaining: int) -> None:
    """A short pick says how many units the picker found at the location: at most what the task still needs
    (more than that, and the task is not short: pick them)."""
    if not 0 <= found <= remaining:
        raise e.FoundOverRemaining(
            f"The task needs {remaining} more: found is 0 to {remaining}; pick what you can take first",
            found=found,
            remaining=remaining,
        )


def _with_available(c: Candidate, available: int) -> Candidate:
    # msgspec's ``replace`` copies the struct in C: about 135 ns here, against 640 ns for rebuilding it from its
    # field values (what this did when ``Value`` was a dataclass, whose ``replace`` was slower still)
    return replace(c, available=available)

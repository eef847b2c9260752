"""First-expiry-first-out (FEFO) allocation and the rules that make stock pickable.

Pure: candidates are snapshots of locked stock rows, ``today`` is passed in. The same eligibility
rule decides at allocation (which units to promise) and at the scan (whether the unit in the
picker's hand may leave), so a hold placed or a lot expiring between the two is caught at the scan.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import replace

from udipick.domain import errors as e
from udipick.domain.values import immutable

#: why a candidate is not eligible; also the reasons a line is reported short
EXPIRED = "expired"
SHORT_DATED = "short-dated"
ON_HOLD = "on-hold"
QUARANTINE = "quarantine"
RECALLED = "recalled"
REJECTED = "rejected"
FROZEN = "location-frozen"
BONDED = "bonded-not-allowed"
BLOCKED = "location-blocked"


@immutable
class Candidate:
    """One stock row that could serve a line: a lot (and serial) at a location."""

    stock_id: int
    item_id: int
    lot_id: int | None
    lot: str | None
    expiry: dt.date | None
    lot_status: str
    serial_id: int | None
    serial: str | None
    location_id: int
    location: str
    location_type: str
    pick_sequence: int
    location_frozen: bool
    available: int
    #: an active hold covers this stock (item, lot, serial or location): its reason, else None
    hold: str | None = None
    #: location blocked for this item after a short pick, until counted
    blocked: bool = False


@immutable
class Need:
    line_id: int
    item_id: int
    quantity: int
    #: max(item, customer, order line) minimum remaining shelf life, in days
    min_shelf_life_days: int
    allow_bonded: bool


@immutable
class Allocation:
    line_id: int
    candidate: Candidate
    quantity: int


@immutable
class Shortfall:
    line_id: int
    missing: int
    #: the reason most of the refused stock was refused ("no-stock" when there was none at all)
    reason: str


def remaining_days(expiry: dt.date | None, today: dt.date) -> int | None:
    return None if expiry is None else (expiry - today).days


def ineligibility(c: Candidate, *, today: dt.date, min_shelf_life_days: int, allow_bonded: bool) -> str | None:
    """``None`` when the candidate may be picked for such a line, else the reason it may not."""
    if c.lot_status == "recalled":
        return RECALLED
    if c.lot_status == "rejected":
        return REJECTED
    if c.lot_status == "quarantine":
        return QUARANTINE
    if c.lot_status == "hold" or c.hold is not None:
        return ON_HOLD
    if c.location_frozen:
        return FROZEN
    if c.blocked:
        return BLOCKED
    if c.location_type == "bonded" and not allow_bonded:
        return BONDED
    days = remaining_days(c.expiry, today)
    if days is not None and days < 0:
        return EXPIRED
    if days is not None and days < min_shelf_life_days:
        return SHORT_DATED
    return None


_LOCATION_RANK = {"pick": 0, "cold": 0, "bonded": 0, "reserve": 1}


def fefo_key(c: Candidate) -> tuple:
    """Earliest expiry first (no expiry last); ties by lot, then pick faces before reserve, then pick path."""
    return (
        c.expiry is None,
        c.expiry or dt.date.max,
        c.lot or "",
        _LOCATION_RANK.get(c.location_type, 2),
        c.pick_sequence,
        c.stock_id,
    )


def plan_fefo(
    candidates: Iterable[Candidate], need: Need, *, today: dt.date
) -> tuple[list[Allocation], Shortfall | None, dict[int, int]]:
    """Allocate ``need`` from ``candidates``; returns allocations, the shortfall (if any) and the
    quantity taken per stock id (so the caller can plan the next line against what is left)."""
    return _take(sorted((c for c in candidates if c.item_id == need.item_id), key=fefo_key), need, today=today)


def _take(
    in_fefo_order: Iterable[Candidate], need: Need, *, today: dt.date
) -> tuple[list[Allocation], Shortfall | None, dict[int, int]]:
    """``plan_fefo`` on the item's candidates already in FEFO order."""
    refused: dict[str, int] = {}
    allocations: list[Allocation] = []
    taken: dict[int, int] = {}
    left = need.quantity
    for c in in_fefo_order:
        if left == 0:
            break
        if c.available <= 0:
            continue
        why = ineligibility(c, today=today, min_shelf_life_days=need.min_shelf_life_days, allow_bonded=need.allow_bonded)
        if why is not None:
            refused[why] = refused.get(why, 0) + c.available
            continue
        qty = min(left, c.available)
        allocations.append(Allocation(need.line_id, c, qty))
        taken[c.stock_id] = qty
        left -= qty
    shortfall = None
    if left:
        reason = max(refused, key=lambda k: refused[k]) if refused else "no-stock"
        shortfall = Shortfall(need.line_id, left, reason)
    return allocations, shortfall, taken


def plan_wave(
    candidates: Sequence[Candidate], needs: Sequence[Need], *, today: dt.date
) -> tuple[list[Allocation], list[Shortfall]]:
    """Allocate lines in the given order (priority first) against one shared pool of stock.

    Each item's candidates are put in FEFO order once (the order does not depend on what is left),
    and each line takes from that list as it stands after the lines before it."""
    by_item: dict[int, list[Candidate]] = {}
    for c in candidates:
        by_item.setdefault(c.item_id, []).append(c)
    for item_candidates in by_item.values():
        item_candidates.sort(key=fefo_key)
    allocations: list[Allocation] = []
    shortfalls: list[Shortfall] = []
    for need in needs:
        mine = by_item.get(need.item_id, [])
        got, short, taken = _take(mine, need, today=today)
        allocations.extend(got)
        if short:
            shortfalls.append(short)
        left = len(taken)
        for i, c in enumerate(mine):  # what this line took is no longer free for the next
            if left == 0:
                break
            if c.stock_id in taken:
                mine[i] = replace(c, available=c.available - taken[c.stock_id])
                left -= 1
    return allocations, shortfalls


# ---- the scan verdict ------------------------------------------------------------------------------


@immutable
class TaskView:
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


@immutable
class ScannedUnit:
    item_id: int | None
    gtin: str | None
    lot: str | None
    serial: str | None
    units: int
    #: the serial's own status when the serial is known (in_stock, picked, packed, shipped, ...)
    serial_status: str | None = None


@immutable
class Verdict:
    """An accepted scan: take ``units`` from ``candidate`` (a different lot than allocated when ``swapped``)."""

    candidate: Candidate
    units: int
    swapped: bool
    fefo_overridden: bool = False


def _refuse(why: str, c: Candidate, today: dt.date, need_days: int) -> e.DomainError:
    ctx = {"lot": c.lot, "location": c.location, "expiry": c.expiry}
    if why == EXPIRED:
        return e.LotExpired(f"Lot {c.lot} expired on {c.expiry}: put it aside and tell your supervisor", **ctx)
    if why == SHORT_DATED:
        days = remaining_days(c.expiry, today)
        return e.ShelfLifeTooShort(
            f"Lot {c.lot} has {days} days left; this order needs at least {need_days}",
            remainingDays=days,
            requiredDays=need_days,
            **ctx,
        )
    if why == ON_HOLD:
        return e.StockOnHold(f"Lot {c.lot} at {c.location} is on hold ({c.hold or 'lot hold'}): do not pick it", reason=c.hold, **ctx)
    if why == RECALLED:
        return e.LotRecalled(f"Lot {c.lot} is recalled: do not pick it, put it aside and tell your supervisor", **ctx)
    if why in (QUARANTINE, REJECTED):
        return e.LotQuarantined(f"Lot {c.lot} is in {why}: it is not released for sale", status=why, **ctx)
    if why == FROZEN:
        return e.LocationFrozen(f"Location {c.location} is frozen (count or investigation): pick nothing here", **ctx)
    if why == BLOCKED:
        return e.LocationFrozen(f"Location {c.location} is blocked for this item until it is counted", **ctx)
    if why == BONDED:
        return e.LotQuarantined(f"Lot {c.lot} at {c.location} is bonded stock and this order may not take it", status=why, **ctx)
    raise AssertionError(why)


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
        raise e.WrongItem(
            f"This is not {task.item_name}: take {task.item_name} (GTIN {task.gtin}) from {task.location}",
            expectedItem=task.item_name,
            expectedGtin=task.gtin,
            scannedGtin=scanned.gtin,
            takeLocation=task.location,
        )
    if scanned.serial_status in ("picked", "packed"):
        raise e.SerialAlreadyPicked(f"Serial {scanned.serial} was already picked: scan another unit", serial=scanned.serial)
    if scanned.serial_status == "shipped":
        raise e.SerialAlreadyShipped(
            f"Serial {scanned.serial} has already shipped: this unit must not be here; put it aside and tell your supervisor",
            serial=scanned.serial,
        )
    if scanned.serial_status == "hold":
        raise e.StockOnHold(f"Serial {scanned.serial} is on hold: do not pick it", reason="serial hold", serial=scanned.serial,
                            lot=scanned.lot, location=task.location)
    if scanned.serial_status == "rejected":
        raise e.LotQuarantined(f"Serial {scanned.serial} was rejected by QC: it is not released for sale", status="rejected",
                               serial=scanned.serial, lot=scanned.lot, location=task.location)
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
    why = ineligibility(candidate, today=today, min_shelf_life_days=task.min_shelf_life_days, allow_bonded=task.allow_bonded)
    if why is not None:
        raise _refuse(why, candidate, today, task.min_shelf_life_days)
    swapped = lot != task.lot or (scanned.serial is not None and candidate.serial_id != task.serial_id)
    overridden = False
    if lot != task.lot and task.expiry is not None and (candidate.expiry is None or candidate.expiry > task.expiry):
        if not override_fefo:
            take = first_eligible if first_eligible is not None and first_eligible.expiry is not None else None
            take_lot, take_loc, take_exp = (take.lot, take.location, take.expiry) if take else (task.lot, task.location, task.expiry)
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

"""First-expiry-first-out (FEFO) allocation and the rules that make stock pickable.

Pure: candidates are snapshots of locked stock rows, ``today`` is passed in. The same eligibility
rule decides at allocation (which units to promise), at the scan (whether the unit in the picker's
hand may leave, ``domain.picking``) and in replenishment (what may go to a pick face), so a hold
placed or a lot expiring between the two is caught at the scan.

Each rule is written here once: which stock rows can serve a line at all (``on_the_shelf``), which
of those may (``ineligibility``), and in which order they are taken (``fefo_key``). The database
only supplies facts (a row's lot status, the hold covering it: ``udipick_stock_hold``) and narrows
what it reads to a superset of what these rules would take (``services.picking``), never a rule of
its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from itertools import groupby

from msgspec.structs import replace

from udipick.domain import errors as e
from udipick.domain.values import Value

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


class Candidate(Value):
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
    #: an active hold covers this stock (item, lot, serial or location; ``udipick_stock_hold``): its reason, else None
    hold: str | None = None
    #: location blocked for this item after a short pick, until counted (``udipick_location_block``)
    blocked: bool = False
    #: the stock row's own status (``stock.status``): only ``available`` stock is on the shelf
    stock_status: str = "available"
    #: still on a licence plate, in a tote or a carton (``stock.container_id``), not loose on the shelf
    in_container: bool = False


class Need(Value):
    line_id: int
    item_id: int
    quantity: int
    #: max(item, customer, order line) minimum remaining shelf life, in days
    min_shelf_life_days: int
    allow_bonded: bool


class Allocation(Value):
    line_id: int
    candidate: Candidate
    quantity: int


class Shortfall(Value):
    line_id: int
    missing: int
    #: the reason most of the refused stock was refused ("no-stock" when there was none at all)
    reason: str


#: location types stock is picked from; stock anywhere else (receiving, quarantine, shipping) is not
#: stock on the shelf: it has not been put away yet, is set aside, or has been picked already
PICKABLE_TYPES = ("pick", "reserve", "cold", "bonded")


def on_the_shelf(c: Candidate) -> bool:
    """Whether the row is stock a line could be served from at all: available, loose (not on a licence
    plate or in a tote) and at a location stock is picked from. Anything else is not counted, not even
    as refused stock: a line with nothing on the shelf is short for ``no-stock``, whatever lies at
    receiving."""
    return c.stock_status == "available" and not c.in_container and c.location_type in PICKABLE_TYPES


def remaining_days(expiry: dt.date | None, today: dt.date) -> int | None:
    return None if expiry is None else (expiry - today).days


def ineligibility(c: Candidate, *, today: dt.date, min_shelf_life_days: int, allow_bonded: bool) -> str | None:
    """``None`` when the candidate (on the shelf) may be picked for such a line, else the reason it may not."""
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


def fefo_key(c: Candidate) -> tuple[bool, dt.date, str, int, int, int]:
    """Earliest expiry first (no expiry last); ties by lot, then pick faces before reserve, then pick path.

    Lots compare as Python strings, by code point (SQL that reads lots in this order sorts them
    ``COLLATE "C"``, the same order)."""
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


def fewest_visits(same_expiry: Sequence[Candidate], quantity: int) -> list[Candidate]:
    """The order to take eligible rows of one expiry in, for a line still needing ``quantity``.

    Lots of equal expiry are equally good by FEFO, so the picker's walk decides: a location whose rows of
    this expiry fill what is left on their own is taken first (of several, the one needing the fewest rows,
    largest row first, then the earlier on the pick path: pick faces before reserve, pick sequence); when
    none does, the location of the first row in ``fefo_key`` order is emptied (all its rows of this expiry)
    and the rule applies again to what is left. So a 15-unit line is served by the one location holding
    10 + 10 of two lots rather than 10 at one location and 5 at another (issue 19). ``same_expiry`` is in
    ``fefo_key`` order; rows within a location keep that order unless they are the filling location's."""
    by_location: dict[int, list[Candidate]] = {}
    for c in same_expiry:
        by_location.setdefault(c.location_id, []).append(c)
    ordered: list[Candidate] = []
    left = quantity
    while by_location and left > 0:
        fillers = []
        for location_id, rows in by_location.items():
            if sum(c.available for c in rows) >= left:
                largest = sorted(rows, key=lambda c: -c.available)  # stable: ties keep fefo_key order
                got, used = 0, 0
                while got < left:
                    got += largest[used].available
                    used += 1
                first = rows[0]
                fillers.append(
                    ((used, _LOCATION_RANK.get(first.location_type, 2), first.pick_sequence, location_id), largest)
                )
        if fillers:
            ordered.extend(min(fillers, key=lambda f: f[0])[1])
            return ordered
        rows = by_location.pop(same_expiry_first(by_location))
        ordered.extend(rows)
        left -= sum(c.available for c in rows)
    for rows in by_location.values():  # never reached with quantity left; keeps the function total
        ordered.extend(rows)
    return ordered


def same_expiry_first(by_location: dict[int, list[Candidate]]) -> int:
    """The location of the earliest row in ``fefo_key`` order among ``by_location`` (each list in that order)."""
    return min(by_location, key=lambda loc: fefo_key(by_location[loc][0]))


def _take(
    in_fefo_order: Iterable[Candidate], need: Need, *, today: dt.date
) -> tuple[list[Allocation], Shortfall | None, dict[int, int]]:
    """``plan_fefo`` on the item's candidates already in FEFO order: expiry by expiry, each expiry's
    eligible rows in ``fewest_visits`` order."""
    refused: dict[str, int] = {}
    allocations: list[Allocation] = []
    taken: dict[int, int] = {}
    left = need.quantity
    for _, group in groupby(in_fefo_order, key=lambda c: c.expiry):
        if left == 0:
            break
        usable = []
        for c in group:
            if c.available <= 0 or not on_the_shelf(c):
                continue
            why = ineligibility(
                c, today=today, min_shelf_life_days=need.min_shelf_life_days, allow_bonded=need.allow_bonded
            )
            if why is not None:
                refused[why] = refused.get(why, 0) + c.available
                continue
            usable.append(c)
        for c in fewest_visits(usable, left):
            if left == 0:
                break
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


#: what a person is told to do with stock they may not take, by what they were doing with it
_TAKING = {
    "pick": {
        "expired": "put it aside and tell your supervisor",
        "held": "do not pick it",
        "recalled": "do not pick it, put it aside and tell your supervisor",
        "frozen": "pick nothing here",
    },
    "move": {
        "expired": "do not move it to a pick face; tell your supervisor",
        "held": "do not move it",
        "recalled": "do not move it, put it aside and tell your supervisor",
        "frozen": "take nothing from here",
    },
}


def unfit_stock(why: str, c: Candidate, *, taking: str, today: dt.date, min_shelf_life_days: int = 0) -> e.DomainError:
    """The refusal for taking ``c`` (``taking``: ``pick`` or ``move``) when ``ineligibility`` gave ``why``."""
    say = _TAKING[taking]
    ctx = {"lot": c.lot, "location": c.location, "expiry": c.expiry}
    if why == EXPIRED:
        return e.LotExpired(f"Lot {c.lot} expired on {c.expiry}: {say['expired']}", **ctx)
    if why == SHORT_DATED:
        days = remaining_days(c.expiry, today)
        return e.ShelfLifeTooShort(
            f"Lot {c.lot} has {days} days left; this order needs at least {min_shelf_life_days}",
            remainingDays=days,
            requiredDays=min_shelf_life_days,
            **ctx,
        )
    if why == ON_HOLD:
        return e.StockOnHold(
            f"Lot {c.lot} at {c.location} is on hold ({c.hold or 'lot hold'}): {say['held']}", reason=c.hold, **ctx
        )
    if why == RECALLED:
        return e.LotRecalled(f"Lot {c.lot} is recalled: {say['recalled']}", **ctx)
    if why in (QUARANTINE, REJECTED):
        return e.LotQuarantined(f"Lot {c.lot} is in {why}: it is not released for sale", lotStatus=why, **ctx)
    if why == FROZEN:
        return e.LocationFrozen(f"Location {c.location} is frozen (count or investigation): {say['frozen']}", **ctx)
    if why == BLOCKED:
        return e.LocationFrozen(f"Location {c.location} is blocked for this item until it is counted", **ctx)
    if why == BONDED:
        return e.LotQuarantined(
            f"Lot {c.lot} at {c.location} is bonded stock and this order may not take it", lotStatus=why, **ctx
        )
    raise AssertionError(why)

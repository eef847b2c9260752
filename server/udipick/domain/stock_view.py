"""One true view of stock (issue 19): what a unit's status effectively is, its expiry bucket, what can be
promised, and when purchasing should reorder.

Pure: the facts about a stock row come in as values (its own status, its lot's status and expiry, whether
an active hold or an open recall covers it, where it lies), ``today`` is passed in. The stock row's
``status`` column alone says too little: a held lot's units are booked ``available``, and so is a lot past
its expiry until the sweep books it ``expired``; purchasing must see neither as saleable.
"""

from __future__ import annotations

import datetime as dt

from msgspec.structs import replace

from udipick.domain.values import Value

#: the statuses the view shows, in the order it lists them
STATUSES = (
    "available",
    "allocated",
    "picked",
    "packed",
    "quarantine",
    "hold",
    "recalled",
    "expired",
    "bonded",
    "damaged",
    "rejected",
    "in_transit",
)

#: expiry buckets, by days left on ``today``: past its expiry, then at most 30, 90 or 180 days left, later,
#: and units without an expiry. A unit is usable through its expiry date (``domain.allocation``), so a
#: unit expiring today has 0 days left and is in ``30d``, not ``expired``.
EXPIRY_BUCKETS = ("expired", "30d", "90d", "180d", "later", "none")
_BOUNDS = ((30, "30d"), (90, "90d"), (180, "180d"))

GROUPS = ("warehouse", "item", "lot", "expiry_bucket", "location_type", "status")


def expiry_bucket(expiry: dt.date | None, today: dt.date) -> str:
    if expiry is None:
        return "none"
    days = (expiry - today).days
    if days < 0:
        return "expired"
    for limit, name in _BOUNDS:
        if days <= limit:
            return name
    return "later"


def expiry_edges(today: dt.date) -> list[dt.date]:
    """The first day of each expiry bucket after ``expired``, ascending: every date between two edges (or
    before the first, or from the last on) is in one bucket, and on one side of ``today`` (the first edge),
    so the rows of one class share their bucket and their expired-or-not. The view sums rows per class in
    the database and decides a class by any one of its dates."""
    return [today, *(today + dt.timedelta(days=limit + 1) for limit, _ in _BOUNDS)]


def bucket_names(edges: list[dt.date]) -> list[str]:
    """The bucket of each expiry class between ``edges`` (``expiry_edges``; as ``width_bucket`` numbers them:
    0 before the first edge, n from the n-th on), named by ``expiry_bucket`` for one date of the class."""
    return [expiry_bucket(d, edges[0]) for d in [edges[0] - dt.timedelta(days=1), *edges]]


class StockFacts(Value):
    """What decides a stock row's effective status; the view groups rows by these and asks once per group."""

    #: ``stock.status``
    stock_status: str
    #: the lot's status (``released`` for stock without a lot)
    lot_status: str
    expiry: dt.date | None
    #: an active hold covers the row: on its item, lot, serial or location (``udipick_stock_hold``)
    held: bool
    #: a serial recall's hold covers it (its lot stays released; a lot recall sets the lot ``recalled``)
    recall_hold: bool
    location_type: str
    item_bonded: bool


def effective_status(f: StockFacts, *, today: dt.date) -> str:
    """The one status the view counts the row's units under; the first that applies wins.

    Units in motion (picked, packed) stay what they are: they belong to an order already. Then what
    destroys saleability for good (damaged, rejected), a recall, expiry (by the date even before the
    expiry sweep books it), quarantine (QC has not released it), a hold (on the row itself or any hold
    covering it), bonded (stock not cleared through customs: in a bonded location, or a bonded item).
    Whatever is left is available; the view splits its reserved part off as ``allocated``.
    """
    if f.stock_status in ("picked", "packed"):
        return f.stock_status
    if f.stock_status in ("damaged", "rejected"):
        return f.stock_status
    if f.lot_status == "rejected":
        return "rejected"
    if f.lot_status == "recalled" or f.recall_hold:
        return "recalled"
    if f.stock_status == "expired" or (f.expiry is not None and f.expiry < today):
        return "expired"
    if f.stock_status == "quarantine" or f.lot_status == "quarantine" or f.location_type == "quarantine":
        return "quarantine"
    if f.stock_status == "hold" or f.lot_status == "hold" or f.held:
        return "hold"
    if f.location_type == "bonded" or f.item_bonded:
        return "bonded"
    return "available"


class StatusRule:
    """``effective_status`` and ``expiry_bucket`` for the many rows of one view on one day, each decided once.

    A row's expiry counts for its status only as passed or not (``effective_status`` compares it with
    ``today`` and with nothing else), so a status is remembered per the other facts and that: a view over
    thousands of expiry dates decides a few dozen combinations (``tests/unit/test_stock_view.py`` checks
    the two agree on every combination).
    """

    def __init__(self, today: dt.date) -> None:
        self.today = today
        self._statuses: dict[tuple[object, ...], str] = {}
        self._buckets: dict[dt.date | None, str] = {}

    def status(self, f: StockFacts) -> str:
        passed = None if f.expiry is None else f.expiry < self.today
        key = (f.stock_status, f.lot_status, passed, f.held, f.recall_hold, f.location_type, f.item_bonded)
        status = self._statuses.get(key)
        if status is None:
            status = self._statuses[key] = effective_status(f, today=self.today)
        return status

    def bucket(self, expiry: dt.date | None) -> str:
        bucket = self._buckets.get(expiry)
        if bucket is None:
            bucket = self._buckets[expiry] = expiry_bucket(expiry, self.today)
        return bucket


#: what the stock snapshot shows instead of ``available`` for stock kept from sale by something else than its
#: own row (the ERP reconciles the rest of the statuses with its own books)
_KEPT_FROM_SALE = ("hold", "recalled", "quarantine", "rejected")


def booked_status(f: StockFacts) -> str:
    """The ERP snapshot's status: the row's own, but available units a hold, a recall or their lot's status
    keeps from sale show as such (``effective_status``'s word), so the ERP never counts a held lot as
    saleable. Expiry and bonded stay out of it: the expiry sweep books the first, the ERP knows the second."""
    if f.stock_status != "available":
        return f.stock_status
    # no date, no place: expiry, bonded and a quarantine location are not this function's business
    status = effective_status(replace(f, location_type="", item_bonded=False), today=dt.date.min)
    return status if status in _KEPT_FROM_SALE else "available"


def split_reserved(status: str, quantity: int, reserved: int) -> list[tuple[str, int]]:
    """A row's units by view status: of available stock, the part pick tasks reserved is ``allocated``.
    Reservations on stock that is no longer available (a hold placed after allocation) stay counted
    under that status: those units cannot be picked, whatever was promised."""
    if status == "available" and reserved > 0:
        return [(s, q) for s, q in (("available", quantity - reserved), ("allocated", reserved)) if q > 0]
    return [(status, quantity)] if quantity > 0 else []


class Atp(Value):
    """Available to promise for one item in one warehouse."""

    on_hand_available: int
    allocated: int
    open_demand: int
    atp: int


def available_to_promise(*, available: int, allocated: int, open_demand: int) -> Atp:
    """What a new order for the item could still be promised: units available and free (``available`` here
    already excludes what pick tasks reserved; ``allocated`` is reported beside it), less the open order
    demand not yet allocated (ordered − allocated − cancelled, of orders not shipped or cancelled). In-transit
    stock is not promised: it is not received, let alone released by QC. May be negative: orders already
    exceed what is on the shelf."""
    return Atp(available + allocated, allocated, open_demand, available - open_demand)


def suggested_quantity(*, available: int, in_transit: int, minimum: int, maximum: int) -> int | None:
    """The purchasing reorder point: below ``minimum`` available units, order up to ``maximum`` less what is
    available and already on its way; ``None`` when not below the minimum, or nothing need be ordered."""
    if available >= minimum:
        return None
    quantity = maximum - available - in_transit
    return quantity if quantity > 0 else None

"""Customer returns and scrap: which returned units are accepted, and which stock may be scrapped.

A unit comes back only from the customer it was shipped to (ISO 13485 §7.5.9 traceability: a return
that cannot be tied to a shipment breaks the chain a recall follows). A serial is checked as a unit;
a lot by quantity: no more of it comes back from a customer than was shipped to that customer.

Scrap destroys stock for good: blocked stock (expired, damaged, rejected, quarantine, hold) may be
scrapped with a reason; saleable (available) stock only as ``damaged`` (found broken on the shelf) or
as ``expired`` once its expiry has passed (the sweep may not have run yet). Pure: the service hands in
the facts it read under lock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from udipick.domain import errors as e

#: decision -> (returned line status, stock status after it, serial status after it, signature meaning)
DISPOSITIONS: dict[str, tuple[str, str | None, str, str]] = {
    "restock": ("restocked", "available", "in_stock", "release"),
    "scrap": ("scrapped", None, "scrapped", "rejection"),
    "to_supplier": ("to_supplier", None, "to_supplier", "rejection"),
}

SCRAP_REASONS = ("expired", "damaged", "rejected", "recalled", "quarantine")
#: stock statuses scrap takes first, in this order; ``available`` comes last and only as the rule allows
BLOCKED_STATUSES = ("expired", "damaged", "rejected", "quarantine", "hold")


@dataclass(frozen=True, slots=True)
class Shipped:
    """What the shipment history says about a lot or serial and one customer."""

    #: units of the lot (or 1 for the serial) shipped to this customer
    to_customer: int
    #: units shipped to any other customer
    to_others: int
    #: units of it this customer already sent back
    returned: int


def check_return(
    shipped: Shipped, quantity: int, *, serial: str | None, customer: str, item: str, lot: str | None
) -> None:
    """Refuse a returned unit or quantity this customer never received (or already sent back)."""
    context = {"customer": customer, "item": item, "lot": lot, "serial": serial}
    if serial is not None:
        if shipped.to_customer == 0:
            where = "to another customer" if shipped.to_others else "from here to anyone"
            raise e.ReturnNotShippedToCustomer(
                f"Serial {serial} was not shipped to {customer} (it was shipped {where}): set the unit aside"
                " and ask customer service which shipment it came from",
                shipped=0,
                returned=shipped.returned,
                **context,
            )
        if shipped.returned >= shipped.to_customer:
            raise e.ReturnNotShippedToCustomer(
                f"Serial {serial} already came back from {customer} and was not shipped again: set the unit aside"
                " and tell QA",
                shipped=shipped.to_customer,
                returned=shipped.returned,
                **context,
            )
        return
    open_ = shipped.to_customer - shipped.returned
    if quantity > open_:
        what = f"lot {lot}" if lot else f"item {item}"
        raise e.ReturnNotShippedToCustomer(
            f"{customer} received {shipped.to_customer} of {what} and returned {shipped.returned}:"
            f" {quantity} more cannot come back from them. Set the extra aside and ask customer service",
            shipped=shipped.to_customer,
            returned=shipped.returned,
            quantity=quantity,
            **context,
        )


def check_authorized(authorized: int, received: int, quantity: int, *, rma: str, item: str) -> None:
    """Refuse more than the RMA line allows."""
    if received + quantity > authorized:
        raise e.ReturnOverAuthorized(
            f"RMA {rma} allows {authorized} of {item} and {received} came back already: set the extra aside"
            " and ask customer service for a new RMA",
            rma=rma,
            item=item,
            authorized=authorized,
            received=received,
            quantity=quantity,
        )


@dataclass(frozen=True, slots=True)
class ScrapBucket:
    """One stock row of the item at the location: status, units, what open picks hold of it."""

    stock_id: int
    status: str
    quantity: int
    reserved: int
    expiry: dt.date | None
    #: returned units waiting for QA's return decision: decided there (scrap included), not here
    awaiting_return: bool = False


def plan_scrap(
    buckets: Sequence[ScrapBucket], quantity: int, reason: str, *, today: dt.date, context: dict[str, object]
) -> list[tuple[ScrapBucket, int]]:
    """Which rows give the units to scrap: blocked stock first, available stock only as ``damaged`` or as
    ``expired`` past its expiry; never units open picks hold. Refused when not enough may go."""

    def allowed(b: ScrapBucket) -> bool:
        if b.awaiting_return:
            return False
        if b.status in BLOCKED_STATUSES:
            return True
        if b.status == "available":
            return reason == "damaged" or (reason == "expired" and b.expiry is not None and b.expiry < today)
        return False  # picked or packed: on its way to a customer

    order = {s: i for i, s in enumerate((*BLOCKED_STATUSES, "available"))}
    usable = sorted((b for b in buckets if allowed(b)), key=lambda b: (order[b.status], b.stock_id))
    plan: list[tuple[ScrapBucket, int]] = []
    left = quantity
    for b in usable:
        take = min(left, b.quantity - b.reserved)
        if take > 0:
            plan.append((b, take))
            left -= take
        if left == 0:
            return plan
    free = quantity - left
    statuses = sorted({b.status for b in buckets if b.quantity > 0})
    if any(b.awaiting_return for b in buckets):
        raise e.ScrapNotAllowed(
            f"only {free} of {quantity} may be scrapped here: the rest came back from a customer and waits for QA's"
            " return decision. Decide it on the QC screen (scrap is one of the choices)",
            reason=reason,
            quantity=quantity,
            scrappable=free,
            statuses=statuses,
            **context,
        )
    if any(b.status == "available" and not allowed(b) for b in buckets):
        raise e.ScrapNotAllowed(
            f"only {free} of {quantity} may be scrapped as {reason} here: the rest is saleable stock, scrapped only"
            " as damaged (or as expired once its expiry has passed). Move it to quarantine first, or report it damaged",
            reason=reason,
            quantity=quantity,
            scrappable=free,
            statuses=statuses,
            **context,
        )
    raise e.InsufficientStock(
        f"only {free} of {quantity} can be scrapped here (the rest is not there, or open picks hold it)",
        quantity=quantity,
        scrappable=free,
        statuses=statuses,
        **context,
    )

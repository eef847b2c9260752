"""Go-live opening balances: the rules for one line of the old system's stock (issue 19).

A line names an item (ERP id or GTIN), a location, a lot with its expiry and production date,
serials, a quantity and the status the old system held it in. It is checked here against the item's
master data, without a database: what the service could not resolve (an unknown item or location)
comes in as ``None``. Facts that need the whole load or the database (a lot known with another expiry,
a serial already in stock) are the service's set-based checks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from udipick.domain import errors as e
from udipick.domain.expiry import status_on_the_books

LineStatus = Literal["available", "quarantine", "hold", "expired"]
#: how the old system's status is booked: a hold is a hold record on the lot or serial (released with a
#: signature like any other), so its units are booked ``available`` and covered by that hold
_BOOKED = {"available": "available", "quarantine": "quarantine", "hold": "available", "expired": "expired"}


@dataclass(frozen=True, slots=True)
class ItemFacts:
    item_id: int
    erp_id: str
    lot_tracked: bool
    serial_tracked: bool
    expiry_tracked: bool


@dataclass(frozen=True, slots=True)
class OpeningLine:
    item: str
    location: str
    quantity: int
    status: LineStatus
    lot: str | None = None
    expiry: dt.date | None = None
    production_date: dt.date | None = None
    serials: tuple[str, ...] = ()
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Booking:
    """What one accepted line books: the stock status its units land in, and the hold it places (its reason)."""

    stock_status: str
    hold_reason: str | None


def check_line(
    line: OpeningLine, item: ItemFacts | None, location_found: bool, *, today: dt.date
) -> tuple[Booking | None, list[e.DomainError]]:
    """Every problem of one line (each with a ``pointer`` to its field), or the booking when there is none."""
    problems: list[e.DomainError] = []
    if item is None:
        problems.append(e.NotFound(f"no item {line.item} (ERP id or GTIN)", pointer="/item", item=line.item))
    if not location_found:
        problems.append(e.NotFound(f"no location {line.location}", pointer="/location", location=line.location))
    if line.quantity <= 0:
        problems.append(e.InvalidRecord("quantity must be at least 1", pointer="/quantity"))
    if line.status == "hold" and not (line.reason or "").strip():
        problems.append(e.MissingReason("a held balance needs the reason it is held", pointer="/reason"))
    if line.production_date is not None and line.expiry is not None and line.production_date > line.expiry:
        problems.append(e.InvalidRecord("the production date is after the expiry", pointer="/productionDate"))
    if len(set(line.serials)) != len(line.serials):
        problems.append(e.SerialAlreadyReceived("a serial is named twice on this line", pointer="/serials"))
    if item is not None:
        problems += _item_rules(line, item)
    if problems:
        return None, problems
    return Booking(status_on_the_books(_BOOKED[line.status], line.expiry, today), _hold_reason(line)), []


def _item_rules(line: OpeningLine, item: ItemFacts) -> list[e.DomainError]:
    problems: list[e.DomainError] = []
    if item.lot_tracked and not line.lot:
        problems.append(e.MissingLot(f"{item.erp_id} is lot-tracked: the line needs its lot", pointer="/lot"))
    if line.expiry is not None and not line.lot and not item.lot_tracked:
        # an expiry belongs to a lot (GS1 AI 10 + 17): udipick keeps it on the lot record
        problems.append(e.MissingLot(f"udipick keeps an expiry on a lot: give {item.erp_id}'s lot", pointer="/lot"))
    if item.expiry_tracked and line.expiry is None:
        problems.append(e.MissingExpiry(f"{item.erp_id} carries an expiry: the line needs it", pointer="/expiry"))
    if item.serial_tracked:
        if not line.serials:
            problems.append(e.MissingSerial(f"{item.erp_id} is serialised: list its serials", pointer="/serials"))
        elif len(line.serials) != line.quantity:
            problems.append(
                e.SerialCountMismatch(
                    f"{len(line.serials)} serials for a quantity of {line.quantity}: one serial per unit",
                    pointer="/serials",
                )
            )
    elif line.serials:
        problems.append(e.InvalidRecord(f"{item.erp_id} is not serialised: leave out the serials", pointer="/serials"))
    if line.status == "hold" and not line.lot and not line.serials:
        problems.append(
            e.InvalidRecord(
                "a hold covers a lot or serials; this line has neither (book it as quarantine)", pointer="/status"
            )
        )
    return problems


def _hold_reason(line: OpeningLine) -> str | None:
    return (line.reason or "").strip() if line.status == "hold" else None

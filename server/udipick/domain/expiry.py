"""Expiry: when a unit counts as expired, and what that means for the stock it is booked as.

GS1 AI 17 is the last day the unit may be used: a unit expires at the end of that day, so on the
expiry date itself it is still good, and from the next day on it is expired. Every place udipick
decides this (the opening balances, the expiry sweep, the pick and replenishment scans, receiving)
asks this module, so the answer is one.
"""

from __future__ import annotations

import datetime as dt

from udipick.domain.errors import LotExpired

#: stock statuses the expiry sweep moves to ``expired``: units still meant for use or for a decision.
#: ``picked``/``packed`` units are on their way out (an order), ``rejected``/``damaged`` are already
#: blocked for a reason of their own that must not be overwritten.
SWEPT_STATUSES = ("available", "quarantine", "hold")


def is_expired(expiry: dt.date | None, today: dt.date) -> bool:
    """Past its expiry: ``today`` is after the last day of use. No expiry never expires."""
    return expiry is not None and expiry < today


def status_on_the_books(status: str, expiry: dt.date | None, today: dt.date) -> str:
    """The stock status units of ``status`` are booked in with: expired units land ``expired`` (blocked)
    whatever the sender says, so no allocation or pick ever takes them."""
    if status == "expired" or is_expired(expiry, today):
        return "expired"
    return status


def swept(status: str, expiry: dt.date | None, today: dt.date) -> bool:
    """Whether the expiry sweep moves stock of this status and lot expiry to ``expired``."""
    return status in SWEPT_STATUSES and is_expired(expiry, today)


def barcode_expired(expiry: dt.date | None, lot: str | None, *, today: dt.date, doing: str) -> LotExpired | None:
    """The refusal of a unit whose own barcode (AI 17) says it has expired, whatever the books say: the
    unit in hand is the fact. The person is told to take it to quarantine and report it, not to look for
    the lot elsewhere. ``doing``: what they were about to do (``pick it``, ``move it``, ``put it away``)."""
    if expiry is None or not is_expired(expiry, today):
        return None
    return LotExpired(
        f"This unit (lot {lot or '-'}) expired on {expiry.isoformat()}: do not {doing}. Take it to quarantine"
        " and report it",
        lot=lot,
        expiry=expiry,
        fromBarcode=True,
        action="quarantine-and-report",
    )

"""What a recall covers and what closing it does to its lots.

A recall names one item and either its lots, a range of production dates or single serials (the
manufacturer's notice says one of the three). Opening it sets every covered lot to ``recalled``, whatever status it
had; the status each lot had is kept, because a recall closed as ``released`` (the investigation
cleared the lots) gives each lot back the status it had, unless another open recall still covers it.
A recall closed as ``destroyed`` or ``returned_to_supplier`` leaves its lots ``recalled`` for good:
nothing of them may ever be picked again.

A recall of serials freezes only those units (through a serial hold that belongs to the recall, so the
one eligibility rule keeps them out of allocation and every scan); the rest of their lot stays
available. Closing it ``released`` releases those holds; otherwise they stay for good.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from udipick.domain import errors as e

RecallClass = Literal["I", "II", "III"]
Disposition = Literal["destroyed", "returned_to_supplier", "released"]
RecallScope = Literal["lots", "production_dates", "serials"]


def recall_scope(
    lots: list[str] | None,
    produced_from: dt.date | None,
    produced_to: dt.date | None,
    serials: list[str] | None = None,
) -> RecallScope:
    """Which kind of recall the request is; refuses a request naming two kinds, none or half a range."""
    dates = produced_from is not None or produced_to is not None
    if serials is not None:
        if lots is not None or dates:
            raise e.InvalidRecord(
                "a recall names lots, a production-date range or serials, only one of them", pointer="/serials"
            )
        if not serials:
            raise e.InvalidRecord("a recall of serials names at least one serial", pointer="/serials")
        if len(set(serials)) != len(serials):
            raise e.InvalidRecord("a serial is named twice", pointer="/serials")
        return "serials"
    if lots and dates:
        raise e.InvalidRecord("a recall names lots or a production-date range, not both", pointer="/lots")
    if lots:
        if len(set(lots)) != len(lots):
            raise e.InvalidRecord("a lot is named twice", pointer="/lots")
        return "lots"
    if not dates:
        raise e.InvalidRecord("a recall names the lots it covers, a production-date range or serials", pointer="/lots")
    if produced_from is None or produced_to is None:
        raise e.InvalidRecord(
            "a production-date range needs both ends",
            pointer="/producedFrom" if produced_from is None else "/producedTo",
        )
    if produced_from > produced_to:
        raise e.InvalidRecord("the production-date range ends before it starts", pointer="/producedTo")
    return "production_dates"


def status_after_close(disposition: Disposition, prior_status: str, *, still_recalled: bool) -> str:
    """A lot's status once its recall is closed (``still_recalled``: another open recall covers it)."""
    if still_recalled or disposition != "released":
        return "recalled"
    # a lot that was itself recalled before (by a recall closed since as destroyed) stays recalled
    return prior_status


def response_seconds(opened_at: dt.datetime, closed_at: dt.datetime) -> int:
    """Whole seconds from opening to closing: the response time a regulator asks for."""
    return max(0, int((closed_at - opened_at).total_seconds()))

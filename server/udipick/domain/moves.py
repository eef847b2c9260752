"""Moves: which units of a place (or licence plate) a mover's scans take, or why they may not move.

A move keeps the stock's status: it never releases quarantine, and blocked stock (held, recalled,
rejected, damaged, expired) stays where QA can find it until QA, a recall or scrap decides. Units a
wave promised to a pick task (``stock.reserved``) stay for the picker, who is sent to that location:
a move takes only the free units of a row. The destination is judged by ``domain.putaway``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from udipick.domain.errors import InsufficientStock, LotExpired, LotRecalled, StockOnHold, StockReserved

#: stock statuses a move may carry (status kept); everything else is blocked where it lies
MOVABLE_STATUSES = frozenset({"available", "quarantine"})
#: lot statuses that block a move of any of the lot's units
BLOCKED_LOT_STATUSES = frozenset({"hold", "recalled", "rejected"})


@dataclass(frozen=True, slots=True)
class SourceRow:
    """One stock row at the source, with the facts that decide whether it may move."""

    stock_id: int
    item_id: int
    item: str
    lot_id: int | None
    lot: str | None
    serial: str | None
    container: str | None
    status: str
    quantity: int
    reserved: int = 0
    expiry: dt.date | None = None
    lot_status: str | None = None
    #: the reason of the active hold that covers the row (item, lot, serial or location), if any
    hold: str | None = None


@dataclass(frozen=True, slots=True)
class Wanted:
    """What one goods scan asks to move: an item, optionally a lot and a serial, and how many units
    (``None``: all the source holds of it, as when a whole plate moves)."""

    item_id: int
    item: str
    lot: str | None = None
    serial: str | None = None
    quantity: int | None = None


def blocked(row: SourceRow, *, today: dt.date) -> str | None:
    """Why the row's units may not move at all, or ``None``."""
    if row.expiry is not None and row.expiry < today:
        return "expired"
    if row.lot_status == "recalled":
        return "recalled"
    if row.hold is not None or row.lot_status in BLOCKED_LOT_STATUSES or row.status not in MOVABLE_STATUSES:
        return "hold"
    return None


def _refusal(row: SourceRow, why: str, what: str) -> Exception:
    if why == "expired":
        return LotExpired(
            f"{what} expired on {row.expiry}: it may not move; take it to quarantine and report it",
            item=row.item,
            lot=row.lot,
            expiry=row.expiry.isoformat() if row.expiry else None,
        )
    if why == "recalled":
        return LotRecalled(
            f"{what} is recalled: it stays where it is until the recall decides", item=row.item, lot=row.lot
        )
    reason = row.hold or (f"lot {row.lot_status}" if row.lot_status in BLOCKED_LOT_STATUSES else f"stock {row.status}")
    return StockOnHold(f"{what} is blocked ({reason}): it may not move", item=row.item, lot=row.lot, reason=reason)


def take(
    rows: Sequence[SourceRow], wanted: Sequence[Wanted], *, today: dt.date, source: str
) -> list[tuple[SourceRow, int]]:
    """The ``(row, units)`` the scans take from the source, in row order; refused whole when any scan cannot
    be served (not there, blocked, promised to a pick, not enough)."""
    left = {r.stock_id: r.quantity - r.reserved for r in rows}
    out: dict[int, int] = {}
    for w in wanted:
        what = w.item + (f" lot {w.lot}" if w.lot else "") + (f" serial {w.serial}" if w.serial else "")
        matched = [
            r
            for r in rows
            if r.item_id == w.item_id
            and (w.lot is None or r.lot == w.lot)
            and (w.serial is None or r.serial == w.serial)
            and r.quantity > 0
        ]
        on_hand = sum(r.quantity for r in matched)
        want = on_hand if w.quantity is None else w.quantity
        if not matched or want > on_hand:
            raise InsufficientStock(
                f"{source} holds {on_hand} of {what}, not {want}",
                item=w.item,
                lot=w.lot,
                serial=w.serial,
                location=source,
                available=on_hand,
                requested=want,
            )
        movable = [r for r in matched if blocked(r, today=today) is None]
        free = sum(left[r.stock_id] for r in movable)
        if want > free:
            stuck = next((r for r in matched if blocked(r, today=today) is not None), None)
            if stuck is not None and want > sum(r.quantity for r in movable):
                raise _refusal(stuck, blocked(stuck, today=today) or "hold", what)
            promised = sum(r.reserved for r in movable)
            raise StockReserved(
                f"{promised} of {what} at {source} are promised to open pick tasks; {free} may move, not {want}",
                item=w.item,
                lot=w.lot,
                location=source,
                reserved=promised,
                available=free,
                requested=want,
            )
        for r in movable:
            if want == 0:
                break
            q = min(left[r.stock_id], want)
            if q:
                left[r.stock_id] -= q
                out[r.stock_id] = out.get(r.stock_id, 0) + q
                want -= q
    by_id = {r.stock_id: r for r in rows}
    return [(by_id[i], q) for i, q in sorted(out.items())]

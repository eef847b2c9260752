"""Counting a location: what the counter found of one item against what udipick has on the books.

A short pick blocks the location for the item until someone counts it (ISO 13485 §7.5.9: stock
records must match the goods, lot by lot and serial by serial, or a recall cannot find them). The
count is a complete statement: a lot or serial on the books that the counter did not report was
not there. Pure: the service hands in the booked buckets (read under lock) and the counted lines.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from udipick.domain import errors as e


@dataclass(frozen=True, slots=True)
class Booked:
    """One loose, available stock bucket of the item at the location, as udipick has it."""

    lot: str | None
    serial: str | None
    quantity: int
    reserved: int = 0


@dataclass(frozen=True, slots=True)
class Counted:
    """One line the counter reported: units of a lot (or one serial, quantity 0 or 1) found."""

    lot: str | None
    serial: str | None
    quantity: int


@dataclass(frozen=True, slots=True)
class CountLine:
    """Expected against counted for one lot (or serial); ``reserved`` is what open pick tasks hold."""

    lot: str | None
    serial: str | None
    expected: int
    counted: int
    reserved: int = 0

    @property
    def difference(self) -> int:
        return self.counted - self.expected


def check_counted(lines: Sequence[Counted], *, lot_tracked: bool, serial_tracked: bool) -> list[Counted]:
    """Refuse lines a count cannot mean; merge lines of the same lot (two shelves of one bin).

    A serialised unit is one unit: its line says 0 (not found) or 1, and names its serial; a
    serial reported twice is a double scan, not two units. A lot-tracked item's units name their
    lot, because the difference is booked per lot (the recall unit). Serialised units may leave
    the lot out: the serial implies it.
    """
    merged: dict[str | None, int] = {}
    serials: dict[str, Counted] = {}
    for i, line in enumerate(lines):
        pointer = f"/lines/{i}"
        if line.quantity < 0:
            raise e.InvalidCount(
                f"line {i + 1}: a count cannot be negative ({line.quantity})",
                pointer=pointer + "/quantity",
                quantity=line.quantity,
            )
        if line.serial is not None:
            if not serial_tracked:
                raise e.InvalidCount(
                    f"line {i + 1}: this item is not serialised; count it by lot without a serial",
                    pointer=pointer + "/serial",
                    serial=line.serial,
                )
            if line.quantity > 1:
                raise e.SerialCountMismatch(
                    f"line {i + 1}: serial {line.serial} is one unit: count it as 1 (found) or 0 (not found), not {line.quantity}",
                    pointer=pointer + "/quantity",
                    serial=line.serial,
                    quantity=line.quantity,
                )
            if line.serial in serials:
                raise e.InvalidCount(
                    f"serial {line.serial} is counted twice", pointer=pointer + "/serial", serial=line.serial
                )
            serials[line.serial] = line
            continue
        if serial_tracked:
            if line.quantity == 0:
                continue  # "none of this lot": says nothing a serial line would not
            raise e.MissingSerial(
                f"line {i + 1}: this item is serialised: count each unit by its serial",
                needs=["serial"],
                pointer=pointer + "/serial",
            )
        if lot_tracked and line.lot is None:
            raise e.MissingLot(
                f"line {i + 1}: this item is lot-tracked: say which lot", needs=["lot"], pointer=pointer + "/lot"
            )
        merged[line.lot] = merged.get(line.lot, 0) + line.quantity
    return [Counted(lot, None, q) for lot, q in merged.items()] + list(serials.values())


def compare_count(booked: Sequence[Booked], counted: Sequence[Counted]) -> list[CountLine]:
    """Expected and counted per lot, or per serial for serialised units, in lot then serial order.

    Every booked bucket appears (counted 0 when the counter did not report it); a counted lot or
    serial udipick did not have here is a gain. A serial carries the lot it was received with: a
    counted line naming another lot for a booked serial is refused rather than moved between lots.
    """
    lines: dict[tuple[str, str | None], CountLine] = {}

    def key(lot: str | None, serial: str | None) -> tuple[str, str | None]:
        return ("serial", serial) if serial is not None else ("lot", lot)

    for b in booked:
        k = key(b.lot, b.serial)
        seen = lines.get(k)
        lines[k] = CountLine(
            b.lot, b.serial, b.quantity + (seen.expected if seen else 0), 0, b.reserved + (seen.reserved if seen else 0)
        )
    for c in counted:
        k = key(c.lot, c.serial)
        seen = lines.get(k)
        if seen is None:
            lines[k] = CountLine(c.lot, c.serial, 0, c.quantity)
            continue
        if c.serial is not None and c.lot is not None and c.lot != seen.lot:
            raise e.InvalidCount(
                f"serial {c.serial} belongs to lot {seen.lot}, not {c.lot}",
                serial=c.serial,
                lot=c.lot,
                bookedLot=seen.lot,
            )
        lines[k] = CountLine(seen.lot, seen.serial, seen.expected, seen.counted + c.quantity, seen.reserved)
    # "none of lot X" for a lot that is not here anyway says nothing
    return sorted(
        (ln for ln in lines.values() if ln.expected or ln.counted), key=lambda ln: (ln.lot or "", ln.serial or "")
    )


def reservation_shortfalls(lines: Sequence[CountLine]) -> list[CountLine]:
    """Lines whose count leaves less than open pick tasks hold: those tasks promise units that are not there."""
    return [ln for ln in lines if ln.counted < ln.reserved]


def check_found_serial(
    serial: str, *, status: str | None, booked_at: str | None, lot: str | None, serial_lot: str | None
) -> None:
    """A serial found on the shelf that udipick does not have here.

    Unknown serials are refused (a unit's UDI must come in through receiving, with its lot and
    expiry); so is one on the books elsewhere or already picked or shipped: that is a misplaced
    unit to find and move, not a unit to create twice.
    """
    if status is None:
        raise e.UnknownSerial(
            f"serial {serial} was never received for this item: receive it, do not count it in", serial=serial
        )
    if booked_at is not None:
        raise e.SerialBookedElsewhere(
            f"serial {serial} is on the books at {booked_at}: count that location or move it",
            serial=serial,
            bookedAt=booked_at,
        )
    if status != "in_stock":
        raise e.SerialBookedElsewhere(
            f"serial {serial} is recorded as {status}, not in stock: ask a supervisor",
            serial=serial,
            serialStatus=status,
        )
    if lot is not None and serial_lot != lot:
        raise e.InvalidCount(
            f"serial {serial} belongs to lot {serial_lot}, not {lot}", serial=serial, lot=lot, bookedLot=serial_lot
        )


# ---- count tasks (issue 19): blind counts, tolerance, recount, approval, ABC schedule ------------------

#: why a supervisor approves a difference between the count and the books (the ledger row's reason)
REASON_CODES = ("counting-error", "damage", "theft-loss", "found", "unrecorded-receipt", "other")
#: the reason of a difference booked without a supervisor, because it was within the tolerance
AUTO_REASON = "within-tolerance"
#: what a count task counts: the stock of one location, of a zone's locations, of an item or of a lot
TASK_KINDS = ("location", "zone", "item", "lot")
ABC_CLASSES = ("A", "B", "C")


@dataclass(frozen=True, slots=True)
class Tolerance:
    """How far a count may differ from the books and still be booked without a second count.

    ``units``: the sum of the absolute differences of the line's lots (serials); ``percent``: that sum
    against the units on the books. Both must hold; a difference on a line with nothing on the books
    (a find where udipick expected nothing) is never within tolerance.
    """

    units: int = 0
    percent: float = 0.0


def units_off(lines: Sequence[CountLine]) -> int:
    """Units the count differs from the books by, lot by lot: 2 of lot A found in place of lot B is 4 off."""
    return sum(abs(ln.difference) for ln in lines)


def within_tolerance(lines: Sequence[CountLine], tolerance: Tolerance) -> bool:
    """Whether a first count may be booked as it is (no recount, no supervisor)."""
    off = units_off(lines)
    if off == 0:
        return True
    book = sum(ln.expected for ln in lines)
    return book > 0 and off <= tolerance.units and off * 100 <= tolerance.percent * book


def check_recounter(first_by: int | None, by: int | None) -> None:
    """A recount is a second pair of eyes (the four-eyes rule of a stock adjustment): not the first counter."""
    if first_by is not None and first_by == by:
        raise e.RecountBySameUser(
            "you counted this the first time: someone else must recount it", firstCountBy=first_by
        )


def check_reason(code: str | None, note: str | None) -> str:
    """The approval's reason as the ledger stores it: a known code, with the supervisor's words for ``other``."""
    words = (note or "").strip()
    if code not in REASON_CODES:
        raise e.InvalidCount(
            f"reason {code!r} is not one of {', '.join(REASON_CODES)}",
            pointer="/reason",
            reasons=list(REASON_CODES),
        )
    if code == "other" and not words:
        raise e.MissingReason("reason 'other' needs a note saying why", needs=["note"], pointer="/note")
    return f"{code}: {words}" if words else code


def counted_status(expiry: dt.date | None, today: dt.date) -> str:
    """The stock status counted units are booked in: past its expiry a unit is never available for sale."""
    return "expired" if expiry is not None and expiry < today else "available"


def abc_classes(picks: Mapping[int, int], *, a_share: float = 0.8, b_share: float = 0.95) -> dict[int, str]:
    """Items classed by picks (Pareto): the items that make the first ``a_share`` of all picks are A, up to
    ``b_share`` B, the rest (and items never picked) C. Ties in picks go by item id, so the class is stable."""
    total = sum(picks.values())
    out: dict[int, str] = {}
    seen = 0
    for item, n in sorted(picks.items(), key=lambda kv: (-kv[1], kv[0])):
        share_before = seen / total if total else 1.0
        out[item] = "A" if n > 0 and share_before < a_share else "B" if n > 0 and share_before < b_share else "C"
        seen += n
    return out


def count_due(abc_class: str, last_counted: dt.date | None, today: dt.date, intervals: Mapping[str, int]) -> bool:
    """Whether an item of ``abc_class`` needs a count task today: never counted, or its interval has passed."""
    return last_counted is None or (today - last_counted).days >= intervals[abc_class]

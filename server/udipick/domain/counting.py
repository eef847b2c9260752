"""Counting a location: what the counter found of one item against what udipick has on the books.

A short pick blocks the location for the item until someone counts it (ISO 13485 §7.5.9: stock
records must match the goods, lot by lot and serial by serial, or a recall cannot find them). The
count is a complete statement: a lot or serial on the books that the counter did not report was
not there. Pure: the service hands in the booked buckets (read under lock) and the counted lines.
"""

from __future__ import annotations

from collections.abc import Sequence
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

"""Counting a location: counted against booked per lot or serial, as tables of cases."""

from __future__ import annotations

import pytest

from udipick.domain import errors as e
from udipick.domain.counting import (
    Booked,
    Counted,
    CountLine,
    check_counted,
    check_found_serial,
    compare_count,
    reservation_shortfalls,
)


def lot(name: str | None, qty: int) -> Counted:
    return Counted(name, None, qty)


def unit(serial: str, qty: int = 1, lot_: str | None = None) -> Counted:
    return Counted(lot_, serial, qty)


# ---- what a count line may say ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "lot_tracked", "serial_tracked", "expected"),
    [
        ([], True, False, []),
        ([lot("L1", 3)], True, False, [lot("L1", 3)]),
        ([lot("L1", 0)], True, False, [lot("L1", 0)]),
        ([lot("L1", 3), lot("L2", 1), lot("L1", 2)], True, False, [lot("L1", 5), lot("L2", 1)]),  # two shelves, one lot
        ([lot(None, 7)], False, False, [lot(None, 7)]),
        ([unit("S1"), unit("S2", 0)], True, True, [unit("S1"), unit("S2", 0)]),
        ([lot("L1", 0), unit("S1")], True, True, [unit("S1")]),  # "none of L1" on a serialised item: nothing to book
    ],
)
def test_sensible_lines_are_kept_and_one_lot_on_two_lines_is_summed(lines, lot_tracked, serial_tracked, expected):
    assert check_counted(lines, lot_tracked=lot_tracked, serial_tracked=serial_tracked) == expected


@pytest.mark.parametrize(
    ("lines", "lot_tracked", "serial_tracked", "error", "pointer"),
    [
        ([lot("L1", -1)], True, False, e.InvalidCount, "/lines/0/quantity"),
        ([unit("S0"), unit("S1", -1)], True, True, e.InvalidCount, "/lines/1/quantity"),
        ([unit("S1", 2)], True, True, e.SerialCountMismatch, "/lines/0/quantity"),
        ([unit("S1"), unit("S1")], True, True, e.InvalidCount, "/lines/1/serial"),
        ([unit("S1")], True, False, e.InvalidCount, "/lines/0/serial"),  # serial on an unserialised item
        ([lot("L1", 2)], True, True, e.MissingSerial, "/lines/0/serial"),
        ([lot(None, 2)], True, False, e.MissingLot, "/lines/0/lot"),
    ],
)
def test_lines_a_count_cannot_mean_are_refused_with_a_pointer(lines, lot_tracked, serial_tracked, error, pointer):
    with pytest.raises(error) as exc:
        check_counted(lines, lot_tracked=lot_tracked, serial_tracked=serial_tracked)
    assert exc.value.context["pointer"] == pointer


# ---- counted against booked --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("booked", "counted", "expected"),
    [
        # nothing on the books, nothing found
        ([], [], []),
        # as booked
        ([Booked("L1", None, 10)], [lot("L1", 10)], [CountLine("L1", None, 10, 10)]),
        # short pick confirmed: the shelf is empty
        ([Booked("L1", None, 10)], [], [CountLine("L1", None, 10, 0)]),
        # a loss on one lot, a lot not reported is a lot not there
        (
            [Booked("L1", None, 10), Booked("L2", None, 5)],
            [lot("L1", 7)],
            [CountLine("L1", None, 10, 7), CountLine("L2", None, 5, 0)],
        ),
        # a gain: a lot the books do not have here
        (
            [Booked("L1", None, 10)],
            [lot("L1", 10), lot("L9", 4)],
            [CountLine("L1", None, 10, 10), CountLine("L9", None, 0, 4)],
        ),
        # "none of L9" where the books have none of L9 either says nothing
        ([Booked("L1", None, 10)], [lot("L1", 10), lot("L9", 0)], [CountLine("L1", None, 10, 10)]),
        # reservations travel with the booked bucket
        ([Booked("L1", None, 10, reserved=4)], [lot("L1", 6)], [CountLine("L1", None, 10, 6, reserved=4)]),
        # no lot tracking
        ([Booked(None, None, 3)], [lot(None, 5)], [CountLine(None, None, 3, 5)]),
        # serials: one found, one missing, one found that was booked elsewhere; the lot comes from the books
        (
            [Booked("ST-A1", "S1", 1), Booked("ST-A1", "S2", 1)],
            [unit("S1"), unit("S3")],
            [CountLine(None, "S3", 0, 1), CountLine("ST-A1", "S1", 1, 1), CountLine("ST-A1", "S2", 1, 0)],
        ),
        # a serial counted with its lot named
        ([Booked("ST-A1", "S1", 1)], [unit("S1", 1, "ST-A1")], [CountLine("ST-A1", "S1", 1, 1)]),
    ],
)
def test_counted_is_compared_with_booked_per_lot_and_serial(booked, counted, expected):
    assert compare_count(booked, counted) == expected


def test_a_booked_serial_counted_under_another_lot_is_refused_not_moved_between_lots():
    with pytest.raises(e.InvalidCount) as exc:
        compare_count([Booked("ST-A1", "S1", 1)], [unit("S1", 1, "ST-B2")])
    assert exc.value.context["bookedLot"] == "ST-A1"


@pytest.mark.parametrize(
    ("line", "short"),
    [
        (CountLine("L1", None, 10, 6, reserved=4), False),
        (CountLine("L1", None, 10, 3, reserved=4), True),
        (CountLine(None, "S1", 1, 0, reserved=1), True),
        (CountLine("L1", None, 0, 4), False),
    ],
)
def test_a_count_below_what_open_picks_hold_is_a_shortfall(line, short):
    assert reservation_shortfalls([line]) == ([line] if short else [])


def test_differences_are_signed_gains_positive():
    assert CountLine("L1", None, 10, 7).difference == -3 and CountLine("L1", None, 0, 4).difference == 4


# ---- a serial found that the books do not have here -----------------------------------------------


@pytest.mark.parametrize(
    ("kw", "error"),
    [
        (dict(status="in_stock", booked_at=None, lot=None, serial_lot="ST-A1"), None),
        (dict(status="in_stock", booked_at=None, lot="ST-A1", serial_lot="ST-A1"), None),
        (dict(status=None, booked_at=None, lot=None, serial_lot=None), e.UnknownSerial),
        (dict(status="in_stock", booked_at="A-02-04", lot=None, serial_lot="ST-A1"), e.SerialBookedElsewhere),
        (dict(status="shipped", booked_at=None, lot=None, serial_lot="ST-A1"), e.SerialBookedElsewhere),
        (dict(status="in_stock", booked_at=None, lot="ST-B2", serial_lot="ST-A1"), e.InvalidCount),
    ],
)
def test_a_found_serial_must_have_been_received_and_be_nowhere_else(kw, error):
    if error is None:
        check_found_serial("S1", **kw)
    else:
        with pytest.raises(error):
            check_found_serial("S1", **kw)

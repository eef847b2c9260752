"""The cycle count rules as tables (issue 19): tolerance, the recounter, reason codes, the status counted
units land in, ABC classes and when an item is due."""

from __future__ import annotations

import datetime as dt

import pytest

from udipick.domain import errors as e
from udipick.domain.counting import (
    REASON_CODES,
    CountLine,
    Tolerance,
    abc_classes,
    check_reason,
    check_recounter,
    count_due,
    counted_status,
    units_off,
    within_tolerance,
)

TODAY = dt.date(2026, 12, 6)


def lot(expected: int, counted: int, name: str = "L1") -> CountLine:
    return CountLine(name, None, expected, counted)


@pytest.mark.parametrize(
    ("lines", "tolerance", "within"),
    [
        ([lot(10, 10)], Tolerance(0, 0), True),  # no difference is always booked
        ([], Tolerance(0, 0), True),  # nothing on the books, nothing found
        ([lot(10, 9)], Tolerance(0, 0), False),  # zero tolerance: every difference is recounted
        ([lot(100, 98)], Tolerance(2, 2.0), True),  # 2 units, 2 %: both limits hold
        ([lot(100, 97)], Tolerance(2, 5.0), False),  # 3 units is over the unit limit
        ([lot(10, 8)], Tolerance(2, 5.0), False),  # 2 units but 20 %: over the percent limit
        ([lot(0, 1)], Tolerance(5, 100.0), False),  # a find where the books say nothing is never small
        ([lot(50, 51, "A"), lot(50, 49, "B")], Tolerance(1, 5.0), False),  # lots swapped: 2 units off, not 0
        ([lot(50, 51, "A"), lot(50, 49, "B")], Tolerance(2, 5.0), True),
    ],
)
def test_a_first_count_is_booked_without_a_recount_only_within_both_limits(lines, tolerance, within):
    assert within_tolerance(lines, tolerance) is within


def test_units_off_adds_each_lots_difference_without_netting():
    assert units_off([lot(5, 7, "A"), lot(5, 3, "B"), CountLine(None, "S1", 1, 0)]) == 5


@pytest.mark.parametrize(
    ("first_by", "by", "refused"),
    [(7, 7, True), (7, 8, False), (None, 8, False)],
)
def test_a_recount_is_refused_to_the_user_who_counted_first(first_by, by, refused):
    if refused:
        with pytest.raises(e.RecountBySameUser) as info:
            check_recounter(first_by, by)
        assert info.value.code == "recount-same-user" and info.value.context == {"firstCountBy": first_by}
    else:
        check_recounter(first_by, by)


@pytest.mark.parametrize(
    ("code", "note", "stored"),
    [
        ("damage", None, "damage"),
        ("theft-loss", "  box torn open ", "theft-loss: box torn open"),
        ("other", "pallet fell", "other: pallet fell"),
    ],
)
def test_an_approval_reason_is_a_known_code_with_the_supervisors_words(code, note, stored):
    assert check_reason(code, note) == stored


@pytest.mark.parametrize(
    ("code", "note", "error"),
    [
        ("lost", None, e.InvalidCount),
        (None, "x", e.InvalidCount),
        ("other", "  ", e.MissingReason),
        ("other", None, e.MissingReason),
    ],
)
def test_an_unknown_reason_or_other_without_words_is_refused(code, note, error):
    with pytest.raises(error):
        check_reason(code, note)


def test_the_reason_codes_are_the_fixed_list():
    assert REASON_CODES == ("counting-error", "damage", "theft-loss", "found", "unrecorded-receipt", "other")


@pytest.mark.parametrize(
    ("expiry", "status"),
    [
        (None, "available"),
        (TODAY, "available"),  # good through its expiry day
        (TODAY + dt.timedelta(days=1), "available"),
        (TODAY - dt.timedelta(days=1), "expired"),
        (TODAY - dt.timedelta(days=400), "expired"),
    ],
)
def test_counted_units_past_their_expiry_are_booked_expired_never_available(expiry, status):
    assert counted_status(expiry, TODAY) == status


@pytest.mark.parametrize(
    ("picks", "classes"),
    [
        ({}, {}),
        ({1: 0, 2: 0}, {1: "C", 2: "C"}),  # never picked: C
        ({1: 80, 2: 15, 3: 5}, {1: "A", 2: "B", 3: "C"}),
        ({1: 50, 2: 30, 3: 15, 4: 5}, {1: "A", 2: "A", 3: "B", 4: "C"}),
        ({3: 5, 1: 80, 2: 5, 4: 10}, {1: "A", 4: "B", 2: "B", 3: "C"}),  # a tie goes by item id: stable between runs
        ({1: 100, 2: 0}, {1: "A", 2: "C"}),
    ],
)
def test_items_are_classed_by_their_share_of_picks(picks, classes):
    assert abc_classes(picks) == classes


INTERVALS = {"A": 30, "B": 90, "C": 180}


@pytest.mark.parametrize(
    ("abc", "last", "due"),
    [
        ("A", None, True),  # never counted
        ("A", TODAY - dt.timedelta(days=29), False),
        ("A", TODAY - dt.timedelta(days=30), True),
        ("B", TODAY - dt.timedelta(days=30), False),
        ("B", TODAY - dt.timedelta(days=90), True),
        ("C", TODAY - dt.timedelta(days=179), False),
        ("C", TODAY - dt.timedelta(days=180), True),
    ],
)
def test_an_item_is_due_for_a_count_when_its_class_interval_has_passed(abc, last, due):
    assert count_due(abc, last, TODAY, INTERVALS) is due

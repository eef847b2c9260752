"""The stock view's rules as tables: a row's effective status, the expiry buckets, the reserved split, ATP,
the reorder suggestion and the snapshot's status."""

from __future__ import annotations

import datetime as dt

import pytest
from msgspec.structs import replace

from udipick.domain.stock_view import (
    STATUSES,
    StockFacts,
    available_to_promise,
    booked_status,
    effective_status,
    expiry_bucket,
    split_reserved,
    suggested_quantity,
)

TODAY = dt.date(2026, 12, 6)
PLAIN = StockFacts(
    stock_status="available",
    lot_status="released",
    expiry=TODAY + dt.timedelta(days=200),
    held=False,
    recall_hold=False,
    location_type="pick",
    item_bonded=False,
)


def day(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, "available"),
        ({"stock_status": "picked"}, "picked"),
        ({"stock_status": "packed", "lot_status": "recalled"}, "packed"),  # in motion: the order's already
        ({"stock_status": "damaged", "lot_status": "hold"}, "damaged"),
        ({"stock_status": "rejected"}, "rejected"),
        ({"lot_status": "rejected"}, "rejected"),
        ({"lot_status": "recalled"}, "recalled"),
        ({"recall_hold": True, "held": True}, "recalled"),  # a serial recall's hold is a recall, not a hold
        ({"lot_status": "recalled", "expiry": day(-1)}, "recalled"),
        ({"expiry": day(-1)}, "expired"),  # past its expiry before the sweep booked it
        ({"expiry": day(0)}, "available"),  # usable through its expiry date
        ({"stock_status": "expired"}, "expired"),
        ({"stock_status": "expired", "held": True}, "expired"),
        ({"stock_status": "quarantine"}, "quarantine"),
        ({"lot_status": "quarantine"}, "quarantine"),
        ({"location_type": "quarantine"}, "quarantine"),
        ({"lot_status": "quarantine", "held": True}, "quarantine"),
        ({"stock_status": "hold"}, "hold"),
        ({"lot_status": "hold"}, "hold"),
        ({"held": True}, "hold"),
        ({"held": True, "location_type": "bonded"}, "hold"),
        ({"location_type": "bonded"}, "bonded"),
        ({"item_bonded": True}, "bonded"),
        ({"expiry": None}, "available"),
        ({"location_type": "reserve"}, "available"),
    ],
)
def test_effective_status(change, expected):
    assert effective_status(replace(PLAIN, **change), today=TODAY) == expected
    assert expected in STATUSES


@pytest.mark.parametrize(
    ("expiry", "bucket"),
    [
        (None, "none"),
        (day(-1), "expired"),
        (day(0), "30d"),
        (day(30), "30d"),
        (day(31), "90d"),
        (day(90), "90d"),
        (day(91), "180d"),
        (day(180), "180d"),
        (day(181), "later"),
    ],
)
def test_expiry_buckets(expiry, bucket):
    assert expiry_bucket(expiry, TODAY) == bucket


@pytest.mark.parametrize(
    ("status", "quantity", "reserved", "expected"),
    [
        ("available", 10, 0, [("available", 10)]),
        ("available", 10, 4, [("available", 6), ("allocated", 4)]),
        ("available", 10, 10, [("allocated", 10)]),
        ("hold", 10, 4, [("hold", 10)]),  # promised, but it cannot be picked: counted as held
        ("available", 0, 0, []),
    ],
)
def test_reserved_available_units_are_allocated(status, quantity, reserved, expected):
    assert split_reserved(status, quantity, reserved) == expected


@pytest.mark.parametrize(
    ("available", "allocated", "demand", "atp"),
    [(18, 12, 20, -2), (100, 0, 0, 100), (50, 10, 5, 45), (0, 0, 7, -7)],
)
def test_available_to_promise(available, allocated, demand, atp):
    got = available_to_promise(available=available, allocated=allocated, open_demand=demand)
    assert (got.on_hand_available, got.allocated, got.open_demand, got.atp) == (
        available + allocated,
        allocated,
        demand,
        atp,
    )


@pytest.mark.parametrize(
    ("available", "in_transit", "minimum", "maximum", "expected"),
    [
        (18, 50, 25, 100, 32),
        (25, 0, 25, 100, None),  # at the minimum: not below it
        (0, 0, 25, 100, 100),
        (10, 90, 25, 100, None),  # what is on its way covers it
        (10, 200, 25, 100, None),
        (0, 0, 0, 0, None),
    ],
)
def test_reorder_suggestion(available, in_transit, minimum, maximum, expected):
    assert suggested_quantity(available=available, in_transit=in_transit, minimum=minimum, maximum=maximum) == expected


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, "available"),
        ({"held": True}, "hold"),
        ({"lot_status": "hold"}, "hold"),
        ({"lot_status": "recalled"}, "recalled"),
        ({"lot_status": "quarantine"}, "quarantine"),
        ({"expiry": day(-5)}, "available"),  # the sweep books expiry; the snapshot shows what is booked
        ({"location_type": "bonded"}, "available"),
        ({"location_type": "quarantine"}, "available"),
        ({"stock_status": "picked", "held": True}, "picked"),
        ({"stock_status": "expired"}, "expired"),
    ],
)
def test_the_snapshot_shows_stock_kept_from_sale(change, expected):
    assert booked_status(replace(PLAIN, **change)) == expected


def test_the_status_rule_remembers_decisions_without_changing_one():
    """``StatusRule`` decides once per combination with the expiry counted as passed or not: over every
    combination of facts and expiries around today, in an order that fills its memory first with other
    dates, each answer equals ``effective_status``'s own."""
    import itertools

    from udipick.db.models import LOCATION_TYPES, LOT_STATUSES, STOCK_STATUSES
    from udipick.domain.stock_view import StatusRule

    rule = StatusRule(TODAY)
    expiries = [day(400), None, day(0), day(-1), day(-400), day(1), day(30)]
    combos = itertools.product(
        STOCK_STATUSES, LOT_STATUSES, [False, True], [False, True], LOCATION_TYPES, [False, True]
    )
    for stock, lot, held, recall, place, bonded in combos:
        for expiry in expiries:
            facts = StockFacts(stock, lot, expiry, held, recall, place, bonded)
            assert rule.status(facts) == effective_status(facts, today=TODAY), facts
    assert [rule.bucket(e) for e in expiries] == [expiry_bucket(e, TODAY) for e in expiries]


def test_every_date_of_an_expiry_class_has_its_bucket_and_its_side_of_today():
    """The view sums rows per class between ``expiry_edges`` (PostgreSQL's ``width_bucket``) and decides a
    class by one of its dates: every date of a class must have the same bucket and expired-or-not."""
    import bisect

    from udipick.domain.stock_view import expiry_edges

    edges = expiry_edges(TODAY)
    assert edges == sorted(edges)
    seen: dict[int, tuple[str, bool]] = {}
    for n in range(-400, 400):
        d = day(n)
        klass = bisect.bisect_right(edges, d)  # what width_bucket(d, edges) answers
        assert seen.setdefault(klass, (expiry_bucket(d, TODAY), d < TODAY)) == (expiry_bucket(d, TODAY), d < TODAY), d
    assert len(seen) == len(edges) + 1

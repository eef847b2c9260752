"""Which units a move's scans take, or why they may not move, as a table."""

from __future__ import annotations

import datetime as dt

import pytest

from udipick.domain import moves as m
from udipick.domain.errors import InsufficientStock, LotExpired, LotRecalled, StockOnHold, StockReserved

TODAY = dt.date(2026, 12, 6)
LATER = TODAY + dt.timedelta(days=300)


def row(sid, lot="A", qty=10, *, item=1, serial=None, status="available", reserved=0, expiry=LATER, lot_status="released",
        hold=None):  # fmt: skip
    return m.SourceRow(
        stock_id=sid, item_id=item, item=f"I{item}", lot_id=hash(lot) % 1000, lot=lot, serial=serial, container=None,
        status=status, quantity=qty, reserved=reserved, expiry=expiry, lot_status=lot_status, hold=hold,
    )  # fmt: skip


def want(lot=None, qty=None, *, item=1, serial=None):
    return m.Wanted(item, f"I{item}", lot, serial, qty)


# (case, rows, wanted, expected (stock id, units) or the refusal's class)
CASES = [
    ("a quantity of a lot", [row(1, "A", 10), row(2, "B", 5)], [want("A", 4)], [(1, 4)]),
    ("any lot, in row order", [row(1, "A", 3), row(2, "B", 5)], [want(None, 6)], [(1, 3), (2, 3)]),
    ("a serial", [row(1, "S", 1, serial="X1"), row(2, "S", 1, serial="X2")], [want(serial="X2", qty=1)], [(2, 1)]),
    ("all of a plate", [row(1, "A", 3), row(2, "B", 5)], [want("A"), want("B")], [(1, 3), (2, 5)]),
    ("two scans of one row add up", [row(1, "A", 10)], [want("A", 2), want("A", 3)], [(1, 5)]),
    ("quarantine moves (status kept)", [row(1, "A", 4, status="quarantine")], [want("A", 4)], [(1, 4)]),
    ("free units beside reserved ones", [row(1, "A", 10, reserved=6)], [want("A", 4)], [(1, 4)]),
    (
        "a blocked row is skipped when others cover",
        [row(1, "A", 5, hold="damaged box"), row(2, "A", 5)],
        [want("A", 5)],
        [(2, 5)],
    ),
    ("not there", [row(1, "A", 10)], [want("Z", 1)], InsufficientStock),
    ("not enough", [row(1, "A", 10)], [want("A", 11)], InsufficientStock),
    ("another item", [row(1, "A", 10)], [want("A", 1, item=2)], InsufficientStock),
    ("promised to a pick", [row(1, "A", 10, reserved=7)], [want("A", 4)], StockReserved),
    ("expired", [row(1, "A", 10, expiry=TODAY - dt.timedelta(days=1))], [want("A", 1)], LotExpired),
    ("expires today still moves", [row(1, "A", 10, expiry=TODAY)], [want("A", 1)], [(1, 1)]),
    ("held by a hold", [row(1, "A", 10, hold="supplier notice")], [want("A", 1)], StockOnHold),
    ("lot on hold", [row(1, "A", 10, lot_status="hold")], [want("A", 1)], StockOnHold),
    ("lot recalled", [row(1, "A", 10, lot_status="recalled")], [want("A", 1)], LotRecalled),
    ("rejected stock", [row(1, "A", 10, status="rejected")], [want("A", 1)], StockOnHold),
    ("expired status", [row(1, "A", 10, status="expired")], [want("A", 1)], StockOnHold),
]


@pytest.mark.parametrize(("case", "rows", "wanted", "expected"), CASES, ids=[c[0] for c in CASES])
def test_a_move_takes_free_movable_units_or_says_why_not(case, rows, wanted, expected):
    if isinstance(expected, type):
        with pytest.raises(expected):
            m.take(rows, wanted, today=TODAY, source="A-01-01")
        return
    assert [(r.stock_id, q) for r, q in m.take(rows, wanted, today=TODAY, source="A-01-01")] == expected


def test_the_refusal_says_how_many_are_promised_and_how_many_may_move():
    with pytest.raises(StockReserved) as exc:
        m.take([row(1, "A", 10, reserved=7)], [want("A", 4)], today=TODAY, source="A-01-01")
    assert (exc.value.context["reserved"], exc.value.context["available"], exc.value.context["requested"]) == (7, 3, 4)

"""The go-live opening balance rules and the expiry rules, as tables (issue 19)."""

from __future__ import annotations

import datetime as dt

import pytest

from udipick.domain.expiry import barcode_expired, is_expired, status_on_the_books, swept
from udipick.domain.opening import ItemFacts, OpeningLine, check_line

TODAY = dt.date(2026, 12, 6)
LOTTED = ItemFacts(1, "SYR", lot_tracked=True, serial_tracked=False, expiry_tracked=True)
SERIAL = ItemFacts(2, "STENT", lot_tracked=True, serial_tracked=True, expiry_tracked=True)
PLAIN = ItemFacts(3, "SCREW", lot_tracked=False, serial_tracked=False, expiry_tracked=False)
LATER = TODAY + dt.timedelta(days=100)


def line(**over) -> OpeningLine:
    return OpeningLine(
        **{"item": "SYR", "location": "A", "quantity": 5, "status": "available", "lot": "L1", "expiry": LATER, **over}
    )


@pytest.mark.parametrize(
    ("expiry", "expired"),
    [(None, False), (TODAY + dt.timedelta(days=1), False), (TODAY, False), (TODAY - dt.timedelta(days=1), True)],
)
def test_a_unit_is_expired_from_the_day_after_its_expiry(expiry, expired):
    assert is_expired(expiry, TODAY) is expired


@pytest.mark.parametrize(
    ("status", "expiry", "booked"),
    [
        ("available", LATER, "available"),
        ("quarantine", LATER, "quarantine"),
        ("expired", LATER, "expired"),
        ("available", TODAY - dt.timedelta(days=1), "expired"),
        ("quarantine", TODAY - dt.timedelta(days=30), "expired"),
        ("available", None, "available"),
    ],
)
def test_expired_units_are_booked_expired_whatever_the_sender_says(status, expiry, booked):
    assert status_on_the_books(status, expiry, TODAY) == booked


@pytest.mark.parametrize(
    ("status", "expiry", "moved"),
    [
        ("available", TODAY - dt.timedelta(days=1), True),
        ("quarantine", TODAY - dt.timedelta(days=1), True),
        ("hold", TODAY - dt.timedelta(days=1), True),
        ("available", TODAY, False),
        ("picked", TODAY - dt.timedelta(days=1), False),  # on its way out with an order
        ("rejected", TODAY - dt.timedelta(days=1), False),  # blocked for a reason of its own
        ("expired", TODAY - dt.timedelta(days=1), False),
    ],
)
def test_the_sweep_moves_only_stock_meant_for_use_or_a_decision(status, expiry, moved):
    assert swept(status, expiry, TODAY) is moved


def test_a_barcode_whose_expiry_passed_is_refused_with_words_to_quarantine_and_report():
    refusal = barcode_expired(TODAY - dt.timedelta(days=3), "L9", today=TODAY, doing="pick it")
    assert refusal is not None and refusal.code == "lot-expired"
    assert refusal.context["lot"] == "L9" and refusal.context["expiry"] == TODAY - dt.timedelta(days=3)
    assert "do not pick it" in refusal.message and "quarantine" in refusal.message and "report" in refusal.message
    assert barcode_expired(TODAY, "L9", today=TODAY, doing="pick it") is None
    assert barcode_expired(None, "L9", today=TODAY, doing="pick it") is None


@pytest.mark.parametrize(
    ("the_line", "item", "located", "problems"),
    [
        (line(), LOTTED, True, []),
        (line(), None, True, [("/item", "not-found")]),
        (line(), LOTTED, False, [("/location", "not-found")]),
        (line(lot=None), LOTTED, True, [("/lot", "missing-lot")]),
        (line(expiry=None), LOTTED, True, [("/expiry", "missing-expiry")]),
        (line(quantity=0), LOTTED, True, [("/quantity", "invalid-record")]),
        (line(status="hold"), LOTTED, True, [("/reason", "missing-reason")]),
        (line(status="hold", reason="QA"), LOTTED, True, []),
        (line(production_date=LATER + dt.timedelta(days=1)), LOTTED, True, [("/productionDate", "invalid-record")]),
        (line(item="STENT", quantity=2, serials=("S1", "S2")), SERIAL, True, []),
        (line(item="STENT", quantity=2), SERIAL, True, [("/serials", "missing-serial")]),
        (line(item="STENT", quantity=2, serials=("S1",)), SERIAL, True, [("/serials", "serial-count-mismatch")]),
        (
            line(item="STENT", quantity=2, serials=("S1", "S1")),
            SERIAL,
            True,
            [("/serials", "serial-already-received")],
        ),
        (line(serials=("S1",), quantity=1), LOTTED, True, [("/serials", "invalid-record")]),
        (line(item="SCREW", lot=None, expiry=None), PLAIN, True, []),
        (line(item="SCREW", lot=None), PLAIN, True, [("/lot", "missing-lot")]),
        (
            line(item="SCREW", lot=None, expiry=None, status="hold", reason="QA"),
            PLAIN,
            True,
            [("/status", "invalid-record")],
        ),
    ],
)
def test_each_problem_of_a_line_names_its_field(the_line, item, located, problems):
    booking, found = check_line(the_line, item, located, today=TODAY)
    assert [(p.context["pointer"], p.code) for p in found] == problems
    assert (booking is None) == bool(problems)


@pytest.mark.parametrize(
    ("the_line", "status", "hold"),
    [
        (line(), "available", None),
        (line(status="quarantine"), "quarantine", None),
        (line(status="expired"), "expired", None),
        (line(expiry=TODAY - dt.timedelta(days=1)), "expired", None),
        # a held balance is available stock under a hold record (released with a signature like any hold)
        (line(status="hold", reason=" complaint 7 "), "available", "complaint 7"),
        (line(status="hold", reason="complaint 7", expiry=TODAY - dt.timedelta(days=1)), "expired", "complaint 7"),
    ],
)
def test_a_line_is_booked_in_the_status_its_facts_give(the_line, status, hold):
    booking, problems = check_line(the_line, LOTTED, True, today=TODAY)
    assert problems == [] and booking is not None
    assert (booking.stock_status, booking.hold_reason) == (status, hold)

"""The rules of returns and scrap as tables, without a database."""

from __future__ import annotations

import datetime as dt

import pytest

from udipick.domain import errors as e
from udipick.domain.returns import ScrapBucket, Shipped, check_authorized, check_return, plan_scrap

TODAY = dt.date(2026, 12, 6)
AGO = TODAY - dt.timedelta(days=3)
LATER = TODAY + dt.timedelta(days=300)


@pytest.mark.parametrize(
    ("shipped", "quantity", "serial", "refused"),
    [
        (Shipped(1, 0, 0), 1, "S1", False),  # shipped to this customer, never returned
        (Shipped(0, 1, 0), 1, "S1", True),  # shipped to another customer
        (Shipped(0, 0, 0), 1, "S1", True),  # never shipped
        (Shipped(1, 0, 1), 1, "S1", True),  # already came back
        (Shipped(2, 0, 1), 1, "S1", False),  # shipped again after it came back once
        (Shipped(10, 5, 0), 10, None, False),  # all of a lot
        (Shipped(10, 5, 4), 6, None, False),  # the rest of it
        (Shipped(10, 5, 4), 7, None, True),  # more than is still out there
        (Shipped(0, 5, 0), 1, None, True),  # the lot went to others only
    ],
)
def test_a_return_is_accepted_only_from_what_was_shipped_to_the_customer(shipped, quantity, serial, refused):
    def check() -> None:
        check_return(shipped, quantity, serial=serial, customer="C1", item="I1", lot="L1")

    if refused:
        with pytest.raises(e.ReturnNotShippedToCustomer) as info:
            check()
        assert info.value.context["customer"] == "C1"
    else:
        check()


def test_a_serial_shipped_elsewhere_says_so():
    with pytest.raises(e.ReturnNotShippedToCustomer) as info:
        check_return(Shipped(0, 1, 0), 1, serial="S9", customer="C1", item="I1", lot=None)
    assert "another customer" in info.value.message


@pytest.mark.parametrize(
    ("authorized", "received", "quantity", "refused"),
    [(2, 0, 2, False), (2, 1, 1, False), (2, 2, 1, True), (2, 0, 3, True)],
)
def test_an_rma_line_caps_what_comes_back(authorized, received, quantity, refused):
    if refused:
        with pytest.raises(e.ReturnOverAuthorized):
            check_authorized(authorized, received, quantity, rma="R1", item="I1")
    else:
        check_authorized(authorized, received, quantity, rma="R1", item="I1")


def _b(i: int, status: str, quantity: int, reserved: int = 0, expiry: dt.date | None = LATER) -> ScrapBucket:
    return ScrapBucket(i, status, quantity, reserved, expiry)


@pytest.mark.parametrize(
    ("buckets", "quantity", "reason", "plan"),
    [
        # blocked stock goes first, whatever the reason
        ([_b(1, "available", 5), _b(2, "quarantine", 3)], 3, "damaged", [(2, 3)]),
        ([_b(1, "available", 5), _b(2, "damaged", 3)], 5, "damaged", [(2, 3), (1, 2)]),
        ([_b(1, "expired", 4), _b(2, "rejected", 4)], 6, "rejected", [(1, 4), (2, 2)]),
        # saleable stock past its expiry may go as expired
        ([_b(1, "available", 5, expiry=AGO)], 5, "expired", [(1, 5)]),
        # never what open picks hold
        ([_b(1, "available", 5, reserved=2)], 3, "damaged", [(1, 3)]),
        ([_b(1, "hold", 2), _b(2, "quarantine", 2)], 4, "recalled", [(2, 2), (1, 2)]),
    ],
)
def test_scrap_takes_blocked_stock_first_and_saleable_stock_only_as_the_rule_allows(buckets, quantity, reason, plan):
    got = plan_scrap(buckets, quantity, reason, today=TODAY, context={})
    assert [(b.stock_id, n) for b, n in got] == plan


@pytest.mark.parametrize(
    ("buckets", "quantity", "reason", "error"),
    [
        ([_b(1, "available", 5)], 1, "expired", e.ScrapNotAllowed),  # not expired yet
        ([_b(1, "available", 5, expiry=TODAY)], 1, "expired", e.ScrapNotAllowed),  # expires at the end of today
        ([_b(1, "available", 5)], 1, "quarantine", e.ScrapNotAllowed),
        ([_b(1, "available", 5, reserved=5)], 1, "damaged", e.InsufficientStock),
        ([_b(1, "picked", 5)], 1, "damaged", e.InsufficientStock),  # on its way to a customer
        ([_b(1, "quarantine", 2)], 3, "damaged", e.InsufficientStock),
        ([], 1, "damaged", e.InsufficientStock),
        # a returned unit is decided on the QC screen, not scrapped past its return decision
        ([ScrapBucket(1, "quarantine", 1, 0, LATER, awaiting_return=True)], 1, "damaged", e.ScrapNotAllowed),
    ],
)
def test_scrap_is_refused_when_not_enough_may_go(buckets, quantity, reason, error):
    with pytest.raises(error):
        plan_scrap(buckets, quantity, reason, today=TODAY, context={"location": "A"})

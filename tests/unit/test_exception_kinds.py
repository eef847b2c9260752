"""Which refused scans raise an exception for the supervisor's queue, and which roles see which kinds."""

from __future__ import annotations

import pytest

from udipick.domain.exceptions import KINDS, QUALITY_KINDS, kind_of_refusal, visible_kinds


@pytest.mark.parametrize(
    ("code", "queued", "kind"),
    [
        ("fefo-violation", False, "fefo-violation"),
        ("stock-on-hold", False, "held"),
        ("lot-quarantined", False, "held"),
        ("serial-already-shipped", False, "held"),
        ("lot-recalled", False, "recalled"),
        ("lot-expired", False, "expired"),
        ("shelf-life-too-short", False, "expired"),
        # the picker fixes these alone, at the shelf
        ("wrong-item", False, None),
        ("wrong-location", False, None),
        ("over-pick", False, None),
        ("lot-not-at-location", False, None),
        # ... unless the scan waited offline and the picker has moved on
        ("wrong-item", True, "offline-refused"),
        ("over-pick", True, "offline-refused"),
        # a kind of its own stays that kind when queued (the row says it was queued)
        ("lot-recalled", True, "recalled"),
    ],
)
def test_the_exception_a_refusal_raises(code, queued, kind):
    assert kind_of_refusal(code, queued=queued) == kind


@pytest.mark.parametrize(
    ("roles", "kinds"),
    [
        ({"supervisor"}, KINDS),
        ({"admin"}, KINDS),
        ({"qa"}, {"held", "recalled", "expired", "count-variance"}),
        ({"qa", "supervisor"}, KINDS),
        ({"picker"}, set()),
        ({"receiver"}, set()),
        (set(), set()),
    ],
)
def test_who_sees_which_kinds(roles, kinds):
    assert visible_kinds(frozenset(roles)) == kinds


def test_quality_kinds_are_kinds():
    assert QUALITY_KINDS < KINDS

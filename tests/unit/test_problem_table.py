"""Every domain error has its own HTTP status row, and renders as an RFC 9457 problem."""

from __future__ import annotations

import pytest

from udipick.domain import errors
from udipick.domain.problem import STATUS, problem_body


def _all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_subclasses(sub)


@pytest.mark.parametrize("cls", sorted(_all_subclasses(errors.DomainError), key=lambda c: c.__name__))
def test_every_domain_error_has_a_status_row_and_a_unique_code(cls):
    assert cls in STATUS, f"{cls.__name__} has no row in domain.problem.STATUS"
    assert 400 <= STATUS[cls] < 600
    codes = [c.code for c in _all_subclasses(errors.DomainError)]
    assert codes.count(cls.code) == 1, f"{cls.__name__}.code {cls.code!r} is not unique"


def test_context_becomes_top_level_members_without_overriding_the_standard_ones():
    exc = errors.InsufficientStock("only 3 left", available=3, status="ignored")
    body = problem_body(exc, instance="/x")
    assert body["status"] == 409 and body["available"] == 3
    assert body["type"].endswith("/insufficient-stock") and body["detail"] == "only 3 left"

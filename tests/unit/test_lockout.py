"""The lockout rule as a table: when a user is locked, for how long, and what Retry-After says."""

from __future__ import annotations

import datetime as dt

import pytest

from udipick.domain.lockout import AfterFailure, LockoutPolicy, after_failure, retry_after

NOW = dt.datetime(2026, 12, 6, 8, 0, tzinfo=dt.UTC)
POLICY = LockoutPolicy(max_failures=3, lockout=dt.timedelta(minutes=15))


@pytest.mark.parametrize(
    ("failed_before", "expected"),
    [
        (0, AfterFailure(1, None)),
        (1, AfterFailure(2, None)),
        # the third in a row locks, and counting starts again for after the lock
        (2, AfterFailure(0, NOW + dt.timedelta(minutes=15))),
        # a count past the limit (the limit was lowered meanwhile) locks at once
        (7, AfterFailure(0, NOW + dt.timedelta(minutes=15))),
    ],
)
def test_the_nth_failure_in_a_row_locks_the_user(failed_before, expected):
    assert after_failure(failed_before, POLICY, NOW) == expected


def test_with_a_limit_of_one_every_failure_locks():
    assert after_failure(0, LockoutPolicy(max_failures=1), NOW).locked_until == NOW + LockoutPolicy().lockout


@pytest.mark.parametrize(
    ("locked_until", "expected"),
    [
        (None, None),
        (NOW - dt.timedelta(seconds=1), None),
        (NOW, None),  # a lock ends at its moment
        (NOW + dt.timedelta(milliseconds=1), 1),  # Retry-After is whole seconds, never 0 while locked
        (NOW + dt.timedelta(seconds=1), 1),
        (NOW + dt.timedelta(seconds=1, milliseconds=1), 2),
        (NOW + dt.timedelta(minutes=15), 900),
    ],
)
def test_retry_after_rounds_the_rest_of_a_lock_up_to_whole_seconds(locked_until, expected):
    assert retry_after(locked_until, NOW) == expected


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_failures": 0},
        {"address_max_failures": 0},
        {"lockout": dt.timedelta(0)},
        {"address_window": dt.timedelta(seconds=-1)},
    ],
)
def test_a_policy_that_could_never_or_always_lock_is_refused(kwargs):
    with pytest.raises(ValueError):
        LockoutPolicy(**kwargs)

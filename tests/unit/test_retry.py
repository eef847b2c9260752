"""One backoff rule for webhook deliveries and print jobs (``domain.retry``)."""

from __future__ import annotations

import random

import pytest

from udipick.domain.retry import backoff


@pytest.mark.parametrize(
    ("attempt", "base", "factor", "cap", "delay"),
    [
        (1, 0.5, 2, 30, 0.5),
        (2, 0.5, 2, 30, 1.0),
        (3, 0.5, 2, 30, 2.0),
        (6, 0.5, 2, 30, 16.0),
        (7, 0.5, 2, 30, 30.0),
        (50, 0.5, 2, 30, 30.0),
        (3, 1, 3, 100, 9.0),
        (1, 2, 2, 1, 1.0),
    ],
)
def test_without_jitter_the_delay_grows_by_the_factor_up_to_the_cap(attempt, base, factor, cap, delay):
    assert backoff(attempt, base=base, factor=factor, cap=cap) == delay


def test_with_jitter_half_the_delay_is_fixed_and_half_spreads_the_retries():
    rng = random.Random(7)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (6, 32.0), (20, 60.0)]:
        delays = [backoff(attempt, base=1.0, cap=60.0, jitter=True, rng=rng) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert max(delays) - min(delays) > ceiling / 4


def test_attempts_are_counted_from_one():
    with pytest.raises(ValueError, match="start at 1"):
        backoff(0, base=1.0, cap=10.0)

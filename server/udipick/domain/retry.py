"""How long to wait before trying again: one rule for every retry udipick makes.

Webhook deliveries and print jobs keep their next attempt's time in PostgreSQL (a retry survives a restart and any
process may make it), so the delay is pure arithmetic here rather than a retrying decorator around a call.
"""

from __future__ import annotations

import random


def backoff(
    attempt: int,
    *,
    base: float,
    cap: float,
    factor: float = 2.0,
    jitter: bool = False,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based): ``base·factor^(attempt-1)``, capped at ``cap``.

    With ``jitter`` half of that is fixed and half random ("equal jitter"), so the retries of many subscribers after an
    ERP outage spread out instead of arriving together.
    """
    if attempt < 1:
        raise ValueError("attempt numbers start at 1")
    ceiling = min(cap, base * factor ** (attempt - 1))
    if not jitter:
        return ceiling
    return ceiling / 2 + (rng or random).random() * ceiling / 2

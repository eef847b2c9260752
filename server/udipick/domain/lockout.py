"""When a user name or a client address may have another password checked.

A password is checked at sign-in and for every electronic signature (21 CFR Part 11 §11.300(d):
attempts at unauthorised use are detected and acted on). Guessing is slowed two ways: a user whose
password failed ``max_failures`` times in a row is locked for ``lockout``, whichever of sign-in or
signature failed; and a client address with ``address_max_failures`` failed checks within
``address_window`` (any user names) gets no more checks until the oldest of them leaves the window.
Pure: the time is passed in.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    max_failures: int = 10
    lockout: dt.timedelta = dt.timedelta(minutes=15)
    address_max_failures: int = 30
    address_window: dt.timedelta = dt.timedelta(minutes=5)

    def __post_init__(self) -> None:
        if self.max_failures < 1 or self.address_max_failures < 1:
            raise ValueError("a lockout needs at least one failure to count")
        if self.lockout <= dt.timedelta(0) or self.address_window <= dt.timedelta(0):
            raise ValueError("a lockout and an address window last more than no time")


@dataclass(frozen=True, slots=True)
class AfterFailure:
    """A user's count after one more failed check, and the lock it starts (``None``: not locked)."""

    failed_attempts: int
    locked_until: dt.datetime | None


def after_failure(failed_attempts: int, policy: LockoutPolicy, now: dt.datetime) -> AfterFailure:
    """One more failure in a row; the ``max_failures``-th locks the user and the count starts again,
    so once the lock ends a guesser has another ``max_failures`` tries, not one."""
    failed = failed_attempts + 1
    if failed >= policy.max_failures:
        return AfterFailure(0, now + policy.lockout)
    return AfterFailure(failed, None)


def retry_after(locked_until: dt.datetime | None, now: dt.datetime) -> int | None:
    """Whole seconds until a lock ends (at least 1, as ``Retry-After`` says it), ``None`` if not locked."""
    if locked_until is None or locked_until <= now:
        return None
    return max(1, math.ceil((locked_until - now).total_seconds()))

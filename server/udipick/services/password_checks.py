"""Where this server process checks passwords, how many at once, and whom it refuses before checking.

An argon2 check costs a good part of a second of CPU on purpose. On the event loop, a few clients
sending wrong passwords would stall every pick scan behind them (``docs/benchmarks.md``). So checks run on a few threads of their own (argon2-cffi releases the GIL), at a lower CPU priority than
the event loop and PostgreSQL, and at most ``threads + queue`` are running or waiting: one more is
refused at once with ``SignInBusy`` (429) before it costs anything.

The counters of failed checks per client address, and per user name udipick does not know, are
kept here, in this process's memory (``limits``, moving window): a second server process
(``serve --workers N``) counts its own, so an address may fail up to N times the limit. The lock of
a known user is kept in PostgreSQL (``users.locked_until``), which every process sees.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import math
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from udipick.config import Settings
from udipick.domain.errors import SignInBusy, TooManyAttempts
from udipick.domain.lockout import LockoutPolicy

#: the checking threads' niceness: when the CPU is short, pick scans (the event loop) and PostgreSQL go
#: first, and a flood of wrong passwords slows sign-in rather than the warehouse floor
_NICENESS = 10


_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


#: a hash of nothing in particular, checked for a user name nobody has, so that an unknown user costs
#: the same time as a wrong password
DUMMY_HASH = hash_password("udipick-timing-equaliser")


def _lower_priority() -> None:
    # Linux keeps a niceness per thread; argon2's lane threads inherit it
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _NICENESS)


def locked_user(wait: int) -> TooManyAttempts:
    # one text for a locked user and for a name nobody has: the answer must not tell them apart
    return TooManyAttempts(
        f"too many failed attempts with this user name: try again in {wait} s, or ask an administrator to unlock it",
        retryAfter=wait,
    )


def throttled_address(wait: int) -> TooManyAttempts:
    return TooManyAttempts(f"too many failed attempts from this address: try again in {wait} s", retryAfter=wait)


class PasswordChecks:
    """One per server process (``app.state.password_checks``), made on the running event loop."""

    def __init__(
        self,
        policy: LockoutPolicy,
        *,
        threads: int = 1,
        queue: int = 16,
        refusal_delay: float = 1.0,
        busy_retry_after: int = 1,
    ) -> None:
        self.policy = policy
        #: how long a refusal (429) waits before it is sent: a client that sends again as soon as it has
        #: its answer would otherwise keep the event loop busy with refusals instead of checks
        self.refusal_delay = refusal_delay
        self._bound = threads + queue
        self._busy_retry_after = busy_retry_after
        self._pending = 0
        self._loop = asyncio.get_running_loop()
        self._executor = ThreadPoolExecutor(
            max_workers=threads, thread_name_prefix="udipick-password", initializer=_lower_priority
        )
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._per_address = RateLimitItemPerSecond(
            policy.address_max_failures, math.ceil(policy.address_window.total_seconds())
        )
        self._per_name = RateLimitItemPerSecond(policy.max_failures, math.ceil(policy.lockout.total_seconds()))
        #: ("name" | "address", key): (locked from, until), monotonic; read by the check threads
        self._refused: dict[tuple[str, str], tuple[float, float]] = {}

    @property
    def pending(self) -> int:
        """Checks running or waiting for a thread."""
        return self._pending

    async def verify(self, password_hash: str, password: str, *, username: str, address: str) -> bool:
        """Whether ``password`` matches, checked on a thread. ``SignInBusy`` when ``threads + queue``
        checks are running or waiting already; ``TooManyAttempts`` when failures of checks ahead of this
        one locked ``username`` or throttled ``address`` while it waited (it is not checked then)."""
        if self._pending >= self._bound:
            raise SignInBusy(
                "the server is checking many passwords right now: try again in a moment",
                retryAfter=self._busy_retry_after,
            )
        self._pending += 1
        future: Future[bool] = self._executor.submit(
            self._check, password_hash, password, username, address, time.monotonic()
        )
        # counted until the thread is done with it, even if the request is gone (a client that hangs up
        # does not stop argon2): the bound is on work, not on waiting requests
        future.add_done_callback(lambda _: self._loop.call_soon_threadsafe(self._done))
        return await asyncio.wrap_future(future)

    def _check(self, password_hash: str, password: str, username: str, address: str, queued_at: float) -> bool:
        # on a check thread; a lock noted before this check was queued was seen by its request already
        # (and may have been lifted since): only one noted while it waited refuses it
        now = time.monotonic()
        for kind, key, refusal in (("name", username, locked_user), ("address", address, throttled_address)):
            since, until = self._refused.get((kind, key), (0.0, 0.0))
            if queued_at <= since and now < until:
                raise refusal(max(1, math.ceil(until - now)))
        return verify_password(password_hash, password)

    def refuse(self, kind: str, key: str, seconds: float) -> None:
        """Note a lock (``name``) or a throttled ``address``, so that checks queued behind the failure
        that caused it are not made."""
        now = time.monotonic()
        if len(self._refused) > 10_000:
            self._refused = {k: v for k, v in self._refused.items() if v[1] > now}
        self._refused[(kind, key)] = (now, now + seconds)

    def noted_lock(self, username: str) -> int | None:
        """Seconds left of a lock of ``username`` this process noted (it locked the name, or met the lock in
        PostgreSQL); ``None``: none noted, ask PostgreSQL. A refusal from this note costs no database query:
        a client that loops on a locked name costs the floor next to nothing."""
        _since, until = self._refused.get(("name", username), (0.0, 0.0))
        left = until - time.monotonic()
        return max(1, math.ceil(left)) if left > 0 else None

    def forget_lock(self, username: str) -> None:
        """An administrator unlocked ``username`` (in this process or another: ``udipick_auth`` ``unlock:``)."""
        self._refused.pop(("name", username), None)

    def _done(self) -> None:
        self._pending -= 1

    async def address_retry_after(self, address: str) -> int | None:
        """Seconds until ``address`` may have a password checked again; ``None``: now."""
        return await self._retry_after(self._per_address, "address", address)

    async def unknown_name_retry_after(self, username: str) -> int | None:
        """The same for a user name nobody has: it is refused exactly as a locked user is, so a lock
        does not tell which names exist."""
        return await self._retry_after(self._per_name, "name", username)

    async def address_failed(self, address: str) -> bool:
        """Count a failed check from ``address``; ``True`` when this one reached the limit."""
        await self._limiter.hit(self._per_address, "address", address)
        return not await self._limiter.test(self._per_address, "address", address)

    async def unknown_name_failed(self, username: str) -> bool:
        await self._limiter.hit(self._per_name, "name", username)
        return not await self._limiter.test(self._per_name, "name", username)

    async def _retry_after(self, item: RateLimitItemPerSecond, *key: str) -> int | None:
        if await self._limiter.test(item, *key):
            return None
        stats = await self._limiter.get_window_stats(item, *key)
        return max(1, math.ceil(stats.reset_time - time.time()))

    @classmethod
    def from_settings(cls, settings: Settings) -> PasswordChecks:
        policy = LockoutPolicy(
            max_failures=settings.login_max_failures,
            lockout=dt.timedelta(seconds=settings.login_lockout_seconds),
            address_max_failures=settings.login_address_max_failures,
            address_window=dt.timedelta(seconds=settings.login_address_window_seconds),
        )
        return cls(
            policy,
            threads=settings.login_verify_threads,
            queue=settings.login_verify_queue,
            refusal_delay=settings.login_refusal_delay_seconds,
        )

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

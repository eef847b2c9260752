"""One way to run a round of work in the background of ``udipick serve``: the audit sealer, the
replenishment planner and the KPI day keeper each hand it their round."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def every(
    name: str, seconds: float, round_: Callable[[], Awaitable[object]], *, first_after: float
) -> AsyncIterator[None]:
    """Run ``round_`` ``first_after`` seconds after the block starts, then every ``seconds`` until it ends. A
    round that fails (a database restart) is logged and tried again at the next one. At the end, a round in
    progress gets 15 s to finish before it is cancelled."""
    stop = asyncio.Event()

    async def loop() -> None:
        wait = first_after
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=wait)
            if stop.is_set():
                return
            try:
                await round_()
            except Exception:  # noqa: BLE001 - a bad round must not end the loop; the next one tries again
                log.exception("%s: a round failed; trying again in %g s", name, seconds)
            wait = seconds

    task = asyncio.create_task(loop(), name=f"udipick-{name}")
    try:
        yield
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(task, timeout=15)

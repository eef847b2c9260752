"""Sends queued print jobs to their printers, one attempt per transaction.

Each attempt claims one due job with ``FOR UPDATE SKIP LOCKED`` (so several workers, or the API's
``send_now``, never send the same job at once), writes its ZPL to the printer's raw port with a
timeout, and records the outcome in the same transaction: ``sent``, or ``failed`` with the error
and, while attempts remain, the time of the next try (``backoff_delay``: pure arithmetic). So the
job table shows every state a person may need to see: queued, failed with why, sent.

A serialised UDI label is retried by the worker only when the printer refused the connection,
i.e. when it cannot have printed: a connection that broke mid-send may have printed the label,
and a second label with the same serial is a second "unit" on the shelf. A person decides.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import async_sessionmaker

from udipick.domain.errors import PrinterUnavailable
from udipick.integrations.labels.printer import backoff_delay, send_zpl
from udipick.services import printing
from udipick.services.printing import PrintJobRef

log = logging.getLogger("udipick.printing")


@dataclass(frozen=True, slots=True)
class Backoff:
    """Seconds between attempts: ``base·factor^(n-1)``, capped at ``maximum``."""

    base: float = 0.5
    factor: float = 2.0
    maximum: float = 30.0

    def delay(self, attempt: int) -> float:
        return backoff_delay(attempt, base=self.base, factor=self.factor, maximum=self.maximum)


def _nothing_delivered(exc: PrinterUnavailable) -> bool:
    return isinstance(exc.__cause__, ConnectionRefusedError)


async def attempt(
    db: async_sessionmaker, *, job_id: int | None = None, timeout: float = 10.0, backoff: Backoff = Backoff()
) -> int | None:
    """Send one due job (or the due job ``job_id``) once; returns its id, or ``None`` if none was due."""
    async with db() as session, session.begin():
        job = await printing.claim_due_job(session, job_id=job_id)
        if job is None:
            return None
        try:
            await send_zpl(job.host, job.port, job.payload, timeout=timeout)
        except PrinterUnavailable as exc:
            number = job.attempts + 1
            again = number < job.max_attempts and (not job.unique or _nothing_delivered(exc))
            await printing.record_failed(
                session, job.id, error=exc.message, retry_in=backoff.delay(number) if again else None
            )
            log.warning("print job %s to %s failed (attempt %s): %s", job.id, job.printer, number, exc.message)
        else:
            await printing.record_sent(session, job.id)
        return job.id


async def send_now(
    db: async_sessionmaker, job_id: int, *, timeout: float = 3.0, backoff: Backoff = Backoff()
) -> PrintJobRef:
    """One immediate attempt for a job just committed (the API path); the worker retries if it failed.

    If a worker holds the job at this moment, it is left to the worker.
    """
    await attempt(db, job_id=job_id, timeout=timeout, backoff=backoff)
    async with db() as session:
        return printing.job_ref(await printing.get_job(session, job_id))


class PrintWorker:
    """Polls for due jobs and sends them; ``run_once`` drains what is due now (tests call it directly)."""

    def __init__(
        self,
        db: async_sessionmaker,
        *,
        timeout: float = 10.0,
        backoff: Backoff = Backoff(),
        poll_interval: float = 1.0,
        concurrency: int = 4,
    ) -> None:
        self.db = db
        self.timeout = timeout
        self.backoff = backoff
        self.poll_interval = poll_interval
        self.concurrency = concurrency
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Look for due jobs now instead of at the next poll."""
        self._wake.set()

    async def _drain(self) -> int:
        sent = 0
        while await attempt(self.db, timeout=self.timeout, backoff=self.backoff) is not None:
            sent += 1
        return sent

    async def run_once(self) -> int:
        """Attempt every job due now (``concurrency`` at a time, one printer's timeout not blocking others)."""
        counts = await asyncio.gather(*(self._drain() for _ in range(self.concurrency)))
        return sum(counts)

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop`` is set. Database or network errors are logged and the loop goes on."""
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception:
                log.exception("print worker round failed")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_interval):
                    waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
                    try:
                        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                    finally:
                        for w in waits:
                            w.cancel()

"""Printing over raw TCP to a real local server standing in for a Zebra on port 9100."""

import asyncio
import socket

import pytest

from udipick.domain.errors import PrinterUnavailable
from udipick.integrations.labels.printer import backoff_delay, send_zpl, send_zpl_with_retry
from udipick.integrations.labels.render import render_label


class FakePrinter:
    """Accepts connections and keeps every job's bytes, like a printer's raw port."""

    def __init__(self) -> None:
        self.jobs: list[bytes] = []
        self.server: asyncio.Server | None = None

    async def _job(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.jobs.append(await reader.read())
        writer.close()

    async def start(self, port: int = 0) -> int:
        self.server = await asyncio.start_server(self._job, "127.0.0.1", port)
        return self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def wait_for_jobs(self, n: int) -> None:
        for _ in range(200):
            if len(self.jobs) >= n:
                return
            await asyncio.sleep(0.01)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_the_printer_receives_exactly_the_rendered_zpl():
    printer = FakePrinter()
    port = await printer.start()
    zpl = render_label("item", {"gtin": "09501101530003", "lot": "AB-1", "item_name": "上海"})
    try:
        await send_zpl("127.0.0.1", port, zpl, timeout=2)
        await send_zpl("127.0.0.1", port, b"^XA^XZ", timeout=2)
        await printer.wait_for_jobs(2)
    finally:
        await printer.stop()
    assert printer.jobs == [zpl, b"^XA^XZ"]


async def test_a_printer_that_is_down_then_up_gets_the_job_after_a_retry():
    port = free_port()
    printer = FakePrinter()
    waits: list[float] = []

    async def sleep(seconds: float) -> None:  # the printer comes back while we wait
        waits.append(seconds)
        if len(waits) == 2:
            await printer.start(port)

    try:
        attempt = await send_zpl_with_retry("127.0.0.1", port, b"^XA^FDjob^FS^XZ", timeout=2, attempts=5, sleep=sleep)
        await printer.wait_for_jobs(1)
    finally:
        if printer.server is not None:
            await printer.stop()
    assert attempt == 3
    assert waits == [0.5, 1.0]
    assert printer.jobs == [b"^XA^FDjob^FS^XZ"]


async def test_a_printer_that_stays_down_is_reported_with_what_to_do():
    port = free_port()
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    with pytest.raises(PrinterUnavailable, match=f"127.0.0.1:{port} did not take the label after 3 attempts") as info:
        await send_zpl_with_retry("127.0.0.1", port, b"^XA^XZ", timeout=1, attempts=3, sleep=sleep)
    assert waits == [0.5, 1.0]
    assert info.value.context["attempts"] == 3 and info.value.context["port"] == port
    assert "Check that it is on" in str(info.value)


@pytest.mark.parametrize(("attempt", "delay"), [(1, 0.5), (2, 1.0), (3, 2.0), (6, 16.0), (7, 30.0), (50, 30.0)])
def test_backoff_doubles_up_to_a_ceiling(attempt, delay):
    assert backoff_delay(attempt) == delay


def test_backoff_takes_its_parameters():
    assert backoff_delay(3, base=1, factor=3, maximum=100) == 9
    with pytest.raises(ValueError):
        backoff_delay(0)

"""Send ZPL to a Zebra printer over raw TCP (port 9100), with retries.

A Zebra printer takes ZPL on port 9100 and answers nothing: a job is delivered once every
byte is written and the connection is closed cleanly. ``send_zpl`` does exactly that;
``send_zpl_with_retry`` repeats it after ``backoff_delay`` (pure arithmetic) while the
printer is off, out of paper at the network level, or rebooting, then raises
``PrinterUnavailable`` with a message a person at the packing bench can act on.

Retrying can print a label twice if a connection breaks after the printer got the data;
callers that must not duplicate (serialised UDI labels) pass ``attempts=1`` and let a person
decide.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from udipick.domain.errors import PrinterUnavailable
from udipick.domain.retry import backoff

RAW_PORT = 9100


async def send_zpl(host: str, port: int = RAW_PORT, zpl: bytes = b"", *, timeout: float = 10.0) -> None:
    """Connect, write ``zpl``, close. Raises ``PrinterUnavailable`` on any network failure or timeout."""
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(host, port)
            writer.write(zpl)
            await writer.drain()
            writer.close()
            await writer.wait_closed()
    except (OSError, TimeoutError) as exc:
        reason = f"no answer within {timeout:g}s" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise PrinterUnavailable(
            f"Printer {host}:{port} did not take the label ({reason}). Check that it is on, online and on the network.",
            host=host,
            port=port,
            attempts=1,
            reason=reason,
        ) from exc
    finally:
        if writer is not None and not writer.is_closing():
            writer.close()


def backoff_delay(attempt: int, *, base: float = 0.5, factor: float = 2.0, maximum: float = 30.0) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based), with the printers' defaults."""
    return backoff(attempt, base=base, factor=factor, cap=maximum)


async def send_zpl_with_retry(
    host: str,
    port: int = RAW_PORT,
    zpl: bytes = b"",
    *,
    timeout: float = 10.0,
    attempts: int = 4,
    base: float = 0.5,
    factor: float = 2.0,
    maximum: float = 30.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> int:
    """``send_zpl`` up to ``attempts`` times, waiting ``backoff_delay`` between tries.

    Returns the attempt number that succeeded. Raises ``PrinterUnavailable`` (context
    ``attempts``, ``reason`` of the last failure) when every attempt failed. ``sleep`` is
    injectable so tests need not wait.
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    last: PrinterUnavailable | None = None
    for attempt in range(1, attempts + 1):
        try:
            await send_zpl(host, port, zpl, timeout=timeout)
            return attempt
        except PrinterUnavailable as exc:
            last = exc
            if attempt < attempts:
                await sleep(backoff_delay(attempt, base=base, factor=factor, maximum=maximum))
    assert last is not None
    reason = last.context.get("reason")
    raise PrinterUnavailable(
        f"Printer {host}:{port} did not take the label after {attempts} attempts ({reason})."
        " Check that it is on, online and on the network, then print again.",
        host=host,
        port=port,
        attempts=attempts,
        reason=reason,
    ) from last

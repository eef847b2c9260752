"""NDJSON line splitting for bulk loads: time per MB stays the same from 16 to 128 MB (linear).

    .venv/bin/python bench/bench_ndjson.py [--sizes 16,64,128] [--chunk 65536] [--former-up-to 32] [--http]

Bodies arrive as the ASGI server reads them (64 KiB a chunk with uvicorn). Two shapes: one line the
size of the whole body (over the 1 MiB line limit, so only counted; and once more with the limit
raised to keep it whole, which adds one join), and many 400-byte lines (items). The former
splitter (``buffer += chunk`` then ``buffer.split(b"\\n")`` on the whole buffer each chunk) is timed
for comparison on the smaller single-line bodies: it copies and searches the whole pending line
once per chunk, so its time grows with the square of the line. Last, the splitter runs in an event
loop the way the API runs it (``await asyncio.sleep(0)`` after each chunk) beside a task that
wakes every millisecond, and the longest gap between its wake-ups is printed.

With ``--http`` it also starts a real ``udipick serve`` (its own process, on a fresh database) and
posts each single-line body to ``/api/v1/erp/items/bulk`` between two valid lines, while another
process times ``GET /healthz`` over and over: the answer time, the CPU the server process spent
meanwhile, the slowest health check, and the verdicts (the long line refused by number, the two
others stored).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import threading
import time

from udipick.domain.json_input import NdjsonLines

MB = 1 << 20
LINE_LIMIT = 1 * MB


def single_line(size: int) -> bytes:
    return b'{"erpId": "ONE", "name": "' + b"x" * (size - 30) + b'"}\n'


def many_lines(size: int) -> bytes:
    line = (
        b'{"erpId": "ITEM-0000001", "version": 1, "gtin": "04000000000007", "name": "'
        + b"x" * 300
        + b'", "baseUnit": "EA"}\n'
    )
    return line * (size // len(line))


def chunks(body: bytes, size: int) -> list[memoryview]:
    view = memoryview(body)
    return [view[i : i + size] for i in range(0, len(body), size)]


def split(parts: list, max_line_bytes: int) -> tuple[int, int]:
    lines = NdjsonLines(max_line_bytes)
    count = kept = 0
    for part in parts:
        for line in lines.feed(bytes(part)):
            count += 1
            kept += line.raw is not None
    for line in lines.close():
        count += 1
        kept += line.raw is not None
    return count, kept


def former_split(parts: list) -> int:
    """The splitter before: the pending line is copied and searched again with every chunk."""
    buffer = b""
    count = 0
    for part in parts:
        buffer += bytes(part)
        *complete, buffer = buffer.split(b"\n")
        count += len(complete)
    return count + (1 if buffer else 0)


def timed(fn, *args) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - started, result


async def loop_gap(parts: list) -> tuple[float, float]:
    """Split as the API does, yielding after each chunk; the longest gap a 1 ms ticker saw, and the time."""
    gaps = [0.0]
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            gaps[0] = max(gaps[0], now - last)
            last = now

    async def feed() -> None:
        lines = NdjsonLines(LINE_LIMIT)
        for part in parts:
            lines.feed(bytes(part))
            await asyncio.sleep(0)
        lines.close()

    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0.01)
    started = time.perf_counter()
    await feed()
    elapsed = time.perf_counter() - started
    done.set()
    await tick
    return gaps[0], elapsed


def server_cpu_seconds(port: str) -> float:
    """User + system CPU of the ``udipick serve`` listening on ``port`` (found by its command line)."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().split(b"\0")
            if b"serve" in cmdline and port.encode() in cmdline:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            continue
    return float("nan")


def over_http(sizes: list[int]) -> None:
    import httpx

    from _server import api_key, fresh_database, server

    with fresh_database() as url, server(url, demo=True) as base:
        headers = {"Authorization": f"Bearer {api_key(url)}", "content-type": "application/x-ndjson"}

        def item(n: int) -> bytes:
            return b'{"erpId": "NDJ-%d", "version": 1, "gtin": "4006381333931", "name": "n", "baseUnit": "EA"}\n' % n

        print(
            "\nudipick serve, POST /api/v1/erp/items/bulk: valid line, one long line, valid line; /healthz timed meanwhile"
        )
        for size in sizes:
            body = item(1) + single_line(size * MB) + item(1)
            # the health checks come from another process, so that this one's sending does not delay them
            probe = subprocess.Popen(
                [sys.executable, __file__, "--probe", base], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
            )
            assert probe.stdout is not None and probe.stdout.readline().strip() == "probing"
            port = base.rsplit(":", 1)[1]
            cpu = server_cpu_seconds(port)
            started = time.perf_counter()
            r = httpx.post(base + "/api/v1/erp/items/bulk", content=body, headers=headers, timeout=300)
            seconds = time.perf_counter() - started
            cpu = server_cpu_seconds(port) - cpu
            slowest = float(probe.communicate("")[0])
            summary = r.json()
            verdicts = [(p["line"], p["code"]) for p in summary["problems"]] + [
                (x["line"], x["status"]) for x in summary["results"]
            ]
            print(
                f"{size:>4}MB  {r.status_code}  {seconds:6.2f} s (server CPU {cpu:.2f} s, /healthz included)"
                f"  slowest /healthz {slowest * 1000:6.1f} ms  {sorted(verdicts)}"
            )


def probe(base: str) -> None:
    """``--probe``: time ``GET /healthz`` back to back until standard input closes; print the slowest."""
    import httpx

    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    slowest = 0.0
    with httpx.Client(base_url=base, timeout=120) as c:
        c.get("/healthz")
        print("probing", flush=True)
        while not stop.is_set():
            started = time.perf_counter()
            c.get("/healthz")
            slowest = max(slowest, time.perf_counter() - started)
    print(slowest)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="16,64,128", help="body sizes in MB")
    ap.add_argument("--chunk", type=int, default=65536, help="bytes per chunk, as the ASGI server hands them over")
    ap.add_argument(
        "--former-up-to", type=int, default=32, help="time the former splitter on single-line bodies up to this many MB"
    )
    ap.add_argument("--http", action="store_true", help="also post single-line bodies to a real udipick serve")
    ap.add_argument("--probe", metavar="BASE_URL", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.probe:
        probe(args.probe)
        return
    sizes = [int(s) for s in args.sizes.split(",")]

    print(f"chunks of {args.chunk} bytes; line limit {LINE_LIMIT // MB} MiB")
    print(f"{'body':>6} {'shape':<28} {'lines':>9} {'kept':>9} {'seconds':>8} {'ms/MB':>7}")
    for size in sizes:
        for shape, make, limit in (
            ("one line (over the limit)", single_line, LINE_LIMIT),
            ("one line (kept whole)", single_line, size * MB + MB),
            ("400-byte lines", many_lines, LINE_LIMIT),
        ):
            parts = chunks(make(size * MB), args.chunk)
            seconds, (count, kept) = timed(split, parts, limit)
            print(f"{size:>4}MB {shape:<28} {count:>9,} {kept:>9,} {seconds:>8.3f} {seconds * 1000 / size:>7.2f}")
    for size in (s for s in (8, 16, 32, 64, 128) if s <= args.former_up_to):
        parts = chunks(single_line(size * MB), args.chunk)
        seconds, count = timed(former_split, parts)
        print(
            f"{size:>4}MB {'one line, former splitter':<28} {count:>9,} {'':>9} {seconds:>8.3f} {seconds * 1000 / size:>7.2f}"
        )
    biggest = max(sizes)
    for shape, make in (("one line", single_line), ("400-byte lines", many_lines)):
        gap, seconds = asyncio.run(loop_gap(chunks(make(biggest * MB), args.chunk)))
        print(
            f"event loop, {biggest} MB {shape}: split in {seconds:.3f} s, longest gap of a 1 ms ticker {gap * 1000:.1f} ms"
        )
    if args.http:
        over_http(sizes)


if __name__ == "__main__":
    main()

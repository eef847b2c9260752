"""Pick scans while clients loop wrong passwords, over HTTP on loopback, against a real ``udipick serve``.

    .venv/bin/python bench/bench_login_flood.py [--pickers 8] [--flooders 16] [--seconds 10] [--rate 80]

Runs the same pick-scan load twice (three times with ``--distributed``) on one server and prints the
pick-scan latency p50/p99 of each run and the ratio of the p99s:
  - quiet: ``--pickers`` handhelds scanning, open loop at ``--rate`` scans a second in all;
  - flood: the same, while ``--flooders`` clients loop ``POST /api/v1/auth/login`` for ``admin`` with a
    wrong password, each sending again as soon as it has its answer (issue "Security hardening": eight
    such clients raised the scan median from 6 ms to 965 ms). Target: p99 with the flood <= 2 x p99 without;
  - ``--distributed``: the flood from "many addresses" with a new unknown user name each time, so no lock
    or address limit stops it and every attempt reaches the password checks (run with the address limit
    raised for the whole server): what the check threads and their bound alone hold off.
The answers the flooders got are counted by status and problem code. Bounded in time (each run
``--seconds`` after ``--warmup``) and in count (the scans prepared); loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter

import asyncpg

sys.path.insert(0, os.path.dirname(__file__))
from _server import fresh_database, machine, server  # noqa: E402
from bench_picking import (  # noqa: E402
    PASSWORDS,
    Handheld,
    busiest_around,
    checkpoints_so_far,
    cpu_by_kind,
    pct,
    prepare,
    watch_database,
)


async def sign_in_pickers(base: str, dsn: str, n: int) -> list[str]:
    """One picker per handheld (``picker-0`` ...), sharing the picker's password; their tokens."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "INSERT INTO users (username, display_name, password_hash, roles)"
            " SELECT 'picker-' || g, 'Picker ' || g, password_hash, roles FROM users, generate_series(0, $1 - 1) g"
            " WHERE username = 'picker' ON CONFLICT (username) DO NOTHING",
            n,
        )
    finally:
        await conn.close()
    h = Handheld(base)
    tokens = []
    for i in range(n):
        status, body = await h.request(
            "POST",
            "/api/v1/auth/login",
            {"username": f"picker-{i}", "password": PASSWORDS["picker"], "deviceId": f"hh-{i}"},
        )
        assert status == 200, body
        tokens.append(json.loads(body)["token"])
    await h.close()
    return tokens


async def pick_scans(base: str, dsn: str) -> list[tuple[int, str, str]]:
    """Release a wave of every open order; one (task, GS1 code, location) per unit to pick."""
    h = Handheld(base)
    status, body = await h.request(
        "POST", "/api/v1/auth/login", {"username": "supervisor", "password": PASSWORDS["supervisor"], "deviceId": "sup"}
    )
    assert status == 200, body
    h.headers = f"Authorization: Bearer {json.loads(body)['token']}\r\nX-Device-Id: sup\r\n"
    status, body = await h.request("POST", "/api/v1/waves", {"maxOrders": 10000})
    assert status == 201, body[:300]
    await h.close()
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT t.id, t.quantity, i.gtin, l.lot, loc.barcode FROM pick_tasks t JOIN items i ON i.id = t.item_id"
            " JOIN lots l ON l.id = t.lot_id JOIN locations loc ON loc.id = t.location_id WHERE t.status = 'open' ORDER BY t.id"
        )
    finally:
        await conn.close()
    return [(r["id"], f"01{r['gtin']}10{r['lot']}", r["barcode"]) for r in rows for _ in range(r["quantity"])]


async def measure(
    base: str, tokens: list[str], scans: list[tuple[int, str, str]], args: argparse.Namespace, flood: str | None
) -> tuple[list[float], int, Counter]:
    """One run: the pickers scan ``scans`` open loop; with ``flood`` ("admin" or "distributed") the
    flooders loop wrong sign-ins meanwhile. Returns the measured scan latencies, the scans refused,
    and the flooders' answers by status and code."""
    n = len(tokens)
    per = len(scans) // n
    interval = n / args.rate
    latencies: list[float] = []
    timeline: list[tuple[float, float]] = []  # (moment of the scan after warm-up, its latency)
    lags: list[tuple[float, float]] = []  # (moment after warm-up, how late this load generator's loop woke)
    refused = 0
    answers: Counter = Counter()
    t0 = time.perf_counter()
    measure_from = t0 + args.warmup
    deadline = measure_from + args.seconds

    async def picker(i: int) -> None:
        nonlocal refused
        h = Handheld(base)
        h.headers = f"Authorization: Bearer {tokens[i]}\r\nX-Device-Id: hh-{i}\r\n"
        start = t0 + interval * i / n
        for k, (task_id, raw, loc) in enumerate(scans[i * per : (i + 1) * per]):
            scheduled = start + k * interval
            if scheduled > deadline:
                break
            if (wait := scheduled - time.perf_counter()) > 0:
                await asyncio.sleep(wait)
            # latency from the scan's moment: a late answer delays the next send, and that wait counts
            status, _body = await h.request(
                "POST",
                f"/api/v1/picking/tasks/{task_id}/scans",
                {"clientScanId": str(uuid.uuid4()), "raw": raw, "locationRaw": loc},
            )
            if scheduled >= measure_from:
                latencies.append(time.perf_counter() - scheduled)
                timeline.append((scheduled - measure_from, latencies[-1]))
                refused += status != 200
        else:
            print(f"note    : picker {i} ran out of prepared scans; raise --lines or lower --rate")
        await h.close()

    async def flooder(j: int) -> None:
        h = Handheld(base)
        k = 0
        while time.perf_counter() < deadline:
            username = "admin" if flood == "admin" else f"nobody-{j}-{k}"
            status, body = await h.request(
                "POST", "/api/v1/auth/login", {"username": username, "password": "guess", "deviceId": "x"}
            )
            k += 1
            if time.perf_counter() >= measure_from:
                answers[(status, json.loads(body).get("code") if body else None)] += 1
        await h.close()

    async def own_loop() -> None:
        # a stall of this load generator (its CPU share, a pause) would count as the server's latency
        while (now := time.perf_counter()) < deadline:
            await asyncio.sleep(0.01)
            lags.append((now - measure_from, time.perf_counter() - now - 0.01))

    samples: list[tuple[float, dict[str, float]]] = []  # (moment after warm-up, CPU by kind of process)
    sampling = threading.Event()

    def sample_cpu() -> None:
        while not sampling.wait(0.1):
            samples.append((time.perf_counter() - measure_from, cpu_by_kind()))

    threading.Thread(target=sample_cpu, daemon=True).start()
    probe = machine_probe()
    tasks = [picker(i) for i in range(n)] + ([flooder(j) for j in range(args.flooders)] if flood else [])
    # the load generator's own collector must not stall the pickers: what it has built so far is frozen,
    # and its garbage in the run is left to reference counts (as in bench_picking)
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        await asyncio.gather(own_loop(), *tasks)
    finally:
        gc.enable()
        sampling.set()
    probe.terminate()
    shift = time.clock_gettime(time.CLOCK_MONOTONIC) - time.perf_counter() + measure_from
    frozen = [
        (float(at) - shift, float(late)) for at, late in (line.split() for line in probe.communicate()[0].splitlines())
    ]
    stalls(timeline, lags, samples, frozen)
    # what the phase cost each kind of process, from the first sample after warm-up to the last
    measured = [(at, cpu) for at, cpu in samples if at >= 0]
    if len(measured) >= 2:
        (a0, c0), (a1, c1) = measured[0], measured[-1]
        used = sorted(((c1[k] - c0.get(k, 0.0), k) for k in c1), reverse=True)[:5]
        print(
            f"          CPU in the phase ({a1 - a0:.0f} s): "
            + ", ".join(f"{k} {v:.2f} s" for v, k in used if v > 0.005)
        )
    return latencies, refused, answers


#: a process of its own, at a real-time priority where allowed, that wakes every 5 ms and prints when it woke
#: more than 20 ms late: then nothing on the machine ran (the virtual machine was not given its CPUs)
_PROBE = """
import time
clock, step = time.CLOCK_MONOTONIC, 0.005
next_at = time.clock_gettime(clock) + step
while True:
    time.sleep(max(0.0, next_at - time.clock_gettime(clock)))
    late = time.clock_gettime(clock) - next_at
    if late > 0.02:
        print(f"{next_at:.4f} {late:.4f}", flush=True)
    next_at = max(next_at + step, time.clock_gettime(clock))
"""


def machine_probe() -> subprocess.Popen:
    command = [sys.executable, "-c", _PROBE]
    if subprocess.run(["chrt", "-f", "10", "true"], capture_output=True).returncode == 0:
        command = ["chrt", "-f", "10", *command]
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)


def stalls(
    timeline: list[tuple[float, float]],
    lags: list[tuple[float, float]],
    samples: list[tuple[float, dict[str, float]]],
    frozen: list[tuple[float, float]],
) -> None:
    """Where the slow scans fall: the stretches of answers over 100 ms, each with how many pickers it
    held up, how late the load generator's own loop was then, how long the whole machine stood still
    (a real-time process woke late), and the busiest processes around it."""
    slow = sorted((t, lat) for t, lat in timeline if lat > 0.1 and t >= 0)
    stretches: list[list[tuple[float, float]]] = []
    for t, lat in slow:
        if stretches and t - stretches[-1][-1][0] <= 0.2:
            stretches[-1].append((t, lat))
        else:
            stretches.append([(t, lat)])
    print(f"          {len(slow)} scans over 100 ms, in {len(stretches)} stretches")
    for s in stretches[:8]:
        start, end = s[0][0], s[-1][0]
        worst = max(lat for _t, lat in s)
        own = max((lag for at, lag in lags if start - 0.1 <= at <= end + worst), default=0.0)
        still = max((late for at, late in frozen if start - 0.1 <= at <= end + worst), default=0.0)
        print(
            f"          at {start:.2f} s: {len(s)} scans, worst {worst * 1000:.0f} ms; load generator late by"
            f" up to {own * 1000:.0f} ms, the machine stood still up to {still * 1000:.0f} ms;"
            f" CPU around it, {busiest_around(samples, start + worst / 2, top=6)}"
        )
    if frozen:
        print(
            f"          the machine stood still {len(frozen)} times in the phase (over 20 ms), longest"
            f" {max(late for _at, late in frozen) * 1000:.0f} ms"
        )


def report(name: str, latencies: list[float], refused: int, answers: Counter, seconds: float) -> float:
    p50, p99 = pct(latencies, 0.5) * 1000, pct(latencies, 0.99) * 1000
    print(f"{name:<8}: {len(latencies):,} pick scans, p50 {p50:.1f} ms  p99 {p99:.1f} ms; refused {refused}")
    if answers:
        total = sum(answers.values())
        print(
            f"          flooders got {total:,} answers ({total / seconds:,.0f}/s): "
            + ", ".join(f"{s} {c or ''} x{v:,}".replace("  ", " ") for (s, c), v in answers.most_common())
        )
    return p99


async def run(args: argparse.Namespace, dsn: str, base: str) -> None:
    tokens = await sign_in_pickers(base, dsn, args.pickers)
    scans = await pick_scans(base, dsn)
    # the admin signs in before the flood locks it out, to read the server's garbage-collector figures
    h = Handheld(base)
    status, body = await h.request(
        "POST", "/api/v1/auth/login", {"username": "admin", "password": PASSWORDS["admin"], "deviceId": "watch"}
    )
    await h.close()
    assert status == 200, body
    watch = f"Authorization: Bearer {json.loads(body)['token']}\r\nX-Device-Id: watch\r\n"

    async def server_gc() -> dict[str, tuple[float, float, float]]:
        """generation: (collections, longest pause in ms, all pauses in ms) of the server so far, from /metrics."""
        m = Handheld(base)
        m.headers = watch
        _status, text = await m.request("GET", "/metrics")
        await m.close()
        out: dict[str, list[float]] = {}
        for line in text.decode().splitlines():
            for kind, i in (
                ("udipick_gc_pause_seconds_count", 0),
                ("udipick_gc_pause_max_seconds", 1),
                ("udipick_gc_pause_seconds_sum", 2),
            ):
                if line.startswith(kind + "{"):
                    out.setdefault(line.split('generation="')[1].split('"')[0], [0.0, 0.0, 0.0])[i] = float(
                        line.rsplit(" ", 1)[1]
                    )
        return {g: (v[0], v[1] * 1000, v[2] * 1000) for g, v in out.items()}

    runs = ["quiet", "flood"] + (["spread"] if args.distributed else [])
    # each run picks its own units: a scan confirmed in one run is not there to scan in the next
    share = len(scans) // len(runs)
    p99s = {}
    for k, name in enumerate(runs):
        flood = {"quiet": None, "flood": "admin", "spread": "distributed"}[name]
        conn = await asyncpg.connect(dsn)
        checkpoints = await checkpoints_so_far(conn)
        gc_before = await server_gc()
        lat, refused, answers = await measure(base, tokens, scans[k * share : (k + 1) * share], args, flood)
        checkpoints = await checkpoints_so_far(conn) - checkpoints
        await conn.close()
        p99s[name] = report(name, lat, refused, answers, args.seconds)
        # what else happened in the phase: a PostgreSQL checkpoint's fsyncs can stall every scan for a moment
        print(
            f"          slowest scan {max(lat) * 1000:.0f} ms; PostgreSQL checkpoints started or ended: {checkpoints}"
        )
        gc_after = await server_gc()
        print(
            "          server collections in the phase by generation: "
            + ", ".join(
                f"gen {g} {gc_after[g][0] - gc_before[g][0]:.0f} ({gc_after[g][2] - gc_before[g][2]:.0f} ms)"
                for g in sorted(gc_after)
            )
            + "; longest pause since start: "
            + ", ".join(f"gen {g} {gc_after[g][1]:.0f} ms" for g in sorted(gc_after))
        )
        await asyncio.sleep(1)  # let the last answers and the server's check threads settle
    print(
        f"ratio   : p99 with the flood / p99 without = {p99s['flood'] / p99s['quiet']:.2f} (target <= 2)"
        + (f"; spread flood {p99s['spread'] / p99s['quiet']:.2f}" if "spread" in p99s else "")
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pickers", type=int, default=8)
    ap.add_argument("--flooders", type=int, default=16)
    ap.add_argument(
        "--seconds",
        type=float,
        default=30,
        help="seconds measured per phase: a p99 needs a few thousand scans (at 80/s, 10 s gives 800 and its p99 is the 8th slowest)",
    )
    ap.add_argument("--warmup", type=float, default=2)
    ap.add_argument("--rate", type=float, default=80, help="pick scans a second from all pickers together (open loop)")
    ap.add_argument("--stock", type=int, default=100_000)
    ap.add_argument("--lines", type=int, default=8000)
    ap.add_argument(
        "--distributed",
        action="store_true",
        help="a third run: wrong sign-ins with a new unknown name each, the address limit raised",
    )
    args = ap.parse_args()
    print(f"machine : {machine()}")
    env = {"UDIPICK_LOG_JSON": "0"}
    if args.distributed:
        env["UDIPICK_LOGIN_ADDRESS_MAX_FAILURES"] = "100000"
    with fresh_database() as url:
        watch_database(url)
        prepare(url, args.stock, args.lines)
        with server(url, extra_env=env) as base:
            asyncio.run(run(args, url, base))


if __name__ == "__main__":
    main()

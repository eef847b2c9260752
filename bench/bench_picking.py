"""Picking under load, over HTTP, against a warehouse of >= 1,000,000 stock rows.

    .venv/bin/python bench/bench_picking.py [--stock 1000000] [--handhelds 32] [--seconds 30] [--workers 1]

Prints, in one run on one machine:
  - wave allocation of 10,000 order lines (target <= 5 s),
  - pick-confirm latency p50/p95/p99 and sustained confirms per second with many simulated handhelds
    (targets >= 500/s, p99 <= 50 ms),
  - end-to-end latency from each pick-confirm response to its pick.confirmed.v1 event arriving at a connected
    ERP WebSocket client (issue 6's target: p99 <= 100 ms),
  - one bare single-row PostgreSQL UPDATE commit (asyncpg, an ordinary fsynced table) p50, and the ratio
    pick-confirm p50 / bare commit p50,
  - CPU time per pick confirm of the server, PostgreSQL, the load generator and the whole machine, which
    bounds the confirms per second this machine can sustain, and (where ``perf`` is available) instructions
    per confirm, which compare across machines and days.
The handhelds are a minimal keep-alive HTTP/1.1 client on asyncio streams, so the load generator costs
little CPU next to the server and PostgreSQL on the same two cores.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from urllib.parse import urlsplit

import asyncpg

sys.path.insert(0, os.path.dirname(__file__))
from _server import fresh_database, machine, server  # noqa: E402
from udipick.domain.gs1_numbers import gs1_check_digit  # noqa: E402

ITEMS = 1000
#: the bench's users, added through ``udipick users add``: passwords that pass its policy
PASSWORDS = {
    "picker": "bench-lantern-quartz-42",
    "supervisor": "bench-quarry-maple-17",
    "admin": "bench-orchid-harbour-tram-5",
}


def _gtin(n: int) -> str:
    digits = f"{n:013d}"[-13:]
    return digits + str(gs1_check_digit(digits))


async def build_warehouse(dsn: str, stock_rows: int, order_lines: int) -> None:
    """Items, locations, lots and stock (through the ledger, as always), users and open sales orders."""
    conn = await asyncpg.connect(dsn)
    lots_per_item = 20
    locs_per_item = max(1, stock_rows // (ITEMS * lots_per_item))
    try:
        await conn.execute("INSERT INTO warehouses (code, name) VALUES ('MAIN', 'Main')")
        await conn.execute(
            "INSERT INTO locations (warehouse_id, code, barcode, zone, type, pick_sequence)"
            " VALUES (1, 'SHIP-01', 'LOC-SHIP-01', 'SHIP', 'shipping', 0)"
        )
        await conn.execute(
            "INSERT INTO locations (warehouse_id, code, barcode, zone, type, pick_sequence)"
            " SELECT 1, 'P-' || g, 'LOC-P-' || g, 'Z' || (g % 20), 'pick', g FROM generate_series(1, $1) g",
            ITEMS * locs_per_item,
        )
        await conn.executemany(
            "INSERT INTO items (erp_id, erp_version, gtin, name, base_unit, lot_tracked, serial_tracked, expiry_tracked)"
            " VALUES ($1, 1, $2, $3, 'EA', true, false, true)",
            [(f"IT-{i}", _gtin(4_000_000_000_000 + i * 10), f"Device {i}") for i in range(ITEMS)],
        )
        await conn.execute(
            "INSERT INTO item_gtins (gtin, item_id, pack_level, quantity) SELECT gtin, id, 'each', 1 FROM items"
        )
        await conn.execute(
            "INSERT INTO lots (item_id, lot, expiry) SELECT i.id, 'L' || i.id || '-' || g, current_date + 100 + g * 30"
            " FROM items i, generate_series(1, $1) g",
            lots_per_item,
        )
        admin = await conn.fetchval("SELECT id FROM users WHERE username = 'admin'")
        t0 = time.perf_counter()
        # every item's lots spread over its own locations: items x lots x locations buckets, 100 units each.
        # A bulk fixture load: the ledger rows and the stock they sum to are written side by side with
        # triggers off (session_replication_role), then checked equal, instead of 1,000,000 trigger calls.
        async with conn.transaction():
            await conn.execute("SET LOCAL session_replication_role = replica")
            await conn.execute(
                """INSERT INTO stock_ledger (movement, item_id, lot_id, quantity, to_location_id, to_status, user_id, document_type)
                   SELECT 'receipt', l.item_id, l.id, 100, 2 + (l.item_id - 1) * $1 + g, 'available', $2, 'bench'
                     FROM lots l, generate_series(0, $1 - 1) g""",
                locs_per_item,
                admin,
            )
            await conn.execute(
                """INSERT INTO stock (item_id, lot_id, location_id, status, quantity)
                   SELECT item_id, lot_id, to_location_id, to_status, sum(quantity) FROM stock_ledger
                    GROUP BY item_id, lot_id, to_location_id, to_status"""
            )
        mismatch = await conn.fetchval(
            "SELECT count(*) FROM stock s FULL JOIN stock_ledger l ON l.item_id = s.item_id AND l.lot_id = s.lot_id"
            " AND l.to_location_id = s.location_id WHERE s.quantity IS DISTINCT FROM l.quantity"
        )
        assert mismatch == 0, mismatch
        print(
            f"stock   : {await conn.fetchval('SELECT count(*) FROM stock'):,} stock rows (= ledger) loaded in "
            f"{time.perf_counter() - t0:.1f} s"
        )
        await conn.execute("INSERT INTO customers (erp_id, erp_version, name) VALUES ('C-1', 1, 'Hospital')")
        orders = order_lines // 10
        await conn.execute(
            "INSERT INTO outbound_documents (erp_id, erp_version, number, customer_id, warehouse_id, ship_to)"
            " SELECT 'SO-' || g, 1, 'SO-' || g, 1, 1, '{\"name\": \"x\"}' FROM generate_series(1, $1) g",
            orders,
        )
        await conn.execute(
            "INSERT INTO outbound_lines (document_id, line_no, item_id, quantity)"
            " SELECT d.id, n, 1 + ((d.id * 10 + n) % $1), 3 FROM outbound_documents d, generate_series(1, 10) n",
            ITEMS,
        )
        # a warehouse in steady state, not one just bulk-loaded: hint bits set and the visibility map
        # written (else the first scans of each page pay for it), statistics current, and a checkpoint
        # behind the load's WAL so none falls inside the measured minute because of the setup
        await conn.execute("VACUUM (ANALYZE)")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


class Handheld:
    """A keep-alive HTTP/1.1 connection, like a scanner's browser tab."""

    def __init__(self, base: str) -> None:
        u = urlsplit(base)
        self.host, self.port = u.hostname, u.port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.headers = ""

    async def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        data = json.dumps(body).encode() if body is not None else b""
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n{self.headers}\r\n"
        )
        self.writer.write(head.encode() + data)
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        if self.writer:
            self.writer.close()


async def bare_commit_p50(dsn: str, n: int = 2000) -> float:
    """One single-row UPDATE in its own transaction on an ordinary (WAL-logged, fsynced) table."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("CREATE TABLE bench_bare (id int primary key, v int)")
        await conn.execute("INSERT INTO bench_bare VALUES (1, 0)")
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            await conn.execute("UPDATE bench_bare SET v = v + 1 WHERE id = 1")
            times.append(time.perf_counter() - t0)
        await conn.execute("DROP TABLE bench_bare")
    finally:
        await conn.close()
    return statistics.median(times)


async def checkpoints_so_far(conn: asyncpg.Connection) -> int:
    new_view = int(await conn.fetchval("SHOW server_version_num")) >= 170000
    return await conn.fetchval(
        "SELECT num_timed + num_requested FROM pg_stat_checkpointer"
        if new_view
        else "SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter"
    )


async def database_background(dsn: str, wall_from: float, seconds: float, checkpoints_before: int) -> str:
    """What PostgreSQL did by itself in the measured window (seconds from its start): autovacuum and
    autoanalyze runs by table, checkpoints. Each invalidates plans or competes for the two cores."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT relname, extract(epoch FROM last_autovacuum) AS vac, extract(epoch FROM last_autoanalyze) AS ana"
            " FROM pg_stat_user_tables"
        )
        checkpoints = await checkpoints_so_far(conn) - checkpoints_before
    finally:
        await conn.close()
    seen = []
    for r in rows:
        for kind, at in (("vacuum", r["vac"]), ("analyze", r["ana"])):
            if at is not None and wall_from <= float(at) <= wall_from + seconds:
                seen.append((float(at) - wall_from, f"auto{kind} {r['relname']}"))
    events = ", ".join(f"{what} at {t:.1f} s" for t, what in sorted(seen)) or "no autovacuum or autoanalyze finished"
    return f"{events}; {checkpoints} checkpoint(s) started or ended"


_HZ = os.sysconf("SC_CLK_TCK")
#: the benchmark's own database (``watch_database``): PostgreSQL backends of others are counted apart
_DATABASE = ""


def watch_database(url: str) -> None:
    global _DATABASE
    _DATABASE = urlsplit(url).path.lstrip("/")


def _processes(detail: bool = False) -> dict[int, tuple[str, float]]:
    """pid: (group, CPU seconds so far) for the udipick server process(es) and their uvicorn workers
    ("server"), PostgreSQL ("postgres"), this load generator and everything else ("other"); from /proc.
    With ``detail``, PostgreSQL's processes by their kind (backend, walwriter, ...) and the others by name."""
    me = os.getpid()
    procs: dict[int, tuple[str, int, float, str]] = {}  # pid: (name, parent, cpu seconds, command line)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        name, rest = stat[stat.find("(") + 1 : stat.rfind(")")], stat[stat.rfind(")") + 2 :].split()
        procs[int(entry)] = (name, int(rest[1]), (int(rest[11]) + int(rest[12])) / _HZ, cmd)
    servers = {pid for pid, p in procs.items() if "udipick.cli serve" in p[3]}

    def group(pid: int, name: str, parent: int, cmd: str) -> str:
        if pid == me:
            return "load generator"
        if pid in servers or parent in servers:
            return "server"
        if name == "postgres":
            if not detail:
                return "postgres"
            title = cmd.split(": ", 2)  # "postgres: 15/main: walwriter", "postgres: 15/main: postgres db [local] idle"
            words = title[2].split(" ") if len(title) == 3 else ["postmaster"]
            if words[0] not in ("postgres", "root"):
                return f"postgres {words[0]}"
            # a backend of another database serves something else on the machine (another test run)
            return "postgres backend" if words[1:2] == [_DATABASE] or not _DATABASE else "postgres, other databases"
        if not detail:
            return "other"
        # a kernel worker's name carries the work it is doing now ("kworker/1:1-events"), which changes
        # from one sample to the next: one kind for them all
        return "other: kernel workers" if name.startswith("kworker") else f"other: {name}"

    return {pid: (group(pid, name, parent, cmd), used) for pid, (name, parent, used, cmd) in procs.items()}


def cpu_by_kind() -> dict[str, float]:
    """CPU seconds so far by kind of process (see ``_processes(detail=True)``), plus the machine's time
    stolen by the hypervisor for other guests ("steal")."""
    out: dict[str, float] = defaultdict(float)
    for kind, used in _processes(detail=True).values():
        out[kind] += used
    out["steal (other guests)"] = _machine_times()[7] / _HZ
    return out


def _machine_times() -> list[int]:
    """The machine's CPU time counters in clock ticks (user, nice, system, idle, iowait, irq, softirq, steal, ...)."""
    with open("/proc/stat") as f:
        return [int(v) for v in f.readline().split()[1:]]


def busiest_around(samples: list[tuple[float, dict[str, float]]], t: float, top: int = 4) -> str:
    """The kinds of process that used the most CPU in the half second around moment ``t``."""
    before = [(at, cpu) for at, cpu in samples if at <= t - 0.25]
    after = [(at, cpu) for at, cpu in samples if at >= t + 0.25]
    if not before or not after:
        return "no samples"
    (a0, c0), (a1, c1) = before[-1], after[0]
    # a kind first seen in the later sample is a process started in between: all its CPU is new
    used = sorted(((c1[k] - c0.get(k, 0.0), k) for k in c1), reverse=True)[:top]
    return f"{a1 - a0:.2f} s: " + ", ".join(f"{k} {v * 1000:.0f} ms" for v, k in used if v > 0)


def cpu_seconds() -> dict[str, float]:
    """CPU time used so far by the udipick server process(es), PostgreSQL backends and this load
    generator, and by the whole machine (from /proc; Linux only)."""
    out = {"server": 0.0, "postgres": 0.0, "load generator": 0.0}
    for group, used in _processes().values():
        if group in out:
            out[group] += used
    fields = _machine_times()
    out["machine"] = (sum(fields) - fields[3] - fields[4]) / _HZ
    return out


class Instructions:
    """Instructions retired per process group over the measured window (``perf stat``, when the machine
    has it and allows it). Unlike CPU time they do not depend on the clock, the other tenants of a virtual
    machine or what else runs, so runs on different days and machines compare."""

    def __init__(self) -> None:
        self.procs: dict[str, subprocess.Popen] = {}
        self.counts: dict[str, int] = {}

    @staticmethod
    def supported() -> bool:
        """Whether ``perf`` can count instructions here (a virtual machine often has no counters); asked
        before the load starts, so a machine without them pays nothing inside the measured window."""
        import shutil

        if not shutil.which("perf"):
            return False
        probe = subprocess.run(["perf", "stat", "-x,", "-e", "instructions", "true"], capture_output=True, text=True)
        return any(line.split(",")[0].isdigit() for line in probe.stderr.splitlines())

    def start(self) -> None:
        groups: dict[str, list[int]] = {"server": [], "postgres": [], "machine": []}
        for pid, (group, _used) in _processes().items():
            if group in ("server", "postgres"):
                groups[group].append(pid)
        for group, pids in groups.items():
            if group != "machine" and not pids:
                continue
            target = ["-a"] if group == "machine" else ["-p", ",".join(map(str, pids))]
            self.procs[group] = subprocess.Popen(
                ["perf", "stat", "-x,", "-e", "instructions", *target],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )

    def stop(self) -> None:
        import signal

        for group, proc in self.procs.items():
            proc.send_signal(signal.SIGINT)
            for line in proc.communicate(timeout=10)[1].splitlines():
                fields = line.split(",")
                if len(fields) > 2 and fields[2].startswith("instructions") and fields[0].isdigit():
                    self.counts[group] = int(fields[0])


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


async def run(args: argparse.Namespace, dsn: str, base: str) -> None:
    login = Handheld(base)
    tokens = []
    # one picker per handheld, as on a warehouse floor (they share the bench picker's password)
    conn = await asyncpg.connect(dsn)
    await conn.execute(
        "INSERT INTO users (username, display_name, password_hash, roles)"
        " SELECT 'picker-' || g, 'Picker ' || g, password_hash, roles FROM users, generate_series(0, $1 - 1) g"
        " WHERE username = 'picker' ON CONFLICT (username) DO NOTHING",
        args.handhelds,
    )
    await conn.close()
    for i in range(args.handhelds):
        status, body = await login.request(
            "POST",
            "/api/v1/auth/login",
            {"username": f"picker-{i}", "password": PASSWORDS["picker"], "deviceId": f"hh-{i}"},
        )
        assert status == 200, body
        tokens.append(json.loads(body)["token"])
    status, body = await login.request(
        "POST", "/api/v1/auth/login", {"username": "supervisor", "password": PASSWORDS["supervisor"], "deviceId": "sup"}
    )
    sup = Handheld(base)
    sup.headers = f"Authorization: Bearer {json.loads(body)['token']}\r\nX-Device-Id: sup\r\n"
    t0 = time.perf_counter()
    status, body = await sup.request("POST", "/api/v1/waves", {"maxOrders": 10000})
    wave_s = time.perf_counter() - t0
    wave = json.loads(body)
    assert status == 201, body[:300]
    print(
        f"wave    : {len(wave['orders']) * 10:,} order lines allocated FEFO into {wave['tasks']:,} tasks in {wave_s:.2f} s "
        f"(target <= 5 s); short lines: {len(wave['shortLines'])}"
    )

    conn = await asyncpg.connect(dsn)
    rows = await conn.fetch(
        "SELECT t.id, t.quantity, i.gtin, l.lot, loc.barcode FROM pick_tasks t JOIN items i ON i.id = t.item_id"
        " JOIN lots l ON l.id = t.lot_id JOIN locations loc ON loc.id = t.location_id WHERE t.status = 'open' ORDER BY t.id"
    )
    await conn.close()
    scans = [(r["id"], f"01{r['gtin']}10{r['lot']}", r["barcode"]) for r in rows for _ in range(r["quantity"])]
    per = len(scans) // args.handhelds
    latencies: list[float] = []
    timeline: list[tuple[float, float]] = []  # (moment of the scan after warm-up, its latency), for --timeline
    refused = 0

    async def handheld(i: int) -> None:
        nonlocal refused
        h = Handheld(base)
        h.headers = f"Authorization: Bearer {tokens[i]}\r\nX-Device-Id: hh-{i}\r\n"
        interval = args.handhelds / args.rate if args.rate else 0.0
        start = t0 + interval * i / args.handhelds
        for k, (task_id, raw, loc) in enumerate(scans[i * per : (i + 1) * per]):
            if time.perf_counter() > deadline:
                break
            t = time.perf_counter()
            if interval:
                # open loop: each scan has its moment; a late answer delays the next send, and that wait
                # counts in the next scan's latency (measured from its moment), so a backlog shows
                scheduled = start + k * interval
                if scheduled > t:
                    await asyncio.sleep(scheduled - t)
                t = scheduled
            scan_id = str(uuid.uuid4())
            status, body = await h.request(
                "POST",
                f"/api/v1/picking/tasks/{task_id}/scans",
                {"clientScanId": scan_id, "raw": raw, "locationRaw": loc},
            )
            now = time.perf_counter()
            timeline.append((t - measure_from, now - t))
            if t < measure_from:
                continue  # warm-up: connections opened, statements prepared, caches filled
            latencies.append(now - t)
            if status == 200:
                answered[scan_id] = now
            if status != 200:
                refused += 1
                if refused < 3:
                    print("refused:", status, body[:200])
        await h.close()

    import websockets

    answered: dict[str, float] = {}
    arrived: dict[str, float] = {}
    done = asyncio.Event()

    async def erp_stream() -> None:
        """The ERP side: a WebSocket stream client; pick.confirmed.v1 carries the scan's clientScanId."""
        url = base.replace("http://", "ws://") + f"/api/v1/erp/stream?after=0&access_token={args.stream_key}"
        async with websockets.connect(url, max_size=None) as ws:
            while not done.is_set():
                try:
                    msg = json.loads(await asyncio.wait_for(ws.recv(), 1.0))
                except TimeoutError:
                    continue
                if msg.get("type") == "pick.confirmed.v1":
                    arrived[msg["data"]["clientScanId"]] = time.perf_counter()
                if "position" in msg and msg["position"] % 200 == 0:
                    await ws.send(json.dumps({"ack": msg["position"]}))

    async def server_gc() -> dict[str, tuple[int, float, float]]:
        """generation: (collections, seconds paused in all, longest pause) of the server, from /metrics."""
        m = Handheld(base)
        m.headers = f"Authorization: Bearer {args.stream_key}\r\n"
        _status, text = await m.request("GET", "/metrics")
        await m.close()
        out: dict[str, list[float]] = {}
        for line in text.decode().splitlines():
            for kind, i in (
                ("udipick_gc_pause_seconds_count", 0),
                ("udipick_gc_pause_seconds_sum", 1),
                ("udipick_gc_pause_max_seconds", 2),
            ):
                if line.startswith(kind + "{"):
                    gen = line.split('generation="')[1].split('"')[0]
                    out.setdefault(gen, [0, 0.0, 0.0])[i] = float(line.rsplit(" ", 1)[1])
        return {g: (int(v[0]), v[1], v[2]) for g, v in out.items()}

    gc_before = await server_gc()
    conn = await asyncpg.connect(dsn)
    checkpoints_before = await checkpoints_so_far(conn)
    await conn.close()
    count_instructions = Instructions.supported()
    stream_task = asyncio.create_task(erp_stream() if args.stream else asyncio.sleep(0))
    await asyncio.sleep(0.5)
    t0 = time.perf_counter()
    measure_from = t0 + args.warmup
    deadline = measure_from + args.seconds
    cpu0: dict[str, float] = {}

    instructions = Instructions()

    async def start_measuring() -> None:
        await asyncio.sleep(args.warmup)
        # off the event loop: the handhelds keep their moments while /proc is read and perf starts
        cpu0.update(await asyncio.to_thread(cpu_seconds))
        if count_instructions:
            await asyncio.to_thread(instructions.start)

    samples: list[tuple[float, dict[str, float]]] = []  # (moment after warm-up, CPU by kind of process)
    sampling = threading.Event()

    def sample_cpu() -> None:
        while not sampling.wait(0.25):
            samples.append((time.perf_counter() - measure_from, cpu_by_kind()))

    if args.timeline:
        threading.Thread(target=sample_cpu, daemon=True).start()
    # the load generator's own collector must not stall the handhelds (its pauses would count as the
    # server's latency): what it has built so far is frozen, and its garbage in the run is left to reference counts
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        await asyncio.gather(start_measuring(), *(handheld(i) for i in range(args.handhelds)))
    finally:
        gc.enable()
        sampling.set()
    elapsed = time.perf_counter() - measure_from
    wall_from = time.time() - (time.perf_counter() - measure_from)  # the measured window's start, wall clock
    cpu1 = cpu_seconds()
    instructions.stop()
    deadline_stream = time.perf_counter() + 10
    while args.stream and any(k not in arrived for k in answered) and time.perf_counter() < deadline_stream:
        await asyncio.sleep(0.05)
    done.set()
    await stream_task
    gc_after = await server_gc()
    background = await database_background(dsn, wall_from, elapsed, checkpoints_before)
    bare = await bare_commit_p50(dsn)
    p50, p95, p99 = (pct(latencies, p) * 1000 for p in (0.5, 0.95, 0.99))
    offered = f"{args.rate:,.0f}/s offered" if args.rate else "closed loop"
    print(
        f"confirm : {len(latencies):,} pick confirms by {args.handhelds} handhelds ({offered}, after {args.warmup:g} s of warm-up) in {elapsed:.1f} s = "
        f"{len(latencies) / elapsed:,.0f}/s (target >= 500/s); refused {refused}"
    )
    print(f"latency : p50 {p50:.1f} ms  p95 {p95:.1f} ms  p99 {p99:.1f} ms (target p99 <= 50 ms)")
    n = max(1, len(latencies))
    print(
        "cpu     : per pick confirm, "
        + ", ".join(f"{k} {(cpu1[k] - cpu0[k]) / n * 1000:.2f} ms" for k in cpu0)
        + f" (the machine has {os.cpu_count()} cores: {os.cpu_count() * 1000 / max(1e-9, (cpu1['machine'] - cpu0['machine']) / n * 1000):.0f}"
        " confirms/s if it did nothing else)"
    )
    if instructions.counts:
        print(
            "instr   : per pick confirm, "
            + ", ".join(f"{k} {v / n / 1e6:.2f} M" for k, v in instructions.counts.items())
            + " instructions (perf stat; independent of clock speed and of other tenants)"
        )
    if args.timeline:
        # where the slow answers fall: clustered in a few stalls (a collector, a vacuum) or spread out (a busy machine)
        with open(args.timeline, "w") as f:
            f.write(f"# measured from perf_counter {measure_from:.4f}\n")
            f.writelines(f"{t:.4f}\t{lat * 1000:.2f}\n" for t, lat in sorted(timeline))
        slow = sorted(t for t, lat in timeline if lat > 0.05 and t >= 0)
        starts = [b for a, b in zip([-1.0, *slow], slow, strict=False) if b - a > 0.2]
        print(
            f"timeline: {len(slow):,} answers over 50 ms, in {len(starts)} separate stretches"
            + (f" starting at {', '.join(f'{t:.1f}' for t in starts[:12])} s" if starts else "")
            + f" (written to {args.timeline})"
        )
        for t in starts[:12]:
            print(f"          CPU around {t:.1f} s, {busiest_around(samples, t)}")
        print(f"          CPU in a usual half second, {busiest_around(samples, 15.0)}")
    pauses = {
        g: (n - gc_before.get(g, (0, 0.0, 0.0))[0], total - gc_before.get(g, (0, 0.0, 0.0))[1], longest)
        for g, (n, total, longest) in gc_after.items()
    }
    print(
        "gc      : server collections in the run, by generation: "
        + ", ".join(
            f"gen {g} {n:,} ({total * 1000:.0f} ms in all)" for g, (n, total, _longest) in sorted(pauses.items())
        )
        + "; longest pause since start "
        + ", ".join(f"gen {g} {longest * 1000:.1f} ms" for g, (_n, _t, longest) in sorted(pauses.items()))
    )
    print(f"postgres: in the measured window {background}")
    lags = [max(0.0, arrived[k] - v) * 1000 for k, v in answered.items() if k in arrived]
    if lags:
        print(
            f"stream  : {len(lags):,}/{len(answered):,} pick.confirmed.v1 events reached the ERP WebSocket client; "
            f"response-to-arrival p50 {pct(lags, 0.5):.1f} ms  p99 {pct(lags, 0.99):.1f} ms (target p99 <= 100 ms)"
        )
    print(
        f"floor   : bare single-row UPDATE commit p50 {bare * 1000:.3f} ms; pick-confirm p50 / bare commit p50 = "
        f"{p50 / (bare * 1000):.0f}x"
    )


def prepare(url: str, stock_rows: int, order_lines: int) -> None:
    """The schema, the users picker, supervisor and admin (passwords in ``PASSWORDS``) and the warehouse."""
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run([sys.executable, "-m", "udipick.cli", "db", "upgrade"], env=env, check=True, capture_output=True)
    for name in ("picker", "supervisor", "admin"):
        subprocess.run(
            [sys.executable, "-m", "udipick.cli", "users", "add", name, "--role", name],
            env=env,
            input=PASSWORDS[name] + "\n",
            text=True,
            check=True,
            capture_output=True,
        )
    asyncio.run(build_warehouse(url, stock_rows, order_lines))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stock", type=int, default=1_000_000)
    ap.add_argument("--lines", type=int, default=10_000)
    ap.add_argument("--handhelds", type=int, default=64)
    ap.add_argument(
        "--rate",
        type=float,
        default=500,
        help="offered pick scans per second, spread over the handhelds (open loop); 0: each handheld "
        "scans again as soon as it has its answer (closed loop)",
    )
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--warmup", type=float, default=3, help="seconds of load before measuring starts")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--timeline", help="write each measured scan's moment and latency (ms) to this file")
    ap.add_argument("--no-stream", dest="stream", action="store_false", help="no ERP WebSocket client during the run")
    args = ap.parse_args()
    print(f"machine : {machine()}")
    with fresh_database() as url:
        watch_database(url)
        prepare(url, args.stock, args.lines)
        args.stream_key = subprocess.run(
            [sys.executable, "-m", "udipick.cli", "api-keys", "add", "bench-erp", "--scope", "erp:read"],
            env={**os.environ, "DATABASE_URL": url},
            text=True,
            check=True,
            capture_output=True,
        ).stdout.strip()
        with server(url, extra_env={"UDIPICK_LOG_JSON": "0"}, workers=args.workers) as base:
            asyncio.run(run(args, url, base))


if __name__ == "__main__":
    main()

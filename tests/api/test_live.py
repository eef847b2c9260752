"""``GET /api/v1/live`` on real PostgreSQL and real servers: the snapshot, then scripted picks in order, and
a pick answered by one server process reaching a live client of another."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid

import asyncpg
import httpx
import pytest
import websockets

from tests.api.test_picking import GLOVE, GLOVE_BOX, SYR, gs1
from tests.outbox.conftest import live_server


async def sign_in(http: httpx.AsyncClient, user: str, device: str) -> dict[str, str]:
    r = await http.post("/api/v1/auth/login", json={"username": user, "password": f"{user}-demo", "deviceId": device})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}", "X-Device-Id": device}


async def open_live(host: str, headers: dict[str, str]):
    token = headers["Authorization"].removeprefix("Bearer ")
    return await websockets.connect(f"ws://{host}/api/v1/live?access_token={token}&device_id={headers['X-Device-Id']}")


async def next_of(ws, *types: str, timeout: float = 10.0) -> dict:
    """The next message of these types; the changes of a ``changes`` frame count one by one."""
    pending: list[dict] = ws.__dict__.setdefault("_pending", [])
    async with asyncio.timeout(timeout):
        while True:
            while pending:
                message = pending.pop(0)
                if message["type"] in types:
                    return message
            message = json.loads(await ws.recv())
            pending.extend(message["changes"] if message["type"] == "changes" else [message])


async def expiry_of(database_url: str, lot: str) -> dt.date:
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return await conn.fetchval("SELECT expiry FROM lots WHERE lot = $1", lot)
    finally:
        await conn.close()


async def tasks(http, headers) -> list[dict]:
    return (await http.get("/api/v1/picking/tasks", headers=headers)).json()


async def pick(http, headers, task: dict, raw: str) -> httpx.Response:
    body = {"clientScanId": str(uuid.uuid4()), "raw": raw, "locationRaw": task["location"]["barcode"]}
    return await http.post(f"/api/v1/picking/tasks/{task['taskId']}/scans", json=body, headers=headers)


@pytest.fixture
async def floor(demo_database_url):
    """One real server (uvicorn) over the demo data, with a released wave."""
    async with live_server(demo_database_url) as (host, _app):
        async with httpx.AsyncClient(base_url=f"http://{host}", timeout=10) as http:
            sup = await sign_in(http, "supervisor", "desk-1")
            r = await http.post("/api/v1/waves", json={}, headers=sup)
            assert r.status_code == 201, r.text
            yield host, http, sup, r.json()["waveId"], await expiry_of(demo_database_url, "SY2409C")


async def test_a_live_client_gets_a_snapshot_then_scripted_picks_in_order(floor):
    host, http, sup, wave_id, later_expiry = floor
    picker = await sign_in(http, "picker", "tc52-01")
    async with await open_live(host, sup) as ws:
        snap = await next_of(ws, "snapshot")
        assert [w["waveId"] for w in snap["waves"]] == [wave_id]
        assert snap["waves"][0]["unitsPicked"] == 0 and snap["exceptions"] == [] and snap["pickers"] == []
        syr = next(t for t in await tasks(http, picker) if t["order"] == "SO-5001" and t["item"]["erpId"] == "SYR-10ML")
        glove = next(
            t for t in await tasks(http, picker) if t["order"] == "SO-5002" and t["item"]["erpId"] == "GLOVE-NIT-M"
        )
        script = [
            (syr, gs1(SYR, syr["lot"], dt.date.fromisoformat(syr["expiry"])), 200),
            (syr, gs1(SYR, "SY2409C", later_expiry), 409),  # later-expiring lot: FEFO violation
            (glove, gs1(GLOVE_BOX, glove["lot"]), 200),
            (syr, gs1(GLOVE), 409),  # wrong item: refused, no exception
        ]
        for task, raw, status in script:
            r = await pick(http, picker, task, raw)
            assert r.status_code == status, r.text
        r = await http.post(
            f"/api/v1/picking/tasks/{glove['taskId']}/short", json={"clientScanId": str(uuid.uuid4())}, headers=picker
        )
        assert r.status_code == 200, r.text

        changes = [await next_of(ws, "pick", "short") for _ in range(5)]
        progress = await next_of(ws, "progress")
    assert [(c["type"], c["event"]) for c in changes] == [
        ("pick", "pick.confirmed.v1"),
        ("pick", "pick.refused.v1"),
        ("pick", "pick.confirmed.v1"),
        ("pick", "pick.refused.v1"),
        ("short", "pick.shorted.v1"),
    ]
    positions = [c["position"] for c in changes]
    assert positions == sorted(positions) and len(set(positions)) == 5
    assert [c["data"].get("code") for c in changes] == [None, "fefo-violation", None, "wrong-item", None]
    assert [c["exception"] and c["exception"]["kind"] for c in changes] == [
        None,
        "fefo-violation",
        None,
        None,
        "short-pick",
    ]
    assert all(c["user"] == "picker" and c["device"] == "tc52-01" for c in changes)
    last = changes[-1]["picker"]
    assert last["user"] == "picker" and last["lastVerdict"] == "short"
    assert last["currentTask"]["taskId"] == glove["taskId"] and last["currentTask"]["order"] == "SO-5002"
    assert changes[2]["picker"]["linesPerHour"] == 8  # two order lines in the last 15 minutes, times 4
    assert changes[1]["picker"]["lastCode"] == "fefo-violation"
    assert [w["waveId"] for w in progress["waves"]] == [wave_id]
    assert progress["waves"][0]["unitsPicked"] >= 1


async def test_pickers_cannot_watch_and_a_resolution_and_an_offline_handheld_reach_the_watchers(floor):
    host, http, sup, _wave_id, later_expiry = floor
    picker = await sign_in(http, "picker", "tc52-01")
    with pytest.raises(websockets.ConnectionClosed) as refused:
        async with await open_live(host, picker) as ws:
            await ws.recv()
    # a close code and a reason the client can log, not a bare HTTP 403
    assert (refused.value.rcvd.code, refused.value.rcvd.reason) == (
        4403,
        "permission-denied: role admin or supervisor required",
    )
    syr = next(t for t in await tasks(http, picker) if t["order"] == "SO-5001" and t["item"]["erpId"] == "SYR-10ML")
    assert (await pick(http, picker, syr, gs1(SYR, "SY2409C", later_expiry))).status_code == 409
    async with await open_live(host, await sign_in(http, "admin", "tablet-9")) as ws:
        snap = await next_of(ws, "snapshot")
        (x,) = snap["exceptions"]
        assert x["kind"] == "fefo-violation" and x["user"] == "picker"
        r = await http.post(f"/api/v1/exceptions/{x['id']}/resolve", json={"note": "spoke to the picker"}, headers=sup)
        assert r.status_code == 200, r.text
        resolved = await next_of(ws, "resolved")
        assert resolved.items() >= {"id": x["id"], "resolvedBy": "supervisor", "note": "spoke to the picker"}.items()
        r = await http.post("/api/v1/devices/heartbeat", json={"queued": 4, "online": False}, headers=picker)
        assert r.status_code == 200, r.text
        devices = await next_of(ws, "devices")
        assert [(d["device"], d["user"], d["queued"]) for d in devices["devices"]] == [("tc52-01", "picker", 4)]


async def test_a_pick_answered_by_one_server_process_reaches_a_live_client_of_another(demo_database_url):
    from tests.outbox.test_processes import _serve

    url = demo_database_url.replace("postgresql+asyncpg://", "postgresql://")
    async with _serve(url) as (host_a, http_a), _serve(url) as (host_b, http_b):
        sup = await sign_in(http_b, "supervisor", "desk-1")
        assert (await http_b.post("/api/v1/waves", json={}, headers=sup)).status_code == 201
        picker = await sign_in(http_a, "picker", "tc52-01")
        syr = next(
            t for t in await tasks(http_a, picker) if t["order"] == "SO-5001" and t["item"]["erpId"] == "SYR-10ML"
        )
        async with await open_live(host_b, sup) as on_b:
            await next_of(on_b, "snapshot")
            r = await pick(http_a, picker, syr, gs1(SYR, syr["lot"], dt.date.fromisoformat(syr["expiry"])))
            assert r.status_code == 200, r.text  # answered by process A
            change = await next_of(on_b, "pick")  # seen by a client of process B
    assert change["event"] == "pick.confirmed.v1" and change["data"]["taskId"] == syr["taskId"]
    assert change["data"]["clientScanId"] and change["user"] == "picker"


async def changes_of(ws, n: int) -> list[dict]:
    return [await next_of(ws, "pick", "short") for _ in range(n)]


async def units_picked(database_url: str, wave_id: int) -> tuple[int, int]:
    """The wave's units picked and lines with no open task, read from the tables (the truth progress must reach)."""
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return tuple(
            await conn.fetchrow(
                "SELECT (SELECT sum(picked) FROM pick_tasks WHERE wave_id = $1)::int,"
                " (SELECT count(*) FROM (SELECT line_id FROM pick_tasks WHERE wave_id = $1 GROUP BY line_id"
                "   HAVING NOT bool_or(status = 'open')) d)::int",
                wave_id,
            )
        )
    finally:
        await conn.close()


async def test_two_live_clients_of_one_process_both_get_every_change_in_order(floor):
    host, http, sup, _wave_id, _later_expiry = floor
    picker = await sign_in(http, "picker", "tc52-01")
    syr = next(t for t in await tasks(http, picker) if t["order"] == "SO-5001" and t["item"]["erpId"] == "SYR-10ML")
    good = gs1(SYR, syr["lot"], dt.date.fromisoformat(syr["expiry"]))
    async with await open_live(host, sup) as a, await open_live(host, await sign_in(http, "admin", "tablet-9")) as b:
        snaps = [await next_of(ws, "snapshot") for ws in (a, b)]
        assert snaps[0]["head"] == snaps[1]["head"]
        sent = []
        for k in range(12):
            raw = good if k % 3 else gs1(GLOVE)  # every third one refused (wrong item)
            body = {"clientScanId": str(uuid.uuid4()), "raw": raw, "locationRaw": syr["location"]["barcode"]}
            r = await http.post(f"/api/v1/picking/tasks/{syr['taskId']}/scans", json=body, headers=picker)
            assert r.status_code == (200 if k % 3 else 409), r.text
            sent.append(body["clientScanId"])
        seen_a, seen_b = await changes_of(a, 12), await changes_of(b, 12)
    assert [c["data"]["clientScanId"] for c in seen_a] == sent
    assert [c["data"]["clientScanId"] for c in seen_b] == sent
    positions = [c["position"] for c in seen_a]
    assert positions == [c["position"] for c in seen_b] == sorted(set(positions))
    assert positions[0] > snaps[0]["head"]


async def test_a_client_that_connects_mid_stream_gets_a_snapshot_the_changes_continue_without_gap_or_repeat(
    floor, demo_database_url
):
    host, http, sup, wave_id, _later_expiry = floor
    picker = await sign_in(http, "picker", "tc52-01")
    syr = next(t for t in await tasks(http, picker) if t["order"] == "SO-5001" and t["item"]["erpId"] == "SYR-10ML")
    good = gs1(SYR, syr["lot"], dt.date.fromisoformat(syr["expiry"]))
    n = 24
    answered = asyncio.Event()
    count = 0

    async def scan_on() -> None:
        nonlocal count
        for k in range(n):
            r = await pick(http, picker, syr, good if k % 4 else gs1(GLOVE))
            assert r.status_code == (200 if k % 4 else 409), r.text
            count += 1
            if count in (6, 12, 18):
                answered.set()

    async with await open_live(host, sup) as first:
        await next_of(first, "snapshot")
        scanning = asyncio.create_task(scan_on())
        late = []
        for _ in range(3):  # three clients connect while the scans go on
            await answered.wait()
            answered.clear()
            ws = await open_live(host, sup)
            late.append((ws, await next_of(ws, "snapshot")))
        await scanning
        everything = [c["position"] for c in await changes_of(first, n)]
        assert everything == sorted(set(everything))
        for ws, snap in late:
            after = [p for p in everything if p > snap["head"]]
            assert 0 < len(after) < n  # it did connect mid-stream
            assert [c["position"] for c in await changes_of(ws, len(after))] == after
            with pytest.raises(TimeoutError):  # and nothing after the last, no repeat
                await next_of(ws, "pick", "short", timeout=0.5)
            await ws.close()
        # the progress that follows reaches what the tables say (kept per order line, not re-read per wave)
        truth = await units_picked(demo_database_url, wave_id)
        while True:
            (w,) = [w for w in (await next_of(first, "progress"))["waves"] if w["waveId"] == wave_id]
            if (w["unitsPicked"], w["linesDone"]) == truth:
                break
    assert truth[0] == n - n // 4  # every accepted scan picked one unit

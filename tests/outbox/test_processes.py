"""Real processes: two ``udipick serve`` on one database, and a relay killed with SIGKILL mid-delivery."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import uuid

import httpx
from sqlalchemy import text
from standardwebhooks import Webhook

from tests.outbox.conftest import (
    Receiver,
    connect,
    free_port,
    make_subscription,
    receive_events,
    wait_until,
    write_events,
)
from tests.receiving.helpers import datamatrix, days

UDIPICK = [sys.executable, "-m", "udipick.cli"]


def _env(database_url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        UDIPICK_RUN_RELAY="0",
        UDIPICK_PWA_DIR="/nonexistent",
        UDIPICK_LOG_JSON="0",
        UDIPICK_WEBHOOK_ALLOW_LOOPBACK="1",
        **extra,
    )  # the Receiver listens on 127.0.0.1
    return env


@contextlib.asynccontextmanager
async def _serve(database_url: str):
    port = free_port()
    proc = subprocess.Popen(
        [*UDIPICK, "serve", "--port", str(port)],
        env=_env(database_url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=5) as http:
            async with asyncio.timeout(30):
                while True:
                    assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
                    with contextlib.suppress(httpx.HTTPError):
                        if (await http.get("/healthz")).status_code == 200:
                            break
                    await asyncio.sleep(0.2)
            yield f"127.0.0.1:{port}", http
    finally:
        proc.terminate()
        try:
            await asyncio.to_thread(proc.wait, 10)
        except subprocess.TimeoutExpired:
            proc.kill()


async def _receive(http: httpx.AsyncClient, headers: dict, document: str, lot: str) -> None:
    """A receipt started, scanned and closed short through one server: it emits receipt events on close."""
    rid = (await http.post("/api/v1/receipts", json={"document": document}, headers=headers)).json()["id"]
    body = {"clientScanId": str(uuid.uuid4()), "raw": datamatrix("SYR-10ML", lot=lot, expiry=days(400)), "quantity": 5}
    r = await http.post(f"/api/v1/receipts/{rid}/scans", json=body, headers=headers)
    assert r.status_code == 200, r.text
    r = await http.post(f"/api/v1/receipts/{rid}/close", json={"reason": "supplier short-shipped"}, headers=headers)
    assert r.status_code == 200, r.text


async def _until_lot(ws, lot: str) -> list[dict]:
    got: list[dict] = []
    while not any(lot in json.dumps(m["data"]) for m in got):
        got += await receive_events(ws, 1)
    return got


async def test_events_written_through_either_server_process_reach_a_stream_client_on_the_other(
    demo_database_url, erp_key
):
    url = demo_database_url.replace("postgresql+asyncpg://", "postgresql://")
    async with _serve(url) as (host_a, http_a), _serve(url) as (host_b, http_b):
        r = await http_a.post(
            "/api/v1/auth/login", json={"username": "receiver", "password": "receiver-demo", "deviceId": "hh-1"}
        )
        headers = {"Authorization": f"Bearer {r.json()['token']}", "X-Device-Id": "hh-1"}
        async with (
            await connect(host_b, erp_key, "?after=0") as on_b,
            await connect(host_a, erp_key, "?after=0") as on_a,
        ):
            await _receive(http_a, headers, "ASN-2002", "LOT-VIA-A")  # written through process A
            via_a_on_b = await _until_lot(on_b, "LOT-VIA-A")  # arrives on a client of process B
            await _receive(http_b, headers, "PO-1001", "LOT-VIA-B")  # and the other way round
            on_a_all = await _until_lot(on_a, "LOT-VIA-B")
            via_b_on_b = await _until_lot(on_b, "LOT-VIA-B")
    assert {m["type"] for m in via_a_on_b} >= {"receipt.confirmed.v1"}
    # both processes' clients see one stream: same events, same positions, no gaps
    assert [m["position"] for m in on_a_all] == list(range(1, len(on_a_all) + 1))
    assert [(m["position"], m["eventId"]) for m in on_a_all] == [
        (m["position"], m["eventId"]) for m in via_a_on_b + via_b_on_b
    ]


async def test_a_relay_killed_with_sigkill_mid_delivery_loses_nothing(database_url, db):
    # each POST takes 0.1 s, so the relay is always mid-delivery when it is killed
    receiver = await Receiver(lambda n, body: (200, 0.1)).start()
    sub = await make_subscription(db, receiver.url)
    ids = await write_events(db, 30)
    args = [*UDIPICK, "relay", "--lease-seconds", "1", "--backoff-base", "0.05", "--timeout", "2", "--concurrency", "1"]
    env = _env(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    first = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        await wait_until(lambda: _n(receiver, 8), timeout=30)
        os.kill(first.pid, signal.SIGKILL)
        await asyncio.to_thread(first.wait, 5)
        killed_at = len(receiver.requests)
        async with db() as s:
            delivered_before = await s.scalar(
                text("SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'")
            )
        assert delivered_before < 30
        second = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:

            async def all_delivered():
                async with db() as s:
                    return (
                        await s.scalar(text("SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'")) == 30
                    )

            await wait_until(all_delivered, timeout=30)
        finally:
            second.terminate()
            await asyncio.to_thread(second.wait, 10)
    finally:
        if first.poll() is None:
            first.kill()
        await receiver.stop()
    assert killed_at < len(receiver.requests)
    hook = Webhook(sub.secret)
    arrivals = [hook.verify(body, headers) | {"_id": headers["webhook-id"]} for headers, body, _ in receiver.requests]
    # everything arrived; a duplicate (the POST in flight at the kill) carries the same webhook-id
    assert sorted({m["eventId"] for m in arrivals}) == sorted(ids)
    assert all(m["_id"] == m["eventId"] for m in arrivals)
    first_seen = list(dict.fromkeys(m["eventId"] for m in arrivals))
    assert first_seen == ids  # and in order
    assert len(arrivals) - 30 <= 2


async def _n(receiver: Receiver, n: int) -> bool:
    return len(receiver.requests) >= n

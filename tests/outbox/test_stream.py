"""The ERP WebSocket stream on a real uvicorn server: backlog, live, acks, resume, heartbeats, back-pressure."""

from __future__ import annotations

import asyncio
import json
import socket
from urllib.parse import quote

import pytest
import websockets
from sqlalchemy import text

from tests.conftest import login, wait_until
from tests.outbox.conftest import connect, live_server, receive_events, write_events
from udipick.api.stream import StreamOptions


async def _next_control(ws, kind: str, timeout: float = 5.0) -> dict:
    async with asyncio.timeout(timeout):
        while True:
            msg = json.loads(await ws.recv())
            if msg.get("type") == kind:
                return msg


async def _acked(db, subscriber: str, position: int) -> bool:
    async with db() as s:
        return (
            await s.scalar(text("SELECT acked_position FROM stream_subscribers WHERE name = :n"), {"n": subscriber})
            == position
        )


async def test_a_client_gets_the_backlog_then_live_events_in_position_order(demo_database_url, demo_db, erp_key):
    backlog = await write_events(demo_db, 5)
    async with live_server(demo_database_url) as (host, _app):
        async with await connect(host, erp_key, "?after=0") as ws:
            hello = await _next_control(ws, "hello")
            assert hello["resumeFrom"] == 0
            first = await receive_events(ws, 5)
            live = await write_events(demo_db, 3, start=5)
            later = await receive_events(ws, 3)
    got = first + later
    assert [m["position"] for m in got] == list(range(1, 9))
    assert [m["eventId"] for m in got] == backlog + live
    assert [m["data"]["n"] for m in got] == list(range(8))
    assert {m["type"] for m in got} == {"test.happened.v1"}
    assert all(m["user"] == "tester" and m["device"] == "dev-1" and m["occurredAt"] for m in got)


async def test_a_reconnect_without_after_resumes_after_the_last_ack_with_the_same_event_ids(
    demo_database_url, demo_db, erp_key
):
    ids = await write_events(demo_db, 10)
    async with live_server(demo_database_url) as (host, _app):
        async with await connect(host, erp_key, "?subscriber=ledger") as ws:
            first = await receive_events(ws, 10)
            await ws.send(json.dumps({"ack": 4}))
            await wait_until(lambda: _acked(demo_db, "ledger", 4))  # acks are written at most every 50 ms
        # disconnected mid-flow: more events happen meanwhile
        more = await write_events(demo_db, 4, start=10)
        async with await connect(host, erp_key, "?subscriber=ledger") as ws:
            hello = await _next_control(ws, "hello")
            again = await receive_events(ws, 10)
        # another subscriber name of the same key has its own cursor
        async with await connect(host, erp_key, "?subscriber=other") as ws:
            assert (await _next_control(ws, "hello"))["resumeFrom"] == 0
    assert hello["resumeFrom"] == 4
    assert [m["position"] for m in again] == list(range(5, 15))  # no gap
    by_position = {m["position"]: m["eventId"] for m in first}
    for m in again:  # duplicates (5..10, received but not acked) carry the same eventId
        if m["position"] in by_position:
            assert by_position[m["position"]] == m["eventId"]
    assert [m["eventId"] for m in again] == ids[4:] + more
    async with demo_db() as s:
        acked = await s.scalar(text("SELECT acked_position FROM stream_subscribers WHERE name = 'ledger'"))
    assert acked == 4


async def test_an_ack_beyond_what_was_sent_is_refused_and_a_smaller_ack_never_rewinds(
    demo_database_url, demo_db, erp_key
):
    await write_events(demo_db, 3)
    async with live_server(demo_database_url) as (host, _app):
        async with await connect(host, erp_key, "?subscriber=acks") as ws:
            await receive_events(ws, 3)
            await ws.send(json.dumps({"ack": 99}))
            assert "beyond the last position sent" in (await _next_control(ws, "error"))["detail"]
            await ws.send(json.dumps({"ack": 3}))
            await ws.send(json.dumps({"ack": 1}))
            await ws.send("not json")
            assert "ack" in (await _next_control(ws, "error"))["detail"]
            # a rewind is something that must NOT happen, so there is no condition to wait on: stay
            # connected for a few of the ack writer's 50 ms rounds to give a rewound ack its chance
            await asyncio.sleep(0.2)
    async with demo_db() as s:
        assert await s.scalar(text("SELECT acked_position FROM stream_subscribers WHERE name = 'acks'")) == 3


async def test_an_idle_stream_sends_heartbeats_with_the_head(demo_database_url, demo_db, erp_key):
    await write_events(demo_db, 2)
    async with live_server(demo_database_url) as (host, app):
        app.state.stream_options = StreamOptions(heartbeat=0.1)
        async with await connect(host, erp_key, "?after=2") as ws:
            beat = await _next_control(ws, "heartbeat", timeout=3)
    assert beat["head"] == 2 and beat["sent"] == 2


async def test_a_consumer_that_stops_reading_is_closed_and_the_server_holds_at_most_a_page(
    demo_database_url, demo_db, erp_key
):
    # 2,000 events of ~4 KB (8 MB): far more than the socket buffers take while nobody reads
    async with demo_db() as s:
        await s.execute(
            text(
                "INSERT INTO outbox_events (event_id, type, occurred_at, data)"
                " SELECT gen_random_uuid(), 'test.bulky.v1', now(), jsonb_build_object('n', g, 'pad', repeat('x', 4000))"
                " FROM generate_series(1, 2000) g"
            )
        )
        await s.commit()
    async with live_server(demo_database_url) as (host, app):
        app.state.stream_options = StreamOptions(page=100, send_timeout=0.5)
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window, as a congested WAN link
        sock.connect((host.split(":")[0], int(host.split(":")[1])))
        ws = await connect(host, erp_key, "?after=0", max_queue=1, sock=sock, compression=None)
        stats = app.state.stream_stats
        try:
            async with asyncio.timeout(15):
                while stats.slow_disconnects == 0:
                    await asyncio.sleep(0.05)
        finally:
            ws.transport.abort()
        assert stats.max_buffered <= 100
        assert stats.sent < 2000  # it stopped reading PostgreSQL when the socket stopped taking data
        # the client resumes from where it got to
        async with await connect(host, erp_key, "?after=1990") as ws2:
            tail = await receive_events(ws2, 10)
        assert [m["position"] for m in tail] == list(range(1991, 2001))


async def test_a_handheld_user_may_not_open_the_erp_stream(demo_database_url, client):
    headers = await login(client, "picker")
    async with live_server(demo_database_url) as (host, _app):
        with pytest.raises(websockets.exceptions.ConnectionClosed) as refused:
            # with its device, so the refusal is the role's (a picker may not read the ERP stream)
            async with await connect(
                host, headers["Authorization"].split()[1], f"?device_id={headers['X-Device-Id']}"
            ) as ws:
                await ws.recv()
        assert (refused.value.rcvd.code, refused.value.rcvd.reason) == (4403, "permission-denied: role admin required")
        with pytest.raises(websockets.exceptions.ConnectionClosed) as refused:
            async with websockets.connect(f"ws://{host}/api/v1/erp/stream") as ws:
                await ws.recv()
        assert refused.value.rcvd.code == 4401 and refused.value.rcvd.reason.startswith("missing-key")


async def test_a_malformed_after_gets_an_error_and_a_policy_close(demo_database_url, erp_key):
    async with live_server(demo_database_url) as (host, _app):
        async with await connect(host, erp_key, "?after=yesterday") as ws:
            msg = json.loads(await ws.recv())
            assert msg["type"] == "error" and "after" in msg["detail"]
            with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
                await ws.recv()
    assert closed.value.rcvd.code == 1008


@pytest.mark.parametrize(
    ("after", "detail"),
    [
        ("1" * 40, "beyond any position PostgreSQL can hold"),  # used to drop the connection on a DataError
        ("3", "beyond the newest position 2"),  # used to be accepted: the subscriber skipped events 3.. unseen
        (quote("٣"), "ASCII digits"),  # ARABIC-INDIC DIGIT THREE: used to be read as 3
    ],
)
async def test_a_cursor_udipick_never_gave_out_is_refused_with_a_reason_the_client_can_log(
    demo_database_url, demo_db, erp_key, after, detail
):
    await write_events(demo_db, 2)
    async with live_server(demo_database_url) as (host, _app):
        async with await connect(host, erp_key, f"?after={after}&subscriber=cursor") as ws:
            msg = json.loads(await ws.recv())
            assert msg["type"] == "error" and msg["code"] == "invalid-cursor" and detail in msg["detail"]
            assert msg["head"] == 2
            with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
                await ws.recv()
    assert closed.value.rcvd.code == 1008
    assert closed.value.rcvd.reason == "invalid-cursor: after must be 0..2"


async def test_the_example_erp_client_applies_each_event_once_and_acks(demo_database_url, demo_db, erp_key, tmp_path):
    import importlib.util

    from tests.conftest import ROOT

    spec = importlib.util.spec_from_file_location("erp_client_example", ROOT / "docs" / "erp_client_example.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    ids = await write_events(demo_db, 3)
    ledger = example.Ledger(str(tmp_path / "ledger.sqlite"))
    async with live_server(demo_database_url) as (host, app):
        app.state.stream_options = StreamOptions(heartbeat=0.1)
        example.URL, example.KEY = f"ws://{host}", erp_key
        task = asyncio.create_task(example.follow(ledger))

        async def acked() -> int:
            async with demo_db() as s:
                return (
                    await s.scalar(text("SELECT acked_position FROM stream_subscribers WHERE name = 'erp-ledger'")) or 0
                )

        try:
            async with asyncio.timeout(10):
                while await acked() < 3:
                    await asyncio.sleep(0.05)
        finally:
            task.cancel()
    assert [r[0] for r in ledger.db.execute("SELECT event_id FROM applied ORDER BY position")] == ids

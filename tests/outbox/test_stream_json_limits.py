"""A deeply nested message on the ERP stream gets an error and the stream goes on (it used to end the reader)."""

from __future__ import annotations

import json

from sqlalchemy import text

from tests.outbox.conftest import connect, live_server, receive_events, write_events
from tests.outbox.test_stream import _next_control


async def test_a_deep_json_message_gets_an_error_and_later_acks_still_count(demo_database_url, demo_db, erp_key):
    await write_events(demo_db, 3)
    async with live_server(demo_database_url) as (host, _app):
        async with await connect(host, erp_key, "?subscriber=deep") as ws:
            await receive_events(ws, 3)
            await ws.send('{"ack": 1, "x": ' + "[" * 1000 + "]" * 1000 + "}")
            assert "nested more than 64 deep" in (await _next_control(ws, "error"))["detail"]
            await ws.send(json.dumps({"ack": 99}))  # the reader is still there: it answers the next message
            assert "beyond the last position sent" in (await _next_control(ws, "error"))["detail"]
            await ws.send(json.dumps({"ack": 3}))
            await ws.send(json.dumps({"ack": 100}))  # its answer comes after the ack of 3 was taken
            await _next_control(ws, "error")
    async with demo_db() as s:
        assert await s.scalar(text("SELECT acked_position FROM stream_subscribers WHERE name = 'deep'")) == 3

"""Helpers for the ERP-out tests: real servers on 127.0.0.1, real PostgreSQL, test events."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import pytest
import uvicorn
import websockets

from tests.conftest import test_settings
from udipick.db.outbox import add_events
from udipick.domain.access import Actor

ACTOR = Actor(user_id=None, username="tester", device_id="dev-1")


async def write_events(db, n: int, type_: str = "test.happened.v1", start: int = 0) -> list[str]:
    """Commit ``n`` events in one transaction; returns their event ids."""
    async with db() as session:
        ids = await add_events(session, ACTOR, [(type_, {"n": start + i}) for i in range(n)])
        await session.commit()
    return [str(i) for i in ids]


@contextlib.asynccontextmanager
async def live_server(database_url: str, **settings) -> AsyncIterator[tuple[str, object]]:
    """The real app under uvicorn on a free port, in this event loop; yields (base url, app)."""
    from udipick.api.app import create_app

    app = create_app(test_settings(**settings), database_url=database_url)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", ws_ping_interval=None)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


@pytest.fixture
async def erp_key(demo_db) -> str:
    from udipick.services.identity import add_api_key

    return await add_api_key(demo_db, "erp-stream", ["erp:read"])


@pytest.fixture
async def admin_key(demo_db) -> str:
    from udipick.services.identity import add_api_key

    return await add_api_key(demo_db, "erp-admin", ["admin"])


async def connect(host: str, key: str, query: str = "", **kw):
    return await websockets.connect(
        f"ws://{host}/api/v1/erp/stream{query}", additional_headers={"Authorization": f"Bearer {key}"}, **kw
    )


async def receive_events(ws, count: int, timeout: float = 10.0) -> list[dict]:
    """Read until ``count`` events arrived (control messages are skipped)."""
    out: list[dict] = []
    async with asyncio.timeout(timeout):
        while len(out) < count:
            msg = json.loads(await ws.recv())
            if "position" in msg:
                out.append(msg)
    return out

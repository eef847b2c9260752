"""Helpers for the ERP-out tests: real servers on 127.0.0.1, real PostgreSQL, test events."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import pytest
import uvicorn
import websockets

# wait_until moved to tests/conftest.py; the outbox tests still import it from here
from tests.conftest import test_settings, wait_until  # noqa: F401
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
    async with asyncio.timeout(30):  # a start-up that hangs (lifespan, PostgreSQL) fails the test instead of hanging it
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


class Receiver:
    """A real HTTP/1.1 server on 127.0.0.1 standing in for the ERP's webhook endpoint.

    ``behaviour(request_number, body) -> (status, delay)`` decides each answer; every request that
    arrived (answered or not) is recorded in ``requests`` as ``(headers, body, status)``.
    """

    def __init__(self, behaviour=None, port: int = 0) -> None:
        self.behaviour = behaviour or (lambda n, body: (200, 0.0))
        self.port = port
        self.requests: list[tuple[dict[str, str], bytes, int]] = []
        self._server: asyncio.base_events.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/erp/hooks"

    async def start(self) -> Receiver:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode().split("\r\n")
                headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                status, delay = self.behaviour(len(self.requests), body)
                self.requests.append((headers, body, status))
                if delay:  # part of the scenario: a receiver that answers slowly on purpose
                    await asyncio.sleep(delay)
                writer.write(f"HTTP/1.1 {status} X\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok".encode())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    def accepted(self) -> list[dict]:
        """Bodies the receiver answered with 2xx, in arrival order."""
        return [json.loads(b) for _, b, status in self.requests if 200 <= status < 300]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def make_subscription(
    db, url: str, *, name: str = "erp", event_types=(), max_attempts: int = 12, from_position=None
):
    from udipick.services import webhooks

    async with db() as session:
        sub = await webhooks.create_subscription(
            session,
            name=name,
            url=url,
            event_types=list(event_types),
            max_attempts=max_attempts,
            from_position=from_position,
        )
        await session.commit()
    return sub


@contextlib.asynccontextmanager
async def running_relay(database_url: str, **options):
    from udipick.integrations.relay import RelayOptions, relay_in_background

    # the Receiver listens on 127.0.0.1
    defaults = dict(
        backoff_base=0.05,
        backoff_cap=0.2,
        timeout=0.5,
        lease_seconds=5.0,
        poll_interval=0.2,
        allow_loopback_targets=True,
    )
    async with relay_in_background(database_url, RelayOptions(**{**defaults, **options})) as relay:
        yield relay

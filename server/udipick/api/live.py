"""``GET /api/v1/live`` (WebSocket, supervisor and admin): the floor as a snapshot, then every change.

The message format is ``docs/live.md``. The changes are the outbox events after the snapshot's position
(``services/live.py`` says why), so a scan answered by any server process reaches every live client of
every process, in commit order.

One ``LiveFeed`` per server process serves all of its live clients: one reader follows the outbox by
position a page at a time, keeps the floor (``services.live.Floor``) and encodes each page's changes once;
every client gets the same frames through its own queue, written to its socket by its own task, so a slow
socket delays nobody else and no pool connection is held while a frame is sent. A second task re-reads, at
most once a second, the progress of the order lines the changes touched, and asks for resolutions and for
the handhelds offline with scans waiting: it never delays the changes. A client that stops reading is closed
after ``send_timeout`` seconds, or once ``max_queued`` frames wait for it (1013): it reconnects and gets a new
snapshot. The feed stops with its last client and is loaded afresh with the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from dataclasses import dataclass

from litestar import WebSocket, websocket
from litestar.datastructures import State
from litestar.exceptions import WebSocketDisconnect

from udipick.api.deps import allow
from udipick.api.stream import CLOSE_TRY_AGAIN, hub_for
from udipick.db.pg import connection as pg_connection
from udipick.domain.errors import DatabaseUnavailable
from udipick.services import live
from udipick.services.outbox import ENCODER, OutboxHub

log = logging.getLogger(__name__)


@dataclass
class LiveOptions:
    page: int = 500
    #: resolutions and offline handhelds are looked for this often (seconds)
    tick: float = 1.0
    #: progress of the order lines changes touched is re-read at most this often (seconds)
    progress_every: float = 1.0
    heartbeat: float = 15.0
    send_timeout: float = 30.0
    #: a client with this many frames not yet written to its socket is closed (it reconnects)
    max_queued: int = 2000


def live_options(state) -> LiveOptions:
    if not hasattr(state, "live_options"):
        state.live_options = LiveOptions()
    return state.live_options


class _TooSlow(Exception):
    pass


#: put in a client's queue: the feed stopped or the client fell too far behind; close it
_CLOSE = object()


class _Client:
    def __init__(self) -> None:
        self.queue: asyncio.Queue = asyncio.Queue()


class LiveFeed:
    """The live view of one server process: one reader for every live client (see the module's docstring)."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.options = live_options(state)
        self.clients: set[_Client] = set()
        self.floor: live.Floor | None = None
        self.tasks: list[asyncio.Task] = []
        self._starting = asyncio.Lock()

    async def subscribe(self) -> _Client:
        """A new client whose queue starts with a snapshot of the floor; the frames after it are the changes
        after the snapshot's head. Raises ``DatabaseUnavailable`` when the floor cannot be loaded."""
        async with self._starting:
            if self.floor is None:
                hub = await hub_for(self.state)
                floor = live.Floor()
                async with pg_connection(self.state.db) as conn:
                    await floor.load(conn, hub.head)
                self.floor = floor
                self.tasks = [
                    asyncio.create_task(self._follow(hub, floor), name="udipick-live-follow"),
                    asyncio.create_task(self._tick(floor), name="udipick-live-tick"),
                ]
            # nothing is awaited from here on: no page can be applied between the snapshot and the subscription
            client = _Client()
            client.queue.put_nowait(ENCODER.encode(self.floor.snapshot(dt.datetime.now(dt.UTC))).decode())
            self.clients.add(client)
            return client

    def unsubscribe(self, client: _Client) -> None:
        self.clients.discard(client)
        if not self.clients:
            self.stop()

    def stop(self) -> None:
        for t in self.tasks:
            t.cancel()
        self.tasks = []
        self.floor = None
        for client in self.clients:
            client.queue.put_nowait(_CLOSE)
        self.clients = set()

    def _broadcast(self, message: object) -> None:
        frame = ENCODER.encode(message).decode()  # once, for every client
        for client in list(self.clients):
            if client.queue.qsize() >= self.options.max_queued:
                self.clients.discard(client)
                client.queue.put_nowait(_CLOSE)
            else:
                client.queue.put_nowait(frame)

    async def _follow(self, hub: OutboxHub, floor: live.Floor) -> None:
        options = self.options
        try:
            while True:
                head = await hub.wait_beyond(floor.position, options.heartbeat)
                if head <= floor.position:
                    continue
                try:
                    async with pg_connection(self.state.db) as conn:
                        rows = await live.read_changes(conn, floor.position, options.page)
                except DatabaseUnavailable:
                    await asyncio.sleep(1.0)  # PostgreSQL is restarting: go on from the same position once back
                    continue
                changes = floor.apply(rows)
                # positions are gap-free in commit order: a short page holds every followed event up to the
                # head the hub had announced (or further, when the sequencer moved on meanwhile)
                full = len(rows) == options.page
                floor.position = rows[-1][0] if full else max(head, rows[-1][0] if rows else 0)
                if changes:
                    # one frame per page read: under load a frame per change cost the event loop a turn each
                    self._broadcast(live.Changes(changes))
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a bug must not leave clients waiting for changes that never come
            log.exception("live feed stopped")
            self.stop()

    async def _tick(self, floor: live.Floor) -> None:
        options = self.options
        loop = asyncio.get_running_loop()
        last_tick = loop.time()
        try:
            while True:
                await asyncio.sleep(min(options.progress_every, options.tick))
                try:
                    async with pg_connection(self.state.db) as conn:
                        progress = await floor.refresh_progress(conn)
                        now = loop.time()
                        resolved: list = []
                        devices = None
                        if now >= last_tick + options.tick:
                            last_tick = now
                            resolved = await floor.resolutions(conn)
                            devices = await floor.devices_changed(conn)
                except DatabaseUnavailable:
                    continue  # the touched lines are read again with the next changes; resolutions next time
                for message in (progress, *resolved, devices):
                    if message is not None:
                        self._broadcast(message)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - as in _follow
            log.exception("live feed stopped")
            self.stop()


def live_feed(state: State) -> LiveFeed:
    if getattr(state, "live_feed", None) is None:
        state.live_feed = LiveFeed(state)
    return state.live_feed


@websocket("/api/v1/live", name="live", **allow("supervisor", "admin"))
async def live_floor(socket: WebSocket) -> None:
    state = socket.app.state
    options = live_options(state)
    feed = live_feed(state)
    await socket.accept()
    try:
        client = await feed.subscribe()
    except DatabaseUnavailable:
        await socket.send_text(ENCODER.encode({"type": "error", "code": "database-unavailable"}).decode())
        await socket.close(code=CLOSE_TRY_AGAIN, reason="database-unavailable: reconnect in a few seconds")
        return

    async def write() -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                async with asyncio.timeout(options.heartbeat):
                    frame = await client.queue.get()
            except TimeoutError:
                floor = feed.floor
                frame = ENCODER.encode({"type": "heartbeat", "head": floor.position if floor else 0}).decode()
            if frame is _CLOSE:
                raise _TooSlow
            # a deadline, not ``wait_for``: a task per frame costs a turn of the event loop each under load
            deadline = loop.time() + options.send_timeout
            async with asyncio.timeout_at(deadline):
                await socket.send_text(frame)

    async def drain() -> None:
        while True:  # the client sends nothing the server needs; reading notices it leaving
            await socket.receive_data(mode="text")

    tasks = [asyncio.create_task(f()) for f in (write, drain)]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for t in done:
            exc = t.exception()
            if isinstance(exc, (asyncio.TimeoutError, _TooSlow)):
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(socket.close(code=CLOSE_TRY_AGAIN, reason="too slow; reconnect"), 1)
            elif exc is not None and not isinstance(exc, (WebSocketDisconnect, OSError)):
                log.error("live client: %r", exc)
    finally:
        feed.unsubscribe(client)
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(BaseException):
                await t

"""``GET /api/v1/live`` (WebSocket, supervisor and admin): the floor as a snapshot, then every change.

The message format is ``docs/live.md``. The changes are the outbox events after the snapshot's position
(``services/live.py`` says why), so a scan answered by any server process reaches every live client of
every process, in commit order; once a second each client also asks for resolutions of the exceptions
it showed open and for the handhelds offline with scans waiting. A client that stops reading is closed
after ``send_timeout`` seconds (1013): it reconnects and gets a new snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from udipick.api.deps import allow
from udipick.api.stream import CLOSE_TRY_AGAIN, hub_for
from udipick.db.pg import connection as pg_connection
from udipick.domain.errors import DatabaseUnavailable
from udipick.services import live
from udipick.services.outbox import ENCODER

log = logging.getLogger(__name__)


@dataclass
class LiveOptions:
    page: int = 500
    #: resolutions and offline handhelds are looked for this often (seconds)
    tick: float = 1.0
    #: progress of the waves a change touched is re-read at most this often (seconds)
    progress_every: float = 1.0
    heartbeat: float = 15.0
    send_timeout: float = 30.0


def live_options(state) -> LiveOptions:
    if not hasattr(state, "live_options"):
        state.live_options = LiveOptions()
    return state.live_options


@websocket("/api/v1/live", name="live", **allow("supervisor", "admin"))
async def live_floor(socket: WebSocket) -> None:
    state = socket.app.state
    db = state.db
    options = live_options(state)
    await socket.accept()
    hub = await hub_for(state)
    view = live.LiveView()

    async def send(message: object) -> None:
        # a deadline, not ``wait_for``: a task per message costs a turn of the event loop each under load
        async with asyncio.timeout(options.send_timeout):
            await socket.send_text(ENCODER.encode(message).decode())

    try:
        async with pg_connection(db) as conn:
            position = hub.head
            snap = await live.snapshot(conn, position, view)
    except DatabaseUnavailable:
        await socket.send_text(ENCODER.encode({"type": "error", "code": "database-unavailable"}).decode())
        await socket.close(code=CLOSE_TRY_AGAIN, reason="database-unavailable: reconnect in a few seconds")
        return
    await send(snap)

    async def follow() -> None:
        nonlocal position
        loop = asyncio.get_running_loop()
        touched_tasks: set[int] = set()
        touched_waves: set[int] = set()
        last_progress = last_tick = last_sent = loop.time()
        while True:
            due = last_tick + options.tick
            if touched_tasks or touched_waves:
                due = min(due, last_progress + options.progress_every)
            head = await hub.wait_beyond(position, max(0.0, due - loop.time()))
            try:
                async with pg_connection(db) as conn:
                    while head > position:
                        rows = await live.read_changes(conn, position, options.page)
                        changes = []
                        for row in rows:
                            change, task_id, wave_id = live.change_of(row, view)
                            changes.append(change)
                            if task_id is not None:
                                touched_tasks.add(task_id)
                            if wave_id is not None:
                                touched_waves.add(wave_id)
                        if changes:
                            # one frame per page read: under load a frame per change cost the event loop a
                            # turn each, and the view fell a minute behind 400 scans a second
                            await send(live.Changes(changes))
                        # positions are gap-free in commit order: a short page holds every followed event up to
                        # the head the hub had announced (or further, when the sequencer moved on meanwhile)
                        position = rows[-1][0] if len(rows) == options.page else max(head, rows[-1][0] if rows else 0)
                        last_sent = loop.time()
                    now = loop.time()
                    if (touched_tasks or touched_waves) and now >= last_progress + options.progress_every:
                        message = await live.progress(conn, touched_tasks, touched_waves)
                        touched_tasks.clear()
                        touched_waves.clear()
                        last_progress = now
                        await send(message)
                    if now >= last_tick + options.tick:
                        last_tick = now
                        for resolved in await live.resolutions(conn, view):
                            await send(resolved)
                        if (devices := await live.devices_changed(conn, view)) is not None:
                            await send(devices)
            except DatabaseUnavailable:
                await asyncio.sleep(1.0)  # PostgreSQL is restarting: go on from the same position once it is back
                continue
            if loop.time() - last_sent >= options.heartbeat:
                last_sent = loop.time()
                await send({"type": "heartbeat", "head": position})

    async def drain() -> None:
        while True:  # the client sends nothing the server needs; reading notices it leaving
            await socket.receive_data(mode="text")

    tasks = [asyncio.create_task(f()) for f in (follow, drain)]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for t in done:
            exc = t.exception()
            if isinstance(exc, asyncio.TimeoutError):
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(socket.close(code=CLOSE_TRY_AGAIN, reason="too slow; reconnect"), 1)
            elif exc is not None and not isinstance(exc, (WebSocketDisconnect, OSError)):
                log.error("live client: %r", exc)
    finally:
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(BaseException):
                await t

"""``GET /api/v1/erp/stream`` (WebSocket): every event, in position order, live.

Protocol (JSON text frames):

- server → client, first: ``{"type": "hello", "subscriber", "resumeFrom", "head"}``
- server → client, events: ``{"position", "eventId", "type", "occurredAt", "user", "device", "data"}``
- server → client, when idle: ``{"type": "heartbeat", "head", "sent"}`` every ``heartbeat`` seconds
- client → server: ``{"ack": <position>}``: udipick keeps the highest ack per subscriber
  (API key + ``?subscriber=`` name), and a reconnect without ``?after=`` resumes after it.

``after`` must be a position udipick gave out: ASCII digits, 0 to the newest position. Anything else
gets an error frame (``code: invalid-cursor``, ``detail``, ``head``) and a close with 1008 and the
reason ``invalid-cursor: after must be 0..<head>``.

While PostgreSQL restarts, an open stream stays open and goes on from where it was once PostgreSQL is
back; a connect during the outage is closed with 1013 (``database-unavailable``): reconnect to resume.

Delivery is at least once: after a reconnect the client may see events it had received but
not acked; they carry the same ``eventId`` and ``position``.

Back-pressure: the server reads a page of events from PostgreSQL only when the previous page was
written to the socket; a client that stops reading makes ``send`` block, and after
``send_timeout`` seconds the server closes with 1013 (try again later). Memory per subscriber is
one page, however far behind it is — the backlog stays in PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

import msgspec
from litestar import WebSocket, websocket
from litestar.datastructures import State
from litestar.exceptions import WebSocketDisconnect

from udipick.api.deps import allow
from udipick.db.pg import is_disconnect, unavailable
from udipick.domain.access import Actor
from udipick.domain.errors import DatabaseUnavailable, InvalidCursor
from udipick.domain.json_input import MAX_JSON_DEPTH, too_deep
from udipick.domain.problem import problem_body
from udipick.services import outbox
from udipick.services.outbox import ENCODER, OutboxHub

log = logging.getLogger(__name__)

CLOSE_TRY_AGAIN = 1013
CLOSE_POLICY = 1008


@dataclass
class StreamOptions:
    page: int = 500
    heartbeat: float = 15.0
    send_timeout: float = 30.0
    #: while PostgreSQL is away, a subscriber's reads are retried with backoff up to this many seconds apart
    reconnect_cap: float = 2.0


@dataclass
class StreamStats:
    """Process-local figures for ``/metrics``."""

    connected: int = 0
    sent: int = 0
    slow_disconnects: int = 0
    buffered: int = 0  # events read from PostgreSQL and not yet written to a socket, all subscribers
    max_buffered: int = 0


class _Ack(msgspec.Struct):
    ack: int


_ack_decoder = msgspec.json.Decoder(_Ack)


def stream_options(state: State) -> StreamOptions:
    if not hasattr(state, "stream_options"):
        state.stream_options = StreamOptions()
    return state.stream_options


def stream_stats(state: State) -> StreamStats:
    if not hasattr(state, "stream_stats"):
        state.stream_stats = StreamStats()
    return state.stream_stats


async def hub_for(state: State) -> OutboxHub:
    """The process's hub (started with the app; here also on first use)."""
    if getattr(state, "outbox_hub", None) is None:
        state.outbox_hub = OutboxHub(outbox.asyncpg_dsn(state.engine.url.render_as_string(hide_password=False)))
    hub: OutboxHub = state.outbox_hub
    await hub.start()
    return hub


async def stop_hub(state: State) -> None:
    hub = getattr(state, "outbox_hub", None)
    if hub is not None:
        await hub.stop()
        state.outbox_hub = None


def subscriber_owner(actor: Actor) -> str:
    return f"key:{actor.api_key_id}" if actor.api_key_id is not None else f"user:{actor.username}"


def _subscriber_name(socket: WebSocket) -> str | None:
    name = socket.query_params.get("subscriber") or "default"
    if len(name) > 64 or not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
        return None
    return name


async def _refuse(socket: WebSocket, message: dict, *, code: int, reason: str) -> None:
    """An error frame the client can show, then a close whose reason it can log (at most 123 bytes)."""
    await socket.send_text(ENCODER.encode({"type": "error", **message}).decode())
    await socket.close(code=code, reason=reason.encode()[:123].decode(errors="ignore"))


@websocket("/api/v1/erp/stream", name="erp_stream", **allow("admin", scopes=("erp:read",)))
async def erp_stream(socket: WebSocket) -> None:
    """Replay from ``after`` (or the subscriber's acked cursor), then follow live."""
    state = socket.app.state
    options = stream_options(state)
    stats = stream_stats(state)
    actor: Actor = socket.state.actor
    await socket.accept()
    name = _subscriber_name(socket)
    if name is None:
        detail = "subscriber must be 1-64 letters, digits, '-', '_' or '.'"
        await _refuse(socket, {"detail": detail}, code=CLOSE_POLICY, reason=detail)
        return
    raw_after = socket.query_params.get("after")
    db = state.db
    try:
        subscriber_id, acked, after = await outbox.open_stream(db, subscriber_owner(actor), name, raw_after)
    except InvalidCursor as refused:
        body = problem_body(refused)
        await _refuse(
            socket,
            {k: v for k, v in body.items() if k not in ("type", "title", "status")},
            code=CLOSE_POLICY,
            reason=f"{refused.code}: after must be 0..{refused.context['head']}",
        )
        return
    except Exception as exc:
        if not is_disconnect(exc):
            raise
        # PostgreSQL is restarting: tell the client to come back, as it does after a slow-consumer close
        detail = unavailable(exc).message
        await _refuse(
            socket,
            {"code": "database-unavailable", "detail": detail},
            code=CLOSE_TRY_AGAIN,
            reason="database-unavailable: reconnect in a few seconds to resume",
        )
        return
    hub = await hub_for(state)
    cursor = acked if after is None else after
    await socket.send_text(
        ENCODER.encode({"type": "hello", "subscriber": name, "resumeFrom": cursor, "head": hub.head}).decode()
    )
    sent = {"upto": cursor}
    acks = {"value": acked, "flushed": acked}
    ack_ready = asyncio.Event()
    stats.connected += 1

    async def send_loop() -> None:
        position = cursor
        outage = 0.0
        while True:
            try:
                events = await outbox.read_page(db, position, options.page)
            except DatabaseUnavailable:
                # PostgreSQL is restarting: keep the subscriber and read again from where it is once it is
                # back (the hot pool reconnects; the hub's LISTEN connection too, with its own backoff)
                outage = min(max(outage * 2, 0.1), options.reconnect_cap)
                await asyncio.sleep(outage)
                continue
            outage = 0.0
            if not events:
                head = await hub.wait_beyond(position, options.heartbeat)
                if head <= position:
                    await asyncio.wait_for(
                        socket.send_text(
                            ENCODER.encode({"type": "heartbeat", "head": head, "sent": position}).decode()
                        ),
                        options.send_timeout,
                    )
                continue
            stats.buffered += len(events)
            stats.max_buffered = max(stats.max_buffered, stats.buffered)
            try:
                # one deadline for the page, not a task per message: under load every extra task costs
                # the stream a turn of the event loop, which had held it to about 30 messages a second
                async with asyncio.timeout(options.send_timeout):
                    for ev in events:
                        # counted as sent before the write returns: a quick client can ack it while
                        # this task still waits for the drain, and that ack must not be refused
                        sent["upto"] = ev.position
                        await socket.send_text(ENCODER.encode(ev).decode())
                        stats.sent += 1
                        position = ev.position
            finally:
                stats.buffered -= len(events)

    async def receive_loop() -> None:
        while True:
            raw = await socket.receive_data(mode="text")
            if too_deep(raw):  # the decoder would recurse into it before seeing it is not an ack
                detail = f'JSON nested more than {MAX_JSON_DEPTH} deep; send {{"ack": <position>}}'
                await socket.send_text(ENCODER.encode({"type": "error", "detail": detail}).decode())
                continue
            try:
                value = _ack_decoder.decode(raw).ack
            except (msgspec.ValidationError, msgspec.DecodeError):
                await socket.send_text(ENCODER.encode({"type": "error", "detail": 'send {"ack": <position>}'}).decode())
                continue
            if value > sent["upto"]:
                await socket.send_text(
                    ENCODER.encode(
                        {"type": "error", "detail": f"ack {value} is beyond the last position sent ({sent['upto']})"}
                    ).decode()
                )
                continue
            if value > acks["value"]:
                acks["value"] = value
                ack_ready.set()

    async def flush(value: int) -> None:
        async with db() as session:
            await outbox.ack(session, subscriber_id, value)
        acks["flushed"] = value

    async def ack_loop() -> None:
        # coalesce acks: one UPDATE per 50 ms at most, however often the client acks
        while True:
            await ack_ready.wait()
            ack_ready.clear()
            try:
                await flush(acks["value"])
            except Exception as exc:
                if not is_disconnect(exc):
                    raise
                ack_ready.set()  # PostgreSQL is away: the ack is kept and written once it is back
                await asyncio.sleep(options.reconnect_cap)
                continue
            await asyncio.sleep(0.05)

    tasks = [asyncio.create_task(f()) for f in (send_loop, receive_loop, ack_loop)]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for t in done:
            exc = t.exception()
            if isinstance(exc, asyncio.TimeoutError):
                stats.slow_disconnects += 1
                log.warning(
                    "stream subscriber %s/%s too slow: closing, it resumes from its ack", subscriber_owner(actor), name
                )
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(
                        socket.close(code=CLOSE_TRY_AGAIN, reason="too slow; reconnect to resume from your ack"), 1
                    )
            elif exc is not None and not isinstance(exc, (WebSocketDisconnect, OSError)):
                log.error("stream subscriber %s/%s: %r", subscriber_owner(actor), name, exc)
    finally:
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(BaseException):
                await t
        stats.connected -= 1
        if acks["value"] > acks["flushed"]:
            with contextlib.suppress(Exception):
                await flush(acks["value"])

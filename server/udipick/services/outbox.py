"""The outbox as a stream: sequencing, reading by position, subscriber cursors, and the per-process hub.

Workflows only ``emit`` events in their own transaction (``services/events.py``). From there:

1. The sequencer (SQL function ``udipick_sequence_outbox``, migration 0003) numbers committed rows
   gap-free in commit-safe order. Any process may run it; an advisory lock serialises them.
2. ``OutboxHub`` (one per process) runs the sequencer when this process committed events
   (``wake_sequencer``, called after the commit) and every ``poll_interval`` for rows other processes
   wrote (rows from a process that runs no hub wait at most this long), and LISTENs on ``udipick_positions`` (positions were assigned: wake readers). Because that
   is PostgreSQL NOTIFY, an event written through one server process wakes readers in all of them.
   Writers do not NOTIFY themselves: PostgreSQL serialises every notifying commit behind one lock,
   so notifying writers cannot commit in parallel; one NOTIFY per sequenced batch costs nothing.
3. Readers (WebSocket stream, batch NDJSON, EPCIS, the webhook relay) read ``position > cursor``
   in pages, so a slow reader costs a page of memory, never the backlog.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import uuid
import weakref
from collections.abc import Callable

import asyncpg
import msgspec
from sqlalchemy import event as sa_event
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from udipick.db.pg import connection as pg_connection
from udipick.domain.cursor import parse_cursor

log = logging.getLogger(__name__)

NOTIFY_POSITIONS = "udipick_positions"

#: hubs running in this process; ``wake_sequencer`` pokes them after a commit that wrote events
_LOCAL_HUBS: weakref.WeakSet[OutboxHub] = weakref.WeakSet()


def wake_sequencer() -> None:
    """This process committed outbox rows: let its hub(s) number them now instead of at the next poll."""
    for hub in list(_LOCAL_HUBS):
        hub.poke()


def _after_commit(session) -> None:  # SQLAlchemy ``after_commit`` on every session
    if session.info.pop("udipick.outbox_written", False):
        wake_sequencer()


sa_event.listen(Session, "after_commit", _after_commit)


class StreamEvent(msgspec.Struct, rename="camel"):
    """One event as the ERP receives it (WebSocket message, webhook body, NDJSON line)."""

    position: int
    event_id: uuid.UUID
    type: str
    occurred_at: dt.datetime
    user: str | None
    device: str | None
    data: msgspec.Raw


ENCODER = msgspec.json.Encoder()

_COLUMNS = "SELECT position, event_id, type, occurred_at, username, device_id, data::text AS data FROM outbox_events"
_READ = text(_COLUMNS + " WHERE position > :after ORDER BY position LIMIT :limit")
_READ_RAW = _COLUMNS + " WHERE position > $1 ORDER BY position LIMIT $2"


def _event(row) -> StreamEvent:
    """A row of ``_COLUMNS`` (a SQLAlchemy row or an asyncpg record) as the ERP receives it."""
    position, event_id, type_, occurred_at, username, device_id, data = row
    return StreamEvent(
        position=position,
        event_id=event_id,
        type=type_,
        occurred_at=occurred_at,
        user=username,
        device=device_id,
        data=msgspec.Raw(data.encode()),
    )


def like_patterns(types: list[str] | tuple[str, ...]) -> list[str]:
    """Event-type filters (``pick.confirmed.v1``, ``pick.*``) as SQL LIKE patterns."""
    out = []
    for t in types:
        out.append(t.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").replace("*", "%"))
    return out


async def read_after_conn(conn: asyncpg.Connection, after: int, limit: int) -> list[StreamEvent]:
    """``read_after`` on a plain asyncpg connection: one statement, no transaction around it (the
    stream reads a page every few milliseconds under load)."""
    return [_event(r) for r in await conn.fetch(_READ_RAW, after, limit)]


async def read_after(session: AsyncSession, after: int, limit: int) -> list[StreamEvent]:
    """Sequenced events with ``position > after``, in position order."""
    rows = (await session.execute(_READ, {"after": after, "limit": limit})).all()
    return [_event(r) for r in rows]


async def sequence(session: AsyncSession) -> tuple[int, int, int]:
    """Run the sequencer once and commit: ``(assigned, head, waiting)``."""
    row = (await session.execute(text("SELECT assigned, head, waiting FROM udipick_sequence_outbox()"))).one()
    await session.commit()
    return row.assigned, row.head, row.waiting


async def sequence_now(db: async_sessionmaker, *, attempts: int = 20) -> int:
    """Sequence until nothing committed waits (or ``attempts`` tries); returns the head.

    Used by pull readers (batch NDJSON, EPCIS) so they do not depend on a hub running somewhere.
    """
    head = 0
    for i in range(attempts):
        async with db() as session:
            _assigned, head, waiting = await sequence(session)
        if not waiting:
            break
        await asyncio.sleep(min(0.002 * 2**i, 0.05))
    return head


#: the highest position given, from the end of the position index (migration 0007). Not ``max(position)``:
#: a cached plan for that made while the outbox was empty reads the whole index on every call
HEAD = "SELECT udipick_outbox_head()"
#: events not numbered yet and the oldest one's time, from the partial index of unsequenced rows
BACKLOG = "SELECT unsequenced, oldest FROM udipick_outbox_backlog()"


async def head_position(session: AsyncSession) -> int:
    return int(await session.scalar(text(HEAD)) or 0)


# ---- WebSocket subscriber cursors ---------------------------------------------------------------


async def open_subscriber(session: AsyncSession, owner: str, name: str) -> tuple[int, int]:
    """Register (or find) a subscriber; returns ``(subscriber id, acked position)``."""
    row = (
        await session.execute(
            text(
                "INSERT INTO stream_subscribers (owner, name, connected_at) VALUES (:o, :n, now())"
                " ON CONFLICT (owner, name) DO UPDATE SET connected_at = now()"
                " RETURNING id, acked_position"
            ),
            {"o": owner, "n": name},
        )
    ).one()
    await session.commit()
    return row.id, row.acked_position


async def ack(session: AsyncSession, subscriber_id: int, position: int) -> None:
    """Cursors only move forward: a late, smaller ack never rewinds a subscriber."""
    await session.execute(
        text(
            "UPDATE stream_subscribers SET acked_position = GREATEST(acked_position, :p), acked_at = now() WHERE id = :id"
        ),
        {"p": position, "id": subscriber_id},
    )
    await session.commit()


class StreamSubscriberOut(msgspec.Struct, rename="camel"):
    """A WebSocket subscriber (API key or user + ``?subscriber=`` name) and how far behind it is."""

    owner: str
    name: str
    acked_position: int
    lag: int


async def stream_subscribers(db: async_sessionmaker) -> list[StreamSubscriberOut]:
    async with db() as session:
        head = await head_position(session)
        rows = (
            await session.execute(
                text("SELECT owner, name, acked_position FROM stream_subscribers ORDER BY owner, name")
            )
        ).all()
    return [StreamSubscriberOut(r.owner, r.name, r.acked_position, max(0, head - r.acked_position)) for r in rows]


async def open_stream(
    db: async_sessionmaker, owner: str, name: str, raw_after: str | None
) -> tuple[int, int, int | None]:
    """A WebSocket subscriber connects: ``(subscriber id, acked position, after)``, ``after`` being the
    position the client asked to start from (``None``: resume after its ack).

    A position udipick never gave out is refused (``InvalidCursor``) before the subscriber is recorded,
    not read generously: beyond the head, the subscriber would skip every event up to it unnoticed.
    """
    async with db() as session:
        head = await head_position(session)
        after = None if raw_after in (None, "") else parse_cursor(raw_after, head=head)
        subscriber_id, acked = await open_subscriber(session, owner, name)
    return subscriber_id, acked, after


async def read_page(db: async_sessionmaker, after: int, limit: int) -> list[StreamEvent]:
    """``read_after`` on a connection of the hot pool, outside any transaction (see ``read_after_conn``).
    While PostgreSQL is away this raises ``DatabaseUnavailable``."""
    async with pg_connection(db) as conn:
        return await read_after_conn(conn, after, limit)


# ---- pulls: NDJSON and EPCIS ----------------------------------------------------------------------


class EventPage(msgspec.Struct):
    """One page of a pull: the events, and the cursor to send as ``after`` for the next page."""

    events: list[StreamEvent]
    next_after: int


async def events_after(db: async_sessionmaker, after: str, limit: int) -> EventPage:
    """The page of events after the position ``after`` names (``domain.cursor`` rules), sequencing first
    so a pull does not depend on a hub running somewhere."""
    head = await sequence_now(db)
    position = parse_cursor(after, head=head)
    async with db() as session:
        events = await read_after(session, position, limit)
    return EventPage(events, events[-1].position if events else position)


# ---- the per-process hub -------------------------------------------------------------------------


def asyncpg_dsn(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)


class OutboxHub:
    """One LISTEN connection per process: runs the sequencer when rows arrive and tracks the head.

    Readers call ``wait_beyond(position, timeout)``; the hub holds no events itself, only the head
    position, so its memory does not depend on how far behind any reader is.
    """

    #: the sequencer runs at most once per this many seconds (it numbers every waiting row each time)
    MIN_INTERVAL = 0.008

    def __init__(self, dsn: str, *, run_sequencer: bool = True, poll_interval: float = 0.1) -> None:
        self.dsn = dsn
        self.run_sequencer = run_sequencer
        self.poll_interval = poll_interval
        self.head = 0
        self.waiting = 0
        self._moved = asyncio.Event()
        self._inserted = asyncio.Event()
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task | None = None
        self._started = asyncio.Event()
        self._stopping = False
        self.listeners: list = []  # callbacks(head) for the relay
        self._loop: asyncio.AbstractEventLoop | None = None
        #: other channels sharing this connection (``listen``): channel -> (on_payload, on_listening)
        self._channels: dict[str, tuple[Callable[[str], None], Callable[[bool], None]]] = {}
        self._connecting = asyncio.Lock()

    @property
    def connected(self) -> bool:
        """Whether the LISTEN connection is up (``/readyz``); while it is not, ``_run`` reconnects with backoff."""
        return self._conn is not None and not self._conn.is_closed()

    def poke(self) -> None:
        """Rows were committed in this process (any thread): sequence soon."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._inserted.set()
        else:
            loop.call_soon_threadsafe(self._inserted.set)

    async def start(self) -> None:
        if self._task is None:
            self._loop = asyncio.get_running_loop()
            _LOCAL_HUBS.add(self)
            self._task = asyncio.create_task(self._run(), name="udipick-outbox-hub")
        await asyncio.wait_for(self._started.wait(), timeout=30)

    async def stop(self) -> None:
        self._stopping = True
        _LOCAL_HUBS.discard(self)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self._close()

    async def _close(self) -> None:
        if self._conn is not None:
            self._lost(self._conn)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._conn.close(), timeout=2)
            self._conn = None

    async def listen(
        self, channel: str, on_payload: Callable[[str], None], on_listening: Callable[[bool], None]
    ) -> None:
        """LISTEN on ``channel`` too, on this hub's connection (one per process, reconnected by the hub).

        ``on_listening(True)`` each time the connection listens on it (now, if connected, and after every
        reconnect); ``on_listening(False)`` as soon as the connection is lost or closed: whatever was
        notified meanwhile is missed, so the caller must not trust anything those notifications would
        have corrected until the next ``True``.
        """
        async with self._connecting:
            self._channels[channel] = (on_payload, on_listening)
            conn = self._conn
            if conn is not None and not conn.is_closed():
                await conn.add_listener(channel, self._on_channel)
                on_listening(True)

    def _on_channel(self, _conn, _pid, channel: str, payload: str) -> None:
        entry = self._channels.get(channel)
        if entry is not None:
            entry[0](payload)

    def _lost(self, conn) -> None:
        # an older connection's late termination call must not undo a newer connection's ``True``
        if self._conn is conn or self._conn is None:
            for _, on_listening in self._channels.values():
                on_listening(False)

    def _set_head(self, head: int) -> None:
        if head > self.head:
            self.head = head
            moved, self._moved = self._moved, asyncio.Event()
            moved.set()
            for cb in self.listeners:
                cb(head)

    def _on_notify(self, _conn, _pid, channel: str, payload: str) -> None:
        if channel == NOTIFY_POSITIONS:
            with contextlib.suppress(ValueError):
                self._set_head(int(payload))

    async def wait_beyond(self, position: int, timeout: float) -> int:
        """Return as soon as the head passes ``position``, or after ``timeout``; returns the head."""
        if self.head > position:
            return self.head
        moved = self._moved
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(moved.wait(), timeout)
        return self.head

    async def _connect(self) -> None:
        async with self._connecting:
            conn = await asyncpg.connect(self.dsn, server_settings={"application_name": "udipick-outbox-hub"})
            await conn.add_listener(NOTIFY_POSITIONS, self._on_notify)
            for channel in self._channels:
                await conn.add_listener(channel, self._on_channel)
            conn.add_termination_listener(self._lost)
            self._conn = conn
            for _, on_listening in self._channels.values():
                on_listening(True)

    async def _sequence(self) -> None:
        assert self._conn is not None
        if self.run_sequencer:
            row = await self._conn.fetchrow("SELECT assigned, head, waiting FROM udipick_sequence_outbox()")
            self.waiting = row["waiting"]
            self._set_head(row["head"])
            if row["assigned"] >= 10000:
                self._inserted.set()  # more than one batch: go again at once
        else:
            self._set_head(int(await self._conn.fetchval(HEAD)))

    async def _run(self) -> None:
        delay = 0.1
        loop = asyncio.get_running_loop()
        while not self._stopping:
            try:
                if self._conn is None or self._conn.is_closed():
                    await self._connect()
                    delay = 0.1
                await self._sequence()
                self._started.set()
                retry = self.MIN_INTERVAL
                last = loop.time()
                while not self._stopping:
                    # rows of finished transactions wait behind an older running one: retry soon
                    timeout = retry if (self.waiting and self.run_sequencer) else self.poll_interval
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._inserted.wait(), timeout)
                    # at most one run per MIN_INTERVAL: under load one run numbers the commits of the
                    # last few milliseconds together instead of one run per commit
                    if (pause := last + self.MIN_INTERVAL - loop.time()) > 0:
                        await asyncio.sleep(pause)
                    self._inserted.clear()
                    if self._conn.is_closed():
                        break
                    await self._sequence()
                    last = loop.time()
                    retry = min(retry * 2, 0.1) if self.waiting else self.MIN_INTERVAL
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the database restarted or the connection dropped: reconnect
                log.warning("outbox hub: %s: %s; reconnecting in %.1fs", type(exc).__name__, exc, delay)
                await self._close()
                self._started.set()  # readers fall back to polling meanwhile
                # jittered, so the hubs of every server process and relay do not all knock at the same instant
                # when PostgreSQL comes back; once connected, the first run catches up with the head
                await asyncio.sleep(delay * random.uniform(0.5, 1.0))
                delay = min(delay * 2, 5.0)

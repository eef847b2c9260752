"""Idempotent scans: the first answer to a client scan id is the answer forever.

Handhelds queue scans offline and replay them on reconnect, and retry when Wi-Fi drops a
response. Each scan carries a UUID; the verdict (accepted or refused) is stored with the change in
the same transaction, so a replay returns the first verdict and never moves stock twice.

One path for every workflow. Every answer is stored by the SQL function ``udipick_store_reply``
(``db/sql/udipick_store_reply.sql``: the ``scan_replies`` row and the answer's outbox events, in one
statement, false when the scan id already has an answer) and read by ``udipick_scan_reply``
(``SELECT_REPLY``); ``reply_from_row`` turns the row into this request's answer, a scan id used for
another action into a conflict. ``once`` wraps a workflow's load → decide → write in that: receiving,
putaway, packing, counts, replenishment, short picks. The pick scan, whose speed target allows one
read and one write, keeps its own two statements but stores and reads through the same functions:
its read calls ``udipick_scan_reply`` inside its snapshot, its write ``udipick_pick_accept`` calls
``udipick_store_reply`` first (a scan id that already has an answer raises ``UP002``), and a refusal
is stored by ``store`` here, as ``once`` stores one.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NamedTuple

import asyncpg
import msgspec
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from udipick.db.pg import raw
from udipick.db.sqlfiles import named_call
from udipick.domain.access import Actor
from udipick.domain.errors import Conflict, DomainError
from udipick.domain.problem import problem_body, status_for
from udipick.services.events import EventData, encode_events
from udipick.services.exceptions import Raised, store_reply_raising


class _LostRace(Exception):
    """Another request stored an answer for this scan id first; this one's work is rolled back."""


class Reply:
    """A stored verdict: HTTP status and JSON body (a result, or an RFC 9457 problem).

    ``body`` holds JSON values (dicts, lists, strings, numbers) on the first answer as on a replay, even
    when the workflow answered with a msgspec Struct: the caller sees one shape either way.
    """

    __slots__ = ("status", "body", "replayed")

    def __init__(self, status: int, body: dict[str, Any], replayed: bool) -> None:
        self.status = status
        self.body = body
        self.replayed = replayed


#: the stored answer of a scan id, as ``reply_from_row`` takes it (``db/sql/udipick_scan_reply.sql``)
SELECT_REPLY = "SELECT r.status_code, r.body, r.action FROM udipick_scan_reply(p_scan => $1) r"


def reply_from_row(row, client_scan_id: uuid.UUID, action: str) -> Reply:
    """A stored ``(status_code, body, action)`` row as this request's answer; a scan id used for another
    action is a conflict, not a replay."""
    status, body, stored_action = row
    if stored_action != action:
        raise Conflict(
            f"scan id {client_scan_id} was already used for {stored_action}; every scan needs its own id",
            clientScanId=str(client_scan_id),
        )
    return Reply(status, msgspec.json.decode(body), True)


async def answer(conn: asyncpg.Connection, client_scan_id: uuid.UUID, action: str) -> Reply | None:
    """The stored answer to this scan id, if there is one."""
    row = await conn.fetchrow(SELECT_REPLY, client_scan_id)
    return None if row is None else reply_from_row(tuple(row), client_scan_id, action)


class StoreReply(NamedTuple):
    """The arguments of ``udipick_store_reply``, each the parameter ``p_<field>`` (called by name)."""

    scan: uuid.UUID
    action: str
    user: int | None
    device: str | None
    status: int
    body: str  # JSON
    event_ids: Sequence[str]
    types: Sequence[str]
    data: Sequence[str]  # JSON each
    occurred: dt.datetime
    username: str | None


STORE_REPLY = named_call("udipick_store_reply", StoreReply._fields)
#: the same, raising an exception for the supervisor's queue with the first answer (``services/exceptions.py``)
STORE_REPLY_RAISING = store_reply_raising(STORE_REPLY, len(StoreReply._fields))


async def store(
    conn: asyncpg.Connection,
    client_scan_id: uuid.UUID,
    action: str,
    actor: Actor,
    status: int,
    body: dict[str, Any],
    events: list[EventData] | tuple[EventData, ...] = (),
    raised: Raised | None = None,
) -> bool:
    """Store the first answer to a scan id, with its events, in the caller's transaction; ``True`` when this
    is the first answer (``False``: another request stored one first, and nothing was written).

    ``raised``: an exception for the supervisor's queue, written with the first answer only (its
    ``event_id``, when unset, is the first event's)."""
    ids, types, data = encode_events(events)
    extra: tuple = ()
    if raised is not None:
        extra = tuple(raised if raised.event_id is not None or not ids else raised._replace(event_id=ids[0]))
    return await conn.fetchval(
        STORE_REPLY if raised is None else STORE_REPLY_RAISING,
        *StoreReply(
            scan=client_scan_id,
            action=action,
            user=actor.user_id,
            device=actor.device_id,
            status=status,
            body=msgspec.json.encode(body).decode(),
            event_ids=ids,
            types=types,
            data=data,
            occurred=dt.datetime.now(dt.UTC),
            username=actor.label,
        ),
        *extra,
    )


async def _stored(session: AsyncSession, client_scan_id: uuid.UUID, action: str) -> Reply | None:
    return await answer(await raw(session), client_scan_id, action)


async def _insert_reply(
    session: AsyncSession, client_scan_id: uuid.UUID, action: str, actor: Actor, status: int, body: dict[str, Any]
) -> bool:
    """``True`` when this is the first answer for the scan id."""
    return await store(await raw(session), client_scan_id, action, actor, status, body)


async def once(
    db: async_sessionmaker,
    client_scan_id: uuid.UUID,
    action: str,
    actor: Actor,
    decide_and_write: Callable[[AsyncSession], Awaitable[msgspec.Struct | dict[str, Any]]],
    on_refused: Callable[[AsyncSession, DomainError], Awaitable[None]] | None = None,
) -> Reply:
    """Run ``decide_and_write`` once per ``client_scan_id``.

    Accepted: the result and its reply row commit together. Refused (a ``DomainError``): the
    change rolls back, then the refusal is stored (and ``on_refused`` may write, e.g. a
    ``pick.refused.v1`` event) in a second transaction, so the replay is refused the same way.
    """
    try:
        async with db.begin() as session:
            if (stored := await _stored(session, client_scan_id, action)) is not None:
                return stored
            body = msgspec.to_builtins(await decide_and_write(session))
            if not await _insert_reply(session, client_scan_id, action, actor, 200, body):
                raise _LostRace
        return Reply(200, body, False)
    except DomainError as refusal:
        problem = problem_body(refusal)
        status = status_for(refusal)
        if refusal.retryable:  # a race, not a verdict: the same scan id may be sent again
            return Reply(status, problem, False)
        try:
            async with db.begin() as session:
                if (
                    await _insert_reply(session, client_scan_id, action, actor, status, problem)
                    and on_refused is not None
                ):
                    await on_refused(session, refusal)
        except IntegrityError:
            pass
        async with db() as session:
            stored = await _stored(session, client_scan_id, action)
        return stored if stored is not None and stored.body != problem else Reply(status, problem, False)
    except (IntegrityError, _LostRace):
        # the same scan id raced in from a second request and won: answer what it answered
        async with db() as session:
            stored = await _stored(session, client_scan_id, action)
        if stored is None:
            raise
        return stored


async def stored(db: async_sessionmaker, client_scan_id: uuid.UUID, action: str) -> Reply | None:
    """The first answer to this scan id, if there is one (for steps that must not be redone on a replay)."""
    async with db.begin() as session:
        return await _stored(session, client_scan_id, action)

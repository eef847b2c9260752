"""The exception queue: raise (in the answer's own transaction), list by role, resolve once with a note.

An exception is written by the workflow that answers: a refused pick scan raises it in the statement that
stores the refusal (``STORE_REPLY_RAISING``: one statement, so still one round trip for a refusal and none
for an accepted scan), a short pick and a count with differences in their ``replay.once`` transaction
(``raise_in``). ``client_scan_id`` is unique, and a replayed scan is answered from ``scan_replies`` before
anything is written, so a replay never raises a second exception. Which refusals raise one, and which
roles see which kinds, is ``domain/exceptions.py``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal, NamedTuple

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from udipick.db.pg import raw
from udipick.domain import errors as e
from udipick.domain.access import Actor
from udipick.domain.exceptions import Kind, visible_kinds
from udipick.services.identity import audit


class Raised(NamedTuple):
    """An exception to raise, in ``exceptions``' column order (``_COLUMNS``)."""

    kind: str
    code: str
    detail: str
    task_id: int | None
    order_ref: str | None
    location: str | None
    gtin: str | None
    lot: str | None
    serial: str | None
    client_scan_id: uuid.UUID | None
    event_id: uuid.UUID | str | None
    queued: bool
    user_id: int | None
    username: str | None
    device_id: str | None


_TYPES = (
    "text",
    "text",
    "text",
    "bigint",
    "text",
    "text",
    "text",
    "text",
    "text",
    "uuid",
    "uuid",
    "boolean",
    "integer",
    "text",
    "text",
)
_COLUMNS = ", ".join(Raised._fields)


def _values(first: int) -> str:
    return ", ".join(f"${first + i}::{t}" for i, t in enumerate(_TYPES))


def store_reply_raising(store_reply: str, n_store_args: int) -> str:
    """``store_reply`` (``SELECT udipick_store_reply(...)``, taking ``$1..$n``) that also raises the exception
    given as ``$n+1...``, when (and only when) this is the scan id's first answer: one statement, one
    implicit transaction, so the refusal and its exception exist together or not at all."""
    call = store_reply.removeprefix("SELECT ")
    return (
        f"WITH s AS (SELECT {call} AS first),"
        f" x AS (INSERT INTO exceptions ({_COLUMNS}) SELECT {_values(n_store_args + 1)} FROM s WHERE s.first"
        " ON CONFLICT (client_scan_id) DO NOTHING)"
        " SELECT first FROM s"
    )


_INSERT = f"INSERT INTO exceptions ({_COLUMNS}) VALUES ({_values(1)}) ON CONFLICT (client_scan_id) DO NOTHING"


async def raise_in(session: AsyncSession, raised: Raised) -> None:
    """Raise an exception in the caller's transaction (the one that stores the answer it is about)."""
    await (await raw(session)).execute(_INSERT, *raised)


def raised_by(actor: Actor) -> tuple[int | None, str | None, str | None]:
    return actor.user_id, actor.label, actor.device_id


# ---- reading and resolving ---------------------------------------------------------------------------


class ExceptionOut(msgspec.Struct, rename="camel"):
    """One exception in the queue: what was refused or found, who met it, and its resolution once resolved."""

    id: int
    kind: Kind
    #: the refusal's problem code (``fefo-violation``, ``stock-on-hold``, ...), ``short-pick`` or ``count-variance``
    code: str
    detail: str
    raised_at: dt.datetime
    task_id: int | None
    order: str | None
    location: str | None
    gtin: str | None
    lot: str | None
    serial: str | None
    client_scan_id: uuid.UUID | None
    #: the scan waited in the handheld's offline queue and was refused when it was replayed
    queued: bool
    user: str | None
    device: str | None
    status: Literal["open", "resolved"]
    resolved_at: dt.datetime | None
    resolved_by: str | None
    note: str | None


class ExceptionPage(msgspec.Struct, rename="camel"):
    """Newest first; send ``nextBefore`` as ``before`` for the next page (``None``: this was the last)."""

    items: list[ExceptionOut]
    next_before: int | None


SELECT = (
    "SELECT x.id, x.kind, x.code, x.detail, x.raised_at, x.task_id, x.order_ref, x.location, x.gtin, x.lot, x.serial,"
    " x.client_scan_id, x.queued, x.username, x.device_id,"
    " CASE WHEN x.resolved_at IS NULL THEN 'open' ELSE 'resolved' END AS status,"
    " x.resolved_at, x.resolved_by_name, x.resolution_note FROM exceptions x"
)


def exception_of(row) -> ExceptionOut:
    return ExceptionOut(*row)


async def list_exceptions(
    db: async_sessionmaker,
    actor: Actor,
    *,
    status: Literal["open", "resolved", "all"],
    kind: str | None,
    since: dt.datetime | None,
    before: int | None,
    limit: int,
) -> ExceptionPage:
    kinds = sorted(visible_kinds(actor.roles) if kind is None else visible_kinds(actor.roles) & {kind})
    where = ["x.kind = ANY(CAST(:kinds AS text[]))"]
    if status == "open":
        where.append("x.resolved_at IS NULL")
    elif status == "resolved":
        where.append("x.resolved_at IS NOT NULL")
    if since is not None:
        where.append("x.raised_at >= :since")
    if before is not None:
        where.append("x.id < :before")
    sql = SELECT + " WHERE " + " AND ".join(where) + " ORDER BY x.id DESC LIMIT :limit"
    async with db() as session:
        rows = (
            await session.execute(text(sql), {"kinds": kinds, "since": since, "before": before, "limit": limit + 1})
        ).all()
    items = [exception_of(r) for r in rows[:limit]]
    return ExceptionPage(items, items[-1].id if len(rows) > limit else None)


async def resolve(db: async_sessionmaker, actor: Actor, exception_id: int, note: str) -> ExceptionOut:
    """Resolve once: the note, the person and the time are kept (and written to ``audit_log``); a second
    resolution is refused, naming the first."""
    async with db.begin() as session:
        row = (
            await session.execute(
                text("SELECT kind, resolved_at, resolved_by_name FROM exceptions WHERE id = :id FOR UPDATE"),
                {"id": exception_id},
            )
        ).one_or_none()
        if row is None or row.kind not in visible_kinds(actor.roles):
            raise e.NotFound(f"no exception {exception_id} in your queue", exceptionId=exception_id)
        if row.resolved_at is not None:
            raise e.ExceptionAlreadyResolved(
                f"exception {exception_id} was resolved by {row.resolved_by_name} at {row.resolved_at.isoformat()}",
                exceptionId=exception_id,
                resolvedBy=row.resolved_by_name,
                resolvedAt=row.resolved_at,
            )
        await session.execute(
            text(
                "UPDATE exceptions SET resolved_at = now(), resolved_by = :u, resolved_by_name = :name,"
                " resolution_note = :note WHERE id = :id"
            ),
            {"u": actor.user_id, "name": actor.label, "note": note, "id": exception_id},
        )
        await audit(
            session,
            actor,
            "exception.resolve",
            "ok",
            target=f"exception:{exception_id}",
            detail={"kind": row.kind, "note": note},
        )
        out = (await session.execute(text(SELECT + " WHERE x.id = :id"), {"id": exception_id})).one()
    return exception_of(out)


# ---- handhelds' offline queues ----------------------------------------------------------------------


class DeviceQueueOut(msgspec.Struct, rename="camel"):
    device: str
    user: str | None
    #: scans waiting in the handheld's offline queue
    queued: int
    online: bool
    reported_at: dt.datetime


async def report_queue(db: async_sessionmaker, actor: Actor, *, queued: int, online: bool) -> DeviceQueueOut:
    """The handheld says how many scans wait in its offline queue (on every change and every minute)."""
    if actor.device_id is None:
        raise e.DeviceIdRequired("a heartbeat comes from a handheld: send X-Device-Id")
    async with db.begin() as session:
        row = (
            await session.execute(
                text(
                    "INSERT INTO device_queues (device_id, username, queued, online, reported_at)"
                    " VALUES (:d, :u, :q, :o, now()) ON CONFLICT (device_id) DO UPDATE SET username = EXCLUDED.username,"
                    " queued = EXCLUDED.queued, online = EXCLUDED.online, reported_at = EXCLUDED.reported_at"
                    " RETURNING device_id, username, queued, online, reported_at"
                ),
                {"d": actor.device_id, "u": actor.label, "q": queued, "o": online},
            )
        ).one()
    return DeviceQueueOut(*row)

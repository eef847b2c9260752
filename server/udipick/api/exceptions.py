"""The exception queue, shared by every device: ``GET /api/v1/exceptions``, ``POST .../{id}/resolve``; and the
handhelds' offline-queue reports, ``POST /api/v1/devices/heartbeat``, which the live floor view shows.

Supervisors and admins see every kind, QA the quality kinds (held, recalled, expired, count variance),
pickers and receivers none (``domain/exceptions.py``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec
from litestar import Router, get, post
from litestar.params import JSONBody
from msgspec import Meta

from udipick.api.deps import CurrentActor, Db, allow
from udipick.domain.exceptions import Kind
from udipick.services import exceptions
from udipick.services.exceptions import DeviceQueueOut, ExceptionOut, ExceptionPage

QUEUE_ROLES = ("supervisor", "qa", "admin")


@get("/exceptions", **allow(*QUEUE_ROLES))
async def list_exceptions(
    db: Db,
    actor: CurrentActor,
    status: Literal["open", "resolved", "all"] = "open",
    kind: Kind | None = None,
    since: dt.datetime | None = None,
    before: Annotated[int, Meta(ge=1)] | None = None,
    limit: Annotated[int, Meta(ge=1, le=500)] = 100,
) -> ExceptionPage:
    """Newest first, the kinds your role sees; ``before`` pages back (send the last page's ``nextBefore``)."""
    return await exceptions.list_exceptions(
        db, actor, status=status, kind=kind, since=since, before=before, limit=limit
    )


class ResolveIn(msgspec.Struct, rename="camel"):
    #: what was found and done: kept with the resolver's name and the time, as an audit record
    note: Annotated[str, Meta(min_length=3, max_length=1000, pattern=r"\S")]


@post("/exceptions/{exception_id:int}/resolve", status_code=200, **allow(*QUEUE_ROLES))
async def resolve_exception(exception_id: int, data: JSONBody[ResolveIn], db: Db, actor: CurrentActor) -> ExceptionOut:
    """Once: a second resolution is refused (``409 exception-already-resolved``, naming the first)."""
    return await exceptions.resolve(db, actor, exception_id, data.note.strip())


class HeartbeatIn(msgspec.Struct, rename="camel"):
    #: scans waiting in the handheld's offline queue
    queued: Annotated[int, Meta(ge=0, le=1_000_000)]
    #: whether the handheld believes it is online
    online: bool = True


@post("/devices/heartbeat", status_code=200, **allow(any_user=True))
async def device_heartbeat(data: JSONBody[HeartbeatIn], db: Db, actor: CurrentActor) -> DeviceQueueOut:
    """The handheld's offline queue, reported when it changes and every 30 s; the live view lists the
    handhelds that are offline (or silent for 90 s) with scans waiting."""
    return await exceptions.report_queue(db, actor, queued=data.queued, online=data.online)


exceptions_router = Router(
    path="/api/v1", route_handlers=[list_exceptions, resolve_exception, device_heartbeat], tags=["Exceptions"]
)

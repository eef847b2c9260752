"""Wave and order control: the wave board, cancels, put-backs, task assignment and wave priority.

``GET /api/v1/waves`` (``?status=released|done|cancelled&date=YYYY-MM-DD&before=<waveId>&limit=``) and
``GET /api/v1/waves/{id}``; ``POST .../cancel {"reason"}`` on a wave, an order or an order line
(supervisor, admin): reservations are released, picked units get a put-back task, and
``wave.cancelled.v1`` / ``order.cancelled.v1`` / ``order.line-cancelled.v1`` go to the ERP. A put-back is
confirmed by scanning the location the units go back to (``POST /api/v1/put-backs/{id}/confirm``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec
from litestar import Response, Router, get, post
from litestar.params import JSONBody
from msgspec import Meta

from udipick.api.deps import AppSettings, CurrentActor, Db, allow
from udipick.api.picking import release_wave, reply_response
from udipick.services import wave_control as svc

SUPERVISORS = ("supervisor", "admin")
#: the board is read by supervisors, admins and QA (who follow what a hold or recall does to the floor)
READERS = ("supervisor", "admin", "qa")
#: who carries put-backs to the shelf
MOVERS = ("picker", "receiver", "supervisor", "admin")
Raw = Annotated[str, Meta(min_length=1, max_length=4096)]
Reason = Annotated[str, Meta(min_length=1, max_length=500)]


@get("/waves", **allow(*READERS))
async def list_waves(
    db: Db,
    status: Literal["released", "done", "cancelled"] | None = None,
    date: dt.date | None = None,
    before: Annotated[int, Meta(ge=1)] | None = None,
    limit: Annotated[int, Meta(ge=1, le=200)] = 50,
) -> svc.WavePage:
    """Waves newest first: progress (lines picked of total, short lines, units), pickers, start and finish.
    ``date`` is the day the wave was released (allocated); ``before`` pages on (``nextBefore``)."""
    return await svc.list_waves(db, status=status, date=date, before=before, limit=limit)


@get("/waves/{wave_id:int}", **allow(*READERS))
async def wave_detail(wave_id: int, db: Db) -> svc.WaveDetail:
    """One wave: per order its lines picked of total and short; the short lines; each picker's scans and times."""
    return await svc.wave_detail(db, wave_id)


class CancelIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    reason: Reason


@post("/waves/{wave_id:int}/cancel", status_code=200, **allow(*SUPERVISORS))
async def cancel_wave(wave_id: int, data: JSONBody[CancelIn], db: Db, actor: CurrentActor) -> svc.Cancelled:
    """Cancel the wave's picking: its orders are open again to be released in another wave."""
    return await svc.cancel_wave(db, actor, wave_id=wave_id, reason=data.reason)


class PriorityIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    #: 1 first
    priority: Annotated[int, Meta(ge=1, le=9)]


@post("/waves/{wave_id:int}/priority", status_code=200, **allow(*SUPERVISORS))
async def set_priority(wave_id: int, data: JSONBody[PriorityIn], db: Db, actor: CurrentActor) -> svc.WavePriority:
    """Pickers' task lists take waves in priority order (1 first), then the pick path. Audited."""
    return await svc.set_priority(db, actor, wave_id=wave_id, priority=data.priority)


@post("/orders/{order:str}/cancel", status_code=200, **allow(*SUPERVISORS))
async def cancel_order(order: str, data: JSONBody[CancelIn], db: Db, actor: CurrentActor) -> svc.Cancelled:
    """Cancel a sales order's picking in udipick (the ERP can then change it, or cancel it on its side)."""
    return await svc.cancel_order(db, actor, order=order, reason=data.reason)


@post("/orders/{order:str}/lines/{line_no:int}/cancel", status_code=200, **allow(*SUPERVISORS))
async def cancel_line(order: str, line_no: int, data: JSONBody[CancelIn], db: Db, actor: CurrentActor) -> svc.Cancelled:
    """Cancel one line; the rest of the order goes on."""
    return await svc.cancel_line(db, actor, order=order, line_no=line_no, reason=data.reason)


class AssignIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    #: the picker's user name; ``null``: whoever comes first
    picker: Annotated[str, Meta(min_length=1, max_length=64)] | None


@post("/picking/tasks/{task_id:int}/assign", status_code=200, **allow(*SUPERVISORS))
async def assign_task(task_id: int, data: JSONBody[AssignIn], db: Db, actor: CurrentActor) -> svc.TaskAssigned:
    """Give an open pick task to a picker: it comes first in their list and leaves the other pickers'. Audited."""
    return await svc.assign_task(db, actor, task_id=task_id, username=data.picker)


@get("/put-backs", **allow(*MOVERS))
async def list_put_backs(
    db: Db, status: Literal["open", "done"] = "open", limit: Annotated[int, Meta(ge=1, le=1000)] = 200
) -> list[svc.PutBackTask]:
    """Picked units of cancelled work to carry back to the shelf, in the order of the shelves."""
    return await svc.list_put_backs(db, status=status, limit=limit)


class PutBackIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    client_scan_id: uuid.UUID
    #: the label of the location the units go back to
    location_raw: Raw


@post("/put-backs/{put_back_id:int}/confirm", status_code=200, **allow(*MOVERS))
async def confirm_put_back(
    put_back_id: int, data: JSONBody[PutBackIn], db: Db, actor: CurrentActor, settings: AppSettings
) -> Response[svc.PutBackTask]:
    """The units are back on the shelf: the ledger moves them from staging to available stock there."""
    reply = await svc.confirm_put_back(
        db,
        actor,
        settings,
        put_back_id=put_back_id,
        client_scan_id=data.client_scan_id,
        location_raw=data.location_raw,
        today=dt.date.today(),
    )
    return reply_response(reply, workflow="put-back")


waves_router = Router(
    path="/api/v1",
    route_handlers=[
        release_wave,
        list_waves,
        wave_detail,
        cancel_wave,
        set_priority,
        cancel_order,
        cancel_line,
        assign_task,
        list_put_backs,
        confirm_put_back,
    ],
    tags=["Waves and orders"],
)

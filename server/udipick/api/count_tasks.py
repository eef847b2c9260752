"""Cycle counts: ``/api/v1/count-tasks`` — create, count blind, recount, approve, schedule.

A supervisor creates a task for a location, a zone, an item or a lot; the ABC schedule and short
picks create them too. Handhelds list the tasks without quantities (a blind count) and send what was
found per task line (``POST /count-tasks/lines/{lineId}/count``, once per ``clientScanId``). A
difference beyond the tolerance asks another user for a recount, then a supervisor's approval with a
reason code (``POST /count-tasks/lines/{lineId}/approve``). See ``services.count_tasks``.
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
from udipick.api.picking import PICKERS, SUPERVISORS, reply_response
from udipick.services import count_tasks as svc
from udipick.services.count_tasks import CountApproved, CountedIn, CountSubmitted, CountTaskView, ScheduleRun

Name = Annotated[str, Meta(min_length=1, max_length=80)]


class CountTaskIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    kind: Literal["location", "zone", "item", "lot"]
    #: location code or barcode (kind ``location``)
    location: Name | None = None
    zone: Annotated[str, Meta(min_length=1, max_length=32)] | None = None
    #: ERP item id or GTIN (kinds ``item`` and ``lot``)
    item: Annotated[str, Meta(min_length=1, max_length=64)] | None = None
    lot: Annotated[str, Meta(min_length=1, max_length=20)] | None = None
    note: Annotated[str, Meta(max_length=500)] | None = None


class CountedLineIn(msgspec.Struct, rename="camel"):
    #: units in the item's base unit (typed once for a lot, after one scan); a serial is 1 (found) or 0
    quantity: Annotated[int, Meta(ge=-1_000_000, le=1_000_000)]
    lot: Annotated[str, Meta(min_length=1, max_length=20)] | None = None
    serial: Annotated[str, Meta(min_length=1, max_length=20)] | None = None
    #: the expiry the unit's barcode carried (GS1 AI 17): lets a lot never received be counted in
    expiry: dt.date | None = None


class CountLineCountIn(msgspec.Struct, rename="camel"):
    client_scan_id: uuid.UUID
    lines: Annotated[list[CountedLineIn], Meta(max_length=10_000)] = []


class ApproveIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    #: counting-error, damage, theft-loss, found, unrecorded-receipt or other (then ``note`` says why)
    reason: Annotated[str, Meta(min_length=1, max_length=32)]
    note: Annotated[str, Meta(max_length=500)] | None = None


class CancelIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    note: Annotated[str, Meta(max_length=500)] | None = None


@post("/count-tasks", status_code=201, **allow(*SUPERVISORS))
async def create_task(data: JSONBody[CountTaskIn], db: Db, actor: CurrentActor) -> CountTaskView:
    """A count task and its lines (one per location and item on the books); its locations close to picking."""
    return await svc.create_task(
        db, actor, kind=data.kind, location=data.location, zone=data.zone, item=data.item, lot=data.lot, note=data.note
    )


@get("/count-tasks", **allow(*PICKERS))
async def list_tasks(
    db: Db, actor: CurrentActor, status: Literal["open", "closed", "cancelled"] | None = "open"
) -> list[CountTaskView]:
    """Count tasks, newest first: blind (no quantities) for pickers, with the comparison for supervisors."""
    supervisor = bool(actor.roles & set(SUPERVISORS))
    return await svc.tasks(db, status=status, supervisor=supervisor, user_id=actor.user_id)


@get("/count-tasks/{task_id:int}", **allow(*SUPERVISORS))
async def get_task(task_id: int, db: Db) -> CountTaskView:
    """One task with what was expected and counted per line, and by whom (a supervisor's review)."""
    return await svc.task(db, task_id)


@post("/count-tasks/lines/{line_id:int}/count", status_code=200, **allow(*PICKERS))
async def count_line(
    line_id: int, data: JSONBody[CountLineCountIn], db: Db, actor: CurrentActor, settings: AppSettings
) -> Response[CountSubmitted]:
    """Everything found of the line's item at its location (first count or recount; blind)."""
    reply = await svc.submit_count(
        db,
        actor,
        settings,
        line_id=line_id,
        client_scan_id=data.client_scan_id,
        lines=[CountedIn(ln.quantity, ln.lot, ln.serial, ln.expiry) for ln in data.lines],
        today=dt.date.today(),
    )
    return reply_response(reply, workflow="count")


@post("/count-tasks/lines/{line_id:int}/approve", status_code=200, **allow(*SUPERVISORS))
async def approve_line(line_id: int, data: JSONBody[ApproveIn], db: Db, actor: CurrentActor) -> CountApproved:
    """Book a recounted difference with a reason code (``count`` movements, ``count.adjusted.v1``, audited)."""
    return await svc.approve(db, actor, line_id=line_id, reason=data.reason, note=data.note, today=dt.date.today())


@post("/count-tasks/{task_id:int}/cancel", status_code=200, **allow(*SUPERVISORS))
async def cancel_task(task_id: int, data: JSONBody[CancelIn], db: Db, actor: CurrentActor) -> CountTaskView:
    """End a task without booking its open lines; its locations open again."""
    return await svc.cancel_task(db, actor, task_id=task_id, note=data.note)


@post("/count-tasks/schedule", status_code=200, **allow(*SUPERVISORS))
async def run_schedule(db: Db, actor: CurrentActor, settings: AppSettings) -> ScheduleRun:
    """Run the ABC schedule once: a count task for each item whose class interval has passed."""
    return await svc.schedule(db, settings, today=dt.date.today(), actor=actor)


count_tasks_router = Router(
    path="/api/v1",
    route_handlers=[create_task, list_tasks, get_task, count_line, approve_line, cancel_task, run_schedule],
    tags=["Counting"],
)

"""Replenishment: ``/api/v1/replenishment/...`` — refill pick faces from reserve, confirmed by scans.

A confirm is the source location's label, the goods (GS1 element string, HIBC or Digital Link: the
lot must be the task's) and the pick face's label, in one request. Its answer is ``200`` with the
task's progress or an RFC 9457 problem (``wrong-location``, ``wrong-item``, ``wrong-lot``,
``over-pick``, ``stock-on-hold``, ...); a replayed ``clientScanId`` gets the first answer again,
marked ``Idempotent-Replayed: true``.
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
from udipick.api.picking import reply_response
from udipick.services import replenishment as svc
from udipick.services.replenishment import CancelledTask, ReplenishmentMoved, ReplenishmentPlan, ReplenishmentTask

#: who moves stock on the floor: pickers and the receivers who do putaway, and their supervisors
MOVERS = ("picker", "receiver", "supervisor", "admin")
SUPERVISORS = ("supervisor", "admin")
Raw = Annotated[str, Meta(min_length=1, max_length=4096)]


@get("/replenishment/tasks", **allow(*MOVERS))
async def list_tasks(
    db: Db, status: Literal["open", "done", "cancelled"] = "open", limit: Annotated[int, Meta(ge=1, le=1000)] = 200
) -> list[ReplenishmentTask]:
    """Tasks in the order a worker walks reserve; each names the lot, the source and the pick face."""
    return await svc.list_tasks(db, status=status, limit=limit)


class PlanIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    #: plan only for the items of this wave; absent: every item with picks from reserve or a minimum
    wave_id: Annotated[int, Meta(ge=1)] | None = None


@post("/replenishment/plan", status_code=200, **allow(*SUPERVISORS))
async def plan(data: JSONBody[PlanIn], db: Db, actor: CurrentActor) -> ReplenishmentPlan:
    """Create the tasks the pick faces need now (never a second open task for the same lot, source and face);
    items without a pick face are listed in ``noPickFace``, units reserve cannot cover in ``notCovered``."""
    return await svc.plan(db, actor, today=dt.date.today(), wave_id=data.wave_id)


class ConfirmIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    client_scan_id: uuid.UUID
    #: the source (reserve) location's label
    from_location_raw: Raw
    #: the goods: GS1 element string, HIBC or GS1 Digital Link
    raw: Raw
    #: the pick face's label
    to_location_raw: Raw
    #: how many of the scanned pack were moved, when the barcode carries no count; absent: all the task still needs
    quantity: Annotated[int, Meta(ge=1, le=1_000_000)] | None = None


@post("/replenishment/tasks/{task_id:int}/confirm", status_code=200, **allow(*MOVERS))
async def confirm(
    task_id: int, data: JSONBody[ConfirmIn], db: Db, actor: CurrentActor, settings: AppSettings
) -> Response[ReplenishmentMoved]:
    """Move the units from reserve to the pick face (ledger movement ``move``) and release their reservation."""
    reply = await svc.confirm(
        db,
        actor,
        settings,
        task_id=task_id,
        client_scan_id=data.client_scan_id,
        from_location_raw=data.from_location_raw,
        raw=data.raw,
        to_location_raw=data.to_location_raw,
        quantity=data.quantity,
        today=dt.date.today(),
    )
    return reply_response(reply, workflow="replenishment")


class CancelIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    reason: Annotated[str, Meta(min_length=3, max_length=500)]


@post("/replenishment/tasks/{task_id:int}/cancel", status_code=200, **allow(*SUPERVISORS))
async def cancel(task_id: int, data: JSONBody[CancelIn], db: Db, actor: CurrentActor) -> CancelledTask:
    """Drop an open task: what it still reserves at the source is free again; what it moved stays moved."""
    return await svc.cancel(db, actor, task_id=task_id, reason=data.reason)


replenishment_router = Router(
    path="/api/v1", route_handlers=[list_tasks, plan, confirm, cancel], tags=["Replenishment"]
)

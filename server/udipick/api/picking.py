"""Waves, pick tasks, the pick-scan verdict, short picks, FEFO overrides, totes and holds.

A scan's answer is either ``200 {"verdict": "accepted", ...}`` or an RFC 9457 problem whose
``code`` (``fefo-violation``, ``wrong-item``, ``stock-on-hold``, ...) the handheld shows full
screen, with ``takeLot`` / ``takeLocation`` telling the picker what to do instead. A replayed
``clientScanId`` gets the first answer again, marked with ``Idempotent-Replayed: true``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.params import JSONBody
from msgspec import Meta

from udipick.api.deps import AppSettings, CurrentActor, Db, allow
from udipick.api.problems import PROBLEM_JSON
from udipick.domain import errors as e
from udipick.services import holds as holds_svc
from udipick.services import picking
from udipick.services.identity import countersign, record_failed_countersign
from udipick.services import replay
from udipick.services.replay import Reply

PICKERS = ("picker", "supervisor", "admin")
SUPERVISORS = ("supervisor", "admin")
Raw = Annotated[str, Meta(min_length=1, max_length=4096)]


def reply_response(reply: Reply) -> Response:
    headers = {"Idempotent-Replayed": "true"} if reply.replayed else {}
    media = "application/json" if reply.status < 400 else PROBLEM_JSON
    return Response(content=msgspec.json.encode(reply.body), status_code=reply.status, media_type=media, headers=headers)


class WaveIn(msgspec.Struct, rename="camel"):
    #: the ERP ids to release; absent: every order with something left to allocate
    orders: Annotated[list[Annotated[str, Meta(min_length=1, max_length=64)]], Meta(min_length=1)] | None = None
    max_orders: Annotated[int, Meta(ge=1, le=10000)] = 1000


@post("/waves", status_code=201, **allow(*SUPERVISORS))
async def release_wave(data: JSONBody[WaveIn], db: Db, actor: CurrentActor) -> dict[str, Any]:
    """Allocate open sales orders FEFO into pick tasks; short lines are reported with their reason."""
    return await picking.release_wave(db, actor, orders=data.orders, today=dt.date.today(), max_orders=data.max_orders)


@get("/picking/tasks", **allow(*PICKERS))
async def list_tasks(db: Db, wave: int | None = None, status: Literal["open", "done", "short", "cancelled"] = "open") -> list[dict[str, Any]]:
    """Tasks in pick-path order; the first is the next to pick."""
    return await picking.list_tasks(db, wave_id=wave, status=status)


class LocationIn(msgspec.Struct, rename="camel"):
    raw: Raw


@post("/picking/tasks/{task_id:int}/location", status_code=200, **allow(*PICKERS))
async def check_location(task_id: int, data: JSONBody[LocationIn], db: Db, settings: AppSettings) -> dict[str, Any]:
    return await picking.check_location(db, settings, task_id, data.raw, dt.date.today())


class PickScanIn(msgspec.Struct, rename="camel"):
    client_scan_id: uuid.UUID
    raw: Raw
    location_raw: Raw | None = None


@post("/picking/tasks/{task_id:int}/scans", **allow(*PICKERS))
async def scan_item(task_id: int, data: JSONBody[PickScanIn], request: Request) -> Response:
    # the busiest route: it reads the request-scoped values the dependencies would provide (``db``,
    # ``actor``, ``settings``) straight from state, which spares three dependency resolutions per scan
    state = request.app.state
    reply = await picking.confirm_pick(
        state.db, request.state.actor, state.settings, task_id=task_id, client_scan_id=data.client_scan_id, raw=data.raw,
        location_raw=data.location_raw, today=dt.date.today(),
    )
    return reply_response(reply)


class SignatureIn(msgspec.Struct, rename="camel"):
    username: Annotated[str, Meta(min_length=1, max_length=64)]
    password: Annotated[str, Meta(min_length=1, max_length=256)]


class OverrideIn(msgspec.Struct, rename="camel"):
    client_scan_id: uuid.UUID
    raw: Raw
    reason: Annotated[str, Meta(min_length=3, max_length=500)]
    supervisor: SignatureIn
    location_raw: Raw | None = None


@post("/picking/tasks/{task_id:int}/override", **allow(*PICKERS))
async def override_fefo(task_id: int, data: JSONBody[OverrideIn], db: Db, actor: CurrentActor, settings: AppSettings) -> Response:
    """A supervisor signs (user name + password, on the picker's device) to take a later-expiring lot."""
    target = f"pick-task:{task_id}"
    if (first := await replay.stored(db, data.client_scan_id, f"pick:{task_id}")) is not None:
        return reply_response(first)  # a replay: the approval was signed the first time
    try:
        async with db.begin() as session:
            signer = await countersign(
                session, data.supervisor.username, data.supervisor.password, roles=frozenset(SUPERVISORS),
                meaning="approve FEFO override", target=target, device_id=actor.device_id,
            )
    except e.SignatureRejected:
        await record_failed_countersign(db, data.supervisor.username, actor.device_id, "approve FEFO override", target)
        raise
    reply = await picking.confirm_pick(
        db, actor, settings, task_id=task_id, client_scan_id=data.client_scan_id, raw=data.raw, location_raw=data.location_raw,
        today=dt.date.today(), override=picking.Override(signer, data.reason),
    )
    return reply_response(reply)


class ShortIn(msgspec.Struct, rename="camel"):
    client_scan_id: uuid.UUID


@post("/picking/tasks/{task_id:int}/short", **allow(*PICKERS))
async def report_short(task_id: int, data: JSONBody[ShortIn], db: Db, actor: CurrentActor) -> Response:
    """Nothing more of this task is on the shelf: record it, block the location, re-allocate or backorder."""
    reply = await picking.report_short(db, actor, task_id=task_id, client_scan_id=data.client_scan_id, today=dt.date.today())
    return reply_response(reply)


class ToteIn(msgspec.Struct, rename="camel"):
    order: Annotated[str, Meta(min_length=1, max_length=64)]
    raw: Raw


@post("/waves/{wave_id:int}/totes", status_code=200, **allow(*PICKERS))
async def assign_tote(wave_id: int, data: JSONBody[ToteIn], db: Db, settings: AppSettings) -> dict[str, Any]:
    """Batch picking: scan a tote for each order of the wave; its picks go into that tote."""
    return await picking.assign_tote(db, settings, wave_id=wave_id, order=data.order, raw=data.raw, today=dt.date.today())


# ---- holds ------------------------------------------------------------------------------------------


class HoldIn(msgspec.Struct, rename="camel"):
    scope: Literal["item", "lot", "serial", "location"]
    reason: Annotated[str, Meta(min_length=1, max_length=500)]
    item: Annotated[str, Meta(max_length=64)] | None = None
    lot: Annotated[str, Meta(max_length=20)] | None = None
    serial: Annotated[str, Meta(max_length=20)] | None = None
    location: Annotated[str, Meta(max_length=80)] | None = None


@post("/holds", status_code=201, **allow("supervisor", "qa", "admin"))
async def place_hold(data: JSONBody[HoldIn], db: Db, actor: CurrentActor) -> dict[str, Any]:
    """Takes effect at the next scan; open allocations it covers are re-allocated."""
    return await holds_svc.place_hold(
        db, actor, scope=data.scope, reason=data.reason, item=data.item, lot=data.lot, serial=data.serial, location=data.location,
        today=dt.date.today(),
    )


class ReleaseIn(msgspec.Struct, rename="camel"):
    reason: Annotated[str, Meta(min_length=1, max_length=500)]
    password: Annotated[str, Meta(min_length=1, max_length=256)]


@post("/holds/{hold_id:int}/release", status_code=200, **allow("supervisor", "qa"))
async def release_hold(hold_id: int, data: JSONBody[ReleaseIn], db: Db, actor: CurrentActor) -> dict[str, Any]:
    """Needs the releaser's electronic signature (password re-entered)."""
    return await holds_svc.release_hold(db, actor, hold_id=hold_id, reason=data.reason, password=data.password)


@get("/holds", **allow(any_user=True))
async def list_holds(db: Db, active: bool = True) -> list[dict[str, Any]]:
    return await holds_svc.list_holds(db, active=active)


picking_router = Router(
    path="/api/v1",
    route_handlers=[release_wave, list_tasks, check_location, scan_item, override_fefo, report_short, assign_tote,
                    place_hold, release_hold, list_holds],
    tags=["Picking"],
)

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
from litestar.types import ASGIApp, Receive, Scope, Send
from msgspec import Meta

from udipick.api.deps import (
    AppSettings,
    CurrentActor,
    Db,
    access_guard,
    actor_for_token,
    allow,
    bearer_token,
    client_address,
    password_checks,
)
from udipick.api.metrics import count_verdict
from udipick.api.problems import PROBLEM_JSON
from udipick.domain.access import Access, permits
from udipick.internals import wrap_in_exception_handler
from udipick.services import holds as holds_svc
from udipick.services import picking, replay, replenishment
from udipick.services.identity import countersign
from udipick.services.replay import Reply

PICKERS = ("picker", "supervisor", "admin")
SUPERVISORS = ("supervisor", "admin")
Raw = Annotated[str, Meta(min_length=1, max_length=4096)]
#: base units confirmed on one scan
Units = Annotated[int, Meta(ge=1, le=1_000_000)]


def reply_response(reply: Reply, *, workflow: str) -> Response:
    count_verdict(workflow, reply.status, reply.replayed)
    headers = {"Idempotent-Replayed": "true"} if reply.replayed else {}
    media = "application/json" if reply.status < 400 else PROBLEM_JSON
    return Response(
        content=msgspec.json.encode(reply.body), status_code=reply.status, media_type=media, headers=headers
    )


class WaveIn(msgspec.Struct, rename="camel"):
    #: the ERP ids to release; absent: every order with something left to allocate
    orders: Annotated[list[Annotated[str, Meta(min_length=1, max_length=64)]], Meta(min_length=1)] | None = None
    max_orders: Annotated[int, Meta(ge=1, le=10000)] = 1000


@post("/waves", status_code=201, **allow(*SUPERVISORS))
async def release_wave(data: JSONBody[WaveIn], db: Db, actor: CurrentActor) -> replenishment.WaveWithReplenishment:
    """Allocate open sales orders FEFO into pick tasks; short lines are reported with their reason."""
    wave = await picking.release_wave(db, actor, orders=data.orders, today=dt.date.today(), max_orders=data.max_orders)
    return await replenishment.after_wave(db, actor, wave, today=dt.date.today())


@get("/picking/tasks", **allow(*PICKERS))
async def list_tasks(
    db: Db,
    actor: CurrentActor,
    settings: AppSettings,
    wave: int | None = None,
    status: Literal["open", "done", "short", "cancelled"] = "open",
) -> list[picking.PickingTask]:
    """Tasks in the order to pick them; the first is the next to pick: the caller's assigned tasks, then by
    wave priority (1 first), then on the pick path. A picker does not see tasks given to another picker."""
    return await picking.list_tasks(
        db,
        wave_id=wave,
        status=status,
        user_id=actor.user_id,
        everyone=bool(actor.roles & set(SUPERVISORS)),
        tote_prefix=settings.tote_prefix,
    )


@get("/picking/waves/{wave_id:int}/progress", **allow(*PICKERS))
async def wave_progress(wave_id: int, db: Db, actor: CurrentActor) -> picking.WaveProgress:
    """The picker's view of a wave: tasks and units picked of all, and the stops (locations) left for the
    caller's open tasks. Read with the task list, not on the pick path."""
    return await picking.wave_progress(
        db, wave_id=wave_id, user_id=actor.user_id, everyone=bool(actor.roles & set(SUPERVISORS))
    )


class LocationScanIn(msgspec.Struct, rename="camel"):
    raw: Raw


@post("/picking/tasks/{task_id:int}/location", status_code=200, **allow(*PICKERS))
async def check_location(
    task_id: int, data: JSONBody[LocationScanIn], db: Db, settings: AppSettings
) -> picking.LocationChecked:
    return await picking.check_location(db, settings, task_id, data.raw, dt.date.today())


class PickScanIn(msgspec.Struct, rename="camel"):
    client_scan_id: uuid.UUID
    raw: Raw
    location_raw: Raw | None = None
    #: when the scan was taken, set by the handheld only on a scan that waited in its offline queue: a
    #: refusal of such a scan goes to the supervisor's exception queue (the picker has moved on)
    queued_at: dt.datetime | None = None
    #: scan once, take this many base units (whole scanned packs; never a serialised unit): decided
    #: by the same rules as a scan of that many; absent, the scan counts what it carries
    quantity: Units | None = None


#: a well-formed scan body is well under this (two 4096-character codes, every character escaped)
_SCAN_BODY_MAX = 64 * 1024


def _usual_scans(app: ASGIApp) -> ASGIApp:
    """Handler middleware of ``scan_item``: answers the usual pick scan without the framework.

    A handheld sends one request per unit picked, and Litestar's per-request work for it (request
    object, guard on a copy of the handler, signature model, response object) cost as much CPU as
    the scan's own read, decision and write. The usual scan (a token that resolves — remembered, or
    looked up the way the guard does — allowed to pick, from the device it belongs to, and a body the
    route would accept) is answered here with the same call and the same bytes. Anything else — a
    token refused, a refusal of access, a body to reject, a route given more guards or hooks — goes on to ``scan_item``
    unchanged (with the body read so far handed on), so every other answer is the framework's own.
    Errors the service raises are answered by the route's exception handlers, as from ``scan_item``.
    """
    answer = wrap_in_exception_handler(_answer_scan)
    plain = None  # the route handler, once seen to have exactly the access guard and no hooks

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal plain
        handler = scope["route_handler"]
        if handler is not plain:
            if not _plain(handler):
                await app(scope, receive, send)
                return
            plain = handler
        rule: Access = handler.opt["access"]
        authorization = device = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                if authorization is None:
                    authorization = value
            elif name == b"x-device-id":
                if device is None:
                    device = value
        token = bearer_token(authorization.decode("latin-1")) if authorization else None
        actor = None
        if token is not None:
            # the guard's own look-up (remembered, or looked up again every few seconds); a refusal or a
            # failure goes to the route, which makes it once more and answers it its own way
            try:
                actor = await actor_for_token(
                    scope["app"].state, token, device.decode("latin-1") if device is not None else None
                )
            except Exception:  # noqa: BLE001  (the route looks the token up again and answers the failure)
                actor = None
        if actor is None or not permits(rule, actor):
            await app(scope, receive, send)
            return
        received: list = []
        body = b""
        while True:
            message = await receive()
            received.append(message)
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if len(body) > _SCAN_BODY_MAX or not message.get("more_body", False):
                break
        data = None
        if received[-1]["type"] == "http.request" and not received[-1].get("more_body", False) and body:
            try:  # as the route reads it: JSON first, then converted to the body type (not strict)
                data = msgspec.convert(msgspec.json.decode(body), PickScanIn, strict=False, str_keys=True)
            except Exception:  # noqa: BLE001  (the route answers it)
                data = None
        if data is None:
            await app(scope, _receive_again(received, receive), send)
            return
        scope["state"]["actor"] = actor
        scope["udipick.scan"] = data
        await answer(scope, receive, send)

    return middleware


def _plain(handler: Any) -> bool:
    return (
        handler.resolve_guards() == [access_guard]
        and handler.resolve_before_request() is None
        and handler.resolve_after_response() is None
        and isinstance(handler.opt.get("access"), Access)
        and not handler.opt["access"].public
    )


def _receive_again(received: list, receive: Receive) -> Receive:
    """``receive`` that first hands out the messages already read."""
    pending = list(received)

    async def again() -> Any:
        return pending.pop(0) if pending else await receive()

    return again


async def _answer_scan(scope: Scope, receive: Receive, send: Send) -> None:
    data: PickScanIn = scope.pop("udipick.scan")
    state = scope["app"].state
    reply = await picking.confirm_pick(
        state.db,
        scope["state"]["actor"],
        state.settings,
        task_id=scope["path_params"]["task_id"],
        client_scan_id=data.client_scan_id,
        raw=data.raw,
        location_raw=data.location_raw,
        today=dt.date.today(),
        queued=data.queued_at is not None,
        quantity=data.quantity,
    )
    count_verdict("pick", reply.status, reply.replayed)
    content = msgspec.json.encode(reply.body)
    headers = [(b"idempotent-replayed", b"true")] if reply.replayed else []
    headers.append((b"content-type", b"application/json" if reply.status < 400 else _PROBLEM_JSON))
    headers.append((b"content-length", str(len(content)).encode()))
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": content, "more_body": False})


_PROBLEM_JSON = PROBLEM_JSON.encode()


@post("/picking/tasks/{task_id:int}/scans", status_code=200, middleware=[_usual_scans], **allow(*PICKERS))
async def scan_item(task_id: int, data: JSONBody[PickScanIn], request: Request) -> Response[picking.PickAccepted]:
    # the busiest route: most scans are answered by ``_usual_scans`` before they get here, the same way;
    # it reads the request-scoped values the dependencies would provide (``db``, ``actor``,
    # ``settings``) straight from state, which spares three dependency resolutions per scan
    state = request.app.state
    reply = await picking.confirm_pick(
        state.db,
        request.state.actor,
        state.settings,
        task_id=task_id,
        client_scan_id=data.client_scan_id,
        raw=data.raw,
        location_raw=data.location_raw,
        today=dt.date.today(),
        queued=data.queued_at is not None,
        quantity=data.quantity,
    )
    return reply_response(reply, workflow="pick")


class SignatureIn(msgspec.Struct, rename="camel"):
    username: Annotated[str, Meta(min_length=1, max_length=64)]
    password: Annotated[str, Meta(min_length=1, max_length=256)]


class OverrideIn(msgspec.Struct, rename="camel"):
    client_scan_id: uuid.UUID
    raw: Raw
    reason: Annotated[str, Meta(min_length=3, max_length=500)]
    supervisor: SignatureIn
    location_raw: Raw | None = None
    #: as on the refused scan (``PickScanIn.quantity``)
    quantity: Units | None = None


@post("/picking/tasks/{task_id:int}/override", status_code=200, **allow(*PICKERS))
async def override_fefo(
    task_id: int, data: JSONBody[OverrideIn], request: Request, db: Db, actor: CurrentActor, settings: AppSettings
) -> Response[picking.PickAccepted]:
    """A supervisor signs (user name + password, on the picker's device) to take a later-expiring lot.

    A task that cannot be picked is refused before the password is checked; every failed signature
    gets one answer (``403 signature-rejected``), and failures count toward the signer's lock."""
    target = f"pick-task:{task_id}"
    if (first := await replay.stored(db, data.client_scan_id, f"pick:{task_id}")) is not None:
        return reply_response(first, workflow="pick")  # a replay: the approval was signed the first time
    await picking.check_overridable(db, task_id)
    signer = await countersign(
        db,
        password_checks(request),
        data.supervisor.username,
        data.supervisor.password,
        roles=frozenset(SUPERVISORS),
        meaning="approve FEFO override",
        signature_meaning="approval",
        reason=data.reason,
        target=target,
        device_id=actor.device_id,
        address=client_address(request),
    )
    reply = await picking.confirm_pick(
        db,
        actor,
        settings,
        task_id=task_id,
        client_scan_id=data.client_scan_id,
        raw=data.raw,
        location_raw=data.location_raw,
        today=dt.date.today(),
        override=picking.Override(signer, data.reason),
        quantity=data.quantity,
    )
    return reply_response(reply, workflow="pick")


class ShortIn(msgspec.Struct, rename="camel"):
    client_scan_id: uuid.UUID
    #: units of the task the picker found at the location and could not take (0 to the task's remainder):
    #: the discrepancy the exception and the count start from
    found: Annotated[int, Meta(ge=0, le=1_000_000)] = 0


@post("/picking/tasks/{task_id:int}/short", status_code=200, **allow(*PICKERS))
async def report_short(
    task_id: int, data: JSONBody[ShortIn], db: Db, actor: CurrentActor
) -> Response[picking.ShortReported]:
    """The rest of this task is not on the shelf: record it, block the location, re-allocate or backorder."""
    reply = await picking.report_short(
        db, actor, task_id=task_id, client_scan_id=data.client_scan_id, today=dt.date.today(), found=data.found
    )
    return reply_response(reply, workflow="short-pick")


class UndoIn(msgspec.Struct, rename="camel"):
    #: the undo's own id: sent again, it gets the first answer
    client_scan_id: uuid.UUID
    #: the ``clientScanId`` of the pick scan to take back: the caller's last on this task
    scan_id: uuid.UUID


@post("/picking/tasks/{task_id:int}/undo", status_code=200, **allow(*PICKERS))
async def undo_pick(
    task_id: int, data: JSONBody[UndoIn], db: Db, actor: CurrentActor, settings: AppSettings
) -> Response[picking.PickUndone]:
    """Take back the caller's last pick scan on the task, within ``UDIPICK_PICK_UNDO_SECONDS`` and before
    packing: a reversing ledger movement puts the units back where they were taken and reserves them for
    the task again; ``pick.undone.v1`` tells the ERP. Refused after the window (``undo-too-late``), once
    packed (``undo-after-packing``), or for any other scan (``undo-not-last``)."""
    reply = await picking.undo_pick(
        db,
        actor,
        task_id=task_id,
        client_scan_id=data.client_scan_id,
        scan_id=data.scan_id,
        window_seconds=settings.pick_undo_seconds,
    )
    return reply_response(reply, workflow="undo-pick")


class ToteIn(msgspec.Struct, rename="camel"):
    order: Annotated[str, Meta(min_length=1, max_length=64)]
    raw: Raw


@post("/waves/{wave_id:int}/totes", status_code=200, **allow(*PICKERS))
async def assign_tote(wave_id: int, data: JSONBody[ToteIn], db: Db, settings: AppSettings) -> picking.ToteAssigned:
    """Batch picking: scan a tote for each order of the wave; its picks go into that tote."""
    return await picking.assign_tote(
        db, settings, wave_id=wave_id, order=data.order, raw=data.raw, today=dt.date.today()
    )


# ---- holds ------------------------------------------------------------------------------------------


class HoldIn(msgspec.Struct, rename="camel"):
    scope: Literal["item", "lot", "serial", "location"]
    reason: Annotated[str, Meta(min_length=1, max_length=500)]
    item: Annotated[str, Meta(max_length=64)] | None = None
    lot: Annotated[str, Meta(max_length=20)] | None = None
    serial: Annotated[str, Meta(max_length=20)] | None = None
    location: Annotated[str, Meta(max_length=80)] | None = None


@post("/holds", status_code=201, **allow("supervisor", "qa", "admin"))
async def place_hold(data: JSONBody[HoldIn], db: Db, actor: CurrentActor) -> holds_svc.PlacedHold:
    """Takes effect at the next scan; open allocations it covers are re-allocated."""
    return await holds_svc.place_hold(
        db,
        actor,
        scope=data.scope,
        reason=data.reason,
        item=data.item,
        lot=data.lot,
        serial=data.serial,
        location=data.location,
        today=dt.date.today(),
    )


class ReleaseIn(msgspec.Struct, rename="camel"):
    reason: Annotated[str, Meta(min_length=1, max_length=500)]
    password: Annotated[str, Meta(min_length=1, max_length=256)]


@post("/holds/{hold_id:int}/release", status_code=200, **allow("supervisor", "qa"))
async def release_hold(
    hold_id: int, data: JSONBody[ReleaseIn], request: Request, db: Db, actor: CurrentActor
) -> holds_svc.Hold:
    """Needs the releaser's electronic signature (password re-entered)."""
    return await holds_svc.release_hold(
        db,
        password_checks(request),
        actor,
        hold_id=hold_id,
        reason=data.reason,
        password=data.password,
        address=client_address(request),
    )


@get("/holds", **allow(any_user=True))
async def list_holds(db: Db, active: bool = True) -> list[holds_svc.Hold]:
    return await holds_svc.list_holds(db, active=active)


picking_router = Router(
    path="/api/v1",
    route_handlers=[
        # ``release_wave`` is served by ``api.waves`` with the other ``/waves`` routes: one router per path
        list_tasks,
        wave_progress,
        check_location,
        scan_item,
        override_fefo,
        report_short,
        undo_pick,
        assign_tote,
        place_hold,
        release_hold,
        list_holds,
    ],
    tags=["Picking"],
)

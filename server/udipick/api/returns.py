"""Returns and scrap on the handheld: ``/api/v1/returns/...`` and ``/api/v1/scrap``.

A return is started against an RMA the ERP sent (``POST /api/v1/erp/returns``) or blind (the customer
chosen); each scan answers in one round trip with the unit accepted into quarantine and the return's
progress, or an RFC 9457 problem (``return-not-shipped-to-customer``, ``return-over-authorized``,
``missing-serial``...). A scan id keeps its first answer forever. QA decides each returned unit with an
electronic signature; QA or a supervisor scraps stock with one.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.params import FromPath, JSONBody
from msgspec import Meta

from udipick.api.deps import AppSettings, CurrentActor, Db, allow, client_address, password_checks
from udipick.api.picking import reply_response
from udipick.domain.errors import InvalidRecord
from udipick.services import returns, scrap
from udipick.services.returns import ReturnLineView, ReturnScanAnswer, ReturnView, RmaView
from udipick.services.scrap import Scrapped

RETURNS = allow("receiver", "qa", "supervisor", "admin")
QA = allow("qa")
SCRAPPERS = allow("qa", "supervisor")

Text = Annotated[str, Meta(min_length=1, max_length=500)]
Code = Annotated[str, Meta(min_length=1, max_length=64)]
Password = Annotated[str, Meta(min_length=1, max_length=200)]


class StartReturnIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    #: the RMA (ERP id or number); leave out and set ``blind`` with the ``customer`` for a return without one
    rma: Code | None = None
    blind: bool = False
    #: the customer's ERP id (a blind return)
    customer: Code | None = None
    #: the quarantine location (code or label); defaults to the warehouse's first quarantine location
    location: Code | None = None


class ReturnScanIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    client_scan_id: uuid.UUID
    raw: Annotated[str, Meta(min_length=1, max_length=4096)]
    lot: Annotated[str, Meta(min_length=1, max_length=20)] | None = None
    serial: Annotated[str, Meta(min_length=1, max_length=20)] | None = None
    #: units of the scanned pack that came back, when the barcode carries no count
    quantity: Annotated[int, Meta(ge=1, le=100000)] | None = None
    reason: Text | None = None


class DispositionIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    decision: Literal["restock", "scrap", "to_supplier"]
    reason: Text
    #: the signer's password, re-entered (electronic signature)
    password: Password


class ScrapIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    #: the location (code or label) the stock is at
    location: Code
    #: the unit's or pack's barcode
    raw: Annotated[str, Meta(min_length=1, max_length=4096)]
    reason: Literal["expired", "damaged", "rejected", "recalled", "quarantine"]
    #: the signer's password, re-entered (electronic signature)
    password: Password
    lot: Annotated[str, Meta(min_length=1, max_length=20)] | None = None
    serial: Annotated[str, Meta(min_length=1, max_length=20)] | None = None
    #: units (base unit) to scrap; absent: what the scan counts (a serial is 1)
    quantity: Annotated[int, Meta(ge=1, le=1_000_000)] | None = None
    note: Text | None = None


@get("/returns/rmas", **RETURNS)
async def list_rmas(db: Db) -> list[RmaView]:
    """RMAs with something still to come back."""
    return await returns.open_rmas(db)


@post("/returns", status_code=201, **RETURNS)
async def start_return(data: JSONBody[StartReturnIn], db: Db, actor: CurrentActor) -> ReturnView:
    """Start receiving a return against an RMA, or blind for a named customer."""
    if data.rma is None and not data.blind:
        raise InvalidRecord("name the RMA being received, or ask for a blind return with the customer", pointer="/rma")
    if data.rma is not None and data.blind:
        raise InvalidRecord("a return against an RMA is not blind", pointer="/blind")
    return await returns.start_return(db, actor, rma=data.rma, customer=data.customer, location=data.location)


@get("/returns/{return_id:int}", **RETURNS)
async def get_return(return_id: FromPath[int], db: Db) -> ReturnView:
    """The return's RMA lines with what came back against each, and every unit received."""
    return await returns.get_return(db, return_id)


@post("/returns/{return_id:int}/scans", status_code=200, **RETURNS)
async def scan_return(
    return_id: FromPath[int], data: JSONBody[ReturnScanIn], db: Db, actor: CurrentActor, settings: AppSettings
) -> Response[ReturnScanAnswer]:
    """Receive one returned unit (or quantity of a lot) into quarantine, checked against what was shipped to the customer."""
    reply = await returns.scan_return(
        db,
        actor,
        settings,
        return_id,
        returns.ReturnScanInput(
            client_scan_id=data.client_scan_id,
            raw=data.raw,
            lot=data.lot,
            serial=data.serial,
            quantity=data.quantity,
            reason=data.reason,
        ),
        today=dt.date.today(),
    )
    return reply_response(reply, workflow="return")


@get("/returns/lines", **allow("qa", "supervisor"))
async def awaiting(db: Db) -> list[ReturnLineView]:
    """Returned units in quarantine waiting for QA's decision."""
    return await returns.awaiting_disposition(db)


@post("/returns/lines/{line_id:int}/disposition", status_code=200, **QA)
async def dispose(
    line_id: FromPath[int],
    data: JSONBody[DispositionIn],
    request: Request,
    db: Db,
    actor: CurrentActor,
    settings: AppSettings,
) -> ReturnLineView:
    """Restock, scrap or return to the supplier one returned unit; signed by re-entering the password."""
    return await returns.dispose(
        db,
        password_checks(request),
        settings,
        actor,
        line_id,
        data.decision,
        reason=data.reason,
        password=data.password,
        address=client_address(request),
    )


@post("/scrap", status_code=200, **SCRAPPERS)
async def scrap_stock(
    data: JSONBody[ScrapIn], request: Request, db: Db, actor: CurrentActor, settings: AppSettings
) -> Scrapped:
    """Scrap expired, damaged or rejected stock at a location; signed by re-entering the password."""
    return await scrap.scrap_stock(
        db,
        password_checks(request),
        settings,
        actor,
        location=data.location,
        raw=data.raw,
        lot=data.lot,
        serial=data.serial,
        quantity=data.quantity,
        reason=data.reason,
        note=data.note,
        password=data.password,
        address=client_address(request),
        today=dt.date.today(),
    )


returns_router = Router(
    path="/api/v1",
    route_handlers=[list_rmas, start_return, get_return, scan_return, awaiting, dispose, scrap_stock],
    tags=["Returns and scrap"],
)

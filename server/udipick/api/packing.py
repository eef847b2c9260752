"""Packing into SSCC cartons and ship-confirm."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec
from litestar import Response, Router, post
from litestar.params import JSONBody
from msgspec import Meta

from udipick.api.deps import AppSettings, CurrentActor, Db, Labels, allow
from udipick.api.picking import PICKERS, Raw, reply_response
from udipick.services import packing
from udipick.services.packing import PackageClosed, PackageOpened, PackedUnits, Shipment

Sscc = Annotated[str, Meta(pattern=r"^[0-9]{18}$")]
OrderId = Annotated[str, Meta(min_length=1, max_length=64)]


class OrderIn(msgspec.Struct, rename="camel"):
    order: OrderId


@post("/packing/packages", status_code=201, **allow(*PICKERS))
async def open_package(data: JSONBody[OrderIn], db: Db, actor: CurrentActor, settings: AppSettings) -> PackageOpened:
    """A new carton for the order, with a fresh SSCC."""
    return await packing.open_package(db, actor, settings, order=data.order)


class PackScanIn(msgspec.Struct, rename="camel"):
    client_scan_id: uuid.UUID
    raw: Raw


@post("/packing/packages/{sscc:str}/scans", status_code=200, **allow(*PICKERS))
async def pack_scan(
    sscc: Sscc, data: JSONBody[PackScanIn], db: Db, actor: CurrentActor, settings: AppSettings
) -> Response[PackedUnits]:
    """Pack one scanned unit or pack; a replayed ``clientScanId`` gets the first answer (``Idempotent-Replayed: true``)."""
    reply = await packing.pack_scan(
        db, actor, settings, sscc=sscc, client_scan_id=data.client_scan_id, raw=data.raw, today=dt.date.today()
    )
    return reply_response(reply, workflow="pack")


@post("/packing/packages/{sscc:str}/close", status_code=200, **allow(*PICKERS))
async def close_package(
    sscc: Sscc, db: Db, actor: CurrentActor, settings: AppSettings, labels: Labels
) -> PackageClosed:
    """Close the carton and queue its SSCC label (the answer says where it prints, or why it cannot)."""
    return await packing.close_package(db, actor, settings, labels, sscc=sscc)


@post("/shipments", status_code=200, **allow(*PICKERS))
async def ship_order(data: JSONBody[OrderIn], db: Db, actor: CurrentActor) -> Shipment:
    """Ship-confirm; emits shipment.confirmed.v1 with every unit's lot, serial, expiry and SSCC."""
    return await packing.ship_order(db, actor, order=data.order)


packing_router = Router(
    path="/api/v1", route_handlers=[open_package, pack_scan, close_package, ship_order], tags=["Packing"]
)

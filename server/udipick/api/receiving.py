"""Receiving on the handheld: ``/api/v1/receipts/...``, ``/api/v1/putaway/...``, ``/api/v1/qc/...``.

A scan answers in one round trip with what the receiver needs next: accepted (units, stock status,
licence plate and its label, line progress), or an RFC 9457 problem. When the item needs a datum
the barcode did not carry, the problem's ``code`` names it (``missing-lot``, ``missing-expiry``,
``missing-serial``, ``missing-temperature``) and ``needs`` lists every missing field: the handheld
asks the person, then sends the scan again with those fields and a new ``clientScanId`` (the first
id keeps its first answer forever, so a replayed request never receives twice).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody
from msgspec import Meta

from udipick.api.deps import AppSettings, CurrentActor, Db, Labels, allow, client_address, password_checks
from udipick.api.picking import reply_response
from udipick.domain.errors import InvalidRecord
from udipick.services.receiving import putaway, qc, receipt
from udipick.services.receiving.putaway import PutawayDone, PutawayTaskView
from udipick.services.receiving.qc import QcDecided, QuarantinedLot
from udipick.services.receiving.receipt import ReceiptRow, ReceiptView, ScanAnswer

RECEIVING = allow("receiver", "supervisor", "admin")
QA = allow("qa")

Text = Annotated[str, Meta(min_length=1, max_length=500)]
Code = Annotated[str, Meta(min_length=1, max_length=64)]


Celsius = Annotated[float, Meta(ge=-80, le=80)]


class TransportIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    """The transport record (GSP 运输记录) off the carrier's papers and logger; every field optional."""

    carrier: Annotated[str, Meta(min_length=1, max_length=200)] | None = None
    #: e.g. 冷藏车 (refrigerated truck), 保温箱 (insulated box), 常温 (ambient)
    transport_mode: Annotated[str, Meta(min_length=1, max_length=40)] | None = None
    departed_at: Annotated[dt.datetime, Meta(tz=True)] | None = None
    departure_temperature_c: Celsius | None = None
    #: measured as the vehicle or box was opened at the dock
    arrival_temperature_c: Celsius | None = None
    #: what the transport's temperature log showed (e.g. "logger TL-88: 3.1–6.4 °C throughout")
    transport_temperatures: Annotated[str, Meta(min_length=1, max_length=2000)] | None = None


class StartReceiptIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    #: the purchase order or ASN (ERP id or number); leave out and set ``blind`` for a receipt without one
    document: Code | None = None
    blind: bool = False
    supplier: Code | None = None
    #: the receiving dock (code or label); defaults to the warehouse's receiving location
    location: Code | None = None
    note: Text | None = None
    transport: TransportIn | None = None


class ReceiptScanIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    client_scan_id: uuid.UUID
    raw: Annotated[str, Meta(min_length=1, max_length=4096)]
    temperature_c: Annotated[float, Meta(ge=-80, le=80)] | None = None
    lot: Annotated[str, Meta(min_length=1, max_length=20)] | None = None
    expiry: dt.date | None = None
    serial: Annotated[str, Meta(min_length=1, max_length=20)] | None = None
    #: how many of the scanned pack were received, when the barcode carries no count (AI 30/37)
    quantity: Annotated[int, Meta(ge=1, le=100000)] | None = None
    damaged: bool = False
    reason: Text | None = None


class DiscrepancyIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    kind: Literal["short", "over", "damaged"]
    quantity: Annotated[int, Meta(ge=1, le=1000000)]
    reason: Text
    line_no: Annotated[int, Meta(ge=1)] | None = None
    item: Code | None = None
    lot: Annotated[str, Meta(min_length=1, max_length=20)] | None = None


class CloseReceiptIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    #: needed when lines are short (e.g. "supplier short-shipped, backorder")
    reason: Text | None = None


class PutawayIdentifyIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    raw: Annotated[str, Meta(min_length=1, max_length=4096)]


class PutawayConfirmIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    client_scan_id: uuid.UUID
    #: the destination location's label
    raw: Annotated[str, Meta(min_length=1, max_length=4096)]
    #: a goods scan: put away only that item (lot, serial) of the plate; absent: all of the task's stock
    units: Annotated[str, Meta(min_length=1, max_length=4096)] | None = None
    #: base units of ``units`` to put away (lot-tracked goods counted by hand); absent: all of them
    quantity: Annotated[int, Meta(ge=1, le=10_000_000)] | None = None


class QcDecisionIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    reason: Text
    #: the signer's password, re-entered (electronic signature)
    password: Annotated[str, Meta(min_length=1, max_length=200)]


# ---- receipts ------------------------------------------------------------------------------------


@post("/api/v1/receipts", status_code=201, **RECEIVING)
async def start_receipt(data: JSONBody[StartReceiptIn], db: Db, actor: CurrentActor) -> ReceiptView:
    """Start receiving against a purchase order or ASN; a blind receipt (no document) needs a supervisor or admin."""
    if data.document is None and not data.blind:
        raise InvalidRecord(
            "name the purchase order or ASN being received, or ask for a blind receipt", pointer="/document"
        )
    if data.document is not None and data.blind:
        raise InvalidRecord("a receipt against a document is not blind", pointer="/blind")
    transport = receipt.Transport(**msgspec.structs.asdict(data.transport)) if data.transport else None
    return await receipt.start_receipt(
        db,
        actor,
        document=data.document,
        supplier=data.supplier,
        location=data.location,
        note=data.note,
        transport=transport,
    )


@get("/api/v1/receipts", **RECEIVING)
async def list_receipts(
    db: Db, status: FromQuery[Literal["open", "closed", "all"]] = "open", document: FromQuery[str | None] = None
) -> list[ReceiptRow]:
    """Receipts to resume (open ones by default), newest first."""
    return await receipt.list_receipts(db, status=None if status == "all" else status, document=document)


@get("/api/v1/receipts/{receipt_id:int}", **RECEIVING)
async def get_receipt(receipt_id: FromPath[int], db: Db) -> ReceiptView:
    """Line progress (ordered, received, open), what this receipt received, its licence plates and labels, discrepancies."""
    return await receipt.get_receipt(db, receipt_id)


@post("/api/v1/receipts/{receipt_id:int}/scans", status_code=200, **RECEIVING)
async def scan_receipt(
    receipt_id: FromPath[int],
    data: JSONBody[ReceiptScanIn],
    db: Db,
    actor: CurrentActor,
    settings: AppSettings,
    labels: Labels,
) -> Response[ScanAnswer]:
    """Receive one scan (DataMatrix, GS1-128 with count, HIBC, Digital Link). Replays answer the first verdict."""
    reply = await receipt.scan_receipt(
        db,
        actor,
        settings,
        labels,
        receipt_id,
        receipt.ScanInput(
            client_scan_id=data.client_scan_id,
            raw=data.raw,
            temperature_c=data.temperature_c,
            lot=data.lot,
            expiry=data.expiry,
            serial=data.serial,
            quantity=data.quantity,
            damaged=data.damaged,
            reason=data.reason,
        ),
        today=dt.date.today(),
    )
    return reply_response(reply, workflow="receipt")


@post("/api/v1/receipts/{receipt_id:int}/discrepancies", status_code=201, **RECEIVING)
async def record_discrepancy(
    receipt_id: FromPath[int], data: JSONBody[DiscrepancyIn], db: Db, actor: CurrentActor
) -> ReceiptView:
    """Record short, over or damaged units counted by hand, with a reason."""
    return await receipt.record_discrepancy(
        db,
        actor,
        receipt_id,
        kind=data.kind,
        quantity=data.quantity,
        reason=data.reason,
        line_no=data.line_no,
        item=data.item,
        lot=data.lot,
    )


@post("/api/v1/receipts/{receipt_id:int}/close", status_code=200, **RECEIVING)
async def close_receipt(
    receipt_id: FromPath[int], data: JSONBody[CloseReceiptIn], db: Db, actor: CurrentActor
) -> ReceiptView:
    """Confirm the receipt to the ERP (``receipt.confirmed.v1`` per line, lot and status) and create the putaway tasks."""
    return await receipt.close_receipt(db, actor, receipt_id, reason=data.reason)


# ---- putaway -------------------------------------------------------------------------------------


@get("/api/v1/putaway/tasks", **RECEIVING)
async def putaway_tasks(db: Db) -> list[PutawayTaskView]:
    """Open putaway tasks: licence plate, where it is, what is on it and what kind of location it needs."""
    return await putaway.putaway_tasks(db)


@post("/api/v1/putaway/identify", status_code=200, **RECEIVING)
async def identify_putaway(data: JSONBody[PutawayIdentifyIn], db: Db, settings: AppSettings) -> list[PutawayTaskView]:
    """First scan: the licence plate (or an item on one); answers the open task(s)."""
    return await putaway.identify_putaway(db, settings, data.raw, today=dt.date.today())


@post("/api/v1/putaway/tasks/{task_id:int}/confirm", status_code=200, **RECEIVING)
async def confirm_putaway(
    task_id: FromPath[int], data: JSONBody[PutawayConfirmIn], db: Db, actor: CurrentActor, settings: AppSettings
) -> Response[PutawayDone]:
    """Second scan: the destination; it must fit (cold, quarantine, bonded, not frozen, capacity). The
    suggested destination or any other suitable one; ``units`` (a goods scan) puts away only that part."""
    reply = await putaway.confirm_putaway(
        db,
        actor,
        settings,
        task_id,
        data.client_scan_id,
        data.raw,
        today=dt.date.today(),
        units=data.units,
        quantity=data.quantity,
    )
    return reply_response(reply, workflow="putaway")


# ---- QC ------------------------------------------------------------------------------------------


@get("/api/v1/qc/quarantine", **QA)
async def quarantine(db: Db) -> list[QuarantinedLot]:
    """Lots with stock awaiting a QC decision, where it is and why it was quarantined."""
    return await qc.quarantined_lots(db)


async def _decide_qc(
    lot_id: int, data: QcDecisionIn, request: Request, db: Db, actor: CurrentActor, decision: str
) -> QcDecided:
    return await qc.decide_qc(
        db,
        password_checks(request),
        actor,
        lot_id,
        decision,
        reason=data.reason,
        password=data.password,
        address=client_address(request),
    )


@post("/api/v1/qc/lots/{lot_id:int}/release", status_code=200, **QA)
async def release_lot(
    lot_id: FromPath[int], data: JSONBody[QcDecisionIn], request: Request, db: Db, actor: CurrentActor
) -> QcDecided:
    """Release a lot's quarantined stock; signed by re-entering the password."""
    return await _decide_qc(lot_id, data, request, db, actor, "release")


@post("/api/v1/qc/lots/{lot_id:int}/reject", status_code=200, **QA)
async def reject_lot(
    lot_id: FromPath[int], data: JSONBody[QcDecisionIn], request: Request, db: Db, actor: CurrentActor
) -> QcDecided:
    """Reject a lot's quarantined stock (never pickable); signed by re-entering the password."""
    return await _decide_qc(lot_id, data, request, db, actor, "reject")


ROUTES = [
    start_receipt,
    list_receipts,
    get_receipt,
    scan_receipt,
    record_discrepancy,
    close_receipt,
    putaway_tasks,
    identify_putaway,
    confirm_putaway,
    quarantine,
    release_lot,
    reject_lot,
]

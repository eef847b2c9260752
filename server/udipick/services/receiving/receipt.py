"""Receipts: start one against a purchase order or ASN (or blind), check every scan at the dock,
record what was counted by hand, and close it (its events to the ERP and a putaway task per plate).

The document line is locked (``SELECT ... FOR UPDATE``) before its open quantity is judged, so two
receivers scanning the last units of one line at once can never over-receive.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import exists, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from udipick.config import Settings
from udipick.db.ledger import Movement, post_movements
from udipick.db.models import (
    Container,
    InboundDocument,
    InboundLine,
    Item,
    Location,
    Lot,
    Serial,
    Stock,
    Supplier,
    User,
)
from udipick.db.models_printing import PrintJob
from udipick.db.models_receiving import (
    PutawayTask,
    Receipt,
    ReceiptContainer,
    ReceiptDiscrepancy,
    ReceiptScan,
)
from udipick.domain import receiving as rules
from udipick.domain.access import Actor
from udipick.domain.barcodes import Scan
from udipick.domain.errors import (
    Conflict,
    DomainError,
    InvalidRecord,
    LotExpiryConflict,
    MissingReason,
    NotFound,
    PermissionDenied,
    ReceiptNotOpen,
    SerialAlreadyReceived,
)
from udipick.services import regulatory, scans
from udipick.services.events import ReceiptConfirmed, ReceiptDiscrepancyRecorded, emit
from udipick.services.printing import LabelRenderer, PrintJobRef, job_ref, queue_label
from udipick.services.recall_facts import open_recalls, serial_recalled, serial_recalls
from udipick.services.receiving.common import (
    identify_item,
    receipt_number,
    receiving_user,
)
from udipick.services.receiving.putaway import PutawayTaskView, task_views
from udipick.services.replay import Reply, once

#: roles that may receive without a document (a blind receipt needs someone accountable for it)
BLIND_ROLES = frozenset({"supervisor", "admin"})


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


# ---- answers (the JSON the handheld reads) ----------------------------------------------------------


class ItemSummary(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    """The item as the receiver recognises it: ERP id, name and base-unit GTIN."""

    erp_id: str
    name: str
    gtin: str


class DocumentRef(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    erp_id: str
    number: str
    kind: str
    status: str


class LineProgress(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    line_no: int
    item: ItemSummary
    ordered: int
    received: int
    open: int
    #: the lots (and serials) the ASN announced for the line, as the ERP sent them
    expected: list[dict[str, Any]]


class ReceivedGroup(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    """This receipt's accepted units of one document line, item, lot, status and licence plate."""

    line_no: int | None
    item: str
    gtin: str
    name: str
    lot: str | None
    expiry: dt.date | None
    production_date: dt.date | None
    serials: list[str]
    quantity: int
    status: str
    reasons: list[str]
    lpn: str


class ReceiptLpn(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    lpn: str
    #: storage condition and stock status of what goes on the plate, e.g. ``ambient/available``
    group: str
    label: PrintJobRef | None


class DiscrepancyView(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    id: int
    kind: str
    line_no: int | None
    item: str | None
    gtin: str | None
    lot: str | None
    serial: str | None
    quantity: int | None
    reason: str
    recorded_by: str
    device_id: str | None
    #: ISO 8601 with the database's UTC offset (``+00:00``)
    recorded_at: str


class Transport(msgspec.Struct, rename="camel", frozen=True, kw_only=True, omit_defaults=True):
    """How the goods travelled (GSP 运输记录), as the receiver read it off the carrier's papers and
    temperature logger: what a cold-chain acceptance must check and record. Every field optional."""

    carrier: str | None = None
    #: e.g. 冷藏车 (refrigerated truck), 保温箱 (insulated box), 常温 (ambient)
    transport_mode: str | None = None
    departed_at: dt.datetime | None = None
    departure_temperature_c: float | None = None
    #: measured as the vehicle or box was opened at the dock
    arrival_temperature_c: float | None = None
    #: what the transport's temperature log showed over the journey
    transport_temperatures: str | None = None


TRANSPORT_FIELDS = Transport.__struct_fields__


class ReceiptView(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    """Everything the handheld shows for a receipt."""

    id: int
    number: str
    status: str
    blind: bool
    document: DocumentRef | None
    supplier: str | None
    location: str | None
    lines: list[LineProgress]
    received: list[ReceivedGroup]
    lpns: list[ReceiptLpn]
    discrepancies: list[DiscrepancyView]
    putaway_tasks: list[PutawayTaskView]
    #: the transport record given when the receipt was started (``null``: none given)
    transport: Transport | None = None


class ReceiptRow(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    id: int
    number: str
    status: str
    document: str | None
    created_by: str
    created_at: str


class QuarantineWhy(msgspec.Struct, rename="camel", frozen=True, kw_only=True, omit_defaults=True):
    """One reason for quarantine as facts the handheld words in its user's language (``reasons`` has the
    same in English): ``short-shelf-life`` (``remainingDays``, ``requiredDays``), ``temperature-out-of-range``
    (``temperatureC``, ``range``), ``lot-not-released`` (``lotStatus``), ``lot-on-hold`` (``lot``, ``hold``),
    ``qc-required``."""

    code: str
    remaining_days: int | None = None
    required_days: int | None = None
    temperature_c: float | None = None
    range: str | None = None
    lot_status: str | None = None
    lot: str | None = None
    hold: str | None = None


def quarantine_why(reason: rules.QuarantineReason) -> QuarantineWhy:
    return msgspec.convert({"code": reason.code, **reason.facts}, QuarantineWhy)


class ScanAccepted(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    """The units a scan names were received (into stock or quarantine, ``status`` and ``reasons`` say)."""

    accepted: bool
    receipt: str
    item: ItemSummary
    pack_level: str
    units: int
    status: str
    reasons: list[str]
    #: ``reasons`` as facts, in the same order
    why: list[QuarantineWhy] = msgspec.field(default_factory=list)
    lot: str | None
    expiry: dt.date | None
    serial: str | None
    temperature_c: float | None
    lpn: str
    #: the licence plate's label, when this scan started the plate
    label: PrintJobRef | None
    asn_mismatches: list[str]
    line: LineProgress | None


class DamagedRecorded(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    """Damaged units: recorded as a discrepancy with the reason, never put into stock."""

    accepted: bool
    damaged: bool
    receipt: str
    item: ItemSummary
    units: int
    lot: str | None
    serial: str | None
    reason: str
    line: LineProgress | None


ScanAnswer = ScanAccepted | DamagedRecorded


# ---- start ---------------------------------------------------------------------------------------


async def start_receipt(
    db: async_sessionmaker,
    actor: Actor,
    *,
    document: str | None,
    supplier: str | None = None,
    location: str | None = None,
    note: str | None = None,
    transport: Transport | None = None,
) -> ReceiptView:
    """Open a receipt against a purchase order / ASN (its ERP id or number), or blind when
    ``document`` is ``None`` (supervisor/admin only), with the transport record if the receiver has it."""
    user_id = receiving_user(actor)
    async with db.begin() as session:
        doc = None
        supplier_id = None
        if document is not None:
            doc = (
                (
                    await session.execute(
                        select(InboundDocument)
                        .where((InboundDocument.erp_id == document) | (InboundDocument.number == document))
                        .order_by(InboundDocument.id)
                        .with_for_update()
                    )
                )
                .scalars()
                .first()
            )
            if doc is None:
                raise NotFound(
                    f"no purchase order or ASN {document!r}: check the paperwork or ask for a blind receipt",
                    document=document,
                )
            if doc.status in ("closed", "cancelled"):
                raise Conflict(
                    f"{doc.number} is {doc.status}: nothing more can be received against it",
                    document=doc.number,
                    documentStatus=doc.status,
                )
            supplier_id = doc.supplier_id
        else:
            if not (actor.roles & BLIND_ROLES):
                raise PermissionDenied(
                    "a receipt without a purchase order or ASN needs a supervisor", allowed="roles: admin, supervisor"
                )
            if supplier is not None:
                supplier_id = await session.scalar(select(Supplier.id).where(Supplier.erp_id == supplier))
                if supplier_id is None:
                    raise NotFound(f"unknown supplier {supplier!r}", supplier=supplier)
        loc_query = select(Location).where(Location.type == "receiving")
        if location is not None:
            loc_query = select(Location).where((Location.code == location) | (Location.barcode == location))
        elif doc is not None:
            loc_query = loc_query.where(Location.warehouse_id == doc.warehouse_id)
        dock = (await session.execute(loc_query.order_by(Location.code))).scalars().first()
        if dock is None:
            raise NotFound(f"no receiving location {location or ''}".strip(), location=location)
        if dock.type != "receiving":
            raise InvalidRecord(
                f"{dock.code} is a {dock.type} location; receive at a receiving dock", pointer="/location"
            )
        receipt_id = await session.scalar(
            insert(Receipt)
            .values(
                document_id=doc.id if doc else None,
                supplier_id=supplier_id,
                location_id=dock.id,
                note=note,
                created_by=user_id,
                created_device=actor.device_id,
                **msgspec.structs.asdict(transport or Transport()),
            )
            .returning(Receipt.id)
        )
        if doc is not None and doc.status == "open":
            doc.status = "receiving"
    return await get_receipt(db, int(receipt_id))


# ---- one scan: load, decide (domain.receiving.decide_receipt), write --------------------------------


@dataclass(frozen=True, slots=True)
class ScanInput:
    client_scan_id: uuid.UUID
    raw: str
    temperature_c: float | None = None
    lot: str | None = None
    expiry: dt.date | None = None
    serial: str | None = None
    quantity: int | None = None
    damaged: bool = False
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class OpenReceipt:
    """The receipt a scan is received into (locked), and its dock."""

    id: int
    number: str
    document_id: int | None
    supplier_id: int | None
    dock_id: int
    dock_zone: str | None


@dataclass(frozen=True, slots=True)
class Goods:
    """What one scan names: the item at the level scanned, what was captured (from the barcode or
    typed in), and the document line it is received against (``None`` on a blind receipt)."""

    receipt: OpenReceipt
    match: scans.ItemMatch
    item: rules.ItemFacts
    captured: rules.Captured
    line: rules.LineFacts | None


@dataclass(frozen=True, slots=True)
class Known:
    """What udipick already knows of the scanned lot (locked) and serial."""

    lot_id: int | None
    lot: rules.KnownLot | None
    serial: rules.KnownSerial | None
    serials_in_receipt: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Plate:
    """The receipt's licence plate for one storage condition and stock status."""

    container_id: int
    lpn: str
    #: the label queued for a plate this scan started
    label: PrintJobRef | None


async def scan_receipt(
    db: async_sessionmaker,
    actor: Actor,
    settings: Settings,
    labels: LabelRenderer,
    receipt_id: int,
    inp: ScanInput,
    *,
    today: dt.date,
) -> Reply:
    """Receive what one scan names. A replay of ``client_scan_id`` answers what it answered first.

    ``labels`` renders the label of a licence plate the scan starts, in the scan's transaction."""
    user_id = receiving_user(actor)
    # what the attempt had loaded, kept for ``on_refused``: its transaction is rolled back by then
    goods: Goods | None = None

    async def decide_and_write(session: AsyncSession) -> ScanAnswer:
        nonlocal goods
        goods = await _load_goods(session, settings, receipt_id, inp, today)
        if inp.damaged:
            return await _record_damaged(session, actor, goods, inp)
        # GSP (China): the supplier's and the product's approval and certificates, before anything is booked
        await regulatory.check_receipt(
            session,
            receipt_id=goods.receipt.id,
            supplier_id=goods.receipt.supplier_id,
            item_id=goods.item.item_id,
            on=today,
        )
        known = await _load_known(session, goods)
        policy = await _policy(session, settings, goods.receipt)
        decision = rules.decide_receipt(
            goods.item,
            goods.captured,
            today=today,
            policy=policy,
            line=goods.line,
            known_lot=known.lot,
            known_serial=known.serial,
            serials_in_receipt=known.serials_in_receipt,
        )
        return await _receive(session, actor, settings, labels, user_id, inp, goods, known, decision)

    async def on_refused(session: AsyncSession, refusal: DomainError) -> None:
        # a lot data conflict is reported, never silently dropped (nor overwritten)
        if isinstance(refusal, LotExpiryConflict) and goods is not None:
            await _add_discrepancy(
                session,
                actor,
                goods.receipt.id,
                kind="lot_expiry_conflict",
                line_id=goods.line.line_id if goods.line else None,
                item_id=goods.item.item_id,
                lot=refusal.context.get("lot"),
                serial=None,
                quantity=goods.captured.units,
                reason=refusal.message,
            )

    return await once(db, inp.client_scan_id, "receipt.scan", actor, decide_and_write, on_refused)


async def _lock_open_receipt(session: AsyncSession, receipt_id: int) -> Receipt:
    receipt = (
        await session.execute(select(Receipt).where(Receipt.id == receipt_id).with_for_update())
    ).scalar_one_or_none()
    if receipt is None:
        raise NotFound(f"no receipt {receipt_id}", receipt=receipt_id)
    if receipt.status != "open":
        raise ReceiptNotOpen(
            f"{receipt_number(receipt.id)} is {receipt.status}: start a new receipt",
            receipt=receipt_number(receipt.id),
            receiptStatus=receipt.status,
        )
    return receipt


async def _load_goods(
    session: AsyncSession, settings: Settings, receipt_id: int, inp: ScanInput, today: dt.date
) -> Goods:
    receipt = await _lock_open_receipt(session, receipt_id)
    dock = await session.get(Location, receipt.location_id)
    at = OpenReceipt(
        receipt.id, receipt_number(receipt.id), receipt.document_id, receipt.supplier_id, dock.id, dock.zone
    )
    scan = scans.read(inp.raw, settings, today)
    match = await identify_item(session, scan)
    item = _item_facts(match)
    line = await _lock_document_line(session, at, item)
    return Goods(at, match, item, _captured(scan, match, inp), line)


def _item_facts(m: scans.ItemMatch) -> rules.ItemFacts:
    return rules.ItemFacts(
        item_id=m.item_id,
        erp_id=m.erp_id,
        gtin=m.gtin,
        lot_tracked=m.lot_tracked,
        serial_tracked=m.serial_tracked,
        expiry_tracked=m.expiry_tracked,
        min_temp_c=m.min_temp_c,
        max_temp_c=m.max_temp_c,
        min_shelf_life_days=m.min_shelf_life_days,
        qc_required=m.qc_required,
        bonded=m.bonded,
    )


def _captured(scan: Scan, match: scans.ItemMatch, inp: ScanInput) -> rules.Captured:
    """The barcode's data first; what the receiver typed fills only what it did not carry. A count
    typed for a pack without one (AI 30/37) is in packs, converted to base units."""
    units = match.units if scan.quantity is not None or not inp.quantity else match.pack_quantity * inp.quantity
    return rules.Captured(
        units=units,
        lot=scan.lot or (inp.lot.strip() if inp.lot and inp.lot.strip() else None),
        expiry=scan.expiry or inp.expiry,
        production_date=scan.production_date,
        serial=scan.serial or (inp.serial.strip() if inp.serial and inp.serial.strip() else None),
        temperature_c=inp.temperature_c,
    )


def _line_facts(line: InboundLine) -> rules.LineFacts:
    expected = tuple(
        rules.ExpectedLot(
            lot=e["lot"],
            expiry=dt.date.fromisoformat(e["expiry"]) if e.get("expiry") else None,
            serials=tuple(e.get("serials") or ()),
            quantity=e.get("quantity"),
        )
        for e in (line.expected or [])
    )
    return rules.LineFacts(line.id, line.line_no, line.item_id, line.quantity_ordered, line.quantity_received, expected)


async def _lock_document_line(
    session: AsyncSession, receipt: OpenReceipt, item: rules.ItemFacts
) -> rules.LineFacts | None:
    """The document's lines for the item, locked before their open quantity is judged."""
    if receipt.document_id is None:
        return None
    document = await session.scalar(select(InboundDocument.erp_id).where(InboundDocument.id == receipt.document_id))
    rows = (
        (
            await session.execute(
                select(InboundLine)
                .where(InboundLine.document_id == receipt.document_id, InboundLine.item_id == item.item_id)
                .order_by(InboundLine.line_no)
                .with_for_update()
            )
        )
        .scalars()
        .all()
    )
    return rules.choose_line([_line_facts(r) for r in rows], item, document=document or "this document")


async def _load_known(session: AsyncSession, goods: Goods) -> Known:
    item, captured = goods.item, goods.captured
    lot_id = known_lot = None
    if captured.lot:
        lot_row = (
            await session.execute(
                select(Lot).where(Lot.item_id == item.item_id, Lot.lot == captured.lot).with_for_update()
            )
        ).scalar_one_or_none()
        if lot_row is not None:
            recall = (
                (await open_recalls(session, [lot_row.id])).get(lot_row.id, {}) if lot_row.status == "recalled" else {}
            )
            hold = await session.scalar(
                text(
                    "SELECT reason FROM udipick_stock_hold(p_item_id => :i, p_lot_id => :l, p_serial_id => NULL, p_location_id => NULL)"
                ),
                {"i": item.item_id, "l": lot_row.id},
            )
            lot_id, known_lot = (
                lot_row.id,
                rules.KnownLot(lot_row.lot, lot_row.expiry, lot_row.status, recall, hold=hold),
            )
    known_serial = None
    in_receipt: tuple[str, ...] = ()
    if captured.serial:
        srow = (
            await session.execute(
                select(Serial.id, Serial.status, Location.code)
                .outerjoin(Location, Location.id == Serial.location_id)
                .where(Serial.item_id == item.item_id, Serial.serial == captured.serial)
            )
        ).first()
        if srow is not None:
            # a serial a recall of serials freezes is not taken back in: it stays at the dock for the recall
            naming = (await serial_recalls(session, [srow.id])).get(srow.id)
            if naming:
                raise serial_recalled(captured.serial, captured.lot, naming, doing="receive", item=item.erp_id)
            known_serial = rules.KnownSerial(captured.serial, srow.status, srow.code)
            here = await session.scalar(
                select(exists().where(ReceiptScan.receipt_id == goods.receipt.id, ReceiptScan.serial_id == srow.id))
            )
            in_receipt = (captured.serial,) if here else ()
    return Known(lot_id, known_lot, known_serial, in_receipt)


async def _policy(session: AsyncSession, settings: Settings, receipt: OpenReceipt) -> rules.ReceivingPolicy:
    tolerance = 0.0
    if receipt.supplier_id is not None:
        tolerance = float(
            await session.scalar(select(Supplier.over_receipt_tolerance_pct).where(Supplier.id == receipt.supplier_id))
            or 0
        )
    return rules.ReceivingPolicy(
        short_shelf_life=settings.short_shelf_life_policy, over_receipt_tolerance_pct=tolerance
    )


async def _receive(
    session: AsyncSession,
    actor: Actor,
    settings: Settings,
    labels: LabelRenderer,
    user_id: int,
    inp: ScanInput,
    goods: Goods,
    known: Known,
    decision: rules.ReceiptDecision,
) -> ScanAccepted:
    """Write an accepted scan: its lot and serial, the plate, the ledger row, the line's progress,
    the scan itself and any ASN mismatch."""
    receipt, item, match, captured = goods.receipt, goods.item, goods.match, goods.captured
    lot_id = known.lot_id if known.lot is not None or not captured.lot else await _new_lot(session, goods, decision)
    serial_id = await _new_serial(session, goods, lot_id) if captured.serial else None
    plate = await _plate_for(session, actor, settings, labels, receipt, rules.putaway_group(item, decision.status))
    reasons = "; ".join(decision.reasons) or None
    await post_movements(
        session,
        actor,
        [
            Movement(
                "receipt",
                item_id=item.item_id,
                quantity=decision.units,
                lot_id=lot_id,
                serial_id=serial_id,
                to_location_id=receipt.dock_id,
                to_container_id=plate.container_id,
                to_status=decision.status,
                reason=reasons,
                document_type="receipt",
                document_id=receipt.number,
            )
        ],
    )
    if goods.line is not None:
        await session.execute(
            update(InboundLine)
            .where(InboundLine.id == goods.line.line_id)
            .values(quantity_received=InboundLine.quantity_received + decision.units)
        )
    await session.execute(
        insert(ReceiptScan).values(
            receipt_id=receipt.id,
            inbound_line_id=decision.line_id,
            client_scan_id=inp.client_scan_id,
            item_id=item.item_id,
            scanned_gtin=match.scanned_gtin,
            pack_level=match.pack_level,
            lot_id=lot_id,
            serial_id=serial_id,
            production_date=captured.production_date,
            quantity=decision.units,
            status=decision.status,
            reasons=reasons,
            temperature_c=captured.temperature_c,
            container_id=plate.container_id,
            raw=inp.raw,
            user_id=user_id,
            device_id=actor.device_id,
        )
    )
    for text_ in decision.asn_mismatches:
        await _add_discrepancy(
            session,
            actor,
            receipt.id,
            kind="asn_mismatch",
            line_id=decision.line_id,
            item_id=item.item_id,
            lot=captured.lot,
            serial=captured.serial,
            quantity=decision.units,
            reason=text_,
        )
    return ScanAccepted(
        accepted=True,
        receipt=receipt.number,
        item=ItemSummary(erp_id=item.erp_id, name=match.name, gtin=item.gtin),
        pack_level=match.pack_level,
        units=decision.units,
        status=decision.status,
        reasons=list(decision.reasons),
        why=[quarantine_why(w) for w in decision.why],
        lot=captured.lot,
        expiry=captured.expiry,
        serial=captured.serial,
        temperature_c=captured.temperature_c,
        lpn=plate.lpn,
        label=plate.label,
        asn_mismatches=list(decision.asn_mismatches),
        line=await _line_progress(session, goods.line.line_id) if goods.line is not None else None,
    )


async def _new_lot(session: AsyncSession, goods: Goods, decision: rules.ReceiptDecision) -> int:
    item, captured = goods.item, goods.captured
    lot_id = await session.scalar(
        pg_insert(Lot)
        .values(
            item_id=item.item_id,
            lot=captured.lot,
            expiry=captured.expiry,
            production_date=captured.production_date,
            status=decision.new_lot_status or "released",
        )
        .on_conflict_do_nothing()
        .returning(Lot.id)
    )
    if lot_id is not None:
        return lot_id
    # created by a concurrent receipt a moment ago: judge against it
    raced = (
        await session.execute(select(Lot).where(Lot.item_id == item.item_id, Lot.lot == captured.lot))
    ).scalar_one()
    if raced.expiry != captured.expiry and raced.expiry is not None and captured.expiry is not None:
        raise LotExpiryConflict(
            f"lot {raced.lot} of {item.erp_id} is known with expiry {raced.expiry.isoformat()}, the goods say "
            f"{captured.expiry.isoformat()}: set aside and report to QA",
            item=item.erp_id,
            lot=raced.lot,
            knownExpiry=raced.expiry,
            scannedExpiry=captured.expiry,
        )
    return raced.id


async def _new_serial(session: AsyncSession, goods: Goods, lot_id: int | None) -> int:
    item, serial = goods.item, goods.captured.serial
    serial_id = await session.scalar(
        pg_insert(Serial)
        .values(item_id=item.item_id, serial=serial, lot_id=lot_id, location_id=goods.receipt.dock_id)
        .on_conflict_do_nothing()
        .returning(Serial.id)
    )
    if serial_id is None:
        raise SerialAlreadyReceived(
            f"serial {serial} of {item.erp_id} was received by someone else a moment ago: set the unit aside",
            item=item.erp_id,
            serial=serial,
            inThisReceipt=False,
        )
    return serial_id


async def _plate_for(
    session: AsyncSession, actor: Actor, settings: Settings, labels: LabelRenderer, receipt: OpenReceipt, group: str
) -> Plate:
    """The receipt's licence plate for this storage condition and status; a new one gets its label queued."""
    row = (
        await session.execute(
            select(Container.id, Container.code)
            .join(ReceiptContainer, ReceiptContainer.container_id == Container.id)
            .where(ReceiptContainer.receipt_id == receipt.id, ReceiptContainer.group_key == group)
        )
    ).first()
    if row is not None:
        return Plate(row.id, row.code, None)
    container_id = await session.scalar(
        insert(Container)
        .values(kind="lpn", code=f"tmp-{uuid.uuid4().hex[:24]}", location_id=receipt.dock_id)
        .returning(Container.id)
    )
    code = f"{settings.lpn_prefix}{container_id:08d}"
    await session.execute(update(Container).where(Container.id == container_id).values(code=code))
    condition, status = group.split("/")
    description = f"{receipt.number} {condition} {status}"
    ref = await queue_label(
        session, actor, labels, kind="lpn", data={"lpn": code, "description": description}, zone=receipt.dock_zone
    )
    await session.execute(
        insert(ReceiptContainer).values(
            container_id=container_id,
            receipt_id=receipt.id,
            group_key=group,
            print_job_id=ref.job_id,
            print_status=ref.status,
        )
    )
    return Plate(int(container_id), code, ref)  # type: ignore[arg-type]  # INSERT ... RETURNING always gives the new id


async def _record_damaged(session: AsyncSession, actor: Actor, goods: Goods, inp: ScanInput) -> DamagedRecorded:
    """Damaged units are refused at the dock: recorded with a reason, never put into stock."""
    item, captured, line = goods.item, goods.captured, goods.line
    if not inp.reason or not inp.reason.strip():
        raise MissingReason(
            "say what is damaged (crushed case, torn sterile barrier, ...)", needs=["reason"], item=item.erp_id
        )
    await _add_discrepancy(
        session,
        actor,
        goods.receipt.id,
        kind="damaged",
        line_id=line.line_id if line else None,
        item_id=item.item_id,
        lot=captured.lot,
        serial=captured.serial,
        quantity=captured.units,
        reason=inp.reason.strip(),
    )
    return DamagedRecorded(
        accepted=False,
        damaged=True,
        receipt=goods.receipt.number,
        item=ItemSummary(erp_id=item.erp_id, name=goods.match.name, gtin=item.gtin),
        units=captured.units,
        lot=captured.lot,
        serial=captured.serial,
        reason=inp.reason.strip(),
        line=await _line_progress(session, line.line_id) if line is not None else None,
    )


# ---- discrepancies counted by hand -----------------------------------------------------------------


async def _add_discrepancy(
    session: AsyncSession,
    actor: Actor,
    receipt_id: int,
    *,
    kind: str,
    line_id: int | None,
    item_id: int | None,
    lot: str | None,
    serial: str | None,
    quantity: int | None,
    reason: str,
) -> None:
    await session.execute(
        insert(ReceiptDiscrepancy).values(
            receipt_id=receipt_id,
            inbound_line_id=line_id,
            item_id=item_id,
            kind=kind,
            lot=lot,
            serial=serial,
            quantity=quantity,
            reason=reason,
            user_id=receiving_user(actor),
            device_id=actor.device_id,
        )
    )


async def record_discrepancy(
    db: async_sessionmaker,
    actor: Actor,
    receipt_id: int,
    *,
    kind: str,
    quantity: int,
    reason: str,
    line_no: int | None = None,
    item: str | None = None,
    lot: str | None = None,
) -> ReceiptView:
    """Damaged, short or over units counted by hand (no scan possible), with a reason."""
    if not reason.strip():
        raise MissingReason("a discrepancy needs a reason", needs=["reason"])
    async with db.begin() as session:
        receipt = await _lock_open_receipt(session, receipt_id)
        line_id = item_id = None
        if line_no is not None:
            if receipt.document_id is None:
                raise InvalidRecord("a blind receipt has no lines", pointer="/lineNo")
            row = (
                await session.execute(
                    select(InboundLine.id, InboundLine.item_id).where(
                        InboundLine.document_id == receipt.document_id, InboundLine.line_no == line_no
                    )
                )
            ).first()
            if row is None:
                raise NotFound(f"the document has no line {line_no}", lineNo=line_no)
            line_id, item_id = row.id, row.item_id
        if item is not None:
            found = await session.scalar(select(Item.id).where((Item.erp_id == item) | (Item.gtin == item)))
            if found is None:
                raise NotFound(f"unknown item {item!r}", item=item)
            if item_id is not None and found != item_id:
                raise InvalidRecord(f"line {line_no} is not for {item}", pointer="/item")
            item_id = found
        if item_id is None:
            raise InvalidRecord("name the line or the item", pointer="/lineNo")
        await _add_discrepancy(
            session,
            actor,
            receipt.id,
            kind=kind,
            line_id=line_id,
            item_id=item_id,
            lot=lot,
            serial=None,
            quantity=quantity,
            reason=reason.strip(),
        )
    return await get_receipt(db, receipt_id)


# ---- views ---------------------------------------------------------------------------------------


async def _line_progress(session: AsyncSession, line_id: int) -> LineProgress:
    row = (
        await session.execute(
            select(
                InboundLine.line_no,
                InboundLine.quantity_ordered,
                InboundLine.quantity_received,
                InboundLine.expected,
                Item.erp_id,
                Item.name,
                Item.gtin,
            )
            .join(Item, Item.id == InboundLine.item_id)
            .where(InboundLine.id == line_id)
        )
    ).one()
    return LineProgress(
        line_no=row.line_no,
        item=ItemSummary(erp_id=row.erp_id, name=row.name, gtin=row.gtin),
        ordered=row.quantity_ordered,
        received=row.quantity_received,
        open=max(row.quantity_ordered - row.quantity_received, 0),
        expected=row.expected or [],
    )


async def _received_summary(session: AsyncSession, receipt_id: int) -> list[ReceivedGroup]:
    """This receipt's accepted units per document line, item, lot, status and licence plate."""
    rows = (
        await session.execute(
            select(
                ReceiptScan.inbound_line_id,
                InboundLine.line_no,
                Item.erp_id,
                Item.gtin,
                Item.name,
                Lot.lot,
                Lot.expiry,
                ReceiptScan.production_date,
                ReceiptScan.status,
                ReceiptScan.reasons,
                ReceiptScan.quantity,
                Serial.serial,
                Container.code,
            )
            .join(Item, Item.id == ReceiptScan.item_id)
            .join(Container, Container.id == ReceiptScan.container_id)
            .outerjoin(InboundLine, InboundLine.id == ReceiptScan.inbound_line_id)
            .outerjoin(Lot, Lot.id == ReceiptScan.lot_id)
            .outerjoin(Serial, Serial.id == ReceiptScan.serial_id)
            .where(ReceiptScan.receipt_id == receipt_id)
            .order_by(ReceiptScan.id)
        )
    ).all()
    groups: dict[tuple, list[Any]] = {}
    for r in rows:
        groups.setdefault((r.inbound_line_id, r.erp_id, r.lot, r.status, r.code), []).append(r)
    return [_received_group(scans_) for scans_ in groups.values()]


def _received_group(rows: list[Any]) -> ReceivedGroup:
    first = rows[0]
    return ReceivedGroup(
        line_no=first.line_no,
        item=first.erp_id,
        gtin=first.gtin,
        name=first.name,
        lot=first.lot,
        expiry=first.expiry,
        production_date=next((r.production_date for r in rows if r.production_date), None),
        serials=[r.serial for r in rows if r.serial],
        quantity=sum(r.quantity for r in rows),
        status=first.status,
        reasons=list(dict.fromkeys(reason for r in rows for reason in (r.reasons or "").split("; ") if reason)),
        lpn=first.code,
    )


async def _discrepancies(session: AsyncSession, receipt_id: int) -> list[DiscrepancyView]:
    rows = (
        await session.execute(
            select(ReceiptDiscrepancy, InboundLine.line_no, Item.erp_id, Item.gtin, User.username)
            .outerjoin(InboundLine, InboundLine.id == ReceiptDiscrepancy.inbound_line_id)
            .outerjoin(Item, Item.id == ReceiptDiscrepancy.item_id)
            .join(User, User.id == ReceiptDiscrepancy.user_id)
            .where(ReceiptDiscrepancy.receipt_id == receipt_id)
            .order_by(ReceiptDiscrepancy.id)
        )
    ).all()
    return [
        DiscrepancyView(
            id=d.id,
            kind=d.kind,
            line_no=line_no,
            item=erp_id,
            gtin=gtin,
            lot=d.lot,
            serial=d.serial,
            quantity=d.quantity,
            reason=d.reason,
            recorded_by=username,
            device_id=d.device_id,
            recorded_at=d.recorded_at.isoformat(),
        )
        for d, line_no, erp_id, gtin, username in rows
    ]


async def get_receipt(db: async_sessionmaker, receipt_id: int) -> ReceiptView:
    """Everything the handheld shows for a receipt: line progress, what was received, labels, discrepancies."""
    async with db() as session:
        receipt = await session.get(Receipt, receipt_id)
        if receipt is None:
            raise NotFound(f"no receipt {receipt_id}", receipt=receipt_id)
        return await _receipt_view(session, receipt)


async def _receipt_view(session: AsyncSession, receipt: Receipt) -> ReceiptView:
    doc = await session.get(InboundDocument, receipt.document_id) if receipt.document_id else None
    dock = await session.get(Location, receipt.location_id)
    lines = []
    if doc is not None:
        ids = (
            await session.scalars(
                select(InboundLine.id).where(InboundLine.document_id == doc.id).order_by(InboundLine.line_no)
            )
        ).all()
        lines = [await _line_progress(session, i) for i in ids]
    lpns = [
        ReceiptLpn(lpn=code, group=group, label=job_ref(job) if job is not None else None)
        for code, group, job in (
            await session.execute(
                select(Container.code, ReceiptContainer.group_key, PrintJob)
                .join(ReceiptContainer, ReceiptContainer.container_id == Container.id)
                .outerjoin(PrintJob, PrintJob.id == ReceiptContainer.print_job_id)
                .where(ReceiptContainer.receipt_id == receipt.id)
                .order_by(Container.id)
            )
        ).all()
    ]
    supplier = (
        await session.scalar(select(Supplier.erp_id).where(Supplier.id == receipt.supplier_id))
        if receipt.supplier_id
        else None
    )
    return ReceiptView(
        id=receipt.id,
        number=receipt_number(receipt.id),
        status=receipt.status,
        blind=doc is None,
        document=DocumentRef(erp_id=doc.erp_id, number=doc.number, kind=doc.kind, status=doc.status) if doc else None,
        supplier=supplier,
        location=dock.code if dock else None,
        lines=lines,
        received=await _received_summary(session, receipt.id),
        lpns=lpns,
        discrepancies=await _discrepancies(session, receipt.id),
        putaway_tasks=await task_views(session, receipt_id=receipt.id, open_only=False),
        transport=_transport(receipt),
    )


def _transport(receipt: Receipt) -> Transport | None:
    values = {f: getattr(receipt, f) for f in TRANSPORT_FIELDS}
    if all(v is None for v in values.values()):
        return None
    for f in ("departure_temperature_c", "arrival_temperature_c"):
        values[f] = None if values[f] is None else float(values[f])
    return Transport(**values)


async def list_receipts(
    db: async_sessionmaker, *, status: str | None = "open", document: str | None = None
) -> list[ReceiptRow]:
    """Receipts to resume on a handheld (open ones by default)."""
    async with db() as session:
        q = (
            select(Receipt.id, Receipt.status, Receipt.created_at, InboundDocument.erp_id, User.username)
            .outerjoin(InboundDocument, InboundDocument.id == Receipt.document_id)
            .join(User, User.id == Receipt.created_by)
            .order_by(Receipt.id.desc())
            .limit(200)
        )
        if status:
            q = q.where(Receipt.status == status)
        if document:
            q = q.where((InboundDocument.erp_id == document) | (InboundDocument.number == document))
        return [
            ReceiptRow(
                id=r.id,
                number=receipt_number(r.id),
                status=r.status,
                document=r.erp_id,
                created_by=r.username,
                created_at=r.created_at.isoformat(),
            )
            for r in (await session.execute(q)).all()
        ]


# ---- close ---------------------------------------------------------------------------------------


async def close_receipt(
    db: async_sessionmaker, actor: Actor, receipt_id: int, *, reason: str | None = None
) -> ReceiptView:
    """Confirm what was received: one ``receipt.confirmed.v1`` per line, lot and status, every
    discrepancy to the ERP, and a putaway task per licence plate.

    Short lines are reported only when no other receipt on the same document is still open (a
    second receiver may still be unloading); a short needs a reason.
    """
    user_id = receiving_user(actor)
    async with db.begin() as session:
        receipt = await _lock_open_receipt(session, receipt_id)
        number = receipt_number(receipt.id)
        doc = None
        if receipt.document_id is not None:
            doc = (
                await session.execute(
                    select(InboundDocument).where(InboundDocument.id == receipt.document_id).with_for_update()
                )
            ).scalar_one()
        dock = await session.get(Location, receipt.location_id)
        reason = reason.strip() if reason and reason.strip() else None

        if doc is not None:
            others_open = await session.scalar(
                select(
                    exists().where(Receipt.document_id == doc.id, Receipt.status == "open", Receipt.id != receipt.id)
                )
            )
            doc_lines = (
                await session.execute(
                    select(InboundLine, Item.erp_id)
                    .join(Item, Item.id == InboundLine.item_id)
                    .where(InboundLine.document_id == doc.id)
                    .order_by(InboundLine.line_no)
                )
            ).all()
            mine = set(
                (
                    await session.scalars(
                        select(ReceiptScan.inbound_line_id).where(ReceiptScan.receipt_id == receipt.id)
                    )
                ).all()
            )
            short = (
                [(ln, erp) for ln, erp in doc_lines if ln.quantity_received < ln.quantity_ordered]
                if not others_open
                else []
            )
            if short and reason is None:
                raise MissingReason(
                    "some lines are short: give a reason (e.g. 'supplier short-shipped') to close the receipt",
                    needs=["reason"],
                    shortLines=[
                        {"lineNo": ln.line_no, "item": erp, "short": ln.quantity_ordered - ln.quantity_received}
                        for ln, erp in short
                    ],
                )
            for ln, _erp in short:
                await _add_discrepancy(
                    session,
                    actor,
                    receipt.id,
                    kind="short",
                    line_id=ln.id,
                    item_id=ln.item_id,
                    lot=None,
                    serial=None,
                    quantity=ln.quantity_ordered - ln.quantity_received,
                    reason=reason or "",
                )
            for ln, _erp in doc_lines:
                over = ln.quantity_received - ln.quantity_ordered
                already = await session.scalar(
                    select(
                        exists().where(ReceiptDiscrepancy.inbound_line_id == ln.id, ReceiptDiscrepancy.kind == "over")
                    )
                )
                if over > 0 and ln.id in mine and not already:
                    await _add_discrepancy(
                        session,
                        actor,
                        receipt.id,
                        kind="over",
                        line_id=ln.id,
                        item_id=ln.item_id,
                        lot=None,
                        serial=None,
                        quantity=over,
                        reason=reason or "over-delivery within the supplier's tolerance",
                    )
            if not others_open:
                complete = all(ln.quantity_received >= ln.quantity_ordered for ln, _ in doc_lines)
                doc.status = "closed" if complete else "open"

        document = doc.erp_id if doc else None
        events: list[Any] = [
            ReceiptConfirmed(
                receipt=number,
                document=document,
                line_no=g.line_no,
                item=g.item,
                gtin=g.gtin,
                lot=g.lot,
                expiry=_iso(g.expiry),
                production_date=_iso(g.production_date),
                serials=g.serials,
                quantity=g.quantity,
                status=g.status,
                reasons=g.reasons,
                location=dock.code,
                lpn=g.lpn,
            )
            for g in await _received_summary(session, receipt.id)
        ]
        for d in await _discrepancies(session, receipt.id):
            events.append(
                ReceiptDiscrepancyRecorded(
                    receipt=number,
                    document=document,
                    line_no=d.line_no,
                    kind=d.kind,
                    item=d.item,
                    gtin=d.gtin,
                    lot=d.lot,
                    serial=d.serial,
                    quantity=d.quantity,
                    reason=d.reason,
                )
            )
        await session.execute(
            update(ReceiptDiscrepancy).where(ReceiptDiscrepancy.receipt_id == receipt.id).values(reported=True)
        )
        if events:
            await emit(session, actor, *events)

        containers = (
            await session.scalars(
                select(ReceiptContainer.container_id)
                .where(
                    ReceiptContainer.receipt_id == receipt.id,
                    exists().where(Stock.container_id == ReceiptContainer.container_id, Stock.quantity > 0),
                )
                .order_by(ReceiptContainer.container_id)
            )
        ).all()
        if containers:
            await session.execute(
                insert(PutawayTask),
                [
                    {"receipt_id": receipt.id, "container_id": c, "from_location_id": receipt.location_id}
                    for c in containers
                ],
            )
        await session.execute(
            update(Receipt)
            .where(Receipt.id == receipt.id)
            .values(status="closed", closed_by=user_id, closed_device=actor.device_id, closed_at=func.now())
        )
        await session.refresh(receipt)
        view = await _receipt_view(session, receipt)
    return view

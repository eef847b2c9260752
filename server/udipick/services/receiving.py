"""Receiving: start a receipt, check every scan at the dock, close it (events to the ERP), put away,
and QC release or reject of quarantined lots.

Each step loads and locks the facts, asks ``domain.receiving`` for the verdict and writes it with
its ledger rows and outbox events in one transaction. The document line is locked
(``SELECT ... FOR UPDATE``) before its open quantity is judged, so two receivers scanning the last
units of one line at once can never over-receive.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import and_, exists, func, insert, select, update
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
from udipick.domain.errors import (
    Conflict,
    DomainError,
    InvalidRecord,
    LotExpiryConflict,
    MissingReason,
    NotFound,
    NotInQuarantine,
    PermissionDenied,
    ReceiptNotOpen,
    SerialAlreadyReceived,
    UnknownGtin,
)
from udipick.services import scans
from udipick.services.events import (
    PutawayCompleted,
    QcRejected,
    QcReleased,
    ReceiptConfirmed,
    ReceiptDiscrepancyRecorded,
    emit,
)
from udipick.services.identity import signed, verify_signature
from udipick.services.password_checks import PasswordChecks
from udipick.services.printing import job_ref, queue_label
from udipick.services.replay import Reply, once

#: roles that may receive without a document (a blind receipt needs someone accountable for it)
BLIND_ROLES = frozenset({"supervisor", "admin"})


def receipt_number(receipt_id: int) -> str:
    return f"RCV-{receipt_id:06d}"


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def _actor_user(actor: Actor) -> int:
    if actor.user_id is None:
        raise PermissionDenied("receiving is done by a signed-in person on a handheld, not by an API key")
    return actor.user_id


# ---- start ---------------------------------------------------------------------------------------


async def start_receipt(
    db: async_sessionmaker,
    actor: Actor,
    *,
    document: str | None,
    supplier: str | None = None,
    location: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Open a receipt against a purchase order / ASN (its ERP id or number), or blind when
    ``document`` is ``None`` (supervisor/admin only)."""
    user_id = _actor_user(actor)
    async with db.begin() as session:
        doc = None
        supplier_id = None
        if document is not None:
            doc = (
                await session.execute(
                    select(InboundDocument)
                    .where((InboundDocument.erp_id == document) | (InboundDocument.number == document))
                    .order_by(InboundDocument.id)
                    .with_for_update()
                )
            ).scalars().first()
            if doc is None:
                raise NotFound(f"no purchase order or ASN {document!r}: check the paperwork or ask for a blind receipt", document=document)
            if doc.status in ("closed", "cancelled"):
                raise Conflict(f"{doc.number} is {doc.status}: nothing more can be received against it", document=doc.number, status=doc.status)
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
            raise InvalidRecord(f"{dock.code} is a {dock.type} location; receive at a receiving dock", pointer="/location")
        receipt_id = await session.scalar(
            insert(Receipt)
            .values(
                document_id=doc.id if doc else None,
                supplier_id=supplier_id,
                location_id=dock.id,
                note=note,
                created_by=user_id,
                created_device=actor.device_id,
            )
            .returning(Receipt.id)
        )
        if doc is not None and doc.status == "open":
            doc.status = "receiving"
    return await get_receipt(db, int(receipt_id))  # type: ignore[arg-type]


# ---- one scan ------------------------------------------------------------------------------------


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


async def _lock_open_receipt(session: AsyncSession, receipt_id: int) -> Receipt:
    receipt = (
        await session.execute(select(Receipt).where(Receipt.id == receipt_id).with_for_update())
    ).scalar_one_or_none()
    if receipt is None:
        raise NotFound(f"no receipt {receipt_id}", receipt=receipt_id)
    if receipt.status != "open":
        raise ReceiptNotOpen(
            f"{receipt_number(receipt.id)} is {receipt.status}: start a new receipt", receipt=receipt_number(receipt.id), status=receipt.status
        )
    return receipt


def _item_facts(m: scans.ItemMatch) -> rules.ItemFacts:
    return rules.ItemFacts(
        item_id=m.item_id, erp_id=m.erp_id, gtin=m.gtin, lot_tracked=m.lot_tracked, serial_tracked=m.serial_tracked,
        expiry_tracked=m.expiry_tracked, min_temp_c=m.min_temp_c, max_temp_c=m.max_temp_c,
        min_shelf_life_days=m.min_shelf_life_days, qc_required=m.qc_required, bonded=m.bonded,
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


async def _document_label(session: AsyncSession, receipt: Receipt) -> str | None:
    if receipt.document_id is None:
        return None
    return await session.scalar(select(InboundDocument.erp_id).where(InboundDocument.id == receipt.document_id))


async def _identify_item(session: AsyncSession, scan) -> scans.ItemMatch:
    if scan.kind in ("location", "lpn", "tote", "badge", "sscc"):
        raise UnknownGtin(
            f"{scan.raw.strip()} is a {scan.kind} label, not goods: scan the barcode on the item or its pack",
            kind=scan.kind,
        )
    match = await scans.match_item(session, scan)
    if match is None:
        code = scan.gtin or scan.content_gtin or f"{scan.hibc_lic}/{scan.hibc_pcn}"
        raise UnknownGtin(f"{code} is not an item udipick knows: set the goods aside and ask for the item master", gtin=code)
    return match


async def _container_for(
    session: AsyncSession, actor: Actor, settings: Settings, receipt: Receipt, group: str, dock: Location
) -> tuple[int, str, dict[str, Any] | None]:
    """The receipt's licence plate for this storage condition and status; a new one gets its label queued."""
    row = (
        await session.execute(
            select(Container.id, Container.code)
            .join(ReceiptContainer, ReceiptContainer.container_id == Container.id)
            .where(ReceiptContainer.receipt_id == receipt.id, ReceiptContainer.group_key == group)
        )
    ).first()
    if row is not None:
        return row.id, row.code, None
    container_id = await session.scalar(
        insert(Container).values(kind="lpn", code=f"tmp-{uuid.uuid4().hex[:24]}", location_id=dock.id).returning(Container.id)
    )
    code = f"{settings.lpn_prefix}{container_id:08d}"
    await session.execute(update(Container).where(Container.id == container_id).values(code=code))
    condition, status = group.split("/")
    description = f"{receipt_number(receipt.id)} {condition} {status}"
    ref = await queue_label(session, actor, kind="lpn", data={"lpn": code, "description": description}, zone=dock.zone)
    await session.execute(
        insert(ReceiptContainer).values(
            container_id=container_id, receipt_id=receipt.id, group_key=group, print_job_id=ref.job_id, print_status=ref.status
        )
    )
    return int(container_id), code, asdict(ref)  # type: ignore[arg-type]


async def scan_receipt(
    db: async_sessionmaker, actor: Actor, settings: Settings, receipt_id: int, inp: ScanInput, *, today: dt.date
) -> Reply:
    """Receive what one scan names. A replay of ``client_scan_id`` answers what it answered first."""
    user_id = _actor_user(actor)
    seen: dict[str, Any] = {}

    async def decide_and_write(session: AsyncSession) -> dict[str, Any]:
        receipt = await _lock_open_receipt(session, receipt_id)
        seen["receipt_id"] = receipt.id
        dock = await session.get(Location, receipt.location_id)
        scan = scans.read(inp.raw, settings, today)
        match = await _identify_item(session, scan)
        item = _item_facts(match)
        seen["item_id"] = item.item_id
        units = match.units if scan.quantity is not None or not inp.quantity else match.pack_quantity * inp.quantity
        captured = rules.Captured(
            units=units,
            lot=scan.lot or (inp.lot.strip() if inp.lot and inp.lot.strip() else None),
            expiry=scan.expiry or inp.expiry,
            production_date=scan.production_date,
            serial=scan.serial or (inp.serial.strip() if inp.serial and inp.serial.strip() else None),
            temperature_c=inp.temperature_c,
        )
        seen["captured"] = captured

        line: rules.LineFacts | None = None
        doc_label = await _document_label(session, receipt)
        if receipt.document_id is not None:
            rows = (
                await session.execute(
                    select(InboundLine)
                    .where(InboundLine.document_id == receipt.document_id, InboundLine.item_id == item.item_id)
                    .order_by(InboundLine.line_no)
                    .with_for_update()
                )
            ).scalars().all()
            line = rules.choose_line([_line_facts(r) for r in rows], item, document=doc_label or "this document")
            seen["line_id"] = line.line_id

        if inp.damaged:
            return await _record_damaged(session, actor, receipt, item, match, captured, line, inp)

        known_lot = None
        lot_row = None
        if captured.lot:
            lot_row = (
                await session.execute(select(Lot).where(Lot.item_id == item.item_id, Lot.lot == captured.lot).with_for_update())
            ).scalar_one_or_none()
            if lot_row is not None:
                known_lot = rules.KnownLot(lot_row.lot, lot_row.expiry, lot_row.status)
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
                known_serial = rules.KnownSerial(captured.serial, srow.status, srow.code)
                here = await session.scalar(
                    select(exists().where(ReceiptScan.receipt_id == receipt.id, ReceiptScan.serial_id == srow.id))
                )
                in_receipt = (captured.serial,) if here else ()
        supplier_tolerance = 0.0
        if receipt.supplier_id is not None:
            supplier_tolerance = float(
                await session.scalar(select(Supplier.over_receipt_tolerance_pct).where(Supplier.id == receipt.supplier_id)) or 0
            )
        policy = rules.ReceivingPolicy(short_shelf_life=settings.short_shelf_life_policy, over_receipt_tolerance_pct=supplier_tolerance)
        decision = rules.decide_receipt(
            item, captured, today=today, policy=policy, line=line, known_lot=known_lot,
            known_serial=known_serial, serials_in_receipt=in_receipt,
        )

        # ---- write
        lot_id = lot_row.id if lot_row is not None else None
        if captured.lot and lot_row is None:
            lot_id = await session.scalar(
                pg_insert(Lot)
                .values(item_id=item.item_id, lot=captured.lot, expiry=captured.expiry, production_date=captured.production_date,
                        status=decision.new_lot_status or "released")
                .on_conflict_do_nothing()
                .returning(Lot.id)
            )
            if lot_id is None:  # created by a concurrent receipt a moment ago: judge against it
                raced = (await session.execute(select(Lot).where(Lot.item_id == item.item_id, Lot.lot == captured.lot))).scalar_one()
                if raced.expiry != captured.expiry and raced.expiry is not None and captured.expiry is not None:
                    raise LotExpiryConflict(
                        f"lot {raced.lot} of {item.erp_id} is known with expiry {raced.expiry.isoformat()}, the goods say "
                        f"{captured.expiry.isoformat()}: set aside and report to QA",
                        item=item.erp_id, lot=raced.lot, knownExpiry=raced.expiry, scannedExpiry=captured.expiry,
                    )
                lot_id = raced.id
        serial_id = None
        if captured.serial:
            serial_id = await session.scalar(
                pg_insert(Serial)
                .values(item_id=item.item_id, serial=captured.serial, lot_id=lot_id, location_id=dock.id)
                .on_conflict_do_nothing()
                .returning(Serial.id)
            )
            if serial_id is None:
                raise SerialAlreadyReceived(
                    f"serial {captured.serial} of {item.erp_id} was received by someone else a moment ago: set the unit aside",
                    item=item.erp_id, serial=captured.serial, inThisReceipt=False,
                )
        group = rules.putaway_group(item, decision.status)
        container_id, lpn, label = await _container_for(session, actor, settings, receipt, group, dock)
        number = receipt_number(receipt.id)
        reasons = "; ".join(decision.reasons) or None
        await post_movements(
            session,
            actor,
            [
                Movement(
                    "receipt", item_id=item.item_id, quantity=decision.units, lot_id=lot_id, serial_id=serial_id,
                    to_location_id=dock.id, to_container_id=container_id, to_status=decision.status, reason=reasons,
                    document_type="receipt", document_id=number,
                )
            ],
        )
        if line is not None:
            await session.execute(
                update(InboundLine)
                .where(InboundLine.id == line.line_id)
                .values(quantity_received=InboundLine.quantity_received + decision.units)
            )
        await session.execute(
            insert(ReceiptScan).values(
                receipt_id=receipt.id, inbound_line_id=decision.line_id, client_scan_id=inp.client_scan_id, item_id=item.item_id,
                scanned_gtin=match.scanned_gtin, pack_level=match.pack_level, lot_id=lot_id, serial_id=serial_id,
                production_date=captured.production_date, quantity=decision.units, status=decision.status, reasons=reasons,
                temperature_c=captured.temperature_c, container_id=container_id, raw=inp.raw, user_id=user_id,
                device_id=actor.device_id,
            )
        )
        for text_ in decision.asn_mismatches:
            await _add_discrepancy(
                session, actor, receipt.id, kind="asn_mismatch", line_id=decision.line_id, item_id=item.item_id,
                lot=captured.lot, serial=captured.serial, quantity=decision.units, reason=text_,
            )
        return {
            "accepted": True,
            "receipt": number,
            "item": {"erpId": item.erp_id, "name": match.name, "gtin": item.gtin},
            "packLevel": match.pack_level,
            "units": decision.units,
            "status": decision.status,
            "reasons": list(decision.reasons),
            "lot": captured.lot,
            "expiry": _iso(captured.expiry),
            "serial": captured.serial,
            "temperatureC": captured.temperature_c,
            "lpn": lpn,
            "label": label,
            "asnMismatches": list(decision.asn_mismatches),
            "line": await _line_progress(session, line.line_id) if line is not None else None,
        }

    async def on_refused(session: AsyncSession, refusal: DomainError) -> None:
        # a lot data conflict is reported, never silently dropped (nor overwritten)
        if isinstance(refusal, LotExpiryConflict) and "receipt_id" in seen:
            await _add_discrepancy(
                session, actor, seen["receipt_id"], kind="lot_expiry_conflict", line_id=seen.get("line_id"),
                item_id=seen.get("item_id"), lot=refusal.context.get("lot"), serial=None,
                quantity=seen["captured"].units if "captured" in seen else None, reason=refusal.message,
            )

    return await once(db, inp.client_scan_id, "receipt.scan", actor, decide_and_write, on_refused)


async def _record_damaged(
    session: AsyncSession, actor: Actor, receipt: Receipt, item: rules.ItemFacts, match: scans.ItemMatch,
    captured: rules.Captured, line: rules.LineFacts | None, inp: ScanInput,
) -> dict[str, Any]:
    """Damaged units are refused at the dock: recorded with a reason, never put into stock."""
    if not inp.reason or not inp.reason.strip():
        raise MissingReason("say what is damaged (crushed case, torn sterile barrier, ...)", needs=["reason"], item=item.erp_id)
    await _add_discrepancy(
        session, actor, receipt.id, kind="damaged", line_id=line.line_id if line else None, item_id=item.item_id,
        lot=captured.lot, serial=captured.serial, quantity=captured.units, reason=inp.reason.strip(),
    )
    return {
        "accepted": False,
        "damaged": True,
        "receipt": receipt_number(receipt.id),
        "item": {"erpId": item.erp_id, "name": match.name, "gtin": item.gtin},
        "units": captured.units,
        "lot": captured.lot,
        "serial": captured.serial,
        "reason": inp.reason.strip(),
        "line": await _line_progress(session, line.line_id) if line is not None else None,
    }


async def _add_discrepancy(
    session: AsyncSession, actor: Actor, receipt_id: int, *, kind: str, line_id: int | None, item_id: int | None,
    lot: str | None, serial: str | None, quantity: int | None, reason: str,
) -> None:
    await session.execute(
        insert(ReceiptDiscrepancy).values(
            receipt_id=receipt_id, inbound_line_id=line_id, item_id=item_id, kind=kind, lot=lot, serial=serial,
            quantity=quantity, reason=reason, user_id=_actor_user(actor), device_id=actor.device_id,
        )
    )


async def record_discrepancy(
    db: async_sessionmaker, actor: Actor, receipt_id: int, *, kind: str, quantity: int, reason: str,
    line_no: int | None = None, item: str | None = None, lot: str | None = None,
) -> dict[str, Any]:
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
            session, actor, receipt.id, kind=kind, line_id=line_id, item_id=item_id, lot=lot, serial=None,
            quantity=quantity, reason=reason.strip(),
        )
    return await get_receipt(db, receipt_id)


# ---- views ---------------------------------------------------------------------------------------


async def _line_progress(session: AsyncSession, line_id: int) -> dict[str, Any]:
    row = (
        await session.execute(
            select(InboundLine.line_no, InboundLine.quantity_ordered, InboundLine.quantity_received, InboundLine.expected,
                   Item.erp_id, Item.name, Item.gtin)
            .join(Item, Item.id == InboundLine.item_id)
            .where(InboundLine.id == line_id)
        )
    ).one()
    return {
        "lineNo": row.line_no,
        "item": {"erpId": row.erp_id, "name": row.name, "gtin": row.gtin},
        "ordered": row.quantity_ordered,
        "received": row.quantity_received,
        "open": max(row.quantity_ordered - row.quantity_received, 0),
        "expected": row.expected or [],
    }


async def _received_summary(session: AsyncSession, receipt_id: int) -> list[dict[str, Any]]:
    """This receipt's accepted units per document line, item, lot, status and licence plate."""
    rows = (
        await session.execute(
            select(
                ReceiptScan.inbound_line_id, InboundLine.line_no, Item.erp_id, Item.gtin, Item.name, Lot.lot, Lot.expiry,
                ReceiptScan.production_date, ReceiptScan.status, ReceiptScan.reasons, ReceiptScan.quantity,
                Serial.serial, Container.code,
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
    groups: dict[tuple, dict[str, Any]] = {}
    for r in rows:
        key = (r.inbound_line_id, r.erp_id, r.lot, r.status, r.code)
        g = groups.get(key)
        if g is None:
            g = groups[key] = {
                "lineNo": r.line_no, "item": r.erp_id, "gtin": r.gtin, "name": r.name, "lot": r.lot, "expiry": _iso(r.expiry),
                "productionDate": None, "serials": [], "quantity": 0, "status": r.status, "reasons": [], "lpn": r.code,
            }
        g["quantity"] += r.quantity
        if r.serial:
            g["serials"].append(r.serial)
        if r.production_date and not g["productionDate"]:
            g["productionDate"] = r.production_date.isoformat()
        for reason in (r.reasons or "").split("; "):
            if reason and reason not in g["reasons"]:
                g["reasons"].append(reason)
    return list(groups.values())


async def _discrepancies(session: AsyncSession, receipt_id: int) -> list[dict[str, Any]]:
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
        {
            "id": d.id, "kind": d.kind, "lineNo": line_no, "item": erp_id, "gtin": gtin, "lot": d.lot, "serial": d.serial,
            "quantity": d.quantity, "reason": d.reason, "recordedBy": username, "deviceId": d.device_id,
            "recordedAt": d.recorded_at.isoformat(),
        }
        for d, line_no, erp_id, gtin, username in rows
    ]


async def get_receipt(db: async_sessionmaker, receipt_id: int) -> dict[str, Any]:
    """Everything the handheld shows for a receipt: line progress, what was received, labels, discrepancies."""
    async with db() as session:
        receipt = await session.get(Receipt, receipt_id)
        if receipt is None:
            raise NotFound(f"no receipt {receipt_id}", receipt=receipt_id)
        return await _receipt_view(session, receipt)


async def _receipt_view(session: AsyncSession, receipt: Receipt) -> dict[str, Any]:
    doc = await session.get(InboundDocument, receipt.document_id) if receipt.document_id else None
    dock = await session.get(Location, receipt.location_id)
    lines = []
    if doc is not None:
        ids = (
            await session.scalars(select(InboundLine.id).where(InboundLine.document_id == doc.id).order_by(InboundLine.line_no))
        ).all()
        lines = [await _line_progress(session, i) for i in ids]
    lpns = []
    for code, group, job in (
        await session.execute(
            select(Container.code, ReceiptContainer.group_key, PrintJob)
            .join(ReceiptContainer, ReceiptContainer.container_id == Container.id)
            .outerjoin(PrintJob, PrintJob.id == ReceiptContainer.print_job_id)
            .where(ReceiptContainer.receipt_id == receipt.id)
            .order_by(Container.id)
        )
    ).all():
        lpns.append({"lpn": code, "group": group, "label": asdict(job_ref(job)) if job is not None else None})
    supplier = await session.scalar(select(Supplier.erp_id).where(Supplier.id == receipt.supplier_id)) if receipt.supplier_id else None
    tasks = await _tasks(session, receipt_id=receipt.id, open_only=False)
    return {
        "id": receipt.id,
        "number": receipt_number(receipt.id),
        "status": receipt.status,
        "blind": doc is None,
        "document": {"erpId": doc.erp_id, "number": doc.number, "kind": doc.kind, "status": doc.status} if doc else None,
        "supplier": supplier,
        "location": dock.code if dock else None,
        "lines": lines,
        "received": await _received_summary(session, receipt.id),
        "lpns": lpns,
        "discrepancies": await _discrepancies(session, receipt.id),
        "putawayTasks": tasks,
    }


async def list_receipts(db: async_sessionmaker, *, status: str | None = "open", document: str | None = None) -> list[dict[str, Any]]:
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
            {"id": r.id, "number": receipt_number(r.id), "status": r.status, "document": r.erp_id, "createdBy": r.username,
             "createdAt": r.created_at.isoformat()}
            for r in (await session.execute(q)).all()
        ]


# ---- close ---------------------------------------------------------------------------------------


async def close_receipt(db: async_sessionmaker, actor: Actor, receipt_id: int, *, reason: str | None = None) -> dict[str, Any]:
    """Confirm what was received: one ``receipt.confirmed.v1`` per line, lot and status, every
    discrepancy to the ERP, and a putaway task per licence plate.

    Short lines are reported only when no other receipt on the same document is still open (a
    second receiver may still be unloading); a short needs a reason.
    """
    user_id = _actor_user(actor)
    async with db.begin() as session:
        receipt = await _lock_open_receipt(session, receipt_id)
        number = receipt_number(receipt.id)
        doc = None
        if receipt.document_id is not None:
            doc = (
                await session.execute(select(InboundDocument).where(InboundDocument.id == receipt.document_id).with_for_update())
            ).scalar_one()
        dock = await session.get(Location, receipt.location_id)
        reason = reason.strip() if reason and reason.strip() else None

        if doc is not None:
            others_open = await session.scalar(
                select(exists().where(Receipt.document_id == doc.id, Receipt.status == "open", Receipt.id != receipt.id))
            )
            doc_lines = (
                await session.execute(
                    select(InboundLine, Item.erp_id).join(Item, Item.id == InboundLine.item_id)
                    .where(InboundLine.document_id == doc.id).order_by(InboundLine.line_no)
                )
            ).all()
            mine = set(
                (await session.scalars(select(ReceiptScan.inbound_line_id).where(ReceiptScan.receipt_id == receipt.id))).all()
            )
            short = [(ln, erp) for ln, erp in doc_lines if ln.quantity_received < ln.quantity_ordered] if not others_open else []
            if short and reason is None:
                raise MissingReason(
                    "some lines are short: give a reason (e.g. 'supplier short-shipped') to close the receipt",
                    needs=["reason"],
                    shortLines=[{"lineNo": ln.line_no, "item": erp, "short": ln.quantity_ordered - ln.quantity_received} for ln, erp in short],
                )
            for ln, _erp in short:
                await _add_discrepancy(
                    session, actor, receipt.id, kind="short", line_id=ln.id, item_id=ln.item_id, lot=None, serial=None,
                    quantity=ln.quantity_ordered - ln.quantity_received, reason=reason or "",
                )
            for ln, _erp in doc_lines:
                over = ln.quantity_received - ln.quantity_ordered
                already = await session.scalar(
                    select(exists().where(ReceiptDiscrepancy.inbound_line_id == ln.id, ReceiptDiscrepancy.kind == "over"))
                )
                if over > 0 and ln.id in mine and not already:
                    await _add_discrepancy(
                        session, actor, receipt.id, kind="over", line_id=ln.id, item_id=ln.item_id, lot=None, serial=None,
                        quantity=over, reason=reason or "over-delivery within the supplier's tolerance",
                    )
            if not others_open:
                complete = all(ln.quantity_received >= ln.quantity_ordered for ln, _ in doc_lines)
                doc.status = "closed" if complete else "open"

        document = doc.erp_id if doc else None
        events: list[Any] = [
            ReceiptConfirmed(
                receipt=number, document=document, line_no=g["lineNo"], item=g["item"], gtin=g["gtin"], lot=g["lot"],
                expiry=g["expiry"], production_date=g["productionDate"], serials=g["serials"], quantity=g["quantity"],
                status=g["status"], reasons=g["reasons"], location=dock.code, lpn=g["lpn"],  # type: ignore[union-attr]
            )
            for g in await _received_summary(session, receipt.id)
        ]
        for d in await _discrepancies(session, receipt.id):
            events.append(
                ReceiptDiscrepancyRecorded(
                    receipt=number, document=document, line_no=d["lineNo"], kind=d["kind"], item=d["item"], gtin=d["gtin"],
                    lot=d["lot"], serial=d["serial"], quantity=d["quantity"], reason=d["reason"],
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
                [{"receipt_id": receipt.id, "container_id": c, "from_location_id": receipt.location_id} for c in containers],
            )
        await session.execute(
            update(Receipt)
            .where(Receipt.id == receipt.id)
            .values(status="closed", closed_by=user_id, closed_device=actor.device_id, closed_at=func.now())
        )
        await session.refresh(receipt)
        view = await _receipt_view(session, receipt)
    return view


PICKABLE_TYPES = ("pick", "reserve", "cold", "bonded")

# ---- putaway -------------------------------------------------------------------------------------


async def _contents(session: AsyncSession, container_id: int, location_id: int, *, lock: bool = False) -> list[Any]:
    q = (
        select(Stock.id, Stock.item_id, Stock.lot_id, Stock.serial_id, Stock.status, Stock.quantity, Stock.reserved,
               Item.erp_id, Item.gtin, Item.min_temp_c, Item.max_temp_c, Item.bonded, Lot.lot, Serial.serial)
        .join(Item, Item.id == Stock.item_id)
        .outerjoin(Lot, Lot.id == Stock.lot_id)
        .outerjoin(Serial, Serial.id == Stock.serial_id)
        .where(Stock.container_id == container_id, Stock.location_id == location_id, Stock.quantity > 0)
        .order_by(Stock.id)
    )
    if lock:
        q = q.with_for_update(of=Stock)
    return list((await session.execute(q)).all())


def _content_facts(rows: list[Any]) -> list[rules.Content]:
    return [
        rules.Content(item=r.erp_id, cold_chain=r.min_temp_c is not None or r.max_temp_c is not None, bonded=r.bonded, status=r.status)
        for r in rows
    ]


async def _tasks(
    session: AsyncSession, *, receipt_id: int | None = None, open_only: bool = True, task_ids: list[int] | None = None
) -> list[dict[str, Any]]:
    from_loc = Location.__table__.alias("from_loc")
    to_loc = Location.__table__.alias("to_loc")
    q = (
        select(PutawayTask, Container.code, from_loc.c.code.label("from_code"), to_loc.c.code.label("to_code"))
        .join(Container, Container.id == PutawayTask.container_id)
        .join(from_loc, from_loc.c.id == PutawayTask.from_location_id)
        .outerjoin(to_loc, to_loc.c.id == PutawayTask.to_location_id)
        .order_by(PutawayTask.id)
    )
    if receipt_id is not None:
        q = q.where(PutawayTask.receipt_id == receipt_id)
    if open_only:
        q = q.where(PutawayTask.status == "open")
    if task_ids is not None:
        q = q.where(PutawayTask.id.in_(task_ids))
    out = []
    for task, lpn, from_code, to_code in (await session.execute(q)).all():
        where = task.from_location_id if task.status == "open" else task.to_location_id
        rows = await _contents(session, task.container_id, where)
        facts = _content_facts(rows)
        out.append(
            {
                "id": task.id,
                "lpn": lpn,
                "receipt": receipt_number(task.receipt_id),
                "status": task.status,
                "from": from_code,
                "to": to_code,
                "needs": rules.needed_location(facts),
                "contents": [
                    {"item": r.erp_id, "gtin": r.gtin, "lot": r.lot, "serial": r.serial, "quantity": r.quantity, "status": r.status}
                    for r in rows
                ],
            }
        )
    return out


async def putaway_tasks(db: async_sessionmaker) -> list[dict[str, Any]]:
    async with db() as session:
        return await _tasks(session)


async def identify_putaway(db: async_sessionmaker, settings: Settings, raw: str, *, today: dt.date) -> list[dict[str, Any]]:
    """First putaway scan: the licence plate, or an item on one; answers the open task(s) it names."""
    scan = scans.read(raw, settings, today)
    async with db() as session:
        if scan.kind in ("lpn", "sscc"):
            container = await scans.match_container(session, scan)
            if container is None:
                raise NotFound(f"no licence plate {raw.strip()}", lpn=raw.strip())
            ids = (await session.scalars(select(PutawayTask.id).where(PutawayTask.container_id == container.id, PutawayTask.status == "open"))).all()
            if not ids:
                raise NotFound(f"{container.code} has nothing left to put away", lpn=container.code)
        else:
            match = await _identify_item(session, scan)
            ids = (
                await session.scalars(
                    select(PutawayTask.id)
                    .join(Stock, and_(Stock.container_id == PutawayTask.container_id, Stock.location_id == PutawayTask.from_location_id))
                    .where(PutawayTask.status == "open", Stock.item_id == match.item_id, Stock.quantity > 0)
                    .distinct()
                )
            ).all()
            if not ids:
                raise NotFound(f"no open putaway for {match.erp_id}", item=match.erp_id)
        return await _tasks(session, task_ids=list(ids))


async def _location_facts(session: AsyncSession, loc: Location) -> rules.LocationFacts:
    zone_types = set(
        (await session.scalars(select(Location.type).where(Location.warehouse_id == loc.warehouse_id, Location.zone == loc.zone))).all()
    )
    return rules.LocationFacts(
        code=loc.code, type=loc.type, frozen=loc.frozen, cold_zone="cold" in zone_types, bonded_zone="bonded" in zone_types
    )


async def confirm_putaway(
    db: async_sessionmaker, actor: Actor, settings: Settings, task_id: int, client_scan_id: uuid.UUID, raw: str, *, today: dt.date
) -> Reply:
    """Second putaway scan: the destination. It must fit every piece of stock on the plate."""
    user_id = _actor_user(actor)

    async def decide_and_write(session: AsyncSession) -> dict[str, Any]:
        task = (await session.execute(select(PutawayTask).where(PutawayTask.id == task_id).with_for_update())).scalar_one_or_none()
        if task is None:
            raise NotFound(f"no putaway task {task_id}", task=task_id)
        lpn = await session.scalar(select(Container.code).where(Container.id == task.container_id))
        if task.status != "open":
            to = await session.scalar(select(Location.code).where(Location.id == task.to_location_id))
            raise Conflict(f"{lpn} was already put away to {to}", lpn=lpn, location=to)
        scan = scans.read(raw, settings, today)
        if scan.kind != "location":
            raise NotFound(f"{raw.strip()} is not a location label: scan the destination's label", kind=scan.kind)
        dest = await scans.match_location(session, scan)
        if dest is None:
            raise NotFound(f"no location {raw.strip()}", location=raw.strip())
        from_code = await session.scalar(select(Location.code).where(Location.id == task.from_location_id))
        rows = await _contents(session, task.container_id, task.from_location_id, lock=True)
        if not rows:
            raise NotFound(f"{lpn} is empty at {from_code}: nothing to put away", lpn=lpn)
        rules.check_putaway(_content_facts(rows), await _location_facts(session, dest))
        number = receipt_number(task.receipt_id)
        # into a saleable location the plate is emptied, so pickers take units from the location;
        # quarantine keeps the plate together until QC decides
        to_container = None if dest.type in PICKABLE_TYPES else task.container_id
        await post_movements(
            session,
            actor,
            [
                Movement(
                    "putaway", item_id=r.item_id, quantity=r.quantity, lot_id=r.lot_id, serial_id=r.serial_id,
                    from_location_id=task.from_location_id, from_container_id=task.container_id, from_status=r.status,
                    to_location_id=dest.id, to_container_id=to_container, to_status=r.status,
                    document_type="receipt", document_id=number,
                )
                for r in rows
            ],
        )
        await session.execute(update(Container).where(Container.id == task.container_id).values(location_id=dest.id))
        serial_ids = [r.serial_id for r in rows if r.serial_id is not None]
        if serial_ids:
            await session.execute(update(Serial).where(Serial.id.in_(serial_ids)).values(location_id=dest.id))
        await session.execute(
            update(PutawayTask)
            .where(PutawayTask.id == task.id)
            .values(status="done", to_location_id=dest.id, done_by=user_id, done_device=actor.device_id, done_at=func.now())
        )
        contents = [
            {"item": r.erp_id, "gtin": r.gtin, "lot": r.lot, "serial": r.serial, "quantity": r.quantity, "status": r.status}
            for r in rows
        ]
        await emit(
            session, actor,
            PutawayCompleted(lpn=lpn, receipt=number, from_location=from_code, to_location=dest.code, contents=contents),  # type: ignore[arg-type]
        )
        return {"taskId": task.id, "lpn": lpn, "from": from_code, "to": dest.code, "status": "done", "contents": contents}

    return await once(db, client_scan_id, "putaway.confirm", actor, decide_and_write)


# ---- QC release / reject -------------------------------------------------------------------------


async def quarantined_lots(db: async_sessionmaker) -> list[dict[str, Any]]:
    """Lots with stock awaiting a QC decision, with where it is and why it was quarantined."""
    async with db() as session:
        rows = (
            await session.execute(
                select(Lot.id, Lot.lot, Lot.expiry, Lot.status, Item.erp_id, Item.gtin, Item.name, Location.code, Stock.quantity)
                .join(Stock, Stock.lot_id == Lot.id)
                .join(Item, Item.id == Lot.item_id)
                .join(Location, Location.id == Stock.location_id)
                .where(Stock.status == "quarantine", Stock.quantity > 0)
                .order_by(Lot.id, Location.code)
            )
        ).all()
        reasons: dict[int, list[str]] = defaultdict(list)
        for lot_id, text_ in (
            await session.execute(
                select(ReceiptScan.lot_id, ReceiptScan.reasons).where(ReceiptScan.status == "quarantine", ReceiptScan.reasons.is_not(None))
            )
        ).all():
            for r in text_.split("; "):
                if r not in reasons[lot_id]:
                    reasons[lot_id].append(r)
    lots: dict[int, dict[str, Any]] = {}
    for r in rows:
        lot = lots.setdefault(
            r.id,
            {"lotId": r.id, "item": r.erp_id, "gtin": r.gtin, "name": r.name, "lot": r.lot, "expiry": _iso(r.expiry),
             "lotStatus": r.status, "quantity": 0, "locations": [], "reasons": reasons.get(r.id, [])},
        )
        lot["quantity"] += r.quantity
        if r.code not in lot["locations"]:
            lot["locations"].append(r.code)
    return list(lots.values())


QC_DECISIONS = {"release": ("available", "release", "released"), "reject": ("rejected", "hold", "rejected")}


async def decide_qc(
    db: async_sessionmaker, checks: PasswordChecks, actor: Actor, lot_id: int, decision: str, *, reason: str, password: str,
    address: str,
) -> dict[str, Any]:
    """Release or reject every quarantined unit of a lot, signed by QA (21 CFR Part 11 §11.200:
    the password re-entered). A wrong password changes nothing; only the failed attempt is kept."""
    to_status, movement, lot_status = QC_DECISIONS[decision]
    reason = reason.strip()
    if not reason:
        raise MissingReason("a QC decision needs a reason", needs=["reason"])
    meaning = f"qc.{decision}"
    async with db() as session:
        named = (await session.execute(
            select(Item.erp_id, Lot.lot).join(Item, Item.id == Lot.item_id).where(Lot.id == lot_id)
        )).first()
    if named is None:
        raise NotFound(f"no lot {lot_id}", lotId=lot_id)
    target = f"lot:{named.erp_id}/{named.lot}"
    # signed before the lot is locked: no row waits while the password is checked
    await verify_signature(db, checks, actor, password, meaning, target, address=address)
    async with db.begin() as session:
        row = (
            await session.execute(
                select(Lot, Item.erp_id, Item.gtin).join(Item, Item.id == Lot.item_id).where(Lot.id == lot_id).with_for_update(of=Lot)
            )
        ).first()
        lot, erp_id, gtin = row
        await signed(session, actor, meaning, target)
        stock = (
            await session.execute(
                select(Stock.id, Stock.item_id, Stock.serial_id, Stock.location_id, Stock.container_id, Stock.quantity, Serial.serial)
                .outerjoin(Serial, Serial.id == Stock.serial_id)
                .where(Stock.lot_id == lot.id, Stock.status == "quarantine", Stock.quantity > 0)
                .order_by(Stock.id)
                .with_for_update(of=Stock)
            )
        ).all()
        if not stock:
            raise NotInQuarantine(f"lot {lot.lot} of {erp_id} has nothing in quarantine", item=erp_id, lot=lot.lot)
        await post_movements(
            session,
            actor,
            [
                Movement(
                    movement, item_id=s.item_id, quantity=s.quantity, lot_id=lot.id, serial_id=s.serial_id,
                    from_location_id=s.location_id, from_container_id=s.container_id, from_status="quarantine",
                    to_location_id=s.location_id, to_container_id=s.container_id, to_status=to_status,
                    reason=f"QC {decision}: {reason}", document_type="qc", document_id=f"{erp_id}/{lot.lot}",
                )
                for s in stock
            ],
        )
        if lot.status == "quarantine":
            lot.status = lot_status
        serials = [s.serial for s in stock if s.serial]
        if decision == "reject" and serials:
            await session.execute(
                update(Serial).where(Serial.id.in_([s.serial_id for s in stock if s.serial_id])).values(status="rejected")
            )
        quantity = sum(s.quantity for s in stock)
        event_cls = QcReleased if decision == "release" else QcRejected
        await emit(
            session, actor,
            event_cls(item=erp_id, gtin=gtin, lot=lot.lot, expiry=_iso(lot.expiry), quantity=quantity, serials=serials,
                      reason=reason, signed_by=actor.label),
        )
        result = {"lotId": lot.id, "item": erp_id, "lot": lot.lot, "decision": decision, "status": to_status,
                  "lotStatus": lot.status, "quantity": quantity, "serials": serials, "signedBy": actor.label}
    return result

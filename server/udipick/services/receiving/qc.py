"""QC: QA releases or rejects every quarantined unit of a lot, signed by re-entering the password
(21 CFR Part 11 §11.200). Released units lying in a quarantine location get a putaway task."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import msgspec
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from udipick.db.ledger import Movement, post_movements
from udipick.db.models import Item, Location, Lot, Serial, Stock
from udipick.db.models_receiving import ReceiptScan
from udipick.domain import receiving as rules
from udipick.domain.access import Actor
from udipick.domain.errors import (
    MissingReason,
    NotFound,
    NotInQuarantine,
)
from udipick.services.events import QcRejected, QcReleased, emit
from udipick.services.identity import signed, verify_signature
from udipick.services.password_checks import PasswordChecks
from udipick.services.receiving.putaway import open_putaway_tasks
from udipick.services.receiving.receipt import QuarantineWhy, quarantine_why
from udipick.services.returns import awaiting_return_decision


class QuarantinedLot(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    """A lot with stock awaiting a QC decision, where it is and why it was quarantined."""

    lot_id: int
    item: str
    gtin: str
    name: str
    lot: str
    expiry: dt.date | None
    lot_status: str
    quantity: int
    locations: list[str]
    reasons: list[str]
    #: ``reasons`` as facts the handheld words in its user's language (a reason it cannot read is left out)
    why: list[QuarantineWhy] = msgspec.field(default_factory=list)


class QcDecided(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    lot_id: int
    item: str
    lot: str
    decision: str
    #: the stock status the quarantined units moved to
    status: str
    lot_status: str
    quantity: int
    serials: list[str]
    signed_by: str


async def quarantined_lots(db: async_sessionmaker) -> list[QuarantinedLot]:
    """Lots with stock awaiting a QC decision, with where it is and why it was quarantined."""
    async with db() as session:
        rows = (
            await session.execute(
                select(
                    Lot.id,
                    Lot.lot,
                    Lot.expiry,
                    Lot.status,
                    Item.erp_id,
                    Item.gtin,
                    Item.name,
                    Location.code,
                    Stock.quantity,
                )
                .join(Stock, Stock.lot_id == Lot.id)
                .join(Item, Item.id == Lot.item_id)
                .join(Location, Location.id == Stock.location_id)
                .where(Stock.status == "quarantine", Stock.quantity > 0, ~awaiting_return_decision())
                .order_by(Lot.id, Location.code)
            )
        ).all()
        reasons: dict[int, list[str]] = defaultdict(list)
        for lot_id, text_ in (
            await session.execute(
                select(ReceiptScan.lot_id, ReceiptScan.reasons).where(
                    ReceiptScan.status == "quarantine", ReceiptScan.reasons.is_not(None)
                )
            )
        ).all():
            for r in text_.split("; "):
                if r not in reasons[lot_id]:
                    reasons[lot_id].append(r)
    by_lot: dict[int, list] = defaultdict(list)
    for r in rows:
        by_lot[r.id].append(r)
    lots = []
    for lot_id, stock in by_lot.items():
        lot = stock[0]
        lots.append(
            QuarantinedLot(
                lot_id=lot_id,
                item=lot.erp_id,
                gtin=lot.gtin,
                name=lot.name,
                lot=lot.lot,
                expiry=lot.expiry,
                lot_status=lot.status,
                quantity=sum(r.quantity for r in stock),
                locations=list(dict.fromkeys(r.code for r in stock)),
                reasons=reasons.get(lot_id, []),
                why=[quarantine_why(w) for w in map(rules.read_reason, reasons.get(lot_id, [])) if w is not None],
            )
        )
    return lots


#: decision -> (stock status, ledger movement, lot status)
QC_DECISIONS = {"release": ("available", "release", "released"), "reject": ("rejected", "hold", "rejected")}


async def decide_qc(
    db: async_sessionmaker,
    checks: PasswordChecks,
    actor: Actor,
    lot_id: int,
    decision: str,
    *,
    reason: str,
    password: str,
    address: str,
) -> QcDecided:
    """Release or reject every quarantined unit of a lot, signed by QA (21 CFR Part 11 §11.200:
    the password re-entered). A wrong password changes nothing; only the failed attempt is kept."""
    to_status, movement, lot_status = QC_DECISIONS[decision]
    reason = reason.strip()
    if not reason:
        raise MissingReason("a QC decision needs a reason", needs=["reason"])
    meaning = f"qc.{decision}"
    async with db() as session:
        named = (
            await session.execute(
                select(Item.erp_id, Lot.lot).join(Item, Item.id == Lot.item_id).where(Lot.id == lot_id)
            )
        ).first()
    if named is None:
        raise NotFound(f"no lot {lot_id}", lotId=lot_id)
    target = f"lot:{named.erp_id}/{named.lot}"
    # signed before the lot is locked: no row waits while the password is checked
    await verify_signature(db, checks, actor, password, meaning, target, address=address)
    async with db.begin() as session:
        row = (
            await session.execute(
                select(Lot, Item.erp_id, Item.gtin)
                .join(Item, Item.id == Lot.item_id)
                .where(Lot.id == lot_id)
                .with_for_update(of=Lot)
            )
        ).first()
        lot, erp_id, gtin = row
        await signed(
            session,
            actor,
            meaning,
            target,
            signature_meaning="release" if decision == "release" else "rejection",
            reason=reason,
            before={"lotStatus": lot.status},
            after={"lotStatus": lot_status},
        )
        stock = (
            await session.execute(
                select(
                    Stock.id,
                    Stock.item_id,
                    Stock.serial_id,
                    Stock.location_id,
                    Stock.container_id,
                    Stock.quantity,
                    Serial.serial,
                )
                .outerjoin(Serial, Serial.id == Stock.serial_id)
                .where(
                    Stock.lot_id == lot.id,
                    Stock.status == "quarantine",
                    Stock.quantity > 0,
                    ~awaiting_return_decision(),
                )
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
                    movement,
                    item_id=s.item_id,
                    quantity=s.quantity,
                    lot_id=lot.id,
                    serial_id=s.serial_id,
                    from_location_id=s.location_id,
                    from_container_id=s.container_id,
                    from_status="quarantine",
                    to_location_id=s.location_id,
                    to_container_id=s.container_id,
                    to_status=to_status,
                    reason=f"QC {decision}: {reason}",
                    document_type="qc",
                    document_id=f"{erp_id}/{lot.lot}",
                )
                for s in stock
            ],
        )
        if decision == "release":
            # released units must not stay in a quarantine location: each plate (or the loose units) there
            # gets a putaway task for this item and lot, so the receiver finds it at the first putaway scan
            in_quarantine = set(
                (
                    await session.scalars(
                        select(Location.id).where(
                            Location.id.in_({s.location_id for s in stock}), Location.type == "quarantine"
                        )
                    )
                ).all()
            )
            await open_putaway_tasks(
                session,
                [(s.location_id, s.container_id, s.item_id, lot.id) for s in stock if s.location_id in in_quarantine],
            )
        if lot.status == "quarantine":
            lot.status = lot_status
        serials = [s.serial for s in stock if s.serial]
        if decision == "reject" and serials:
            await session.execute(
                update(Serial)
                .where(Serial.id.in_([s.serial_id for s in stock if s.serial_id]))
                .values(status="rejected")
            )
        quantity = sum(s.quantity for s in stock)
        event_cls = QcReleased if decision == "release" else QcRejected
        await emit(
            session,
            actor,
            event_cls(
                item=erp_id,
                gtin=gtin,
                lot=lot.lot,
                expiry=lot.expiry.isoformat() if lot.expiry else None,
                quantity=quantity,
                serials=serials,
                reason=reason,
                signed_by=actor.label,
            ),
        )
        result = QcDecided(
            lot_id=lot.id,
            item=erp_id,
            lot=lot.lot,
            decision=decision,
            status=to_status,
            lot_status=lot.status,
            quantity=quantity,
            serials=serials,
            signed_by=actor.label,
        )
    return result

"""Scrap: expired, damaged or rejected stock destroyed for good, signed by QA or a supervisor.

Scrapping is irreversible and removes units from every record the ERP plans on, so it takes an
electronic signature (21 CFR Part 11 §11.200: the password re-entered) and a reason. Load (the item's
stock rows at the location, ``FOR UPDATE``) → decide (``domain.returns.plan_scrap``: blocked stock
first, saleable stock only as damaged or past its expiry, never units open picks hold) → write the
``scrap`` movements, the serial's last status (``scrapped``), the signature and ``stock.scrapped.v1``
in one transaction.
"""

from __future__ import annotations

import datetime as dt

import msgspec
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from udipick.config import Settings
from udipick.db.ledger import Movement, post_movements
from udipick.db.models import Serial
from udipick.domain import errors as e
from udipick.domain import returns as rules
from udipick.domain.access import Actor
from udipick.services import scans
from udipick.services.events import StockScrapped, emit
from udipick.services.identity import signed, verify_signature
from udipick.services.password_checks import PasswordChecks
from udipick.services.receiving.common import identify_item


class Scrapped(msgspec.Struct, rename="camel"):
    location: str
    item: str
    gtin: str
    lot: str | None
    expiry: dt.date | None
    serial: str | None
    quantity: int
    reason: str
    #: the stock statuses the scrapped units had
    statuses: list[str]
    signed_by: str


async def scrap_stock(
    db: async_sessionmaker,
    checks: PasswordChecks,
    settings: Settings,
    actor: Actor,
    *,
    location: str,
    raw: str,
    lot: str | None,
    serial: str | None,
    quantity: int | None,
    reason: str,
    note: str | None,
    password: str,
    address: str,
    today: dt.date,
) -> Scrapped:
    scan = scans.read(raw, settings, today)
    async with db() as session:
        loc = (
            await session.execute(
                text("SELECT id, code FROM locations WHERE code = :c OR barcode = :c ORDER BY code = :c DESC LIMIT 1"),
                {"c": location},
            )
        ).first()
        if loc is None:
            raise e.NotFound(f"no location {location}", location=location, pointer="/location")
        item = await identify_item(session, scan)
    serial = scan.serial or serial
    lot = scan.lot or lot
    if item.serial_tracked and serial is None:
        raise e.MissingSerial(f"{item.erp_id} is serialised: scan or type the unit's serial", needs=["serial"])
    if item.lot_tracked and lot is None and serial is None:
        raise e.MissingLot(f"{item.erp_id} is lot-tracked: type the lot from the label", needs=["lot"])
    units = 1 if serial is not None else (quantity or item.units)
    meaning = "stock.scrap"
    target = f"stock:{loc.code}/{item.erp_id}/{lot or '-'}/{serial or '-'}"
    # signed before any row is locked: no stock waits while the password is checked
    await verify_signature(db, checks, actor, password, meaning, target, address=address)
    async with db.begin() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT s.id, s.status, s.quantity, s.reserved, s.lot_id, s.serial_id, s.container_id,"
                    "       l.lot, l.expiry, se.serial, EXISTS (SELECT 1 FROM return_lines rl JOIN returns r"
                    "         ON r.id = rl.return_id WHERE rl.status = 'quarantine' AND rl.item_id = s.item_id"
                    "         AND rl.lot_id IS NOT DISTINCT FROM s.lot_id AND rl.serial_id IS NOT DISTINCT FROM s.serial_id"
                    "         AND r.location_id = s.location_id AND s.container_id IS NULL) AS returned"
                    "  FROM stock s LEFT JOIN lots l ON l.id = s.lot_id LEFT JOIN serials se ON se.id = s.serial_id"
                    " WHERE s.location_id = :loc AND s.item_id = :i AND s.quantity > 0"
                    "   AND (CAST(:lot AS text) IS NULL OR l.lot = :lot)"
                    "   AND (CAST(:serial AS text) IS NULL OR se.serial = :serial)"
                    " ORDER BY s.id FOR UPDATE OF s"
                ),
                {"loc": loc.id, "i": item.item_id, "lot": lot, "serial": serial},
            )
        ).all()
        by_id = {r.id: r for r in rows}
        plan = rules.plan_scrap(
            [rules.ScrapBucket(r.id, r.status, r.quantity, r.reserved, r.expiry, r.returned) for r in rows],
            units,
            reason,
            today=today,
            context={"location": loc.code, "item": item.erp_id, "lot": lot, "serial": serial},
        )
        statuses = sorted({b.status for b, _ in plan})
        first = by_id[plan[0][0].stock_id]
        full_reason = f"scrap ({reason})" + (f": {note}" if note else "")
        await signed(
            session,
            actor,
            meaning,
            target,
            signature_meaning="approval",
            reason=full_reason,
            before={"quantity": sum(r.quantity for r in rows), "statuses": statuses},
            after={"quantity": sum(r.quantity for r in rows) - units, "scrapped": units},
        )
        await post_movements(
            session,
            actor,
            [
                Movement(
                    "scrap",
                    item_id=item.item_id,
                    quantity=take,
                    lot_id=by_id[b.stock_id].lot_id,
                    serial_id=by_id[b.stock_id].serial_id,
                    from_location_id=loc.id,
                    from_container_id=by_id[b.stock_id].container_id,
                    from_status=b.status,
                    reason=full_reason,
                    document_type="scrap",
                    document_id=target[:64],
                )
                for b, take in plan
            ],
        )
        serial_ids = [by_id[b.stock_id].serial_id for b, _ in plan if by_id[b.stock_id].serial_id]
        if serial_ids:
            await session.execute(
                update(Serial).where(Serial.id.in_(serial_ids)).values(status="scrapped", location_id=None)
            )
        result = Scrapped(
            location=loc.code,
            item=item.erp_id,
            gtin=item.gtin,
            lot=first.lot,
            expiry=first.expiry,
            serial=first.serial if serial else None,
            quantity=units,
            reason=reason,
            statuses=statuses,
            signed_by=actor.label,
        )
        await emit(
            session,
            actor,
            StockScrapped(
                location=loc.code,
                item=item.erp_id,
                gtin=item.gtin,
                lot=result.lot,
                expiry=result.expiry,
                serial=result.serial,
                quantity=units,
                reason=reason,
                note=note,
                statuses=statuses,
                signed_by=actor.label,
            ),
        )
    return result

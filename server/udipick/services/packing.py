"""Packing picked units into SSCC-labelled cartons and pallets, and confirming the shipment.

Every carton gets an SSCC (GS1 AI 00): extension digit, the GS1 company prefix from settings, a
serial reference from a database sequence (never reused), and the mod-10 check digit. The
shipment event carries every unit's lot, serial, expiry and SSCC: the ERP's delivery note and the
forward trace a recall needs.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any, Literal

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from udipick.config import Settings
from udipick.db.ledger import Movement, post_movements
from udipick.domain import errors as e
from udipick.domain.access import Actor
from udipick.domain.gs1_numbers import make_sscc
from udipick.domain.udi_di import item_key, key_text
from udipick.services import replay, scans
from udipick.services.events import PackagePacked, ShipmentConfirmed, emit
from udipick.services.printing import LabelJob, LabelRenderer, label_job, queue_label
from udipick.services.recall_facts import name_the_recall, open_recalls, serial_recalled, serial_recalls
from udipick.services.site import Site, load_site


class PackageOpened(msgspec.Struct, rename="camel"):
    """A carton for the order and its SSCC (a retried "new carton" gets the empty one it already has)."""

    sscc: str
    order: str
    status: Literal["open"]


class PackedUnits(msgspec.Struct, rename="camel"):
    """One scan packed into the carton (the lot and serial the unit carries, ``null`` when it has none)."""

    sscc: str
    item: str
    lot: str | None
    serial: str | None
    units: int
    #: picked units of the whole order still waiting for a carton
    order_units_to_pack: int


class CartonLine(msgspec.Struct, rename="camel"):
    gtin: str
    item: str
    lot: str | None
    expiry: dt.date | None
    serial: str | None
    quantity: int


class PackageClosed(msgspec.Struct, rename="camel"):
    sscc: str
    status: Literal["closed"]
    contents: list[CartonLine]
    #: the SSCC label's print job: where it prints, or why it cannot yet
    label: LabelJob


class ShippedLine(CartonLine):
    """A carton line as it left, with its carton's SSCC."""

    sscc: str


class Shipment(msgspec.Struct, rename="camel"):
    order: str
    status: Literal["shipped"]
    ssccs: list[str]
    lines: list[ShippedLine]


#: GTIN, lot (with expiry) and serial of a stock row ``s``: what a carton and a shipment must name
_UNIT_DETAILS = (
    " JOIN items i ON i.id = s.item_id LEFT JOIN lots l ON l.id = s.lot_id LEFT JOIN serials se ON se.id = s.serial_id"
)


async def _order(session: AsyncSession, order: str, *, lock: bool = False) -> Any:
    row = (
        await session.execute(
            text(
                "SELECT d.id, d.erp_id, d.status, d.ship_to, c.erp_id AS customer, c.name AS customer_name, c.gln AS customer_gln"
                " FROM outbound_documents d JOIN customers c ON c.id = d.customer_id WHERE d.erp_id = :o"
                + (" FOR UPDATE OF d" if lock else "")
            ),
            {"o": order},
        )
    ).first()
    if row is None:
        raise e.NotFound(f"no sales order {order}", order=order)
    return row


async def open_package(db: async_sessionmaker, actor: Actor, settings: Settings, *, order: str) -> PackageOpened:
    async with db.begin() as session:
        doc = await _order(session, order)
        if doc.status in ("open", "shipped", "cancelled"):
            raise e.OrderNotPackable(
                f"order {order} is {doc.status}: nothing to pack", order=order, orderStatus=doc.status
            )
        empty = await session.scalar(
            text(
                "SELECT c.sscc FROM packages p JOIN containers c ON c.id = p.container_id WHERE p.document_id = :d"
                " AND p.status = 'open' AND NOT EXISTS (SELECT 1 FROM stock s WHERE s.container_id = p.container_id"
                " AND s.quantity > 0) ORDER BY p.container_id LIMIT 1"
            ),
            {"d": doc.id},
        )
        if empty is not None:  # a retried or double-tapped "new carton" gets the empty one it already has
            return PackageOpened(sscc=empty, order=order, status="open")
        serial_ref = await session.scalar(text("SELECT nextval('sscc_serial_reference')"))
        sscc = make_sscc(settings.sscc_extension_digit, settings.gs1_company_prefix, serial_ref)
        container_id = await session.scalar(
            text("INSERT INTO containers (kind, code, sscc) VALUES ('carton', :c, :s) RETURNING id"),
            {"c": sscc, "s": sscc},
        )
        await session.execute(
            text("INSERT INTO packages (container_id, document_id) VALUES (:c, :d)"), {"c": container_id, "d": doc.id}
        )
    return PackageOpened(sscc=sscc, order=order, status="open")


async def _package(session: AsyncSession, sscc: str) -> Any:
    row = (
        await session.execute(
            text(
                "SELECT p.container_id, p.document_id, p.status, d.erp_id AS order_erp_id FROM packages p"
                " JOIN containers c ON c.id = p.container_id JOIN outbound_documents d ON d.id = p.document_id"
                " WHERE c.sscc = :s FOR UPDATE OF p"
            ),
            {"s": sscc},
        )
    ).first()
    if row is None:
        raise e.NotFound(f"no package with SSCC {sscc}", sscc=sscc)
    return row


async def _refuse_recalled(session: AsyncSession, item_id: int, lot: str, *, sscc: str) -> None:
    """A recalled lot goes into no carton: the refusal names the recall (the packer sets the units aside)."""
    row = (
        await session.execute(
            text("SELECT id, status FROM lots WHERE item_id = :i AND lot = :l"), {"i": item_id, "l": lot}
        )
    ).first()
    if row is not None and row.status == "recalled":
        refusal = e.LotRecalled(
            f"Lot {lot} is recalled: do not pack it, put it aside and tell your supervisor", lot=lot, sscc=sscc
        )
        name_the_recall(refusal, (await open_recalls(session, [row.id])).get(row.id, {}))
        raise refusal


async def _refuse_recalled_serial(session: AsyncSession, item_id: int, serial: str, *, sscc: str) -> None:
    """A serial that a recall of serials freezes goes into no carton either (the rest of its lot may)."""
    row = (
        await session.execute(
            text(
                "SELECT se.id, l.lot FROM serials se LEFT JOIN lots l ON l.id = se.lot_id WHERE se.item_id = :i AND se.serial = :s"
            ),
            {"i": item_id, "s": serial},
        )
    ).first()
    if row is not None:
        naming = (await serial_recalls(session, [row.id])).get(row.id)
        if naming:
            raise serial_recalled(serial, row.lot, naming, doing="pack", sscc=sscc)


async def pack_scan(
    db: async_sessionmaker,
    actor: Actor,
    settings: Settings,
    *,
    sscc: str,
    client_scan_id: uuid.UUID,
    raw: str,
    today: dt.date,
) -> replay.Reply:
    """Move one scanned unit (or pack) of this order's picked goods into the carton."""
    scan = scans.read(raw, settings, today)

    async def decide_and_write(session: AsyncSession) -> PackedUnits:
        pkg = await _package(session, sscc)
        if pkg.status != "open":
            raise e.PackageNotOpen(
                f"package {sscc} is {pkg.status}: open a new carton", sscc=sscc, packageStatus=pkg.status
            )
        match = await scans.match_item(session, scan)
        if match is None:
            code = key_text(item_key(scan)) or scan.raw.strip()
            raise e.UnknownGtin(f"udipick does not know this item ({code})", gtin=code)
        # the carton's contents go to the customer and the recall trace: the unit names its own lot and serial
        if match.serial_tracked and not scan.serial:
            raise e.MissingSerial(
                f"{match.name} is serialised: scan the code that carries the serial (21)", needs=["serial"]
            )
        if match.lot_tracked and not scan.lot:
            raise e.MissingLot(f"{match.name} is lot-tracked: scan the code that carries the lot (10)", needs=["lot"])
        if scan.lot:
            await _refuse_recalled(session, match.item_id, scan.lot, sscc=sscc)
        if scan.serial:
            await _refuse_recalled_serial(session, match.item_id, scan.serial, sscc=sscc)
        picks = (
            await session.execute(
                text(
                    "SELECT p.id, p.lot_id, p.serial_id, p.quantity - p.packed - p.put_back AS open, p.staging_location_id, p.container_id,"
                    " l.lot, se.serial FROM picks p LEFT JOIN lots l ON l.id = p.lot_id LEFT JOIN serials se ON se.id = p.serial_id"
                    " WHERE p.document_id = :d AND p.item_id = :i AND p.quantity > p.packed + p.put_back AND p.undone_at IS NULL"
                    + (" AND l.lot = :lot" if scan.lot else "")
                    + (" AND se.serial = :serial" if scan.serial else "")
                    + " ORDER BY p.id FOR UPDATE OF p"
                ),
                {"d": pkg.document_id, "i": match.item_id, "lot": scan.lot, "serial": scan.serial},
            )
        ).all()
        waiting = sum(p.open for p in picks)
        if waiting < match.units:
            raise e.NotPickedForPacking(
                f"only {waiting} picked unit(s) of {match.name}{' lot ' + scan.lot if scan.lot else ''} wait to be packed for "
                f"order {pkg.order_erp_id}; this scan is {match.units}",
                order=pkg.order_erp_id,
                item=match.erp_id,
                lot=scan.lot,
                waiting=waiting,
                scannedUnits=match.units,
            )
        left = match.units
        movements = []
        for p in picks:
            if not left:
                break
            q = min(left, p.open)
            left -= q
            await session.execute(text("UPDATE picks SET packed = packed + :q WHERE id = :id"), {"q": q, "id": p.id})
            movements.append(
                Movement(
                    "pack",
                    item_id=match.item_id,
                    lot_id=p.lot_id,
                    serial_id=p.serial_id,
                    quantity=q,
                    from_location_id=p.staging_location_id,
                    from_container_id=p.container_id,
                    from_status="picked",
                    to_location_id=p.staging_location_id,
                    to_container_id=pkg.container_id,
                    to_status="packed",
                    document_type="sales_order",
                    document_id=pkg.order_erp_id,
                )
            )
            if p.serial_id:
                await session.execute(text("UPDATE serials SET status = 'packed' WHERE id = :id"), {"id": p.serial_id})
        await post_movements(session, actor, movements)
        remaining = await session.scalar(
            text(
                "SELECT coalesce(sum(quantity - packed - put_back), 0) FROM picks WHERE document_id = :d AND undone_at IS NULL"
            ),
            {"d": pkg.document_id},
        )
        return PackedUnits(
            sscc=sscc,
            item=match.erp_id,
            lot=scan.lot,
            serial=scan.serial,
            units=match.units,
            order_units_to_pack=int(remaining),
        )

    return await replay.once(db, client_scan_id, f"pack:{sscc}", actor, decide_and_write)


async def _contents(session: AsyncSession, container_id: int) -> Sequence[Any]:
    return (
        await session.execute(
            text(
                "SELECT i.gtin, i.erp_id, l.lot, l.expiry, se.serial, s.quantity FROM stock s"
                + _UNIT_DETAILS
                + " WHERE s.container_id = :c AND s.status = 'packed' AND s.quantity > 0 ORDER BY i.gtin, l.lot, se.serial"
            ),
            {"c": container_id},
        )
    ).all()


async def close_package(
    db: async_sessionmaker, actor: Actor, settings: Settings, labels: LabelRenderer, *, sscc: str
) -> PackageClosed:
    """Close the carton and queue its SSCC logistics label (never lost: no printer = a job to reassign);
    ``labels`` renders it in the closing transaction, so data that cannot be a label refuses the close."""
    async with db.begin() as session:
        pkg = await _package(session, sscc)
        if pkg.status != "open":
            raise e.PackageNotOpen(f"package {sscc} is already {pkg.status}", sscc=sscc, packageStatus=pkg.status)
        contents = await _contents(session, pkg.container_id)
        if not contents:
            raise e.PackageEmpty(f"package {sscc} is empty: pack something or leave it open", sscc=sscc)
        await session.execute(
            text("UPDATE packages SET status = 'closed', closed_at = now() WHERE container_id = :c"),
            {"c": pkg.container_id},
        )
        doc = await _order(session, pkg.order_erp_id)
        data = _label_data(sscc, doc, contents, await load_site(session))
        label = await queue_label(session, actor, labels, kind="sscc", data=data)
        body = [
            CartonLine(gtin=c.gtin, item=c.erp_id, lot=c.lot, expiry=c.expiry, serial=c.serial, quantity=c.quantity)
            for c in contents
        ]
        await emit(session, actor, PackagePacked(sscc=sscc, order=pkg.order_erp_id, contents=msgspec.to_builtins(body)))
    return PackageClosed(sscc=sscc, status="closed", contents=body, label=label_job(label))


def _label_data(sscc: str, doc: Any, contents: Sequence[Any], site: Site | None) -> dict[str, object]:
    """The SSCC label: from the site record (FROM), to the order's ship-to, and, for a carton of one GTIN
    and lot, its (02) content, (37) count, (10) lot and (17) expiry."""
    ship_to = doc.ship_to or {}
    data: dict[str, object] = {
        "sscc": sscc,
        **(site.label_from() if site is not None else {}),
        "to_name": ship_to.get("name", doc.customer_name),
        "to_address": [
            *ship_to.get("addressLines", []),
            " ".join(x for x in (ship_to.get("postalCode"), ship_to.get("city")) if x),
        ][:3],
        "reference": doc.erp_id,
    }
    gtins = {(c.gtin, c.lot, c.expiry) for c in contents}
    if len(gtins) == 1:
        gtin, lot, expiry = gtins.pop()
        data.update(content_gtin=gtin, count=sum(c.quantity for c in contents))
        if lot:
            data["lot"] = lot
        if expiry:
            data["expiry"] = expiry
    return data


async def sscc_label_data(db: async_sessionmaker, *, sscc: str) -> dict[str, object]:
    """A closed carton's SSCC label data, as closing it printed it but with today's site record: what
    ``GET /api/v1/labels/sscc.zpl`` hands a browser print agent to print it (again) at the packing bench."""
    async with db() as session:
        row = (
            await session.execute(
                text(
                    "SELECT p.container_id, p.status, d.erp_id AS order_erp_id FROM packages p"
                    " JOIN containers c ON c.id = p.container_id JOIN outbound_documents d ON d.id = p.document_id"
                    " WHERE c.sscc = :s"
                ),
                {"s": sscc},
            )
        ).first()
        if row is None:
            raise e.NotFound(f"no package with SSCC {sscc}", sscc=sscc)
        if row.status != "closed":
            raise e.PackageNotClosed(
                f"package {sscc} is {row.status}: a label is printed for a closed carton",
                sscc=sscc,
                packageStatus=row.status,
            )
        contents = await _contents(session, row.container_id)
        doc = await _order(session, row.order_erp_id)
        return _label_data(sscc, doc, contents, await load_site(session))


async def ship_order(db: async_sessionmaker, actor: Actor, *, order: str) -> Shipment:
    """Ship-confirm: every picked unit must be packed in a closed package; stock leaves the building."""
    async with db.begin() as session:
        doc = await _order(session, order, lock=True)
        if doc.status == "shipped":
            raise e.OrderAlreadyShipped(f"order {order} has already shipped", order=order)
        if doc.status == "cancelled":
            raise e.OrderCancelled(f"order {order} is cancelled: nothing of it ships", order=order)
        unpacked = await session.scalar(
            text(
                "SELECT coalesce(sum(quantity - packed - put_back), 0) FROM picks WHERE document_id = :d AND undone_at IS NULL"
            ),
            {"d": doc.id},
        )
        if unpacked:
            raise e.UnitsNotPacked(
                f"{unpacked} picked unit(s) of order {order} are not packed yet", order=order, unpacked=int(unpacked)
            )
        still_open = await session.scalar(
            text("SELECT count(*) FROM pick_tasks WHERE document_id = :d AND status = 'open'"), {"d": doc.id}
        )
        if still_open:
            raise e.PickTasksOpen(
                f"{still_open} pick task(s) of order {order} are still open: pick them or report them short first",
                order=order,
                openTasks=int(still_open),
            )
        # an empty carton opened by mistake does not hold up the shipment: it is discarded
        await session.execute(
            text(
                "DELETE FROM packages p WHERE p.document_id = :d AND p.status = 'open' AND NOT EXISTS"
                " (SELECT 1 FROM stock s WHERE s.container_id = p.container_id AND s.quantity > 0)"
            ),
            {"d": doc.id},
        )
        open_pkgs = (
            (
                await session.execute(
                    text(
                        "SELECT c.sscc FROM packages p JOIN containers c ON c.id = p.container_id"
                        " WHERE p.document_id = :d AND p.status = 'open'"
                    ),
                    {"d": doc.id},
                )
            )
            .scalars()
            .all()
        )
        if open_pkgs:
            raise e.PackagesOpen(
                f"close package(s) {', '.join(open_pkgs)} first", order=order, openPackages=list(open_pkgs)
            )
        rows = (
            await session.execute(
                text(
                    "SELECT s.id, s.item_id, s.lot_id, s.serial_id, s.location_id, s.container_id, s.quantity, c.sscc, i.gtin,"
                    " i.erp_id AS item, l.lot, l.expiry, l.status AS lot_status, se.serial FROM packages p JOIN containers c ON c.id = p.container_id"
                    " JOIN stock s ON s.container_id = p.container_id AND s.status = 'packed' AND s.quantity > 0"
                    + _UNIT_DETAILS
                    + " WHERE p.document_id = :d AND p.status = 'closed' ORDER BY s.id FOR UPDATE OF s"
                ),
                {"d": doc.id},
            )
        ).all()
        if not rows:
            raise e.NothingPacked(f"order {order} has nothing packed to ship", order=order)
        recalled = [r for r in rows if r.lot_status == "recalled"]
        if recalled:
            # a recalled unit never leaves the building: the whole shipment waits until the carton is repacked
            first = recalled[0]
            refusal = e.LotRecalled(
                f"carton {first.sscc} of order {order} holds recalled lot {first.lot}: it may not ship;"
                " take the recalled units out and repack",
                order=order,
                lot=first.lot,
                sscc=first.sscc,
                ssccs=sorted({r.sscc for r in recalled}),
            )
            name_the_recall(refusal, (await open_recalls(session, [first.lot_id])).get(first.lot_id, {}))
            raise refusal
        frozen = await serial_recalls(session, [r.serial_id for r in rows if r.serial_id is not None])
        if frozen:
            units = [r for r in rows if r.serial_id in frozen]
            first = units[0]
            raise serial_recalled(
                first.serial,
                first.lot,
                frozen[first.serial_id],
                doing="ship",
                order=order,
                sscc=first.sscc,
                ssccs=sorted({r.sscc for r in units}),
                serials=[r.serial for r in units],
            )
        await post_movements(
            session,
            actor,
            [
                Movement(
                    "ship",
                    item_id=r.item_id,
                    lot_id=r.lot_id,
                    serial_id=r.serial_id,
                    quantity=r.quantity,
                    from_location_id=r.location_id,
                    from_container_id=r.container_id,
                    from_status="packed",
                    document_type="sales_order",
                    document_id=order,
                )
                for r in rows
            ],
        )
        serial_ids = [r.serial_id for r in rows if r.serial_id]
        if serial_ids:
            await session.execute(
                text("UPDATE serials SET status = 'shipped', location_id = NULL WHERE id = ANY(CAST(:ids AS int[]))"),
                {"ids": serial_ids},
            )
        await session.execute(
            text("UPDATE outbound_lines SET quantity_shipped = quantity_picked WHERE document_id = :d"), {"d": doc.id}
        )
        await session.execute(
            text("UPDATE outbound_documents SET status = 'shipped', updated_at = now() WHERE id = :d"), {"d": doc.id}
        )
        await session.execute(
            text(
                "UPDATE packages SET status = 'shipped', shipped_at = now() WHERE document_id = :d AND status = 'closed'"
            ),
            {"d": doc.id},
        )
        lines = [
            ShippedLine(
                gtin=r.gtin, item=r.item, lot=r.lot, expiry=r.expiry, serial=r.serial, quantity=r.quantity, sscc=r.sscc
            )
            for r in rows
        ]
        ssccs = sorted({r.sscc for r in rows})
        await emit(
            session,
            actor,
            ShipmentConfirmed(
                order=order,
                customer=doc.customer,
                customer_gln=doc.customer_gln,
                ship_to=doc.ship_to or {},
                lines=msgspec.to_builtins(lines),
                ssccs=ssccs,
            ),
        )
    return Shipment(order=order, status="shipped", ssccs=ssccs, lines=lines)

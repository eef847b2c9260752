"""Customer returns: the ERP's RMA, receiving what comes back, and QA's signed disposition.

A return is received against an RMA or blind (the customer chosen on the handheld). Every scanned
unit is checked against the shipment history (the ledger's ``ship`` rows of the customer's sales
orders, the rows the trace reads): a serial comes back only from the customer it was shipped to, a
lot no more than was shipped to that customer. Accepted units are booked in with the ledger movement
``return`` into a quarantine location, stock status ``quarantine``; a returned serial is ``in_stock``
again (at the quarantine location: the stock status blocks it, as for goods received into QC). A lot
or serial under an open recall is tied to that recall (``return_lines.recall_id``), and the recall
shows it came back.

QA then signs one decision per returned unit (21 CFR Part 11 §11.200, the password re-entered):
``restock`` (saleable again on a new licence plate, with a putaway task to stock), ``scrap`` (booked
out, movement ``scrap``) or ``to_supplier`` (booked out, movement ``return`` with no destination).
A unit tied to an open recall is never restocked.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta
from sqlalchemy import ColumnElement, exists, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from udipick.config import Settings
from udipick.db.ledger import Movement, post_movements
from udipick.db.models import Container, Customer, Serial, Stock
from udipick.db.models_receiving import PutawayTask
from udipick.db.models_returns import CustomerReturn, ReturnAuthorization, ReturnAuthorizationLine, ReturnLine
from udipick.domain import errors as e
from udipick.domain import returns as rules
from udipick.domain.access import Actor
from udipick.services import erp_inbound as erp
from udipick.services import replay, scans
from udipick.services.events import ReturnDisposed, ReturnReceived, emit
from udipick.services.identity import signed, verify_signature
from udipick.services.password_checks import PasswordChecks
from udipick.services.recall_facts import recall_number, serial_recalls
from udipick.services.receiving.common import identify_item, receiving_user


def return_number(return_id: int) -> str:
    return f"RET-{return_id:06d}"


def awaiting_return_decision() -> ColumnElement[bool]:
    """A ``stock`` row that is returned units waiting for QA's return decision (loose, in the return's
    quarantine location): a lot's QC release or rejection leaves them alone, since each returned unit
    is decided on its own (restock, scrap or to the supplier) with its customer and recall in view."""
    return exists().where(
        ReturnLine.return_id == CustomerReturn.id,
        ReturnLine.status == "quarantine",
        ReturnLine.item_id == Stock.item_id,
        ReturnLine.lot_id.is_not_distinct_from(Stock.lot_id),
        ReturnLine.serial_id.is_not_distinct_from(Stock.serial_id),
        CustomerReturn.location_id == Stock.location_id,
    ).correlate(Stock) & Stock.container_id.is_(None)


# ---- the RMA the ERP sends ---------------------------------------------------------------------------

Lot = Annotated[str, Meta(min_length=1, max_length=20)]


class RmaLineIn(erp.Record):
    line_no: erp.Positive
    item: erp.ErpId
    quantity: erp.Positive
    lot: Lot | None = None
    #: the serials expected back (at most ``quantity``); empty: any serial shipped to the customer
    serials: Annotated[list[Lot], Meta(max_length=10_000)] = []
    reason: Annotated[str, Meta(max_length=500)] | None = None


class ReturnAuthorizationIn(erp.Record):
    """A return authorisation (RMA): what a customer may send back, optionally from which sales order."""

    erp_id: erp.ErpId
    version: erp.Version
    number: erp.Code
    customer: erp.ErpId
    lines: Annotated[list[RmaLineIn], Meta(min_length=1, max_length=10_000)]
    warehouse: erp.Code = "MAIN"
    #: the sales order (ERP id) the goods were shipped on; returns are then checked against that order only
    sales_order: erp.ErpId | None = None


async def upsert_rmas(db: async_sessionmaker, records: Any, actor: Actor) -> erp.Tally:
    return await erp._each(db, records, _upsert_rma)


#: the RMA's columns as the ERP names its fields, so a ``version-reused`` pointer names the field it sent
_FIELD = {
    "number": "number",
    "customer_id": "customer",
    "warehouse_id": "warehouse",
    "sales_order": "salesOrder",
    "line_no": "lineNo",
    "item_id": "item",
    "quantity": "quantity",
    "lot": "lot",
    "serials": "serials",
    "reason": "reason",
}


def _line(values: dict[str, Any]) -> dict[str, Any]:
    return {_FIELD[k]: v for k, v in values.items()}


async def _upsert_rma(session: AsyncSession, rec: ReturnAuthorizationIn) -> erp.UpsertResult:
    customer_id = await erp._party_id(session, Customer, rec.customer, "customer")
    wid = await erp._warehouse_id(session, rec.warehouse, create=False)
    items = await erp._line_items(session, rec.lines)
    for i, line in enumerate(rec.lines):
        if len(line.serials) > line.quantity:
            raise e.InvalidRecord(
                f"line {line.line_no} names {len(line.serials)} serials for {line.quantity} units",
                pointer=f"/lines/{i}/serials",
            )
        if len(set(line.serials)) != len(line.serials):
            raise e.InvalidRecord(f"line {line.line_no} names a serial twice", pointer=f"/lines/{i}/serials")
    current = await erp._locked_document(session, ReturnAuthorization, rec.erp_id)
    status = erp._versioned_status(current.erp_version if current else None, rec.version, "RMA", rec.erp_id)
    values = dict(
        erp_id=rec.erp_id,
        erp_version=rec.version,
        number=rec.number,
        customer_id=customer_id,
        warehouse_id=wid,
        sales_order=rec.sales_order,
    )
    lines = [
        dict(
            line_no=ln.line_no,
            item_id=items[ln.item],
            quantity=ln.quantity,
            lot=ln.lot,
            serials=list(ln.serials),
            reason=ln.reason,
        )
        for ln in rec.lines
    ]
    if status == "unchanged":  # a replay: the same content, or the ERP changed the RMA without a new version
        assert current is not None  # only a stored RMA is unchanged
        stored_lines = (
            await session.execute(
                select(
                    ReturnAuthorizationLine.line_no,
                    ReturnAuthorizationLine.item_id,
                    ReturnAuthorizationLine.quantity,
                    ReturnAuthorizationLine.lot,
                    ReturnAuthorizationLine.serials,
                    ReturnAuthorizationLine.reason,
                )
                .where(ReturnAuthorizationLine.rma_id == current.id)
                .order_by(ReturnAuthorizationLine.line_no)
            )
        ).all()
        header = ("number", "customer_id", "warehouse_id", "sales_order")
        stored = (
            await session.execute(
                select(*(getattr(ReturnAuthorization, k) for k in header)).where(ReturnAuthorization.id == current.id)
            )
        ).one()
        erp._same_content(
            "RMA",
            rec.erp_id,
            rec.version,
            {
                **{_FIELD[k]: getattr(stored, k) for k in header},
                "lines": [_line(dict(r._mapping)) for r in stored_lines],
            },
            {
                **{_FIELD[k]: values[k] for k in header},
                "lines": [_line(ln) for ln in sorted(lines, key=lambda ln: ln["line_no"])],
            },
        )
        return erp.UpsertResult(rec.erp_id, "unchanged", current.id)
    if current is None:
        rma_id = await session.scalar(insert(ReturnAuthorization).values(values).returning(ReturnAuthorization.id))
        await session.execute(insert(ReturnAuthorizationLine), [{**ln, "rma_id": rma_id} for ln in lines])
        return erp.UpsertResult(rec.erp_id, "created", int(rma_id))  # type: ignore[arg-type]  # INSERT ... RETURNING always gives the new id
    if current.status != "open":
        raise e.Conflict(
            f"RMA {rec.erp_id} is {current.status} in udipick (goods came back against it) and cannot change",
            pointer="/version",
        )
    await session.execute(
        update(ReturnAuthorization)
        .where(ReturnAuthorization.id == current.id)
        .values(**values, updated_at=text("now()"))
    )
    await session.execute(text("DELETE FROM return_authorization_lines WHERE rma_id = :r"), {"r": current.id})
    await session.execute(insert(ReturnAuthorizationLine), [{**ln, "rma_id": current.id} for ln in lines])
    return erp.UpsertResult(rec.erp_id, "updated", current.id)


# ---- what the handheld sees --------------------------------------------------------------------------


class RmaLineView(msgspec.Struct, rename="camel"):
    line_no: int
    item: str
    gtin: str
    name: str
    lot: str | None
    serials: list[str]
    reason: str | None
    authorized: int
    received: int


class RmaView(msgspec.Struct, rename="camel"):
    rma: str
    number: str
    customer: str
    customer_name: str
    sales_order: str | None
    status: str
    lines: list[RmaLineView]


class ReturnLineView(msgspec.Struct, rename="camel"):
    id: int
    item: str
    gtin: str
    name: str
    lot: str | None
    expiry: dt.date | None
    serial: str | None
    quantity: int
    #: ``quarantine`` until QA decides; then ``restocked``, ``scrapped`` or ``to_supplier``
    status: str
    shipped_on: list[str]
    reason: str | None
    #: the open recall that covered the unit when it came back
    recall: str | None
    recall_id: int | None
    location: str
    return_number: str
    customer: str
    rma: str | None
    received_by: str
    received_at: dt.datetime
    disposed_by: str | None
    disposed_at: dt.datetime | None
    disposition_reason: str | None


class ReturnView(msgspec.Struct, rename="camel"):
    id: int
    number: str
    rma: str | None
    customer: str
    customer_name: str
    location: str
    status: str
    #: the RMA's lines with what came back against each (empty for a blind return)
    authorized: list[RmaLineView]
    lines: list[ReturnLineView]


class ReturnScanAnswer(msgspec.Struct, rename="camel"):
    accepted: ReturnLineView
    ret: ReturnView = msgspec.field(name="return")


_LINES = """
SELECT rl.id, i.erp_id, i.gtin, i.name, l.lot, l.expiry, se.serial, rl.quantity, rl.status, rl.shipped_on, rl.reason,
       rl.recall_id, loc.code AS location, r.id AS return_id, c.erp_id AS customer, ra.erp_id AS rma,
       u.username AS received_by, rl.scanned_at, du.username AS disposed_by, rl.disposed_at, rl.disposition_reason
  FROM return_lines rl
  JOIN returns r ON r.id = rl.return_id
  JOIN customers c ON c.id = r.customer_id
  JOIN locations loc ON loc.id = r.location_id
  JOIN items i ON i.id = rl.item_id
  LEFT JOIN return_authorizations ra ON ra.id = r.rma_id
  LEFT JOIN lots l ON l.id = rl.lot_id
  LEFT JOIN serials se ON se.id = rl.serial_id
  JOIN users u ON u.id = rl.user_id
  LEFT JOIN users du ON du.id = rl.disposed_by
 WHERE {where}
 ORDER BY rl.id
"""


def _line_view(r: Any) -> ReturnLineView:
    return ReturnLineView(
        id=r.id,
        item=r.erp_id,
        gtin=r.gtin,
        name=r.name,
        lot=r.lot,
        expiry=r.expiry,
        serial=r.serial,
        quantity=r.quantity,
        status=r.status,
        shipped_on=list(r.shipped_on),
        reason=r.reason,
        recall=recall_number(r.recall_id) if r.recall_id else None,
        recall_id=r.recall_id,
        location=r.location,
        return_number=return_number(r.return_id),
        customer=r.customer,
        rma=r.rma,
        received_by=r.received_by,
        received_at=r.scanned_at,
        disposed_by=r.disposed_by,
        disposed_at=r.disposed_at,
        disposition_reason=r.disposition_reason,
    )


async def _lines(session: AsyncSession, where: str, **params: Any) -> list[ReturnLineView]:
    rows = (await session.execute(text(_LINES.format(where=where)), params)).all()
    return [_line_view(r) for r in rows]


_RMA_LINES = """
SELECT ral.line_no, i.erp_id, i.gtin, i.name, ral.lot, ral.serials, ral.reason, ral.quantity, ral.quantity_received
  FROM return_authorization_lines ral JOIN items i ON i.id = ral.item_id
 WHERE ral.rma_id = :r ORDER BY ral.line_no
"""


async def _rma_lines(session: AsyncSession, rma_id: int) -> list[RmaLineView]:
    rows = (await session.execute(text(_RMA_LINES), {"r": rma_id})).all()
    return [RmaLineView(*r) for r in rows]


async def _view(session: AsyncSession, return_id: int) -> ReturnView:
    row = (
        await session.execute(
            text(
                "SELECT r.id, r.rma_id, ra.erp_id AS rma, c.erp_id AS customer, c.name, loc.code, r.status"
                "  FROM returns r JOIN customers c ON c.id = r.customer_id JOIN locations loc ON loc.id = r.location_id"
                "  LEFT JOIN return_authorizations ra ON ra.id = r.rma_id WHERE r.id = :id"
            ),
            {"id": return_id},
        )
    ).first()
    if row is None:
        raise e.NotFound(f"no return {return_id}", returnId=return_id)
    return ReturnView(
        id=row.id,
        number=return_number(row.id),
        rma=row.rma,
        customer=row.customer,
        customer_name=row.name,
        location=row.code,
        status=row.status,
        authorized=await _rma_lines(session, row.rma_id) if row.rma_id else [],
        lines=await _lines(session, "rl.return_id = :r", r=return_id),
    )


async def get_return(db: async_sessionmaker, return_id: int) -> ReturnView:
    async with db() as session:
        return await _view(session, return_id)


async def open_rmas(db: async_sessionmaker) -> list[RmaView]:
    """RMAs with something still to come back, for the handheld to choose from."""
    async with db() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT ra.id, ra.erp_id, ra.number, c.erp_id AS customer, c.name, ra.sales_order, ra.status"
                    "  FROM return_authorizations ra JOIN customers c ON c.id = ra.customer_id"
                    " WHERE ra.status IN ('open', 'receiving') ORDER BY ra.id DESC LIMIT 500"
                )
            )
        ).all()
        out = []
        for r in rows:
            lines = await _rma_lines(session, r.id)
            if any(ln.received < ln.authorized for ln in lines):
                out.append(RmaView(r.erp_id, r.number, r.customer, r.name, r.sales_order, r.status, lines))
        return out


async def awaiting_disposition(db: async_sessionmaker) -> list[ReturnLineView]:
    """Returned units in quarantine, waiting for QA's signed decision."""
    async with db() as session:
        return await _lines(session, "rl.status = 'quarantine'")


# ---- starting a return ---------------------------------------------------------------------------


async def start_return(
    db: async_sessionmaker, actor: Actor, *, rma: str | None, customer: str | None, location: str | None
) -> ReturnView:
    """Start receiving a return against an RMA (its ERP id or number) or blind (the customer's ERP id)."""
    user_id = receiving_user(actor)
    async with db.begin() as session:
        rma_id = None
        if rma is not None:
            found = (
                await session.execute(
                    text(
                        "SELECT id, customer_id, warehouse_id, status FROM return_authorizations"
                        " WHERE erp_id = :x OR number = :x ORDER BY erp_id = :x DESC, id DESC LIMIT 1"
                    ),
                    {"x": rma},
                )
            ).first()
            if found is None:
                raise e.NotFound(f"no RMA {rma}: check the number on the paperwork, or receive it blind", rma=rma)
            if found.status in ("closed", "cancelled"):
                raise e.Conflict(f"RMA {rma} is {found.status}: nothing more comes back against it", rma=rma)
            rma_id, customer_id, warehouse_id = found.id, found.customer_id, found.warehouse_id
        else:
            if customer is None:
                raise e.InvalidRecord("a blind return names the customer who sent it", pointer="/customer")
            customer_id = await session.scalar(select(Customer.id).where(Customer.erp_id == customer))
            if customer_id is None:
                raise e.NotFound(f"no customer {customer}", customer=customer, pointer="/customer")
            warehouse_id = None
        loc = await _quarantine_location(session, location, warehouse_id)
        return_id = await session.scalar(
            insert(CustomerReturn)
            .values(
                rma_id=rma_id,
                customer_id=customer_id,
                location_id=loc,
                created_by=user_id,
                created_device=actor.device_id,
            )
            .returning(CustomerReturn.id)
        )
        return await _view(session, int(return_id))  # type: ignore[arg-type]  # INSERT ... RETURNING always gives the new id


async def _quarantine_location(session: AsyncSession, raw: str | None, warehouse_id: int | None) -> int:
    if raw is not None:
        row = (
            await session.execute(
                text("SELECT id, type FROM locations WHERE code = :c OR barcode = :c ORDER BY code = :c DESC LIMIT 1"),
                {"c": raw},
            )
        ).first()
        if row is None:
            raise e.NotFound(f"no location {raw}", location=raw, pointer="/location")
        if row.type != "quarantine":
            raise e.LocationUnsuitable(
                f"{raw} is a {row.type} location: returned goods go to quarantine until QA decides",
                location=raw,
                locationType=row.type,
                reason="returned goods go to quarantine until QA decides",
                why="returns-to-quarantine",
                needs="quarantine",
            )
        return int(row.id)
    loc = await session.scalar(
        text(
            "SELECT id FROM locations WHERE type = 'quarantine' AND (CAST(:w AS int) IS NULL OR warehouse_id = :w)"
            " AND NOT frozen ORDER BY pick_sequence, id LIMIT 1"
        ),
        {"w": warehouse_id},
    )
    if loc is None:
        raise e.NotFound("this warehouse has no quarantine location for returned goods", needs="quarantine")
    return int(loc)


# ---- a scan of what came back ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReturnScanInput:
    client_scan_id: uuid.UUID
    raw: str
    lot: str | None = None
    serial: str | None = None
    quantity: int | None = None
    reason: str | None = None


_SHIPPED = """
SELECT coalesce(sum(sl.quantity) FILTER (WHERE d.customer_id = :c AND (CAST(:so AS text) IS NULL OR d.erp_id = :so)), 0),
       coalesce(sum(sl.quantity) FILTER (WHERE d.customer_id <> :c), 0),
       coalesce(jsonb_agg(DISTINCT d.erp_id) FILTER (WHERE d.customer_id = :c
                AND (CAST(:so AS text) IS NULL OR d.erp_id = :so)), '[]'::jsonb)
  FROM stock_ledger sl JOIN outbound_documents d ON d.erp_id = sl.document_id
 WHERE sl.movement = 'ship' AND sl.document_type = 'sales_order' AND sl.item_id = :i AND {unit}
"""
_RETURNED = """
SELECT coalesce(sum(rl.quantity), 0) FROM return_lines rl JOIN returns r ON r.id = rl.return_id
 WHERE r.customer_id = :c AND rl.item_id = :i AND {unit}
"""


async def scan_return(
    db: async_sessionmaker, actor: Actor, settings: Settings, return_id: int, inp: ReturnScanInput, *, today: dt.date
) -> replay.Reply:
    """Receive one scanned unit (or quantity of a lot) into quarantine; once per ``clientScanId``."""
    user_id = receiving_user(actor)

    async def decide_and_write(session: AsyncSession) -> ReturnScanAnswer:
        ret = (
            await session.execute(
                text(
                    "SELECT r.id, r.status, r.rma_id, r.customer_id, r.location_id, c.erp_id AS customer,"
                    "       ra.erp_id AS rma, ra.sales_order, loc.code AS location"
                    "  FROM returns r JOIN customers c ON c.id = r.customer_id"
                    "  JOIN locations loc ON loc.id = r.location_id"
                    "  LEFT JOIN return_authorizations ra ON ra.id = r.rma_id"
                    " WHERE r.id = :id FOR UPDATE OF r"
                ),
                {"id": return_id},
            )
        ).first()
        if ret is None:
            raise e.NotFound(f"no return {return_id}", returnId=return_id)
        if ret.status != "open":
            raise e.Conflict(f"return {return_number(return_id)} is closed: start a new one", returnId=return_id)
        scan = scans.read(inp.raw, settings, today)
        item = await identify_item(session, scan)
        serial = scan.serial or inp.serial
        lot = scan.lot or inp.lot
        if item.serial_tracked and serial is None:
            raise e.MissingSerial(f"{item.erp_id} is serialised: scan or type the unit's serial", needs=["serial"])
        if item.lot_tracked and lot is None and serial is None:
            raise e.MissingLot(f"{item.erp_id} is lot-tracked: type the lot from the label", needs=["lot"])
        quantity = 1 if serial is not None else (inp.quantity or item.units)
        serial_id = lot_id = None
        serial_status = None
        if serial is not None:
            found = (
                await session.execute(
                    text("SELECT id, lot_id, status FROM serials WHERE item_id = :i AND serial = :s FOR UPDATE"),
                    {"i": item.item_id, "s": serial},
                )
            ).first()
            if found is None:
                raise e.ReturnNotShippedToCustomer(
                    f"Serial {serial} of {item.erp_id} was never in this warehouse: set the unit aside and ask"
                    " customer service which shipment it came from",
                    customer=ret.customer,
                    item=item.erp_id,
                    serial=serial,
                    lot=lot,
                    shipped=0,
                    returned=0,
                )
            serial_id, lot_id, serial_status = found.id, found.lot_id, found.status
        elif lot is not None:
            lot_id = await session.scalar(
                text("SELECT id FROM lots WHERE item_id = :i AND lot = :l"), {"i": item.item_id, "l": lot}
            )
            if lot_id is None:
                raise e.ReturnNotShippedToCustomer(
                    f"Lot {lot} of {item.erp_id} was never in this warehouse: check the label, set the goods aside"
                    " and ask customer service",
                    customer=ret.customer,
                    item=item.erp_id,
                    lot=lot,
                    serial=None,
                    shipped=0,
                    returned=0,
                )
            # two returns of one lot from one customer at once must not both take the last shipped units
            await session.execute(
                text("SELECT pg_advisory_xact_lock(hashtext('udipick-return'), :k)"), {"k": int(lot_id)}
            )
        lot_name = lot
        if lot_id is not None and serial is not None:
            lot_name = await session.scalar(text("SELECT lot FROM lots WHERE id = :l"), {"l": lot_id})
        unit = "sl.serial_id = :u" if serial_id is not None else "sl.lot_id IS NOT DISTINCT FROM :u"
        params = {"c": ret.customer_id, "i": item.item_id, "u": serial_id if serial_id is not None else lot_id}
        to_customer, to_others, orders = (
            await session.execute(text(_SHIPPED.format(unit=unit)), {**params, "so": ret.sales_order})
        ).one()
        returned = await session.scalar(text(_RETURNED.format(unit=unit.replace("sl.", "rl."))), params)
        if serial_id is not None and serial_status != "shipped":
            raise e.ReturnNotShippedToCustomer(
                f"Serial {serial} is on the books in this warehouse ({serial_status}), not at a customer:"
                " set the unit aside and tell QA",
                customer=ret.customer,
                item=item.erp_id,
                serial=serial,
                lot=lot_name,
                serialStatus=serial_status,
                shipped=int(to_customer),
                returned=int(returned),
            )
        rules.check_return(
            rules.Shipped(int(to_customer), int(to_others), int(returned)),
            quantity,
            serial=serial,
            customer=ret.customer,
            item=item.erp_id,
            lot=lot_name,
        )
        rma_line_id = await _rma_line(session, ret, item, lot_name, serial, quantity)
        recall_id = await _open_recall(session, lot_id, serial_id)
        number = return_number(return_id)
        await post_movements(
            session,
            actor,
            [
                Movement(
                    "return",
                    item_id=item.item_id,
                    quantity=quantity,
                    lot_id=lot_id,
                    serial_id=serial_id,
                    to_location_id=ret.location_id,
                    to_status="quarantine",
                    reason=inp.reason or "customer return",
                    document_type="return",
                    document_id=number,
                )
            ],
        )
        if serial_id is not None:
            await session.execute(
                update(Serial).where(Serial.id == serial_id).values(status="in_stock", location_id=ret.location_id)
            )
        line_id = await session.scalar(
            insert(ReturnLine)
            .values(
                return_id=return_id,
                rma_line_id=rma_line_id,
                client_scan_id=inp.client_scan_id,
                item_id=item.item_id,
                lot_id=lot_id,
                serial_id=serial_id,
                quantity=quantity,
                shipped_on=list(orders),
                reason=inp.reason,
                recall_id=recall_id,
                user_id=user_id,
                device_id=actor.device_id,
            )
            .returning(ReturnLine.id)
        )
        (accepted,) = await _lines(session, "rl.id = :id", id=line_id)
        await emit(
            session,
            actor,
            ReturnReceived(
                return_number=number,
                return_line_id=accepted.id,
                rma=ret.rma,
                customer=ret.customer,
                location=ret.location,
                item=item.erp_id,
                gtin=item.gtin,
                lot=accepted.lot,
                expiry=accepted.expiry,
                serial=serial,
                quantity=quantity,
                status="quarantine",
                shipped_on=list(orders),
                reason=inp.reason,
                recall=accepted.recall,
                client_scan_id=str(inp.client_scan_id),
            ),
        )
        return ReturnScanAnswer(accepted=accepted, ret=await _view(session, return_id))

    return await replay.once(db, inp.client_scan_id, "return", actor, decide_and_write)


async def _rma_line(
    session: AsyncSession, ret: Any, item: scans.ItemMatch, lot: str | None, serial: str | None, quantity: int
) -> int | None:
    """The RMA line the units count against (``None`` for a blind return); refuse what the RMA does not allow."""
    if ret.rma_id is None:
        return None
    rows = (
        await session.execute(
            text(
                "SELECT id, line_no, lot, serials, quantity, quantity_received FROM return_authorization_lines"
                " WHERE rma_id = :r AND item_id = :i ORDER BY line_no FOR UPDATE"
            ),
            {"r": ret.rma_id, "i": item.item_id},
        )
    ).all()
    fitting = [
        r
        for r in rows
        if (r.lot is None or r.lot == lot) and (not r.serials or (serial is not None and serial in r.serials))
    ]
    if not fitting:
        authorized = sum(r.quantity for r in rows)
        what = f"serial {serial}" if serial else (f"lot {lot}" if lot else item.erp_id)
        raise e.ReturnOverAuthorized(
            f"RMA {ret.rma} does not name {what} of {item.erp_id}: set it aside and ask customer service for an RMA",
            rma=ret.rma,
            item=item.erp_id,
            lot=lot,
            serial=serial,
            authorized=authorized,
            received=sum(r.quantity_received for r in rows),
            quantity=quantity,
        )
    line = next((r for r in fitting if r.quantity_received + quantity <= r.quantity), fitting[0])
    rules.check_authorized(line.quantity, line.quantity_received, quantity, rma=ret.rma, item=item.erp_id)
    await session.execute(
        text("UPDATE return_authorization_lines SET quantity_received = quantity_received + :q WHERE id = :id"),
        {"q": quantity, "id": line.id},
    )
    await session.execute(
        text("UPDATE return_authorizations SET status = 'receiving' WHERE id = :r AND status = 'open'"),
        {"r": ret.rma_id},
    )
    return int(line.id)


async def _open_recall(session: AsyncSession, lot_id: int | None, serial_id: int | None) -> int | None:
    """The open recall covering the lot, or freezing the serial: the returned unit is tied to it."""
    if serial_id is not None:
        by_serial = await serial_recalls(session, [serial_id])
        if serial_id in by_serial:
            return int(by_serial[serial_id]["recallId"])
    if lot_id is None:
        return None
    found = await session.scalar(
        text(
            "SELECT r.id FROM recall_lots rl JOIN recalls r ON r.id = rl.recall_id"
            " WHERE rl.lot_id = :l AND r.status = 'open' ORDER BY r.id DESC LIMIT 1"
        ),
        {"l": lot_id},
    )
    return int(found) if found is not None else None


# ---- QA's decision -----------------------------------------------------------------------------------

Decision = Literal["restock", "scrap", "to_supplier"]


async def dispose(
    db: async_sessionmaker,
    checks: PasswordChecks,
    settings: Settings,
    actor: Actor,
    line_id: int,
    decision: Decision,
    *,
    reason: str,
    password: str,
    address: str,
) -> ReturnLineView:
    """QA's signed decision on one returned unit (21 CFR Part 11 §11.200). A wrong password changes nothing."""
    line_status, to_status, serial_status, meaning_kind = rules.DISPOSITIONS[decision]
    reason = reason.strip()
    if not reason:
        raise e.MissingReason("a decision on returned goods needs a reason", needs=["reason"])
    async with db() as session:
        found = await _lines(session, "rl.id = :id", id=line_id)
    if not found:
        raise e.NotFound(f"no returned unit {line_id}", returnLineId=line_id)
    meaning = f"return.{decision}"
    target = f"return:{found[0].return_number}/{line_id}"
    await verify_signature(db, checks, actor, password, meaning, target, address=address)
    async with db.begin() as session:
        row = (
            await session.execute(
                text(
                    "SELECT rl.id, rl.status, rl.item_id, rl.lot_id, rl.serial_id, rl.quantity, rl.recall_id,"
                    "       r.id AS return_id, r.location_id, rc.status AS recall_status"
                    "  FROM return_lines rl JOIN returns r ON r.id = rl.return_id"
                    "  LEFT JOIN recalls rc ON rc.id = rl.recall_id"
                    " WHERE rl.id = :id FOR UPDATE OF rl"
                ),
                {"id": line_id},
            )
        ).one()
        view = found[0]
        if row.status != "quarantine":
            raise e.ReturnAlreadyDisposed(
                f"returned unit {line_id} was already decided ({row.status})",
                returnLineId=line_id,
                returnStatus=row.status,
            )
        if decision == "restock" and row.recall_id is not None and row.recall_status == "open":
            raise e.LotRecalled(
                f"this unit came back under recall {recall_number(row.recall_id)}, which is still open: it cannot be"
                " restocked. Scrap it or return it to the supplier, or wait until the recall is closed as released",
                recall=recall_number(row.recall_id),
                recallId=row.recall_id,
                lot=view.lot,
                serial=view.serial,
            )
        held = await session.scalar(
            text(
                "SELECT quantity - reserved FROM stock WHERE item_id = :i AND lot_id IS NOT DISTINCT FROM :l"
                " AND serial_id IS NOT DISTINCT FROM :s AND location_id = :loc AND container_id IS NULL"
                " AND status = 'quarantine' FOR UPDATE"
            ),
            {"i": row.item_id, "l": row.lot_id, "s": row.serial_id, "loc": row.location_id},
        )
        if held is None or held < row.quantity:
            raise e.NotInQuarantine(
                f"the returned units are no longer in quarantine at {view.location} (moved or released):"
                " find them before deciding",
                location=view.location,
                lot=view.lot,
                serial=view.serial,
            )
        number = return_number(row.return_id)
        await signed(
            session,
            actor,
            meaning,
            target,
            signature_meaning=meaning_kind,
            reason=reason,
            before={"status": "quarantine"},
            after={"status": line_status},
        )

        def leaving_quarantine(
            movement: str,
            document_type: str,
            *,
            to_location_id: int | None = None,
            to_container_id: int | None = None,
            to_status: str | None = None,
        ) -> Movement:
            return Movement(
                movement,
                item_id=row.item_id,
                quantity=row.quantity,
                lot_id=row.lot_id,
                serial_id=row.serial_id,
                from_location_id=row.location_id,
                from_status="quarantine",
                to_location_id=to_location_id,
                to_container_id=to_container_id,
                to_status=to_status,
                reason=f"return {decision}: {reason}",
                document_type=document_type,
                document_id=number,
            )

        if decision == "restock":
            container_id = await session.scalar(
                insert(Container)
                .values(kind="lpn", code=f"tmp-{uuid.uuid4().hex[:24]}", location_id=row.location_id)
                .returning(Container.id)
            )
            await session.execute(
                update(Container)
                .where(Container.id == container_id)
                .values(code=f"{settings.lpn_prefix}{container_id:08d}")
            )
            movement = leaving_quarantine(
                "release", "return", to_location_id=row.location_id, to_container_id=container_id, to_status=to_status
            )
            await session.execute(
                insert(PutawayTask).values(
                    return_id=row.return_id, container_id=container_id, from_location_id=row.location_id
                )
            )
        else:
            # scrap: destroyed; to the supplier: booked out as a return, to no location of ours
            movement = (
                leaving_quarantine("scrap", "return")
                if decision == "scrap"
                else leaving_quarantine("return", "return_to_supplier")
            )
        await post_movements(session, actor, [movement])
        if row.serial_id is not None:
            await session.execute(
                update(Serial)
                .where(Serial.id == row.serial_id)
                .values(status=serial_status, location_id=row.location_id if decision == "restock" else None)
            )
        await session.execute(
            update(ReturnLine)
            .where(ReturnLine.id == line_id)
            .values(
                status=line_status,
                disposed_by=actor.user_id,
                disposed_at=text("now()"),
                disposition_reason=reason,
            )
        )
        (after,) = await _lines(session, "rl.id = :id", id=line_id)
        await emit(
            session,
            actor,
            ReturnDisposed(
                return_number=number,
                return_line_id=line_id,
                rma=after.rma,
                customer=after.customer,
                decision=decision,
                item=after.item,
                gtin=after.gtin,
                lot=after.lot,
                expiry=after.expiry,
                serial=after.serial,
                quantity=after.quantity,
                reason=reason,
                recall=after.recall,
                signed_by=actor.label,
            ),
        )
        return after

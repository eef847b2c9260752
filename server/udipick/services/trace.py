"""Gathering the rows of a trace; ``domain.trace.assemble`` makes the trace of them.

Three reads per trace, each by an index (migration 0014): receipt scans by lot or serial, the
ledger's ship movements by lot, serial or carton, stock rows by lot, serial or carton. A recall's
trace and a plain trace are the same reads over different keys.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from udipick.domain import errors as e
from udipick.domain.trace import ReceivedRow, ShippedRow, StockNowRow, Trace, TraceKind, assemble
from udipick.services.receiving.common import receipt_number

_RECEIVED = """
SELECT rs.receipt_id, rs.scanned_at, u.username, sup.erp_id, sup.name, sup.gln, d.kind, d.number,
       i.gtin, l.lot, l.expiry, se.serial, rs.quantity, rs.status
  FROM receipt_scans rs
  JOIN receipts r ON r.id = rs.receipt_id
  LEFT JOIN inbound_documents d ON d.id = r.document_id
  LEFT JOIN suppliers sup ON sup.id = coalesce(r.supplier_id, d.supplier_id)
  JOIN items i ON i.id = rs.item_id
  LEFT JOIN lots l ON l.id = rs.lot_id
  LEFT JOIN serials se ON se.id = rs.serial_id
  LEFT JOIN users u ON u.id = rs.user_id
 WHERE {where}
"""

_SHIPPED = """
SELECT d.erp_id, d.number, c.erp_id, c.name, c.gln, d.ship_to, sl.occurred_at,
       i.gtin, l.lot, l.expiry, se.serial, ct.sscc, sl.quantity
  FROM stock_ledger sl
  JOIN outbound_documents d ON d.erp_id = sl.document_id
  JOIN customers c ON c.id = d.customer_id
  JOIN items i ON i.id = sl.item_id
  LEFT JOIN lots l ON l.id = sl.lot_id
  LEFT JOIN serials se ON se.id = sl.serial_id
  LEFT JOIN containers ct ON ct.id = sl.from_container_id
 WHERE sl.movement = 'ship' AND sl.document_type = 'sales_order' AND {where}
"""

_NOW = """
SELECT loc.code, loc.type, s.status, ct.sscc, ct.code, d.erp_id, i.gtin, l.lot, l.expiry, se.serial,
       s.quantity, s.reserved
  FROM stock s
  JOIN locations loc ON loc.id = s.location_id
  JOIN items i ON i.id = s.item_id
  LEFT JOIN lots l ON l.id = s.lot_id
  LEFT JOIN serials se ON se.id = s.serial_id
  LEFT JOIN containers ct ON ct.id = s.container_id
  LEFT JOIN packages p ON p.container_id = s.container_id
  LEFT JOIN outbound_documents d ON d.id = p.document_id
 WHERE s.quantity > 0 AND {where}
"""


async def _rows(session: AsyncSession, sql: str, where: str, params: dict[str, Any]) -> list[Any]:
    return list((await session.execute(text(sql.format(where=where)), params)).all())


async def gather(
    session: AsyncSession,
    kind: TraceKind,
    *,
    gtin: str | None,
    lots: list[str],
    lot_ids: list[int] | None = None,
    serial_ids: list[int] | None = None,
    container_id: int | None = None,
    serial: str | None = None,
    sscc: str | None = None,
) -> Trace:
    """The trace of lots (``lot_ids``), serials (``serial_ids``) or one carton (``container_id``)."""
    if container_id is not None:
        # a carton: what is in it now, what shipped in it, and the receipts of what was packed into it
        packed = (
            await session.execute(
                text(
                    "SELECT DISTINCT lot_id, serial_id FROM stock_ledger WHERE movement = 'pack' AND to_container_id = :c"
                ),
                {"c": container_id},
            )
        ).all()
        serial_ids = sorted({p.serial_id for p in packed if p.serial_id})
        lot_ids = sorted({p.lot_id for p in packed if p.lot_id and not p.serial_id})
        received_where = "(rs.serial_id = ANY(CAST(:serials AS int[])) OR rs.lot_id = ANY(CAST(:lots AS int[])))"
        params: dict[str, Any] = {"serials": serial_ids, "lots": lot_ids, "c": container_id}
        received = await _rows(session, _RECEIVED, received_where, params)
        shipped = await _rows(session, _SHIPPED, "sl.from_container_id = :c", params)
        now = await _rows(session, _NOW, "s.container_id = :c", params)
    elif serial_ids is not None:
        params = {"ids": serial_ids}
        received = await _rows(session, _RECEIVED, "rs.serial_id = ANY(CAST(:ids AS int[]))", params)
        shipped = await _rows(session, _SHIPPED, "sl.serial_id = ANY(CAST(:ids AS int[]))", params)
        now = await _rows(session, _NOW, "s.serial_id = ANY(CAST(:ids AS int[]))", params)
    else:
        params = {"ids": lot_ids or []}
        received = await _rows(session, _RECEIVED, "rs.lot_id = ANY(CAST(:ids AS int[]))", params)
        shipped = await _rows(session, _SHIPPED, "sl.lot_id = ANY(CAST(:ids AS int[]))", params)
        now = await _rows(session, _NOW, "s.lot_id = ANY(CAST(:ids AS int[]))", params)
    return assemble(
        kind,
        gtin=gtin,
        lots=lots,
        serial=serial,
        sscc=sscc,
        received=[ReceivedRow(r[0], receipt_number(r[0]), *r[1:]) for r in received],
        shipped=[ShippedRow(*r) for r in shipped],
        now=[StockNowRow(*r) for r in now],
    )


async def _item(session: AsyncSession, gtin: str) -> tuple[int, str]:
    row = (
        await session.execute(
            text("SELECT i.id, i.gtin FROM item_gtins g JOIN items i ON i.id = g.item_id WHERE g.gtin = :g"),
            {"g": gtin},
        )
    ).first()
    if row is None:
        raise e.UnknownGtin(f"udipick does not know GTIN {gtin}", gtin=gtin)
    return row[0], row[1]


async def lot_trace(db: async_sessionmaker, gtin: str, lot: str) -> Trace:
    async with db() as session:
        item_id, base_gtin = await _item(session, gtin)
        lot_id = await session.scalar(
            text("SELECT id FROM lots WHERE item_id = :i AND lot = :l"), {"i": item_id, "l": lot}
        )
        if lot_id is None:
            raise e.UnknownLot(f"no lot {lot} of GTIN {gtin}", gtin=gtin, lot=lot)
        return await gather(session, "lot", gtin=base_gtin, lots=[lot], lot_ids=[lot_id])


async def serial_trace(db: async_sessionmaker, gtin: str, serial: str) -> Trace:
    async with db() as session:
        item_id, base_gtin = await _item(session, gtin)
        row = (
            await session.execute(
                text(
                    "SELECT se.id, l.lot FROM serials se LEFT JOIN lots l ON l.id = se.lot_id WHERE se.item_id = :i AND se.serial = :s"
                ),
                {"i": item_id, "s": serial},
            )
        ).first()
        if row is None:
            raise e.UnknownSerial(f"no serial {serial} of GTIN {gtin}", gtin=gtin, serial=serial)
        return await gather(
            session, "serial", gtin=base_gtin, lots=[row.lot] if row.lot else [], serial_ids=[row.id], serial=serial
        )


async def sscc_trace(db: async_sessionmaker, sscc: str) -> Trace:
    async with db() as session:
        container_id = await session.scalar(text("SELECT id FROM containers WHERE sscc = :s"), {"s": sscc})
        if container_id is None:
            raise e.NotFound(f"no carton or pallet with SSCC {sscc}", sscc=sscc)
        trace = await gather(session, "sscc", gtin=None, lots=[], container_id=container_id, sscc=sscc)
        trace.lots = sorted({x.lot for x in (*trace.forward, *trace.now) if x.lot})
        return trace

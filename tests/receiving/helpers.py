"""Building the barcodes a receiver scans, and reading back what the database holds."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import text

from udipick.services.demo import demo_gtin

GS = "\x1d"

REF = {
    "SYR-10ML": 1001,
    "STENT-DES-3018": 1002,
    "PEN-NDL-4MM": 1003,
    "GLOVE-NIT-M": 1004,
    "CATH-IMP-6F": 1006,
    "IMPLANT-QC": 1007,
}


def days(n: int) -> dt.date:
    # the clock is read at each call, not at import: a run across midnight keeps the dates it means
    return dt.date.today() + dt.timedelta(days=n)


def datamatrix(
    item: str, *, indicator: int = 0, lot: str | None = None, expiry: dt.date | None = None, serial: str | None = None
) -> str:
    """A GS1 DataMatrix as a handheld sends it: ``]d2`` then element strings, GS after variable-length ones."""
    out = f"]d201{demo_gtin(REF[item], indicator)}"
    if expiry is not None:
        out += f"17{expiry:%y%m%d}"
    if lot is not None:
        out += f"10{lot}"
    if serial is not None:
        out += (GS if lot is not None else "") + f"21{serial}"
    return out


def scan_body(raw: str, **extra) -> dict:
    return {"clientScanId": str(uuid.uuid4()), "raw": raw, **extra}


async def rows(db, sql: str, **params) -> list[tuple]:
    async with db() as s:
        return [tuple(r) for r in (await s.execute(text(sql), params)).all()]


async def scalar(db, sql: str, **params):
    async with db() as s:
        return (await s.execute(text(sql), params)).scalar()


STOCK_AT = """
SELECT i.erp_id, l.lot, se.serial, s.status, s.quantity, c.code
  FROM stock s JOIN items i ON i.id = s.item_id JOIN locations loc ON loc.id = s.location_id
  LEFT JOIN lots l ON l.id = s.lot_id LEFT JOIN serials se ON se.id = s.serial_id LEFT JOIN containers c ON c.id = s.container_id
 WHERE loc.code = :loc AND s.quantity > 0
"""

LEDGER_FOR = """
SELECT sl.movement, i.erp_id, l.lot, se.serial, sl.quantity, fl.code, sl.from_status, tl.code, sl.to_status, u.username, sl.device_id
  FROM stock_ledger sl JOIN items i ON i.id = sl.item_id LEFT JOIN lots l ON l.id = sl.lot_id
  LEFT JOIN serials se ON se.id = sl.serial_id LEFT JOIN locations fl ON fl.id = sl.from_location_id
  LEFT JOIN locations tl ON tl.id = sl.to_location_id LEFT JOIN users u ON u.id = sl.user_id
 WHERE sl.document_id = :doc ORDER BY sl.id
"""

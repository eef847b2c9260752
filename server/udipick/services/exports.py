"""Stock snapshot for the ERP, and reconciliation of the ERP's stock figures against udipick's.

A row's ``status`` is the stock's own, except that available stock a hold, a recall or its lot's status keeps
from sale shows as ``hold``, ``recalled``, ``quarantine`` or ``rejected`` (a held lot's units are booked
``available``; the ERP must not count them as saleable). The full picture, expiry and bonded included, is the
stock view (``services.stock_view``).

A snapshot is taken in one REPEATABLE READ transaction together with the outbox head, and only
when no committed event in that snapshot is still waiting for a position: then the figures are
exactly "every event up to ``as_of_position``", and the ERP can apply the stream from there on
without counting anything twice.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker

from udipick.domain.stock_view import StockFacts, booked_status
from udipick.services.outbox import BACKLOG, HEAD, sequence_now

GROUP_FIELDS = ("lot", "serial", "location", "status")


#: the active holds on items, lots, serials and locations joined as sets to the stock rows ``st``: the same
#: predicate as ``udipick_stock_hold``, written set-wise for the snapshot's many rows
ACTIVE_HOLDS = """
  LEFT JOIN (SELECT DISTINCT item_id FROM holds WHERE released_at IS NULL AND scope = 'item') hi
         ON hi.item_id = st.item_id
  LEFT JOIN (SELECT DISTINCT lot_id FROM holds WHERE released_at IS NULL AND scope = 'lot') hl
         ON hl.lot_id = st.lot_id
  LEFT JOIN (SELECT serial_id, bool_or(recall_id IS NOT NULL) AS recall FROM holds
              WHERE released_at IS NULL AND scope = 'serial' GROUP BY serial_id) hs
         ON hs.serial_id = st.serial_id
  LEFT JOIN (SELECT DISTINCT location_id FROM holds WHERE released_at IS NULL AND scope = 'location') hc
         ON hc.location_id = st.location_id
"""


class StockRow(msgspec.Struct, rename="camel"):
    item: str
    gtin: str
    lot: str | None
    expiry: dt.date | None
    serial: str | None
    warehouse: str
    location: str
    status: str
    quantity: int
    reserved: int


FIELDS = list(StockRow.__struct_encode_fields__)

_SNAPSHOT = text(
    """
SELECT i.erp_id AS item, i.gtin, l.lot, l.expiry, se.serial, w.code AS warehouse, loc.code AS location,
       st.status AS stock_status, coalesce(l.status, 'released') AS lot_status,
       (hi.item_id IS NOT NULL OR hl.lot_id IS NOT NULL OR hs.serial_id IS NOT NULL OR hc.location_id IS NOT NULL)
         AS held, coalesce(hs.recall, false) AS recall_hold, loc.type AS location_type, i.bonded AS item_bonded,
       sum(st.quantity)::int AS quantity, sum(st.reserved)::int AS reserved
  FROM stock st
  JOIN items i ON i.id = st.item_id
  JOIN locations loc ON loc.id = st.location_id
  JOIN warehouses w ON w.id = loc.warehouse_id
  LEFT JOIN lots l ON l.id = st.lot_id
  LEFT JOIN serials se ON se.id = st.serial_id
"""
    + ACTIVE_HOLDS
    + """
 WHERE st.quantity > 0
 GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13
 ORDER BY 1, 3 NULLS FIRST, 5 NULLS FIRST, 6, 7, 8
"""
)


@dataclass(frozen=True)
class Snapshot:
    """Answered as NDJSON (one ``StockRow`` a line) or CSV (``FIELDS`` as the header) with the position
    in headers, so it stays a plain dataclass rather than a JSON answer."""

    rows: list[StockRow]
    as_of_position: int
    #: False only if events kept committing faster than the retries could catch a quiet moment
    exact: bool


def _rows(found: list) -> list[StockRow]:
    """Rows with their status as ``domain.stock_view.booked_status`` names it; rows it names alike are summed."""
    out: dict[tuple, StockRow] = {}
    for r in found:
        facts = StockFacts(
            r.stock_status, r.lot_status, r.expiry, r.held, r.recall_hold, r.location_type, r.item_bonded
        )
        row = StockRow(
            r.item, r.gtin, r.lot, r.expiry, r.serial, r.warehouse, r.location, booked_status(facts), r.quantity,
            r.reserved,
        )  # fmt: skip
        key = (row.item, row.lot, row.serial, row.warehouse, row.location, row.status)
        if key in out:
            out[key].quantity += row.quantity
            out[key].reserved += row.reserved
        else:
            out[key] = row
    return list(out.values())  # in the query's order


async def stock_snapshot(db: async_sessionmaker, *, tries: int = 5) -> Snapshot:
    rows: list[StockRow] = []
    head = 0
    for attempt in range(tries):
        await sequence_now(db)
        async with db() as session:
            conn = await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            head = int(await conn.scalar(text(HEAD)) or 0)
            waiting = int((await conn.execute(text(BACKLOG))).one().unsequenced)
            rows = _rows((await conn.execute(_SNAPSHOT)).all())
            await session.commit()
        if waiting == 0:
            return Snapshot(rows, head, True)
        await asyncio.sleep(0.01 * (attempt + 1))
    return Snapshot(rows, head, False)


# ---- reconciliation --------------------------------------------------------------------------------


class ErpStockLine(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    item: str
    quantity: int
    lot: str | None = None
    serial: str | None = None
    location: str | None = None
    status: str | None = None


class Difference(msgspec.Struct, rename="camel", omit_defaults=True):
    item: str
    erp_quantity: int
    udipick_quantity: int
    difference: int
    lot: str | None = None
    serial: str | None = None
    location: str | None = None
    status: str | None = None


class Reconciliation(msgspec.Struct, rename="camel"):
    as_of_position: int
    exact: bool
    group_by: list[str]
    compared: int
    matching: int
    differences: list[Difference]


def reconcile(
    snapshot: Snapshot, erp_lines: list[ErpStockLine], *, group_by: list[str], only_listed_items: bool
) -> Reconciliation:
    """Compare at the ERP's granularity (item plus ``group_by``); differences are udipick − ERP.

    Pure: the caller takes the snapshot. Keys the ERP sends several times are summed, as an ERP
    export with one line per bin and lot would be.
    """
    fields = [f for f in GROUP_FIELDS if f in group_by]

    def key(item: str, values: dict[str, str | None]) -> tuple:
        return (item, *(values.get(f) for f in fields))

    erp: dict[tuple, int] = {}
    for line in erp_lines:
        k = key(line.item, {f: getattr(line, f) for f in fields})
        erp[k] = erp.get(k, 0) + line.quantity
    listed = {line.item for line in erp_lines}
    ours: dict[tuple, int] = {}
    for row in snapshot.rows:
        if only_listed_items and row.item not in listed:
            continue
        k = key(row.item, {f: getattr(row, f) for f in fields})
        ours[k] = ours.get(k, 0) + row.quantity
    keys = sorted(set(erp) | set(ours), key=lambda k: tuple("" if v is None else str(v) for v in k))
    differences = []
    for k in keys:
        e, u = erp.get(k, 0), ours.get(k, 0)
        if e != u:
            differences.append(
                Difference(
                    item=k[0],
                    erp_quantity=e,
                    udipick_quantity=u,
                    difference=u - e,
                    **dict(zip(fields, k[1:], strict=True)),
                )
            )
    return Reconciliation(
        as_of_position=snapshot.as_of_position,
        exact=snapshot.exact,
        group_by=fields,
        compared=len(keys),
        matching=len(keys) - len(differences),
        differences=differences,
    )


async def reconcile_stock(
    db: async_sessionmaker, erp_lines: list[ErpStockLine], *, group_by: list[str], only_listed_items: bool
) -> Reconciliation:
    """The ERP's figures against a snapshot taken now (``stock_snapshot``'s exactness rule)."""
    snapshot = await stock_snapshot(db)
    return reconcile(snapshot, erp_lines, group_by=group_by, only_listed_items=only_listed_items)

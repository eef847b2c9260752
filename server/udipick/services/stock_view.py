"""One true view of stock (issue 19): ``GET /api/v1/stock`` grouped and filtered, available to promise, and
purchasing's reorder point (``replenishment.suggested.v1``).

Read: one query sums stock per group and per the facts ``domain.stock_view.effective_status`` needs (stock
status, lot status and expiry, hold, recall hold, location type, bonded item); the domain names each fact
group's status and the expiry bucket, and the groups are summed again here. So the rule is written once, in
``domain/``, and the database only sums. Open ASN and purchase order lines not yet received are added as
``in_transit`` (no lot, location or expiry: the goods are not here).

Holds are joined as sets (the active holds on items, lots, serials and locations): the same predicate as
``udipick_stock_hold`` (an active hold whose scope names the row's item, lot, serial or location), written
set-wise because calling that function per row over a million rows is what the view cannot afford.

The reorder round runs in the background (``reorder_in_background``, every ``reorder_every_seconds``), never
in a pick: the pick scan (500 confirms/s) pays nothing for it; a suggestion reaches the ERP within one round.
"""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractAsyncContextManager
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from udipick.db.models_stock_levels import StockLevel
from udipick.domain.access import Actor
from udipick.domain.errors import InvalidRecord
from udipick.domain.stock_view import (
    GROUPS,
    STATUSES,
    StockFacts,
    available_to_promise,
    effective_status,
    expiry_bucket,
    split_reserved,
    suggested_quantity,
)
from udipick.services import periodic
from udipick.services.erp_inbound import (
    ErpId,
    Record,
    UpsertResult,
    Version,
    _camel,
    _json,
    _same_content,
    _versioned_status,
    _warehouse_id,
)
from udipick.services.events import ReplenishmentSuggested, emit
from udipick.services.identity import audit

Group = Literal["warehouse", "item", "lot", "expiry_bucket", "location_type", "status"]

#: who reorders, when no person did (the background round)
REORDER = Actor(username="reorder-point")


class StockFilter(msgspec.Struct, frozen=True, kw_only=True):
    warehouse: str | None = None
    item: str | None = None
    lot: str | None = None
    location_type: str | None = None
    status: str | None = None
    expiry_before: dt.date | None = None
    expiry_after: dt.date | None = None


class StockGroup(msgspec.Struct, rename="camel", omit_defaults=True, kw_only=True):
    """One group's units. Only the fields grouped by are present; ``quantity`` is its units in base units."""

    quantity: int
    warehouse: str | None = None
    item: str | None = None
    gtin: str | None = None
    lot: str | None = None
    expiry: dt.date | None = None
    expiry_bucket: str | None = None
    location_type: str | None = None
    status: str | None = None


class StockView(msgspec.Struct, rename="camel"):
    today: dt.date
    group_by: list[str]
    #: units per status over every group (after the filters)
    totals: dict[str, int]
    groups: list[StockGroup]
    #: more groups matched than ``limit``; the first ``limit`` in key order are listed, ``totals`` count all
    truncated: bool


# ---- the view ------------------------------------------------------------------------------------

#: group key -> the SQL columns it needs (a lot is named with its item, since lot numbers are per item)
_KEY_SQL = {
    "warehouse": ["w.code AS warehouse"],
    "item": ["i.erp_id AS item", "i.gtin"],
    "lot": ["i.erp_id AS item", "i.gtin", "l.lot"],
    "location_type": [],  # always read: a fact of the status
    "expiry_bucket": [],  # from l.expiry, always read
    "status": [],
}

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


def _where(f: StockFilter, *, lot_alias: str = "l") -> tuple[list[str], dict[str, Any]]:
    where, params = [], {}
    if f.warehouse is not None:
        where.append("w.code = :warehouse")
        params["warehouse"] = f.warehouse
    if f.item is not None:
        where.append("i.erp_id = :item")
        params["item"] = f.item
    if f.lot is not None:
        where.append(f"{lot_alias}.lot = :lot")
        params["lot"] = f.lot
    if f.expiry_before is not None:
        where.append(f"{lot_alias}.expiry < :expiry_before")
        params["expiry_before"] = f.expiry_before
    if f.expiry_after is not None:
        where.append(f"{lot_alias}.expiry > :expiry_after")
        params["expiry_after"] = f.expiry_after
    return where, params


#: group key -> the ids the inner aggregate groups by (integers: grouping a million rows by text names sorts
#: them under the database's collation, many times slower) and the names joined on after it
_KEY_IDS = {
    "warehouse": (["loc.warehouse_id"], ["w.code AS warehouse"], "JOIN warehouses w ON w.id = g.warehouse_id"),
    "item": (["st.item_id"], ["i.erp_id AS item", "i.gtin"], "JOIN items i ON i.id = g.item_id"),
    "lot": (
        ["st.item_id", "st.lot_id"],
        ["i.erp_id AS item", "i.gtin", "lt.lot"],
        "LEFT JOIN lots lt ON lt.id = g.lot_id",
    ),
}


def _stock_sql(keys: list[str], f: StockFilter) -> tuple[str, dict[str, Any]]:
    ids = list(dict.fromkeys(c for k in keys if k in _KEY_IDS for c in _KEY_IDS[k][0]))
    names = list(dict.fromkeys(c for k in keys if k in _KEY_IDS for c in _KEY_IDS[k][1]))
    joins = [_KEY_IDS[k][2] for k in ("warehouse", "item", "lot") if k in keys]
    if "lot" in keys and "item" not in keys:
        joins.insert(0, _KEY_IDS["item"][2])
    where, params = _where(f)
    where.insert(0, "st.quantity > 0")
    if f.location_type is not None:
        where.append("loc.type = :location_type")
        params["location_type"] = f.location_type
    facts = [
        "st.status AS stock_status",
        "coalesce(l.status, 'released') AS lot_status",
        "l.expiry",
        "(hi.item_id IS NOT NULL OR hl.lot_id IS NOT NULL OR hs.serial_id IS NOT NULL"
        " OR hc.location_id IS NOT NULL) AS held",
        "coalesce(hs.recall, false) AS recall_hold",
        "loc.type AS location_type",
        "i.bonded AS item_bonded",
    ]
    inner = [f"{c} AS {c.split('.')[1]}" for c in ids] + facts
    sql = (
        f"SELECT g.*{''.join(', ' + n for n in names)} FROM ("
        f"SELECT {', '.join(inner)}, sum(st.quantity)::bigint AS quantity, sum(st.reserved)::bigint AS reserved"
        "\n  FROM stock st JOIN locations loc ON loc.id = st.location_id JOIN warehouses w ON w.id = loc.warehouse_id"
        "\n  JOIN items i ON i.id = st.item_id LEFT JOIN lots l ON l.id = st.lot_id"
        + ACTIVE_HOLDS
        + f" WHERE {' AND '.join(where)}"
        + f"\n GROUP BY {', '.join(str(n + 1) for n in range(len(inner)))}) g "
        + " ".join(joins)
    )
    return sql, params


def _transit_sql(keys: list[str], f: StockFilter) -> tuple[str, dict[str, Any]] | None:
    """Open ASN and purchase order lines' units not yet received; lot, expiry and location type unknown."""
    if f.lot is not None or f.expiry_before is not None or f.expiry_after is not None or f.location_type is not None:
        return None  # goods not received have none of these: a filter on them leaves nothing in transit
    cols = list(dict.fromkeys(c for k in keys if k != "lot" for c in _KEY_SQL[k]))
    if "lot" in keys:
        cols += [c for c in _KEY_SQL["lot"] if c not in cols and c != "l.lot"]
        cols.append("NULL::text AS lot")
    where, params = _where(f)
    sql = (
        f"SELECT {', '.join(cols + ['NULL::date AS expiry'])},"
        " coalesce(sum(greatest(ln.quantity_ordered - ln.quantity_received, 0)), 0)::bigint AS quantity"
        "\n  FROM inbound_lines ln JOIN inbound_documents d ON d.id = ln.document_id"
        "\n  JOIN warehouses w ON w.id = d.warehouse_id JOIN items i ON i.id = ln.item_id"
        " WHERE " + " AND ".join(["d.status IN ('open', 'receiving')", *where])
    )
    if cols:
        sql += f" GROUP BY {', '.join(str(n + 1) for n in range(len(cols) + 1))}"
    return sql, params


_KEY_FIELDS = {
    "warehouse": ("warehouse",),
    "item": ("item", "gtin"),
    "lot": ("item", "gtin", "lot", "expiry"),
    "expiry_bucket": ("expiry_bucket",),
    "location_type": ("location_type",),
    "status": ("status",),
}


async def stock_view(
    db: async_sessionmaker, f: StockFilter, group_by: list[str], *, today: dt.date, limit: int = 10_000
) -> StockView:
    keys = [k for k in GROUPS if k in group_by]
    fields = list(dict.fromkeys(x for k in keys for x in _KEY_FIELDS[k]))
    sums: dict[tuple, int] = {}
    totals = dict.fromkeys(STATUSES, 0)

    def add(values: dict[str, Any], status: str, quantity: int) -> None:
        if f.status is not None and status != f.status:
            return
        totals[status] += quantity
        k = tuple(status if x == "status" else values.get(x) for x in fields)
        sums[k] = sums.get(k, 0) + quantity

    async with db() as session:
        conn = await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        # one aggregate over every stock row: compiling it (JIT) costs more than it saves; the planner,
        # expecting as many groups as rows, sorts them (on text status columns) where hashing is several times
        # faster, and the hash table must not spill to disk (docs/benchmarks.md, stock view)
        await conn.execute(text("SET LOCAL jit = off"))
        await conn.execute(text("SET LOCAL enable_sort = off"))
        await conn.execute(text("SET LOCAL work_mem = '64MB'"))
        sql, params = _stock_sql(keys, f)
        decided: dict[tuple, str] = {}
        buckets: dict[dt.date | None, str] = {}
        for r in (await conn.execute(text(sql), params)).mappings():
            facts = (
                r["stock_status"], r["lot_status"], r["expiry"], r["held"], r["recall_hold"], r["location_type"],
                r["item_bonded"],
            )  # fmt: skip
            status = decided.get(facts)
            if status is None:
                status = decided[facts] = effective_status(StockFacts(*facts), today=today)
            bucket = buckets.get(r["expiry"])
            if bucket is None:
                bucket = buckets[r["expiry"]] = expiry_bucket(r["expiry"], today)
            values = dict(r)
            values["expiry_bucket"] = bucket
            for status_, q in split_reserved(status, r["quantity"], r["reserved"]):
                add(values, status_, q)
        transit = _transit_sql(keys, f) if f.status in (None, "in_transit") else None
        if transit is not None:
            for r in (await conn.execute(text(transit[0]), transit[1])).mappings():
                if r["quantity"] > 0:
                    add({**r, "expiry_bucket": "none", "location_type": None}, "in_transit", r["quantity"])
        await session.commit()
    order = sorted(sums, key=lambda k: tuple(("", "") if v is None else (type(v).__name__, str(v)) for v in k))
    groups = [StockGroup(quantity=sums[k], **dict(zip(fields, k, strict=True))) for k in order[:limit]]
    return StockView(today, keys, totals, groups, len(order) > limit)


# ---- available to promise ------------------------------------------------------------------------


class AtpLine(msgspec.Struct, rename="camel"):
    item: str
    warehouse: str
    #: available units on hand, allocated to pick tasks or not
    on_hand_available: int
    allocated: int
    #: open order lines' units not yet allocated (ordered − allocated, of lines not cancelled, orders not shipped)
    open_demand: int
    in_transit: int
    #: available − allocated − open demand (may be negative)
    atp: int


_OPEN_DEMAND = """
SELECT i.erp_id AS item, w.code AS warehouse,
       sum(greatest(ol.quantity - ol.quantity_allocated, 0))::bigint AS demand
  FROM outbound_lines ol JOIN outbound_documents d ON d.id = ol.document_id
  JOIN warehouses w ON w.id = d.warehouse_id JOIN items i ON i.id = ol.item_id
 WHERE d.status NOT IN ('shipped', 'cancelled') AND ol.cancelled_at IS NULL {where}
 GROUP BY 1, 2
"""


async def atp(db: async_sessionmaker, *, item: str | None, warehouse: str | None, today: dt.date) -> list[AtpLine]:
    """Available to promise per item and warehouse (``domain.stock_view.available_to_promise``)."""
    f = StockFilter(item=item, warehouse=warehouse)
    view = await stock_view(db, f, ["item", "warehouse", "status"], today=today, limit=2**31)
    by: dict[tuple[str, str], dict[str, int]] = {}
    for g in view.groups:
        by.setdefault((g.item or "", g.warehouse or ""), {})[g.status or ""] = g.quantity
    where, params = _where(f)
    async with db() as session:
        rows = (
            await session.execute(text(_OPEN_DEMAND.format(where="".join(f" AND {w}" for w in where))), params)
        ).all()
    for r in rows:
        by.setdefault((r.item, r.warehouse), {})["demand"] = int(r.demand)
    out = []
    for (it, wh), s in sorted(by.items()):
        a = available_to_promise(
            available=s.get("available", 0), allocated=s.get("allocated", 0), open_demand=s.get("demand", 0)
        )
        out.append(AtpLine(it, wh, a.on_hand_available, a.allocated, a.open_demand, s.get("in_transit", 0), a.atp))
    return out


# ---- the ERP's minimum and maximum ---------------------------------------------------------------

Units = Annotated[int, Meta(ge=0, le=10**9)]


class StockLevelIn(Record):
    """Purchasing's reorder point for an item in a warehouse: below ``minimum`` available units, udipick
    suggests ordering up to ``maximum`` (``replenishment.suggested.v1``)."""

    erp_id: ErpId
    version: Version
    item: ErpId
    warehouse: Annotated[str, Meta(min_length=1, max_length=64)]
    minimum: Units
    maximum: Units


async def upsert_stock_levels(db: async_sessionmaker, records: Any, actor: Actor) -> Any:
    from udipick.services.erp_inbound import _each

    return await _each(db, records, lambda session, rec: _upsert_stock_level(session, rec, actor))


async def _upsert_stock_level(session: AsyncSession, rec: StockLevelIn, actor: Actor) -> UpsertResult:
    if rec.maximum < rec.minimum:
        raise InvalidRecord(f"maximum {rec.maximum} is below minimum {rec.minimum}", pointer="/maximum")
    item_id = await session.scalar(text("SELECT id FROM items WHERE erp_id = :e"), {"e": rec.item})
    if item_id is None:
        raise InvalidRecord(f"unknown item {rec.item!r}: send the item master first", pointer="/item")
    wid = await _warehouse_id(session, rec.warehouse, create=False)
    current = (
        await session.execute(
            text("SELECT id, erp_version, to_jsonb(s) AS row FROM stock_levels s WHERE erp_id = :e FOR UPDATE"),
            {"e": rec.erp_id},
        )
    ).first()
    status = _versioned_status(current.erp_version if current else None, rec.version, "stock level", rec.erp_id)
    values = {
        "erp_id": rec.erp_id,
        "erp_version": rec.version,
        "item_id": item_id,
        "warehouse_id": wid,
        "minimum": rec.minimum,
        "maximum": rec.maximum,
    }
    if status == "unchanged":  # a replay: the same content, or the ERP changed the level without a new version
        assert current is not None  # only a stored row is unchanged
        stored = _json(current.row)
        compared = ("item_id", "warehouse_id", "minimum", "maximum")
        _same_content(
            "stock level",
            rec.erp_id,
            rec.version,
            {_camel(k): stored.get(k) for k in compared},
            {_camel(k): values[k] for k in compared},
        )
        return UpsertResult(rec.erp_id, "unchanged", current.id)
    stmt = pg_insert(StockLevel).values(values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["erp_id"], set_={**{k: stmt.excluded[k] for k in values}, "updated_at": text("now()")}
    ).returning(StockLevel.id)
    level_id = int(await session.scalar(stmt))  # type: ignore[arg-type]  # an upsert RETURNING always gives the id
    after = await session.scalar(text("SELECT to_jsonb(s) FROM stock_levels s WHERE id = :id"), {"id": level_id})
    await audit(
        session,
        actor,
        "erp.stock_level.updated" if current else "erp.stock_level.created",
        "ok",
        target=f"stock_level:{rec.erp_id}",
        before=current.row if current else None,
        after=after,
    )
    return UpsertResult(rec.erp_id, "updated" if current else "created", level_id)


# ---- the reorder point ---------------------------------------------------------------------------


_LEVELS = """
SELECT s.id, s.erp_id, s.minimum, s.maximum, s.suggested_at IS NOT NULL AS suggested, i.erp_id AS item, i.gtin,
       w.code AS warehouse
  FROM stock_levels s JOIN items i ON i.id = s.item_id JOIN warehouses w ON w.id = s.warehouse_id
 ORDER BY s.id
   FOR UPDATE OF s SKIP LOCKED
"""


async def reorder_round(db: async_sessionmaker, *, today: dt.date) -> int:
    """Compare every stock level with available stock; emit ``replenishment.suggested.v1`` for each new fall
    below a minimum. Returns how many were sent. ``available`` is the view's: free, saleable units (not
    allocated, held, expired, in quarantine ...). Rows are locked (skipping those another process is judging),
    so two processes never send the same suggestion twice."""
    async with db.begin() as session:
        levels = (await session.execute(text(_LEVELS))).all()
        if not levels:
            return 0
        view = await stock_view(db, StockFilter(), ["item", "warehouse", "status"], today=today, limit=2**31)
        figures: dict[tuple[str, str], dict[str, int]] = {}
        for g in view.groups:
            figures.setdefault((g.item or "", g.warehouse or ""), {})[g.status or ""] = g.quantity
        sent = 0
        for lv in levels:
            s = figures.get((lv.item, lv.warehouse), {})
            available, in_transit = s.get("available", 0), s.get("in_transit", 0)
            if available >= lv.minimum:
                if lv.suggested:
                    await session.execute(
                        text("UPDATE stock_levels SET suggested_at = NULL WHERE id = :id"), {"id": lv.id}
                    )
                continue
            if lv.suggested:
                continue
            qty = suggested_quantity(available=available, in_transit=in_transit, minimum=lv.minimum, maximum=lv.maximum)
            if qty is None:
                continue  # already on its way: judged again next round, in case the ASN is cancelled
            await emit(
                session,
                REORDER,
                ReplenishmentSuggested(
                    stock_level=lv.erp_id,
                    item=lv.item,
                    gtin=lv.gtin,
                    warehouse=lv.warehouse,
                    available=available,
                    in_transit=in_transit,
                    minimum=lv.minimum,
                    maximum=lv.maximum,
                    suggested_quantity=qty,
                ),
            )
            await session.execute(text("UPDATE stock_levels SET suggested_at = now() WHERE id = :id"), {"id": lv.id})
            sent += 1
    return sent


def reorder_in_background(db: async_sessionmaker, every_seconds: float) -> AbstractAsyncContextManager[None]:
    """The reorder point is judged here, every ``every_seconds``, never in the transactions that lower stock:
    a pick pays nothing for it, and a suggestion reaches the ERP within one round."""
    return periodic.every(
        "reorder-point", every_seconds, lambda: reorder_round(db, today=dt.date.today()), first_after=every_seconds
    )

"""One true view of stock (issue 19): ``GET /api/v1/stock`` grouped and filtered, available to promise, and
purchasing's reorder point (``replenishment.suggested.v1``).

Read from summaries, not from the stock rows (``db/models_stock_summary.py``, migration 0026): units per
place and combination of facts (stock status, lot status and expiry, hold, recall hold, location type,
bonded item) from ``stock_summary_facts``, a view by lot or item from ``stock_summary_lots``, each plus the
stock changes not yet folded into it, so the answer is exact in its snapshot (docs/benchmarks.md, stock
view). The domain names each combination's status and expiry bucket (``StatusRule``), so the rule is written
once, in ``domain/``, and the database only sums. Open ASN and purchase order lines not yet received are
added as ``in_transit`` (no lot, location or expiry: the goods are not here).

The summaries' keys cannot carry location and serial holds: the few stock rows those cover are read from
``stock`` and moved to held. Item and lot holds are lot facts (view ``stock_lot_facts``).

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
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from udipick.db.models_stock_levels import StockLevel
from udipick.domain.access import Actor
from udipick.domain.errors import InvalidRecord
from udipick.domain.stock_view import (
    GROUPS,
    STATUSES,
    StatusRule,
    StockFacts,
    available_to_promise,
    bucket_names,
    expiry_bucket,
    expiry_edges,
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


class StockGroup(msgspec.Struct, rename="camel", omit_defaults=True, kw_only=True, gc=False):
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
    "location_type": [],  # goods not received have none
    "expiry_bucket": [],  # nor an expiry (bucket "none")
    "status": [],
}


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


#: ``stock`` summed per (item, lot, warehouse, location type, stock status), exactly as the snapshot sees it:
#: the summary plus the delta rows not yet folded into it (``db/models_stock_summary.py``).
_SUMMED = """
  SELECT item_id, lot_id, warehouse_id, location_type, status, quantity, reserved,
         false AS held, false AS recall FROM stock_summary
  UNION ALL
  SELECT item_id, lot_id, warehouse_id, location_type, status, quantity, reserved,
         false, false FROM stock_summary_delta"""

#: the same per item, lot and warehouse only (``stock_summary_lots``), plus the delta
_SUMMED_LOTS = """
  SELECT item_id, lot_id, warehouse_id, quantity, reserved FROM stock_summary_lots
  UNION ALL
  SELECT item_id, lot_id, warehouse_id, quantity, reserved FROM stock_summary_delta"""

#: the stock rows a location or serial hold covers (the summaries' keys cannot say which units those are):
#: few, read from ``stock`` itself by location and by serial
_HELD_STOCK = """
    (SELECT st.item_id, st.lot_id, loc.warehouse_id, loc.type, st.status, st.quantity, st.reserved,
            coalesce(hs.recall, false) AS recall
       FROM stock st JOIN locations loc ON loc.id = st.location_id
       LEFT JOIN (SELECT serial_id, bool_or(recall_id IS NOT NULL) AS recall FROM holds
                   WHERE released_at IS NULL AND scope = 'serial' GROUP BY serial_id) hs
              ON hs.serial_id = st.serial_id
      WHERE st.quantity > 0
        AND (st.location_id = ANY(ARRAY(SELECT location_id FROM holds
                                         WHERE released_at IS NULL AND scope = 'location'))
             OR st.serial_id = ANY(ARRAY(SELECT serial_id FROM holds
                                          WHERE released_at IS NULL AND scope = 'serial'))))"""

#: the held rows moved from the unheld sums (``-``) to held ones (``+``); a view that needs no status leaves
#: them out (they sum to nothing)
_HELD_ROWS = f"""
  UNION ALL
  SELECT h.item_id, h.lot_id, h.warehouse_id, h.type, h.status, k.sign * h.quantity, k.sign * h.reserved,
         k.sign > 0, k.sign > 0 AND h.recall
    FROM {_HELD_STOCK} h, (VALUES (-1), (1)) k(sign)"""

#: the facts ``domain.stock_view.effective_status`` decides on, of a summed row ``r`` and its lot's facts
#: ``lf`` (view ``stock_lot_facts``, migration 0026), in ``StockFacts``' order; an expiry is summed per
#: class between ``expiry_edges`` (the dates of a class share their bucket and status), named by its first
_CLASS = "width_bucket({0}, CAST(:edges AS date[]))"
_FACTS = (
    "r.status",
    "lf.lot_status",
    "min(lf.expiry)",
    "(r.held OR lf.held)",
    "r.recall",
    "r.location_type",
    "lf.bonded",
)
_LOT_FACTS = " JOIN lot_facts lf ON lf.item_id = r.item_id AND lf.lot_key = coalesce(r.lot_id, 0)"


def _lot_facts_cte(ids: dict[str, list[int]]) -> str:
    """The lots' facts once per statement (left to itself, the planner may compute the view again for
    every summed row), only those of the item asked for when there is one."""
    where = " WHERE item_id = ANY(CAST(:item_ids AS integer[]))" if "item_ids" in ids else ""
    return f"WITH lot_facts AS MATERIALIZED (SELECT * FROM stock_lot_facts{where})\n"


def _row_where(
    f: StockFilter, ids: dict[str, list[int]], *, expiry: str | None = None
) -> tuple[list[str], dict[str, Any]]:
    """The filters as conditions on the summed rows' own columns (``r``): PostgreSQL pushes them into each
    branch of the union, so an item's rows are found through the summary's key, not by summing everything.
    ``expiry``: the rows' own expiry column (the facts summary's); otherwise their lot's expiry is asked."""
    where, params = [], dict(ids)
    if "item_ids" in ids:
        where.append("r.item_id = ANY(CAST(:item_ids AS integer[]))")
    if "lot_ids" in ids:
        where.append("r.lot_id = ANY(CAST(:lot_ids AS integer[]))")
    if f.warehouse is not None:
        where.append("r.warehouse_id = (SELECT id FROM warehouses WHERE code = :warehouse)")
        params["warehouse"] = f.warehouse
    if f.location_type is not None:
        where.append("r.location_type = :location_type")
        params["location_type"] = f.location_type
    dated = []
    if f.expiry_before is not None:
        dated.append(f"{expiry or 'expiry'} < :expiry_before")
        params["expiry_before"] = f.expiry_before
    if f.expiry_after is not None:
        dated.append(f"{expiry or 'expiry'} > :expiry_after")
        params["expiry_after"] = f.expiry_after
    if dated and expiry:
        where += dated
    elif dated:
        where.append(f"r.lot_id IN (SELECT id FROM lots WHERE {' AND '.join(dated)})")
    return where, params


async def _filter_ids(conn: Any, f: StockFilter) -> dict[str, list[int]]:
    """The ids an item or lot filter names (a lot number may recur under several items)."""
    ids: dict[str, list[int]] = {}
    if f.item is not None:
        ids["item_ids"] = list(
            (await conn.execute(text("SELECT id FROM items WHERE erp_id = :e"), {"e": f.item})).scalars()
        )
    if f.lot is not None:
        sql = "SELECT id FROM lots WHERE lot = :lot" + (" AND item_id = ANY(CAST(:items AS integer[]))" if ids else "")
        ids["lot_ids"] = list((await conn.execute(text(sql), {"lot": f.lot, "items": ids.get("item_ids")})).scalars())
    return ids


#: units per warehouse and facts, from ``stock_summary_facts`` (a few thousand rows, whatever the stock),
#: corrected to this snapshot: lots marked since the last fold (``stock_summary_dirty``) whose facts changed
#: move from the recorded facts to the current ones; delta rows and held rows count under the current facts
#: (the lots' facts are read only for those lots)
_FACTS_FROM_SUMMARY = f"""
WITH held AS MATERIALIZED {_HELD_STOCK},
marked AS (
  SELECT rc.* FROM stock_summary_recorded rc
   WHERE EXISTS (SELECT 1 FROM stock_summary_dirty m
                  WHERE m.item_id = rc.item_id AND (m.lot_key IS NULL OR m.lot_key = rc.lot_key))),
needed AS (
  SELECT item_id, coalesce(lot_id, 0) AS lot_key FROM stock_summary_delta
  UNION SELECT item_id, coalesce(lot_id, 0) FROM held),
cur AS MATERIALIZED (
  -- a lot recorded and not marked since: its recorded facts are its current ones (every change marks it)
  SELECT rc.item_id, rc.lot_key, rc.lot_status, rc.expiry, rc.held, rc.bonded
    FROM needed n JOIN stock_summary_recorded rc ON rc.item_id = n.item_id AND rc.lot_key = n.lot_key
   WHERE NOT EXISTS (SELECT 1 FROM marked m WHERE m.item_id = rc.item_id AND m.lot_key = rc.lot_key)
  UNION ALL
  -- marked, or never recorded (new since the last fold): asked of the lots
  SELECT f.* FROM stock_lot_facts f
    JOIN (SELECT item_id, lot_key FROM marked
          UNION
          SELECT n.item_id, n.lot_key FROM needed n
           WHERE NOT EXISTS (SELECT 1 FROM stock_summary_recorded rc
                              WHERE rc.item_id = n.item_id AND rc.lot_key = n.lot_key)) p
      ON p.item_id = f.item_id AND p.lot_key = f.lot_key),
changed AS (
  SELECT rc.item_id, rc.lot_key, rc.lot_status AS o_status, rc.expiry AS o_expiry, rc.held AS o_held,
         rc.bonded AS o_bonded, c.lot_status, c.expiry, c.held, c.bonded
    FROM marked rc JOIN cur c ON c.item_id = rc.item_id AND c.lot_key = rc.lot_key
   WHERE (c.lot_status, c.expiry, c.held, c.bonded) IS DISTINCT FROM (rc.lot_status, rc.expiry, rc.held, rc.bonded)),
r AS (
  SELECT warehouse_id, location_type, status, lot_status, expiry, held, false AS recall, bonded, quantity, reserved
    FROM stock_summary_facts
  UNION ALL
  SELECT s.warehouse_id, s.location_type, s.status, k.lot_status, k.expiry, k.held, false, k.bonded,
         k.sign * s.quantity, k.sign * s.reserved
    FROM changed c JOIN stock_summary s ON s.item_id = c.item_id AND coalesce(s.lot_id, 0) = c.lot_key
   CROSS JOIN LATERAL (VALUES (-1, c.o_status, c.o_expiry, c.o_held, c.o_bonded),
                              (1, c.lot_status, c.expiry, c.held, c.bonded)) k(sign, lot_status, expiry, held, bonded)
  UNION ALL
  SELECT d.warehouse_id, d.location_type, d.status, c.lot_status, c.expiry, c.held, false, c.bonded,
         d.quantity, d.reserved
    FROM stock_summary_delta d JOIN cur c ON c.item_id = d.item_id AND c.lot_key = coalesce(d.lot_id, 0)
  UNION ALL
  SELECT h.warehouse_id, h.type, h.status, c.lot_status, c.expiry, k.sign > 0 OR c.held, k.sign > 0 AND h.recall,
         c.bonded, k.sign * h.quantity, k.sign * h.reserved
    FROM held h JOIN cur c ON c.item_id = h.item_id AND c.lot_key = coalesce(h.lot_id, 0),
         (VALUES (-1), (1)) k(sign))
SELECT r.warehouse_id, {_CLASS.format("r.expiry")} AS class, r.status, r.lot_status, min(r.expiry), r.held,
       r.recall, r.location_type, r.bonded, sum(r.quantity)::bigint AS quantity, sum(r.reserved)::bigint AS reserved
  FROM r
 WHERE {{where}}
 GROUP BY 1, 2, 3, 4, 6, 7, 8, 9
HAVING sum(r.quantity) <> 0 OR sum(r.reserved) <> 0"""


def _facts_sql(f: StockFilter, ids: dict[str, list[int]], edges: list[dt.date]) -> tuple[str, dict[str, Any]]:
    """Units per warehouse, expiry class and distinct combination of the other facts: the totals, the groups
    by warehouse, expiry bucket, location type and status, and the combinations whose status is decided.
    Without an item or lot filter from the facts summary; with one, from that item's or lot's summed rows."""
    if not ids:
        where, params = _row_where(f, ids, expiry="r.expiry")
        return _FACTS_FROM_SUMMARY.format(where=" AND ".join(where) or "true"), params | {"edges": edges}
    where, params = _row_where(f, ids)
    where.append("(r.quantity <> 0 OR r.reserved <> 0)")
    return (
        f"{_lot_facts_cte(ids)}SELECT r.warehouse_id, {_CLASS.format('lf.expiry')} AS class, {', '.join(_FACTS)},"
        " sum(r.quantity)::bigint AS quantity, sum(r.reserved)::bigint AS reserved"
        f"\n  FROM ({_SUMMED}{_HELD_ROWS}) r{_LOT_FACTS}\n WHERE {' AND '.join(where)}"
        "\n GROUP BY 1, 2, 3, 4, 6, 7, 8, 9",
        params | {"edges": edges},
    )


#: group key -> the ids the aggregate groups by (integers: grouping by text names hashes them under the
#: database's collation, many times slower) and the names joined on the groups after it
_KEY_IDS = {
    "warehouse": (["r.warehouse_id"], ["w.code AS warehouse"], "JOIN warehouses w ON w.id = g.warehouse_id"),
    "item": (["r.item_id"], ["i.erp_id AS item", "i.gtin"], "JOIN items i ON i.id = g.item_id"),
    "lot": (
        ["r.item_id", "r.lot_id"],
        ["i.erp_id AS item", "i.gtin", "lt.lot", "lt.expiry"],
        "LEFT JOIN lots lt ON lt.id = g.lot_id",
    ),
    "expiry_bucket": (["r.lot_id"], ["lt.expiry"], "LEFT JOIN lots lt ON lt.id = g.lot_id"),
    "location_type": (["r.location_type"], [], ""),
}


def _groups_sql(
    keys: list[str], f: StockFilter, ids: dict[str, list[int]], decided: dict[tuple, str] | None, edges: list[dt.date]
) -> tuple[str, dict[str, Any]]:
    """Units per group of a view by item or lot, summed by ids first and named after. With ``decided`` (the
    status of each combination of facts, by expiry class), per group and status: the facts are matched to
    their decided status in the database, so only groups come back."""
    ids_cols = list(dict.fromkeys(c for k in keys if k in _KEY_IDS for c in _KEY_IDS[k][0]))
    names = list(dict.fromkeys(c for k in keys if k in _KEY_IDS for c in _KEY_IDS[k][1]))
    joins = list(dict.fromkeys(_KEY_IDS[k][2] for k in ("warehouse", "item", "lot", "expiry_bucket") if k in keys))
    if "lot" in keys and "item" not in keys:
        joins.insert(0, _KEY_IDS["item"][2])
    where, params = _row_where(f, ids)
    where.append("(r.quantity <> 0 OR r.reserved <> 0)")
    inner = [f"{c} AS {c.split('.')[1]}" for c in ids_cols]
    # no location type asked: the per-lot sums (a row a lot and warehouse) instead of a row a lot and place
    source = f"({_SUMMED}) r" if f.location_type is not None or "location_type" in keys else f"({_SUMMED_LOTS}) r"
    if decided is not None:
        source = f"({_SUMMED}{_HELD_ROWS}) r{_LOT_FACTS}"
        # the decided statuses as a table, one array per fact (the expiry as its class; -1: none)
        facts = list(zip(*decided, strict=True)) if decided else [()] * len(_FACTS)
        arrays = ("text[]", "text[]", "integer[]", "boolean[]", "boolean[]", "text[]", "boolean[]")
        params |= {f"d{n}": list(v) for n, v in enumerate(facts)} | {"ds": list(decided.values()), "edges": edges}
        unnest = ", ".join(f"CAST(:d{n} AS {t})" for n, t in enumerate(arrays)) + ", CAST(:ds AS text[])"
        mine = ["r.status", "lf.lot_status", f"coalesce({_CLASS.format('lf.expiry')}, -1)", *_FACTS[3:]]
        on = " AND ".join(f"{c} = d.f{n}" for n, c in enumerate(mine))
        source += f"\n  JOIN unnest({unnest}) AS d(f0, f1, f2, f3, f4, f5, f6, status) ON {on}"
        inner.append("d.status")
    group = f"\n GROUP BY {', '.join(str(n + 1) for n in range(len(inner)))}" if inner else ""
    body = (
        f"SELECT {', '.join(inner + ['sum(r.quantity)::bigint AS quantity', 'sum(r.reserved)::bigint AS reserved'])}"
        f"\n  FROM {source}\n WHERE {' AND '.join(where)}{group}"
    )
    if decided is not None:
        return (
            f"{_lot_facts_cte(ids)}SELECT g.*{''.join(', ' + n for n in names)} FROM ({body}) g {' '.join(joins)}",
            params,
        )
    # no status: each row is one group, named and bucketed here and listed in the view's order (a missing
    # value first, text by code point as Python compares it), so the groups need no sorting afterwards
    named = {
        "warehouse": "w.code",
        "item": "i.erp_id",
        "gtin": "i.gtin",
        "lot": "lt.lot",
        "expiry": "lt.expiry",
        "expiry_bucket": "coalesce((CAST(:bucket_names AS text[]))[width_bucket(lt.expiry, CAST(:edges AS date[])) + 1],"
        " :no_expiry)",
        "location_type": "g.location_type",
    }
    fields = list(dict.fromkeys(x for k in keys for x in _KEY_FIELDS[k]))
    collate = {x: "" if x == "expiry" else ' COLLATE "C"' for x in fields}
    order = ", ".join(f"v.{x}{collate[x]} NULLS FIRST" for x in fields)
    select = ", ".join([f"{named[x]} AS {x}" for x in fields] + ["g.quantity"])
    sql = f"SELECT * FROM (SELECT {select} FROM ({body}) g {' '.join(joins)}) v" + (
        f" ORDER BY {order}" if order else ""
    )
    return sql, params | {
        "edges": edges,
        "bucket_names": bucket_names(edges),
        "no_expiry": expiry_bucket(None, edges[0]),
    }


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


_DIALECT = asyncpg_dialect()


async def _fetch(conn: Any, sql: str, params: dict[str, Any]) -> list[Any]:
    """The rows of ``sql`` (``:name`` parameters, compiled by SQLAlchemy as ``conn.execute`` would) as the
    driver's records, in the connection's transaction: a view by lot returns 20,000 rows, and SQLAlchemy's rows
    on top of the driver's took as long again as the query (docs/benchmarks.md, stock view)."""
    compiled = text(sql).compile(dialect=_DIALECT)
    raw = (await conn.get_raw_connection()).driver_connection
    return await raw.fetch(str(compiled), *(params[n] for n in compiled.positiontup or ()))  # type: ignore[no-any-return]  # asyncpg is untyped


#: the groupings the facts rows answer alone (no item or lot named)
_FACT_KEYS = frozenset({"warehouse", "expiry_bucket", "location_type", "status"})


async def stock_view(
    db: async_sessionmaker, f: StockFilter, group_by: list[str], *, today: dt.date, limit: int = 10_000
) -> StockView:
    """Units per combination of facts (``_facts_sql``), whose status the domain decides (``StatusRule``):
    these are the totals, and the groups of a view by warehouse, expiry bucket, location type or status.
    A view by item or lot then sums its groups in the same snapshot (``_groups_sql``), with the decided
    statuses matched in the database when it is grouped or filtered by status."""
    keys = [k for k in GROUPS if k in group_by]
    fields = list(dict.fromkeys(x for k in keys for x in _KEY_FIELDS[k]))
    sums: dict[tuple, int] = {}
    totals = dict.fromkeys(STATUSES, 0)
    rule = StatusRule(today)
    edges = expiry_edges(today)
    by_facts = set(keys) <= _FACT_KEYS
    presorted = False

    def add(values: dict[str, Any], status: str | None, quantity: int) -> None:
        k = tuple(status if x == "status" else values.get(x) for x in fields)
        sums[k] = sums.get(k, 0) + quantity

    async with db() as session:
        conn = await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        # aggregates over summary rows: compiling them (JIT) costs more than it saves; the planner may sort
        # where hashing is several times faster, and the hash table must not spill to disk
        # (docs/benchmarks.md, stock view)
        await conn.execute(text("SET LOCAL jit = off"))
        await conn.execute(text("SET LOCAL enable_sort = off"))
        await conn.execute(text("SET LOCAL work_mem = '64MB'"))
        ids = await _filter_ids(conn, f)
        warehouses = dict((await conn.execute(text("SELECT id, code FROM warehouses"))).all()) if by_facts else {}
        decided: dict[tuple, str] = {}
        sql, params = _facts_sql(f, ids, edges)
        for warehouse_id, klass, *facts, quantity, reserved in await _fetch(conn, sql, params):
            status = rule.status(StockFacts(*facts))
            decided[(facts[0], facts[1], -1 if klass is None else klass, *facts[3:])] = status
            values = (
                {
                    "warehouse": warehouses.get(warehouse_id),
                    "expiry_bucket": rule.bucket(facts[2]),
                    "location_type": facts[5],
                }
                if by_facts
                else {}
            )
            for status_, q in split_reserved(status, quantity, reserved):
                if f.status is None or status_ == f.status:
                    totals[status_] += q
                    if by_facts:
                        add(values, status_, q)
        if not by_facts:
            by_status = "status" in keys or f.status is not None
            if by_status and f.status is not None:
                # only the combinations that can give the status asked ("allocated" is available's reserved part)
                wanted = {"available"} if f.status == "allocated" else {f.status}
                decided = {k: v for k, v in decided.items() if v in wanted}
            sql, params = _groups_sql(keys, f, ids, decided if by_status else None, edges)
            rows = await _fetch(conn, sql, params)
            if not by_status:  # in the view's order; rows of one group (lots of one expiry bucket) are adjacent
                for *key, q in rows:
                    if q:
                        sums[tuple(key)] = sums.get(tuple(key), 0) + q
                presorted = True
            for r in rows if by_status else ():
                values = dict(r)
                if "expiry_bucket" in keys:
                    values["expiry_bucket"] = rule.bucket(r["expiry"])
                for status_, q in split_reserved(r["status"], r["quantity"], r["reserved"]):
                    if f.status is None or status_ == f.status:
                        add(values, status_, q)
        transit = _transit_sql(keys, f) if f.status in (None, "in_transit") else None
        if transit is not None:
            for r in (await conn.execute(text(transit[0]), transit[1])).mappings():
                if r["quantity"] > 0:
                    totals["in_transit"] += r["quantity"]
                    add({**r, "expiry_bucket": "none", "location_type": None}, "in_transit", r["quantity"])
                    presorted = False
        await session.commit()
    # groups in key order, a missing value first (``None`` compares only with itself: it sorts on its flag)
    order = list(sums) if presorted else sorted(sums, key=lambda k: tuple((v is not None, v) for v in k))
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


# ---- the summaries -------------------------------------------------------------------------------


async def fold_summary(db: async_sessionmaker) -> int:
    """Fold the committed stock changes into the view's summaries (``udipick_fold_stock_summary``): the
    summary keys changed, 0 with nothing to fold, -1 when another process is folding."""
    async with db.begin() as session:
        folded = await session.scalar(text("SELECT udipick_fold_stock_summary()"))
    return int(folded or 0)


async def rebuild_summary(db: async_sessionmaker) -> int:
    """Recompute the summaries from the stock rows (``udipick_rebuild_stock_summary``; holds off stock
    changes while it runs): the ``stock_summary`` rows written."""
    async with db.begin() as session:
        written = await session.scalar(text("SELECT udipick_rebuild_stock_summary()"))
    return int(written or 0)


def fold_in_background(db: async_sessionmaker, every_seconds: float) -> AbstractAsyncContextManager[None]:
    """The view reads the summaries plus the changes not yet folded, so it is exact whenever this runs; folding
    every few seconds keeps those changes few. No pick waits for it: the stock triggers only append."""
    return periodic.every("stock-summary", every_seconds, lambda: fold_summary(db), first_after=every_seconds)

"""The KPIs of a period (``GET /api/v1/kpis``): facts gathered from the ledger, events and tables, then the
arithmetic of ``domain.kpis``.

No figure is read from a counter a service keeps up to date (``outbound_lines.quantity_shipped``,
``inbound_lines.quantity_received``, ``pick_tasks.picked``): those can drift from what happened. The sources:

- stock at a moment: ``stock`` now, less every ledger row since that moment. ``stock`` is the ledger's
  running sum, written only by the ledger's own trigger in the inserting statement (``udipick_apply_ledger``;
  ``udipick_guard_stock`` refuses any other change), so this is the ledger's sum up to the moment, read
  without adding up ten million rows;
- ``stock_ledger`` (shipments, receipts, counts), ``picks`` (confirmed pick scans), ``scan_replies`` (every
  answered pick scan, accepted or refused), ``location_blocks`` (count requested and done), receiving's
  ``receipts`` and ``putaway_tasks``, the ``wave.released.v1`` and ``pick.shorted.v1`` events.

All reads run in one REPEATABLE READ transaction, so every figure sees the same moment.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker

from udipick.domain import kpis as k
from udipick.domain.errors import UnknownWarehouse


class KpiFigure(msgspec.Struct, rename="camel"):
    """One KPI value and what it rests on: ``value = numerator / denominator`` (``None`` when the denominator
    is 0). ``subject`` names the breakdown (a picker, a refusal code, ``30d``), ``None`` for the whole."""

    kpi: str
    name_zh: str
    subject: str | None
    value: float | None
    unit: str
    numerator: float | None
    denominator: float | None


class KpiReport(msgspec.Struct, rename={"first": "from", "last": "to"}):
    #: the period's days (UTC), both included
    first: dt.date
    last: dt.date
    #: warehouse code, or ``None`` for all warehouses
    warehouse: str | None
    figures: list[KpiFigure]


#: the CSV's header row: the figure's fields after the period and warehouse
CSV_FIELDS = ["from", "to", "warehouse", *KpiFigure.__struct_encode_fields__]

# Locations in scope: one warehouse's, or all. Every query below starts from it.
_LOC = "loc AS (SELECT id FROM locations WHERE CAST(:wh AS int) IS NULL OR warehouse_id = CAST(:wh AS int))"

#: stock at :at by status, expiry and hold: stock now, less the ledger rows since :at (their "to" side
#: added units that were not there yet, their "from" side took units that still were). The hold test is
#: ``udipick_stock_hold``'s (item, lot, serial or location) for a hold active at :at instead of now.
_STOCK_AT = f"""
WITH {_LOC},
at_moment AS (
  SELECT item_id, lot_id, serial_id, location_id, status, sum(q) AS quantity FROM (
    SELECT s.item_id, s.lot_id, s.serial_id, s.location_id, s.status, s.quantity::bigint AS q
      FROM stock s WHERE s.quantity > 0 AND s.location_id IN (SELECT id FROM loc)
    UNION ALL
    SELECT g.item_id, g.lot_id, g.serial_id, g.to_location_id, g.to_status, -g.quantity::bigint
      FROM stock_ledger g WHERE g.occurred_at >= :at AND g.to_location_id IN (SELECT id FROM loc)
    UNION ALL
    SELECT g.item_id, g.lot_id, g.serial_id, g.from_location_id, g.from_status, g.quantity::bigint
      FROM stock_ledger g WHERE g.occurred_at >= :at AND g.from_location_id IN (SELECT id FROM loc)
  ) x GROUP BY 1, 2, 3, 4, 5 HAVING sum(q) <> 0
)
SELECT m.status, l.expiry,
       EXISTS (SELECT 1 FROM holds h
                WHERE h.placed_at < :at AND (h.released_at IS NULL OR h.released_at >= :at)
                  AND ((h.scope = 'item' AND h.item_id = m.item_id) OR (h.scope = 'lot' AND h.lot_id = m.lot_id)
                    OR (h.scope = 'serial' AND h.serial_id = m.serial_id)
                    OR (h.scope = 'location' AND h.location_id = m.location_id))) AS held,
       sum(m.quantity)::bigint AS quantity
  FROM at_moment m LEFT JOIN lots l ON l.id = m.lot_id
 GROUP BY 1, 2, 3
"""

#: units that entered (+) or left (-) the locations in scope between :start and :end through one-sided rows
#: (receipt, ship, count and adjust gains and losses): the only rows that change what a warehouse holds,
#: as long as no row moves stock from one warehouse's location to another's (docs/kpis.md says so).
#: Served by ``ix_stock_ledger_one_sided`` (migration 0013).
_NET_IN = f"""
WITH {_LOC}
SELECT coalesce(sum(CASE WHEN g.to_location_id IS NOT NULL THEN g.quantity ELSE -g.quantity END), 0)::bigint
       AS net_in,
       coalesce(sum(g.quantity) FILTER (WHERE g.movement = 'ship'), 0)::bigint AS shipped
  FROM stock_ledger g
 WHERE (g.from_location_id IS NULL OR g.to_location_id IS NULL)
   AND g.occurred_at >= :start AND g.occurred_at < :end
   AND coalesce(g.to_location_id, g.from_location_id) IN (SELECT id FROM loc)
"""

#: orders with a shipment in the period, and those shipped exactly as ordered: for every item, the units of its
#: lines equal the units of all its ship rows up to the period's end (nothing missing, nothing extra)
_SHIPMENTS = f"""
WITH {_LOC},
orders AS (
  SELECT DISTINCT g.document_id FROM stock_ledger g
   WHERE g.from_location_id IS NOT NULL AND g.to_location_id IS NULL AND g.movement = 'ship'
     AND g.occurred_at >= :start AND g.occurred_at < :end AND g.from_location_id IN (SELECT id FROM loc)
),
-- units ordered (+) and shipped (-) per order and item: an order is exact when every item nets to zero
units AS (
  SELECT o.document_id, ol.item_id, ol.quantity::bigint AS q
    FROM orders o JOIN outbound_documents d ON d.erp_id = o.document_id JOIN outbound_lines ol ON ol.document_id = d.id
  UNION ALL
  SELECT g.document_id, g.item_id, -g.quantity::bigint
    FROM stock_ledger g
   WHERE g.movement = 'ship' AND g.document_id IN (SELECT document_id FROM orders) AND g.occurred_at < :end
),
judged AS (
  SELECT document_id, bool_and(net = 0) AS exact
    FROM (SELECT document_id, item_id, sum(q) AS net FROM units GROUP BY 1, 2) per_item
   GROUP BY 1
)
SELECT count(*) AS shipped, count(*) FILTER (WHERE exact) AS exact FROM judged
"""

#: waves released in the period: order lines they handled (a task made, or named short) and lines named short
_WAVE_LINES = f"""
WITH {_LOC},
waves AS (
  SELECT (e.data->>'waveId')::int AS wave_id, e.data->'shortLines' AS short_lines
    FROM outbox_events e
   WHERE e.type = 'wave.released.v1' AND e.occurred_at >= :start AND e.occurred_at < :end
),
shorts AS (
  SELECT w.wave_id, ol.id AS line_id
    FROM waves w CROSS JOIN LATERAL jsonb_array_elements(w.short_lines) s
    JOIN outbound_documents d ON d.erp_id = s->>'order'
    JOIN outbound_lines ol ON ol.document_id = d.id AND ol.line_no = (s->>'lineNo')::int
   WHERE CAST(:wh AS int) IS NULL OR d.warehouse_id = CAST(:wh AS int)
),
tasked AS (
  SELECT DISTINCT t.wave_id, t.line_id FROM pick_tasks t
   WHERE t.wave_id IN (SELECT wave_id FROM waves) AND t.location_id IN (SELECT id FROM loc)
)
SELECT (SELECT count(*) FROM (SELECT * FROM tasked UNION SELECT * FROM shorts) a) AS lines,
       (SELECT count(*) FROM (SELECT DISTINCT * FROM shorts) s) AS short_lines
"""

#: pick tasks worked in the period (a pick confirmed or a short reported) and those reported short
_SHORT_PICKS = f"""
WITH {_LOC},
shorted AS (
  SELECT DISTINCT (e.data->>'taskId')::bigint AS task_id FROM outbox_events e
   WHERE e.type = 'pick.shorted.v1' AND e.occurred_at >= :start AND e.occurred_at < :end
),
worked AS (
  SELECT p.task_id FROM picks p
   WHERE p.picked_at >= :start AND p.picked_at < :end AND p.from_location_id IN (SELECT id FROM loc)
  UNION
  SELECT s.task_id FROM shorted s JOIN pick_tasks t ON t.id = s.task_id WHERE t.location_id IN (SELECT id FROM loc)
)
SELECT (SELECT count(*) FROM worked) AS tasks,
       (SELECT count(*) FROM worked w WHERE w.task_id IN (SELECT task_id FROM shorted)) AS shorted
"""

#: per picker: lines (pick tasks with a confirmed pick) and active hours (UTC clock hours with a confirmed pick)
_PICKERS = f"""
WITH {_LOC},
p AS (
  SELECT p.picked_by, p.task_id, date_trunc('hour', p.picked_at AT TIME ZONE 'UTC') AS hour FROM picks p
   WHERE p.picked_at >= :start AND p.picked_at < :end AND p.from_location_id IN (SELECT id FROM loc)
)
SELECT coalesce(u.username, 'user ' || x.picked_by::text, 'unknown') AS picker, x.lines, x.hours
  FROM (SELECT picked_by, count(DISTINCT task_id) AS lines, count(DISTINCT hour) AS hours FROM p GROUP BY 1) x
  LEFT JOIN users u ON u.id = x.picked_by
"""

#: pick scans answered in the period per outcome: the refusal's code, NULL when accepted (a 2xx answer); the
#: answer names the task (``pick:<task id>``), whose location places it in a warehouse
_PICK_SCANS = """
SELECT CASE WHEN r.status_code BETWEEN 200 AND 299 THEN NULL ELSE coalesce(r.body->>'code', 'refused') END AS code,
       count(*) AS scans
  FROM scan_replies r
 WHERE r.action LIKE 'pick:%' AND r.created_at >= :start AND r.created_at < :end {warehouse}
 GROUP BY 1
"""
_IN_WAREHOUSE = """
   AND EXISTS (SELECT 1 FROM pick_tasks t JOIN locations l ON l.id = t.location_id
                WHERE t.id = split_part(r.action, ':', 2)::bigint AND l.warehouse_id = :wh)"""

#: counts done in the period: from the short pick's "count required" block to the count that cleared it
_COUNTS = f"""
WITH {_LOC}
SELECT b.cleared_at - b.created_at AS took FROM location_blocks b
 WHERE b.cleared_at >= :start AND b.cleared_at < :end AND b.location_id IN (SELECT id FROM loc)
"""

#: licence plates put away in the period: from their receipt's opening at the dock to their putaway
_DOCK_TO_STOCK = f"""
WITH {_LOC}
SELECT p.done_at - r.created_at AS took
  FROM putaway_tasks p JOIN receipts r ON r.id = p.receipt_id
 WHERE p.status = 'done' AND p.done_at >= :start AND p.done_at < :end AND p.to_location_id IN (SELECT id FROM loc)
"""


async def _warehouse_id(conn: AsyncConnection, code: str | None) -> int | None:
    if code is None:
        return None
    wh = await conn.scalar(text("SELECT id FROM warehouses WHERE code = :c"), {"c": code})
    if wh is None:
        raise UnknownWarehouse(f"there is no warehouse {code!r}", warehouse=code)
    return int(wh)


async def _stock_at(conn: AsyncConnection, wh: int | None, at: dt.datetime) -> list[k.StockAt]:
    rows = (await conn.execute(text(_STOCK_AT), {"wh": wh, "at": at})).all()
    return [k.StockAt(r.status, int(r.quantity), r.expiry, r.held) for r in rows]


async def _recall_durations(conn: AsyncConnection, params: dict[str, Any]) -> list[dt.timedelta]:
    """The hook for recall response time: udipick keeps no recalls yet, so there is nothing to measure.
    When recalls land, select here, for recalls whose response completed in the period, the span from the
    recall's start to its last affected unit blocked (docs/kpis.md, "Recall response time")."""
    return []


async def kpi_report(
    db: async_sessionmaker, *, first: str | None, last: str | None, warehouse: str | None, today: dt.date
) -> KpiReport:
    period = k.parse_period(first, last, today=today)
    async with db() as session:
        conn = await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        wh = await _warehouse_id(conn, warehouse)
        params = {"wh": wh, "start": period.start, "end": period.end}
        closing = await _stock_at(conn, wh, period.end)
        flow = (await conn.execute(text(_NET_IN), params)).one()
        closing_units = sum(s.quantity for s in closing)
        waves = (await conn.execute(text(_WAVE_LINES), params)).one()
        shorts = (await conn.execute(text(_SHORT_PICKS), params)).one()
        pickers = [(r.picker, int(r.lines), int(r.hours)) for r in (await conn.execute(text(_PICKERS), params)).all()]
        scan_sql = _PICK_SCANS.format(warehouse=_IN_WAREHOUSE if wh is not None else "")
        scans = {r.code: int(r.scans) for r in (await conn.execute(text(scan_sql), params)).all()}
        counts = [r.took for r in (await conn.execute(text(_COUNTS), params)).all()]
        docked = [r.took for r in (await conn.execute(text(_DOCK_TO_STOCK), params)).all() if r.took is not None]
        shipments = (await conn.execute(text(_SHIPMENTS), params)).one()
        recalls = await _recall_durations(conn, params)
        await session.commit()
    end_day = period.last + dt.timedelta(days=1)
    figures = [
        k.inventory_availability(closing, end=end_day),
        k.shipping_accuracy(exact=int(shipments.exact), shipped=int(shipments.shipped)),
        k.mean_hours(k.COUNT_DURATION, counts),
        k.stockout_rate(short_lines=int(waves.short_lines), lines=int(waves.lines)),
        k.turnover_days(
            opening=closing_units - int(flow.net_in), closing=closing_units, shipped=int(flow.shipped), days=period.days
        ),
        k.recall_response_time(recalls),
        *k.lines_per_hour(pickers),
        *k.pick_accuracy(scans),
        k.short_pick_rate(shorted_tasks=int(shorts.shorted), tasks=int(shorts.tasks)),
        k.mean_hours(k.DOCK_TO_STOCK_TIME, docked),
        *k.expiry_exposure(closing, end=end_day),
    ]
    return KpiReport(
        first=period.first,
        last=period.last,
        warehouse=warehouse,
        figures=[
            KpiFigure(f.kpi, f.name_zh, f.subject, _num(f.value), f.unit, _num(f.numerator), _num(f.denominator))
            for f in figures
        ],
    )


def _num(x: float | None) -> float | None:
    """Every part a float, so JSON and CSV write ``1.0`` whether the count behind it was an int or not."""
    return None if x is None else float(x)


def csv_rows(report: KpiReport) -> list[list[Any]]:
    """One row per figure, ``CSV_FIELDS`` in order."""
    return [
        [report.first, report.last, report.warehouse, *(getattr(f, n) for n in f.__struct_fields__)]
        for f in report.figures
    ]

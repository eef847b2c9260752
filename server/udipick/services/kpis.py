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
  ``receipts`` and ``putaway_tasks``, ``recalls``, the ``wave.released.v1`` and ``pick.shorted.v1`` events.

Each KPI's facts are counted once per closed UTC day and scope by ``facts`` and kept in ``kpi_days``
(``store_days``, lazily, under an advisory lock); a report adds up its stored days and counts the open rest with
the same ``facts``, reading both in one REPEATABLE READ transaction. docs/kpis.md, "Stored closed days", says what
becomes per day and what a late row does.
"""

from __future__ import annotations

import datetime as dt
import logging
from contextlib import AbstractAsyncContextManager
from typing import Any

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker

from udipick.domain import kpis as k
from udipick.domain.errors import UnknownWarehouse
from udipick.services import periodic

log = logging.getLogger(__name__)


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
#: lines not cancelled by the period's end equal the units of all its ship rows up to then (nothing missing,
#: nothing extra). "By the end", not "now": a stored day is judged as it stood when it closed.
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
   WHERE ol.cancelled_at IS NULL OR ol.cancelled_at >= :end
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
     AND p.undone_at IS NULL
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
     AND p.undone_at IS NULL  -- taken back by the picker (issue 21): not work done
)
SELECT coalesce(picked_by::text, '') AS picker, count(DISTINCT task_id) AS lines, count(DISTINCT hour) AS hours
  FROM p GROUP BY 1
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
SELECT coalesce(sum(extract(epoch FROM b.cleared_at - b.created_at)), 0)::float8 / 3600 AS hours, count(*) AS n
  FROM location_blocks b
 WHERE b.cleared_at >= :start AND b.cleared_at < :end AND b.location_id IN (SELECT id FROM loc)
"""

#: licence plates put away in the period: from their receipt's opening at the dock to their putaway
_DOCK_TO_STOCK = f"""
WITH {_LOC}
SELECT coalesce(sum(extract(epoch FROM p.done_at - r.created_at)), 0)::float8 / 3600 AS hours, count(*) AS n
  FROM putaway_tasks p JOIN receipts r ON r.id = p.receipt_id
 WHERE p.status = 'done' AND p.done_at >= :start AND p.done_at < :end AND p.to_location_id IN (SELECT id FROM loc)
"""

#: recalls closed in the period: from opening to closing (the recall record's response time). A recall covers
#: an item's lots wherever they are, so it belongs to no one warehouse: every warehouse's report counts it.
_RECALLS = """
SELECT coalesce(sum(extract(epoch FROM r.closed_at - r.opened_at)), 0)::float8 / 3600 AS hours, count(*) AS n
  FROM recalls r
 WHERE r.closed_at >= :start AND r.closed_at < :end
"""


#: a day is stored once it ended this long ago: a transaction that began before midnight (its rows carry its
#: start time, ``now()``) has committed by then, so nothing more can arrive for the day
SETTLE = dt.timedelta(hours=1)
#: the advisory lock (with the scope as second key) under which a scope's days are computed and stored
_LOCK = "SELECT pg_advisory_xact_lock(hashtext('udipick.kpi_days'), :scope)"


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


async def facts(conn: AsyncConnection, wh: int | None, start: dt.datetime, end: dt.datetime) -> k.Facts:
    """The facts of ``start`` to ``end`` (exclusive) in scope: the one definition of every event-based KPI's
    numerator and denominator, used for a closed day that is stored and for the open days of a request."""
    params = {"wh": wh, "start": start, "end": end}

    async def one(sql: str) -> Any:
        return (await conn.execute(text(sql), params)).one()

    flow = await one(_NET_IN)
    waves = await one(_WAVE_LINES)
    shorts = await one(_SHORT_PICKS)
    pickers = {r.picker: (int(r.lines), int(r.hours)) for r in (await conn.execute(text(_PICKERS), params)).all()}
    scan_sql = _PICK_SCANS.format(warehouse=_IN_WAREHOUSE if wh is not None else "")
    scans = {r.code or "": int(r.scans) for r in (await conn.execute(text(scan_sql), params)).all()}
    counts = await one(_COUNTS)
    docked = await one(_DOCK_TO_STOCK)
    shipments = await one(_SHIPMENTS)
    recalls = await one(_RECALLS)
    return k.Facts(
        orders_shipped=int(shipments.shipped),
        orders_exact=int(shipments.exact),
        count_hours=float(counts.hours),
        counts=int(counts.n),
        wave_lines=int(waves.lines),
        short_lines=int(waves.short_lines),
        net_in=int(flow.net_in),
        units_shipped=int(flow.shipped),
        pickers=pickers,
        scans=scans,
        tasks_worked=int(shorts.tasks),
        tasks_shorted=int(shorts.shorted),
        dock_hours=float(docked.hours),
        plates=int(docked.n),
        recall_hours=float(recalls.hours),
        recalls=int(recalls.n),
    )


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _closing_json(stock: list[k.StockAt]) -> str:
    return msgspec.json.encode([[s.status, s.quantity, s.expiry, s.held] for s in stock]).decode()


def _closing_of(raw: list[Any]) -> list[k.StockAt]:
    return [k.StockAt(st, int(q), dt.date.fromisoformat(x) if x else None, bool(h)) for st, q, x, h in raw]


async def store_days(
    db: async_sessionmaker, wh: int | None, days: list[dt.date], *, closing_of: dt.date | None, replace: bool = False
) -> int:
    """Compute and store the closed ``days`` of a scope that are not stored yet (all of them with
    ``replace``), and the stock at the end of ``closing_of`` if it is not stored yet. Under the scope's advisory
    lock, re-checked once held, so two requests never compute the same day twice: the second waits, then finds
    the first's rows. Returns how many days were computed."""
    scope = wh or 0
    async with db() as session:
        conn = await session.connection()
        await conn.execute(text(_LOCK), {"scope": scope})
        if replace:
            await conn.execute(
                text("DELETE FROM kpi_days WHERE scope = :s AND day = ANY(:days)"), {"s": scope, "days": days}
            )
        have = set(
            (
                await conn.execute(
                    text("SELECT day FROM kpi_days WHERE scope = :s AND day = ANY(:days)"),
                    {
                        "s": scope,
                        "days": days,
                    },
                )
            ).scalars()
        )
        missing = [d for d in days if d not in have]
        for day in missing:
            f = await facts(conn, wh, _day_start(day), _day_start(day + dt.timedelta(days=1)))
            await conn.execute(
                text("INSERT INTO kpi_days (day, scope, facts) VALUES (:d, :s, CAST(:f AS jsonb))"),
                {"d": day, "s": scope, "f": msgspec.json.encode(f).decode()},
            )
        if closing_of is not None:
            stored = await conn.scalar(
                text("SELECT closing IS NOT NULL FROM kpi_days WHERE scope = :s AND day = :d"),
                {"s": scope, "d": closing_of},
            )
            if not stored:
                stock = await _stock_at(conn, wh, _day_start(closing_of + dt.timedelta(days=1)))
                await conn.execute(
                    text("UPDATE kpi_days SET closing = CAST(:c AS jsonb) WHERE scope = :s AND day = :d"),
                    {"s": scope, "d": closing_of, "c": _closing_json(stock)},
                )
        await session.commit()
    return len(missing)


async def _missing(conn: AsyncConnection, scope: int, days: list[dt.date], closing_of: dt.date | None) -> bool:
    """Whether a closed day of the period, or the closing stock it needs, is not stored yet."""
    row = (
        await conn.execute(
            text(
                "SELECT count(*) AS stored, bool_or(day = :c AND closing IS NOT NULL) AS closing"
                " FROM kpi_days WHERE scope = :s AND day = ANY(:days)"
            ),
            {"s": scope, "days": days, "c": closing_of},
        )
    ).one()
    return row.stored < len(days) or (closing_of is not None and not row.closing)


async def kpi_report(
    db: async_sessionmaker, *, first: str | None, last: str | None, warehouse: str | None, now: dt.datetime
) -> KpiReport:
    """The period's figures: its closed days' stored facts (computed and stored first where missing), plus the
    days still open (those that ended less than ``SETTLE`` ago, today, later days) counted now."""
    period = k.parse_period(first, last, today=now.date())
    closed, rest = k.split_period(period, open_from=(now - SETTLE).date())
    closing_of = period.last if rest is None else None
    async with db() as session:
        conn = await session.connection()
        wh = await _warehouse_id(conn, warehouse)
        fill = bool(closed) and await _missing(conn, wh or 0, closed, closing_of)
        await session.commit()
    if fill:
        await store_days(db, wh, closed, closing_of=closing_of)
    async with db() as session:
        conn = await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        stored = (
            await conn.execute(
                text("SELECT day, facts, closing FROM kpi_days WHERE scope = :s AND day = ANY(:days)"),
                {"s": wh or 0, "days": closed},
            )
        ).all()
        days = [msgspec.convert(r.facts, k.Facts) for r in stored]
        if rest is not None:
            days.append(await facts(conn, wh, rest.start, rest.end))
            closing = await _stock_at(conn, wh, period.end)
        else:
            closing = _closing_of(next(r.closing for r in stored if r.day == period.last))
        total = k.total(days)
        ids = [int(who) for who in total.pickers if who]
        names = {
            str(r.id): r.username
            for r in (await conn.execute(text("SELECT id, username FROM users WHERE id = ANY(:ids)"), {"ids": ids}))
        }
        await session.commit()
    figures = k.figures(total, closing, period, picker_names=names)
    return KpiReport(
        first=period.first,
        last=period.last,
        warehouse=warehouse,
        figures=[
            KpiFigure(f.kpi, f.name_zh, f.subject, _num(f.value), f.unit, _num(f.numerator), _num(f.denominator))
            for f in figures
        ],
    )


async def rebuild(db: async_sessionmaker, *, first: dt.date, last: dt.date, now: dt.datetime) -> dict[str, int]:
    """Recompute the stored days from ``first`` to ``last`` (closed days only) of every scope that has any
    stored (all warehouses and each warehouse), after a late change to a source (docs/kpis.md). A day's closing
    stock, if it had one, is recomputed too. Returns the days recomputed per scope (``*`` for all)."""
    closed, _ = k.split_period(k.Period(first, last), open_from=(now - SETTLE).date())
    done: dict[str, int] = {}
    async with db() as session:
        scopes = (
            await session.execute(
                text(
                    "SELECT s.scope, w.code, array_agg(s.day) FILTER (WHERE s.closing IS NOT NULL) AS closings"
                    " FROM kpi_days s LEFT JOIN warehouses w ON w.id = s.scope GROUP BY 1, 2 ORDER BY 1"
                )
            )
        ).all()
    for scope, code, closings in scopes:
        wh = scope or None
        done[code or "*"] = await store_days(db, wh, closed, closing_of=None, replace=True)
        for day in sorted(set(closings or []) & set(closed)):
            await store_days(db, wh, [day], closing_of=day)
    return done


def _num(x: float | None) -> float | None:
    """Every part a float, so JSON and CSV write ``1.0`` whether the count behind it was an int or not."""
    return None if x is None else float(x)


def csv_rows(report: KpiReport) -> list[list[Any]]:
    """One row per figure, ``CSV_FIELDS`` in order."""
    return [
        [report.first, report.last, report.warehouse, *(getattr(f, n) for n in f.__struct_fields__)]
        for f in report.figures
    ]


async def keep_days(db: async_sessionmaker, *, now: dt.datetime, days_back: int) -> int:
    """Store the closed days of the last ``days_back`` days (and the last one's closing stock) for all
    warehouses together and for each warehouse, so that a report finds them ready instead of computing them
    on the request. One day per transaction: a long fill never holds a lock or a snapshot for long. Returns
    how many days were computed (0 once all are stored: each call costs one query per scope then)."""
    last = (now - SETTLE).date() - dt.timedelta(days=1)
    days = [last - dt.timedelta(days=i) for i in range(days_back)]
    if not days:
        return 0
    async with db() as session:
        scopes: list[int | None] = [
            None,
            *(await session.execute(text("SELECT id FROM warehouses ORDER BY id"))).scalars(),
        ]
    done = 0
    for wh in scopes:
        async with db() as session:
            conn = await session.connection()
            if not await _missing(conn, wh or 0, days, last):
                continue
        for day in days:
            done += await store_days(db, wh, [day], closing_of=last if day == last else None)
    return done


def day_keeper_in_background(
    db: async_sessionmaker, *, every_seconds: float, days_back: int
) -> AbstractAsyncContextManager[None]:
    """Inside ``udipick serve`` (with the relay): ``keep_days`` a minute after start and every ``every_seconds``,
    so the first report of the morning does not pay for yesterday (docs/kpis.md, "Stored closed days"). The
    minute leaves the start-up, and the scans that come with it, alone."""

    async def round_() -> None:
        if n := await keep_days(db, now=dt.datetime.now(dt.UTC), days_back=days_back):
            log.info("KPI days stored: %d", n)

    return periodic.every("kpi-days", every_seconds, round_, first_after=min(60.0, every_seconds))

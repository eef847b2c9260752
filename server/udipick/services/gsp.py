"""GSP records of a period (docs/gsp.md): the receiving and acceptance record, the outbound review record
and the cold-chain temperature record, read from what receiving, packing and the sensors wrote; and the
sensors' readings stored.

Every source these records read is kept for good: ``receipt_scans``, ``stock_ledger`` and
``cold_chain_readings`` are append-only, and receipts, documents, partners, warehouses, items, lots and
closed packages refuse DELETE (migrations 0002, 0005, 0028). No periodic job prunes any of them.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Any

import msgspec
from msgspec import Meta
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker

from udipick.domain import gsp
from udipick.domain.access import Actor
from udipick.domain.errors import InvalidRecord, NotFound
from udipick.services.events import ColdChainExcursionRecorded, emit

#: the longest period one export covers (a year and a day: a calendar year from any day)
MAX_DAYS = 367
#: a reading may be stamped this far ahead of the server's clock (sensor clocks drift) and no further
CLOCK_SKEW = dt.timedelta(minutes=5)


class Period(msgspec.Struct, frozen=True):
    first: dt.date
    last: dt.date
    tz: str
    start: dt.datetime
    end: dt.datetime


def period(first: dt.date | None, last: dt.date | None, tz: str, *, now: dt.datetime) -> Period:
    """Whole days ``first``..``last`` in time zone ``tz`` (an IANA name; a Chinese site's is Asia/Shanghai);
    by default the last 30 days up to today there."""
    try:
        zone = zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: a folder of the tz database such as "America" (IsADirectoryError)
        raise InvalidRecord(
            f"unknown time zone {tz!r}: use an IANA name such as Asia/Shanghai", pointer="/tz"
        ) from None
    last = last or now.astimezone(zone).date()
    try:
        first = first or last - dt.timedelta(days=29)
    except OverflowError:
        raise _off_calendar(last, "/to") from None
    if first > last:
        raise InvalidRecord(f"the period starts ({first}) after it ends ({last})", pointer="/from")
    if (last - first).days + 1 > MAX_DAYS:
        raise InvalidRecord(f"a period covers at most {MAX_DAYS} days: export it in parts", pointer="/from")
    # the period's bounds as instants (in UTC too, as the database compares them) must exist
    try:
        start = dt.datetime.combine(first, dt.time(), zone)
        start.astimezone(dt.UTC)
    except OverflowError:
        raise _off_calendar(first, "/from") from None
    try:
        end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), zone)
        end.astimezone(dt.UTC)
    except OverflowError:
        raise _off_calendar(last, "/to") from None
    return Period(first, last, tz, start, end)


def _off_calendar(day: dt.date, pointer: str) -> InvalidRecord:
    return InvalidRecord(f"{day} is too near the end of the calendar for a period", pointer=pointer)


def _local(value: dt.datetime | None, tz: str) -> dt.datetime | None:
    return None if value is None else value.astimezone(zoneinfo.ZoneInfo(tz))


async def warehouse_label(db: async_sessionmaker, warehouse: str | None) -> str:
    """How the printed record names the warehouse (``全部``: every warehouse)."""
    if warehouse is None:
        return "全部"
    async with db() as session:
        row = (
            await session.execute(text("SELECT code, name FROM warehouses WHERE code = :w"), {"w": warehouse})
        ).first()
    if row is None:
        raise NotFound(f"no warehouse {warehouse!r}", warehouse=warehouse)
    return f"{row.name}（{row.code}）"


# ---- the receiving and acceptance record ------------------------------------------------------------

_RECEIVED = text(
    """
SELECT 'RCV-' || lpad(r.id::text, 6, '0') AS receipt, d.number AS document, w.code AS warehouse,
       r.created_at AS arrived_at, s.name AS supplier, s.licence_no AS supplier_licence_no,
       i.erp_id AS item, i.gtin, i.name, i.specification, i.registration_no, i.registration_holder,
       i.base_unit AS unit, i.min_temp_c, i.max_temp_c,
       l.lot, se.serial, coalesce(rs.production_date, l.production_date) AS production_date, l.expiry,
       sum(rs.quantity)::int AS quantity, rs.status, rs.reasons, rs.temperature_c AS scan_temperature_c,
       r.carrier, r.transport_mode, r.departed_at, r.departure_temperature_c,
       r.arrival_temperature_c AS receipt_temperature_c, r.transport_temperatures,
       u.display_name AS received_by, min(rs.scanned_at) AS scanned_at,
       qc.movement AS qc_movement, qu.display_name AS qc_by, qc.occurred_at AS qc_at, qc.reason AS qc_reason
  FROM receipt_scans rs
  JOIN receipts r ON r.id = rs.receipt_id
  JOIN locations loc ON loc.id = r.location_id
  JOIN warehouses w ON w.id = loc.warehouse_id
  LEFT JOIN inbound_documents d ON d.id = r.document_id
  LEFT JOIN suppliers s ON s.id = r.supplier_id
  JOIN items i ON i.id = rs.item_id
  LEFT JOIN lots l ON l.id = rs.lot_id
  LEFT JOIN serials se ON se.id = rs.serial_id
  JOIN users u ON u.id = rs.user_id
  -- a quarantined lot's first QC decision after the scan (services.receiving.qc books it in the ledger)
  LEFT JOIN LATERAL (
        SELECT sl.movement, sl.user_id, sl.occurred_at, sl.reason FROM stock_ledger sl
         WHERE rs.status = 'quarantine' AND sl.item_id = rs.item_id AND sl.lot_id = rs.lot_id
           AND sl.document_type = 'qc' AND sl.from_status = 'quarantine' AND sl.occurred_at >= rs.scanned_at
         ORDER BY sl.id LIMIT 1) qc ON true
  LEFT JOIN users qu ON qu.id = qc.user_id
 WHERE r.created_at >= :start AND r.created_at < :end AND (CAST(:warehouse AS text) IS NULL OR w.code = :warehouse)
 GROUP BY r.id, d.number, w.code, s.name, s.licence_no, i.id, l.id, se.id, rs.production_date, rs.status, rs.reasons,
          rs.temperature_c, u.display_name, qc.movement, qu.display_name, qc.occurred_at, qc.reason
 ORDER BY r.created_at, r.id, min(rs.id)
"""
)


async def receiving_records(db: async_sessionmaker, p: Period, warehouse: str | None) -> list[gsp.ReceivingRecord]:
    """One line per receipt, item, lot, serial, temperature and verdict, for receipts opened in the period."""
    async with db() as session:
        rows = (await session.execute(_RECEIVED, {"start": p.start, "end": p.end, "warehouse": warehouse})).mappings()
        out = []
        for row in rows:
            facts = dict(row)
            for key in ("arrived_at", "departed_at", "scanned_at", "qc_at"):
                facts[key] = _local(facts[key], p.tz)
            out.append(gsp.receiving_record(gsp.ReceivedFacts(**facts)))
    return out


# ---- the outbound review record ---------------------------------------------------------------------

_SHIPPED = text(
    """
SELECT d.erp_id AS order, d.number AS order_number, w.code AS warehouse, c.name AS customer,
       c.licence_no AS customer_licence_no, i.erp_id AS item, i.gtin, i.name, i.specification, i.registration_no,
       i.registration_holder, l.lot, se.serial, l.production_date, l.expiry, sum(sl.quantity)::int AS quantity,
       i.base_unit AS unit, ct.sscc, max(sl.occurred_at) AS shipped_at, su.display_name AS shipped_by,
       pk.reviewed_by, pk.reviewed_at
  FROM stock_ledger sl
  JOIN outbound_documents d ON d.erp_id = sl.document_id
  JOIN customers c ON c.id = d.customer_id
  JOIN warehouses w ON w.id = d.warehouse_id
  JOIN items i ON i.id = sl.item_id
  LEFT JOIN lots l ON l.id = sl.lot_id
  LEFT JOIN serials se ON se.id = sl.serial_id
  LEFT JOIN containers ct ON ct.id = sl.from_container_id
  LEFT JOIN users su ON su.id = sl.user_id
  -- the review: who scanned these units into this carton (services.packing.pack_scan), and when last
  LEFT JOIN LATERAL (
        SELECT string_agg(DISTINCT pu.display_name, '、') AS reviewed_by, max(p.occurred_at) AS reviewed_at
          FROM stock_ledger p JOIN users pu ON pu.id = p.user_id
         WHERE p.movement = 'pack' AND p.to_container_id = sl.from_container_id AND p.item_id = sl.item_id
           AND p.lot_id IS NOT DISTINCT FROM sl.lot_id AND p.serial_id IS NOT DISTINCT FROM sl.serial_id) pk ON true
 WHERE sl.movement = 'ship' AND sl.document_type = 'sales_order' AND sl.occurred_at >= :start AND sl.occurred_at < :end
   AND (CAST(:warehouse AS text) IS NULL OR w.code = :warehouse)
 GROUP BY d.id, w.code, c.id, i.id, l.id, se.id, ct.id, su.display_name, pk.reviewed_by, pk.reviewed_at
 ORDER BY max(sl.occurred_at), d.number, i.erp_id, l.lot NULLS FIRST, se.serial NULLS FIRST, ct.sscc
"""
)


async def outbound_reviews(db: async_sessionmaker, p: Period, warehouse: str | None) -> list[gsp.OutboundReview]:
    """One line per order, item, lot, serial and carton shipped in the period; every one passed the pack
    check that is the review (``domain.gsp.OutboundReview``)."""
    async with db() as session:
        rows = (await session.execute(_SHIPPED, {"start": p.start, "end": p.end, "warehouse": warehouse})).mappings()
        out = []
        for row in rows:
            r = dict(row)
            r["shipped_at"] = _local(r["shipped_at"], p.tz)
            r["reviewed_at"] = _local(r["reviewed_at"], p.tz)
            out.append(gsp.OutboundReview(**r, result=gsp.SHIPPED_IS_REVIEWED))
    return out


# ---- cold-chain readings ----------------------------------------------------------------------------


class ReadingIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True, frozen=True):
    #: the sensor's own id (its serial or asset tag): with ``at``, what makes a reading one reading
    sensor: Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")]
    #: the location's code or label barcode
    location: Annotated[str, Meta(min_length=1, max_length=80)]
    #: when it was measured, with its UTC offset
    at: Annotated[dt.datetime, Meta(tz=True)]
    temperature_c: Annotated[float, Meta(ge=-100, le=100)]


class ReadingsIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True, frozen=True):
    readings: Annotated[list[ReadingIn], Meta(min_length=1, max_length=5000)]


class ReadingRef(msgspec.Struct, rename="camel", frozen=True):
    sensor: str
    at: dt.datetime
    location: str
    temperature_c: float
    min_c: float | None = None
    max_c: float | None = None


class ReadingsStored(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    """What a batch did: new readings stored, readings already stored (a retry), readings that name a
    stored (sensor, time) with another location or temperature (kept as first stored, never overwritten),
    and the new readings outside their range."""

    stored: int
    already_stored: int
    conflicts: list[ReadingRef]
    out_of_range: list[ReadingRef]


_LOCATIONS = text(
    "SELECT id, code, barcode FROM locations WHERE code = ANY(CAST(:codes AS text[])) OR barcode = ANY(CAST(:codes AS text[]))"
    " ORDER BY id"
)
#: the temperature ranges of the items stored in each location now (``domain.gsp.reading_range`` takes the tightest)
_ITEM_RANGES = text(
    "SELECT DISTINCT s.location_id, i.min_temp_c, i.max_temp_c FROM stock s JOIN items i ON i.id = s.item_id"
    " WHERE s.location_id = ANY(CAST(:ids AS int[])) AND s.quantity > 0"
    " AND (i.min_temp_c IS NOT NULL OR i.max_temp_c IS NOT NULL)"
)
_INSERT = text(
    """
INSERT INTO cold_chain_readings (sensor, location_id, measured_at, temperature_c, min_c, max_c, out_of_range,
                                 api_key_id, user_id)
SELECT * FROM unnest(CAST(:sensors AS text[]), CAST(:locations AS int[]), CAST(:ats AS timestamptz[]),
                     CAST(:temps AS numeric[]), CAST(:mins AS numeric[]), CAST(:maxs AS numeric[]),
                     CAST(:outs AS boolean[]), CAST(:keys AS int[]), CAST(:users AS int[]))
ON CONFLICT (sensor, measured_at) DO NOTHING
RETURNING sensor, measured_at
"""
)
_STORED = text(
    "SELECT r.sensor, r.measured_at, r.location_id, r.temperature_c FROM cold_chain_readings r"
    " JOIN unnest(CAST(:sensors AS text[]), CAST(:ats AS timestamptz[])) AS k(sensor, at)"
    " ON r.sensor = k.sensor AND r.measured_at = k.at"
)


def _dec(value: float | None) -> Decimal | None:
    """As the column stores it: two decimals."""
    return None if value is None else round(Decimal(str(value)), 2)


async def store_readings(
    db: async_sessionmaker, actor: Actor, readings: Sequence[ReadingIn], *, now: dt.datetime
) -> ReadingsStored:
    """Store a sensor batch. Idempotent on (sensor, time): a batch sent again stores nothing twice and
    answers the same counts as ``already_stored``. Each new reading is judged against the tightest range
    of the items its location holds at the time it is stored (``domain.gsp.reading_range``), and the
    range is stored with it, so the record says what it was judged against."""
    for n, r in enumerate(readings):
        if r.at > now + CLOCK_SKEW:
            raise InvalidRecord(
                f"reading of sensor {r.sensor} is stamped {r.at.isoformat()}, in the future: check the sensor's clock",
                pointer=f"/readings/{n}/at",
            )
    async with db.begin() as session:
        codes = sorted({r.location for r in readings})
        found = (await session.execute(_LOCATIONS, {"codes": codes})).all()
        by_name: dict[str, Any] = {}
        for loc in found:
            by_name.setdefault(loc.code, loc)
            by_name.setdefault(loc.barcode, loc)
        for n, r in enumerate(readings):
            if r.location not in by_name:
                raise InvalidRecord(f"no location {r.location!r}", pointer=f"/readings/{n}/location")
        ids = sorted({loc.id for loc in by_name.values()})
        ranges: dict[int, list[tuple[Any, Any]]] = {i: [] for i in ids}
        for row in (await session.execute(_ITEM_RANGES, {"ids": ids})).all():
            ranges[row.location_id].append((row.min_temp_c, row.max_temp_c))
        judged = {i: gsp.reading_range(rs) for i, rs in ranges.items()}
        locs = [by_name[r.location] for r in readings]
        bounds = [judged[loc.id] for loc in locs]
        outs = [gsp.out_of_range(r.temperature_c, lo, hi) for r, (lo, hi) in zip(readings, bounds, strict=True)]
        inserted = {
            (row.sensor, row.measured_at)
            for row in (
                await session.execute(
                    _INSERT,
                    {
                        "sensors": [r.sensor for r in readings],
                        "locations": [loc.id for loc in locs],
                        "ats": [r.at for r in readings],
                        "temps": [_dec(r.temperature_c) for r in readings],
                        "mins": [_dec(lo) for lo, _ in bounds],
                        "maxs": [_dec(hi) for _, hi in bounds],
                        "outs": outs,
                        "keys": [actor.api_key_id] * len(readings),
                        "users": [actor.user_id] * len(readings),
                    },
                )
            ).all()
        }
        excursions = [
            ColdChainExcursionRecorded(
                location=loc.code, sensor=r.sensor, measured_at=r.at, temperature_c=r.temperature_c, min_c=lo, max_c=hi
            )
            for r, loc, (lo, hi), out in zip(readings, locs, bounds, outs, strict=True)
            if out and (r.sensor, r.at) in inserted
        ]
        # one event per stored excursion, even if the batch named it twice
        unique = list({(e.sensor, e.measured_at): e for e in excursions}.values())
        if unique:
            await emit(session, actor, *unique)
        stored = {
            (row.sensor, row.measured_at): row
            for row in (
                await session.execute(
                    _STORED, {"sensors": [r.sensor for r in readings], "ats": [r.at for r in readings]}
                )
            ).all()
        }
    conflicts, flagged, seen = [], [], set()
    new = already = 0
    for r, loc, (lo, hi), out in zip(readings, locs, bounds, outs, strict=True):
        key = (r.sensor, r.at)
        if key in seen:  # the same reading twice in one batch counts once
            continue
        seen.add(key)
        ref = ReadingRef(r.sensor, r.at, loc.code, r.temperature_c, lo, hi)
        if key in inserted:
            new += 1
            if out:
                flagged.append(ref)
            continue
        first = stored[key]
        if first.location_id == loc.id and first.temperature_c == _dec(r.temperature_c):
            already += 1
        else:
            conflicts.append(ref)
    return ReadingsStored(stored=new, already_stored=already, conflicts=conflicts, out_of_range=flagged)


_READINGS = text(
    """
SELECT w.code AS warehouse, loc.code AS location, r.sensor, r.measured_at, r.temperature_c, r.min_c, r.max_c,
       r.out_of_range, r.received_at
  FROM cold_chain_readings r JOIN locations loc ON loc.id = r.location_id JOIN warehouses w ON w.id = loc.warehouse_id
 WHERE r.measured_at >= :start AND r.measured_at < :end
   AND (CAST(:location AS text) IS NULL OR loc.code = :location)
   AND (CAST(:warehouse AS text) IS NULL OR w.code = :warehouse)
 ORDER BY loc.code, r.measured_at, r.sensor
"""
)


async def temperature_records(
    db: async_sessionmaker, p: Period, *, location: str | None, warehouse: str | None
) -> list[gsp.TemperatureRecord]:
    """A location's (or every location's) readings measured in the period, in time order."""
    async with db() as session:
        if location is not None:
            known = await session.scalar(text("SELECT 1 FROM locations WHERE code = :c"), {"c": location})
            if known is None:
                raise NotFound(f"no location {location!r}", location=location)
        rows = (
            await session.execute(
                _READINGS, {"start": p.start, "end": p.end, "location": location, "warehouse": warehouse}
            )
        ).all()
    zone = zoneinfo.ZoneInfo(p.tz)
    return [
        gsp.TemperatureRecord(
            warehouse=r.warehouse,
            location=r.location,
            sensor=r.sensor,
            measured_at=r.measured_at.astimezone(zone),
            temperature_c=float(r.temperature_c),
            min_c=None if r.min_c is None else float(r.min_c),
            max_c=None if r.max_c is None else float(r.max_c),
            out_of_range=r.out_of_range,
            received_at=r.received_at.astimezone(zone),
        )
        for r in rows
    ]

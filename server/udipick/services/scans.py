"""From a raw scan to udipick's own things: the item (and pack level) a GTIN or HIBC code names,
the location or container a label names. Used by every workflow that takes a scan."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from types import SimpleNamespace

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from udipick.config import Settings
from udipick.db.models import Container, Item, ItemGtin, Location
from udipick.db.pg import raw
from udipick.domain.barcodes import Scan, ScanConfig, interpret
from udipick.domain.barcodes.scan import ScanKind
from udipick.domain.expiry import is_expired
from udipick.domain.udi_di import DiKey, GtinKey, HibcKey, item_key


def scan_config(settings: Settings) -> ScanConfig:
    return ScanConfig(
        separator_stand_ins=settings.scan_separator_stand_ins,
        space_is_separator=settings.scan_space_is_separator,
        location_prefix=settings.location_prefix,
        lpn_prefix=settings.lpn_prefix,
        tote_prefix=settings.tote_prefix,
        badge_prefix=settings.badge_prefix,
    )


def read(raw: str | bytes, settings: Settings, today: dt.date) -> Scan:
    reader = _last_reader
    if reader is None or reader.settings is not settings:
        reader = _reader_for(settings)
    if isinstance(raw, str) and len(raw) <= 512:
        return reader.read(raw, today)
    return interpret(raw, today=today, config=reader.config)


def config(settings: Settings) -> ScanConfig:
    """The ``ScanConfig`` of ``settings``, made once (for the domain rules that read a scan themselves)."""
    reader = _last_reader
    if reader is None or reader.settings is not settings:
        reader = _reader_for(settings)
    return reader.config


class _Reader:
    """The scan reader of one ``Settings``: its ``ScanConfig``, made once, and the codes it has read.

    A handheld scans the same label again and again (one per unit of a lot): each is read once a day.
    ``Scan`` is immutable, and an unreadable code raises every time (exceptions are not cached).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.config = config = scan_config(settings)

        @functools.lru_cache(maxsize=4096)
        def read(raw: str, today: dt.date) -> Scan:
            return interpret(raw, today=today, config=config)

        self.read = read


#: the reader of the settings last asked for (a server process has one ``Settings``)
_last_reader: _Reader | None = None


def _reader_for(settings: Settings) -> _Reader:
    global _last_reader
    _last_reader = _Reader(settings)
    return _last_reader


@dataclass(frozen=True, slots=True)
class ItemMatch:
    """The trade item behind a scanned GTIN or HIBC code, and how many base units one scan is."""

    item_id: int
    erp_id: str
    name: str
    gtin: str
    scanned_gtin: str | None
    pack_level: str
    pack_quantity: int
    units: int
    lot_tracked: bool
    serial_tracked: bool
    expiry_tracked: bool
    min_temp_c: float | None
    max_temp_c: float | None
    min_shelf_life_days: int
    qc_required: bool
    bonded: bool


_ITEM_COLS = (
    Item.id,
    Item.erp_id,
    Item.name,
    Item.gtin,
    Item.lot_tracked,
    Item.serial_tracked,
    Item.expiry_tracked,
    Item.min_temp_c,
    Item.max_temp_c,
    Item.min_shelf_life_days,
    Item.qc_required,
    Item.bonded,
)


_BY_GTIN = """
SELECT i.id, i.erp_id, i.name, i.gtin, i.lot_tracked, i.serial_tracked, i.expiry_tracked, i.min_temp_c, i.max_temp_c,
       i.min_shelf_life_days, i.qc_required, i.bonded, g.pack_level, g.quantity AS pack_qty
  FROM item_gtins g JOIN items i ON i.id = g.item_id WHERE g.gtin = $1
"""


def by_di_sql(agency: str, di: str) -> str:
    """The one look-up from an MA or AHM DI to its item and pack quantity (``item_dis``' primary key);
    ``agency`` and ``di`` are the statement's placeholders (``$1``). The pick scan's read embeds it."""
    return f"""
SELECT i.id, i.erp_id, i.name, i.gtin, i.lot_tracked, i.serial_tracked, i.expiry_tracked, i.min_temp_c, i.max_temp_c,
       i.min_shelf_life_days, i.qc_required, i.bonded, d.pack_level, d.quantity AS pack_qty
  FROM item_dis d JOIN items i ON i.id = d.item_id WHERE d.agency = CAST({agency} AS text) AND d.di = {di}
"""


_BY_DI = by_di_sql("$1", "$2")


def _match(row, scanned_gtin: str | None, level: str, pack_qty: int, count: int | None) -> ItemMatch:
    return ItemMatch(
        item_id=row.id,
        erp_id=row.erp_id,
        name=row.name,
        gtin=row.gtin,
        scanned_gtin=scanned_gtin,
        pack_level=level,
        pack_quantity=pack_qty,
        units=pack_qty * (count or 1),
        lot_tracked=row.lot_tracked,
        serial_tracked=row.serial_tracked,
        expiry_tracked=row.expiry_tracked,
        min_temp_c=float(row.min_temp_c) if row.min_temp_c is not None else None,
        max_temp_c=float(row.max_temp_c) if row.max_temp_c is not None else None,
        min_shelf_life_days=row.min_shelf_life_days,
        qc_required=row.qc_required,
        bonded=row.bonded,
    )


async def match_item(session: AsyncSession, scan: Scan) -> ItemMatch | None:
    """The item a goods scan names, by the key ``domain.udi_di.item_key`` reads from it: a GTIN (or the
    content GTIN of a logistic unit, AI 02 with count 37), HIBC LIC + PCN, or an MA / AHM DI."""
    key = item_key(scan)
    if isinstance(key, GtinKey):
        rec = await (await raw(session)).fetchrow(_BY_GTIN, key.gtin)
        if rec is None:
            return None
        row = SimpleNamespace(**dict(rec))
        return _match(row, key.gtin, row.pack_level, row.pack_qty, scan.quantity)
    if isinstance(key, DiKey):
        rec = await (await raw(session)).fetchrow(_BY_DI, key.agency, key.di)
        if rec is None:
            return None
        row = SimpleNamespace(**dict(rec))
        return _match(row, None, row.pack_level, row.pack_qty, scan.quantity)
    if isinstance(key, HibcKey):
        row = (
            await session.execute(select(*_ITEM_COLS).where(Item.hibc_lic == key.lic, Item.hibc_pcn == key.pcn))
        ).first()
        if row is None:
            return None
        level, qty = "each", 1
        if key.uom:
            pack = (
                await session.execute(
                    select(ItemGtin.pack_level, ItemGtin.quantity).where(
                        ItemGtin.item_id == row.id, ItemGtin.hibc_uom == key.uom
                    )
                )
            ).first()
            if pack is not None:
                level, qty = pack.pack_level, pack.quantity
        return _match(row, None, level, qty, scan.quantity)
    return None


async def match_location(session: AsyncSession, scan: Scan) -> Location | None:
    if scan.kind != "location":
        return None
    return await session.scalar(select(Location).where(Location.barcode == scan.raw.strip()))


async def match_container(session: AsyncSession, scan: Scan) -> Container | None:
    if scan.kind in ("lpn", "tote"):
        return await session.scalar(select(Container).where(Container.code == scan.raw.strip()))
    if scan.kind == "sscc" and scan.sscc:
        return await session.scalar(select(Container).where(Container.sscc == scan.sscc))
    return None


# ---- what a scan is, answered ---------------------------------------------------------------------


class ElementOut(msgspec.Struct):
    ai: str
    value: str


class ItemRef(msgspec.Struct, rename="camel"):
    erp_id: str
    name: str
    gtin: str
    pack_level: str
    pack_quantity: int
    units: int
    lot_tracked: bool
    serial_tracked: bool
    expiry_tracked: bool


class LocationRef(msgspec.Struct, rename="camel"):
    code: str
    type: str
    zone: str
    frozen: bool


class ScanOut(msgspec.Struct, rename="camel", omit_defaults=True):
    """What a scan says (members it does not carry are left out), and the item and location it names here."""

    kind: ScanKind
    raw: str
    elements: list[ElementOut]
    symbology: str | None = None
    gtin: str | None = None
    content_gtin: str | None = None
    lot: str | None = None
    serial: str | None = None
    expiry: dt.date | None = None
    production_date: dt.date | None = None
    best_before: dt.date | None = None
    expiry_time: dt.datetime | None = None
    sscc: str | None = None
    quantity: int | None = None
    additional_id: str | None = None
    digital_link_uri: str | None = None
    hibc_lic: str | None = None
    hibc_pcn: str | None = None
    hibc_uom: int | None = None
    hibc_check: str | None = None
    hibc_link: str | None = None
    di: str | None = None
    validity_date: dt.date | None = None
    sterilisation_lot: str | None = None
    code: str | None = None
    item: ItemRef | None = None
    location: LocationRef | None = None
    #: true when the barcode's own expiry (AI 17) has passed: the unit must not be used, whatever the books say
    expired: bool | None = None


def scan_out(scan: Scan, **extra: object) -> ScanOut:
    fields = {f: getattr(scan, f) for f in ScanOut.__struct_fields__ if hasattr(scan, f) and f != "elements"}
    return ScanOut(elements=[ElementOut(e.ai, e.value) for e in scan.elements], **fields, **extra)  # type: ignore[arg-type]  # fields copied by name from Scan, whose types ScanOut repeats


async def interpret_scan(db: async_sessionmaker, settings: Settings, raw: str, today: dt.date) -> ScanOut:
    """What the handheld read, with the item and location it names in this warehouse."""
    scan = read(raw, settings, today)
    item = location = None
    async with db() as session:
        if match := await match_item(session, scan):
            item = ItemRef(
                match.erp_id,
                match.name,
                match.gtin,
                match.pack_level,
                match.pack_quantity,
                match.units,
                match.lot_tracked,
                match.serial_tracked,
                match.expiry_tracked,
            )
        if loc := await match_location(session, scan):
            location = LocationRef(loc.code, loc.type, loc.zone, loc.frozen)
    expired = True if is_expired(scan.expiry, today) else None
    return scan_out(scan, item=item, location=location, expired=expired)

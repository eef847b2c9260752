"""``POST /api/v1/scans/interpret``: what did the handheld just read, and what is it here?"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec
from litestar import post
from litestar.params import JSONBody
from msgspec import Meta

from udipick.api.deps import AppSettings, Db, allow
from udipick.domain.barcodes import Scan
from udipick.services import scans


class ScanIn(msgspec.Struct, rename="camel"):
    raw: Annotated[str, Meta(max_length=4096)]


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
    kind: str
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
    code: str | None = None
    item: ItemRef | None = None
    location: LocationRef | None = None


def scan_out(scan: Scan, **extra: object) -> ScanOut:
    fields = {f: getattr(scan, f) for f in ScanOut.__struct_fields__ if hasattr(scan, f) and f != "elements"}
    return ScanOut(elements=[ElementOut(e.ai, e.value) for e in scan.elements], **fields, **extra)  # type: ignore[arg-type]


@post("/api/v1/scans/interpret", status_code=200, **allow(any_user=True, scopes=("erp:read",)))
async def interpret_scan(data: JSONBody[ScanIn], db: Db, settings: AppSettings) -> ScanOut:
    """Unreadable input gets a 422 problem naming the position and the reason."""
    scan = scans.read(data.raw, settings, dt.date.today())
    item = location = None
    async with db() as session:
        if match := await scans.match_item(session, scan):
            item = ItemRef(match.erp_id, match.name, match.gtin, match.pack_level, match.pack_quantity, match.units,
                           match.lot_tracked, match.serial_tracked, match.expiry_tracked)
        if loc := await scans.match_location(session, scan):
            location = LocationRef(loc.code, loc.type, loc.zone, loc.frozen)
    return scan_out(scan, item=item, location=location)

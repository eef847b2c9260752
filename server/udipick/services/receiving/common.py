"""What receipt and putaway both need: the receipt's number, the person doing the work, and the
item a scan names."""

from __future__ import annotations

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from udipick.domain.access import Actor
from udipick.domain.barcodes import Scan
from udipick.domain.errors import PermissionDenied, UnknownGtin
from udipick.domain.udi_di import DiKey, item_key, key_text
from udipick.services import scans


def receipt_number(receipt_id: int) -> str:
    return f"RCV-{receipt_id:06d}"


def receiving_user(actor: Actor) -> int:
    if actor.user_id is None:
        raise PermissionDenied("receiving is done by a signed-in person on a handheld, not by an API key")
    return actor.user_id


async def identify_item(session: AsyncSession, scan: Scan) -> scans.ItemMatch:
    """The item (at the pack level scanned) a goods barcode names; a location, plate or badge label is
    refused, so it is never taken for goods."""
    if scan.kind in ("location", "lpn", "tote", "badge", "sscc"):
        raise UnknownGtin(
            f"{scan.raw.strip()} is a {scan.kind} label, not goods: scan the barcode on the item or its pack",
            kind=scan.kind,
        )
    match = await scans.match_item(session, scan)
    if match is None:
        key = item_key(scan)
        code = key_text(key) or scan.raw.strip()
        agency = {"agency": key.agency, "di": key.di} if isinstance(key, DiKey) else {}
        raise UnknownGtin(
            f"{code} is not an item udipick knows: set the goods aside and ask for the item master",
            gtin=code,
            **agency,
        )
    return match


class ContentLine(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    """One piece of stock on a licence plate."""

    item: str
    gtin: str
    lot: str | None
    serial: str | None
    quantity: int
    status: str

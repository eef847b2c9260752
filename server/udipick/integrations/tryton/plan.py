"""Pure translations between Tryton's records and udipick's ERP contract, both ways (no I/O).

Into udipick: a Tryton record becomes the JSON body of ``POST /api/v1/erp/<kind>``; its version is
Tryton's change time (``write_date``, else ``create_date``, of the record and its lines) in microseconds,
so every change Tryton saves is a newer version and a re-send of an unchanged record is a replay.

Back into Tryton: a udipick event becomes the stock moves that book it, each between two of the
warehouse's roles (``supplier``, ``storage``, ``output``, ``customer``, ``lost_found``). udipick's bins are
its own business: Tryton keeps the warehouse's stock in its storage zone, picked and packed units in its
output zone until they ship, so both sides agree on stock by item and lot at any quiet moment.
Serial numbers: Tryton 8 has no serials, so a serial-only unit is booked under a lot whose number is the
serial (``lot or serial``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Role = Literal["supplier", "storage", "output", "customer", "lost_found"]

#: the events that move stock in or out of the warehouse or between its zones
BOOKED_EVENTS = (
    "receipt.confirmed.v1",
    "pick.confirmed.v1",
    "put-back.confirmed.v1",
    "pick.undone.v1",
    "shipment.confirmed.v1",
    "stock.adjusted.v1",
    "count.adjusted.v1",
    "return.received.v1",
    "return.disposed.v1",
    "stock.scrapped.v1",
)

#: every other event, deliberately not booked, and why: none changes Tryton's stock by product, lot and zone
#: (``tests/unit/test_tryton_plan.py`` checks that each of udipick's event types is in one of the two lists)
NOT_BOOKED: dict[str, str] = {
    "receipt.discrepancy-recorded.v1": "a record of short, over or damaged units; what arrived is in receipt.confirmed.v1",
    "putaway.completed.v1": "between udipick's bins, all in Tryton's storage zone",
    "qc.released.v1": "a stock status change (quarantine to available)",
    "qc.rejected.v1": "a stock status change; rejected units leave only when scrapped (stock.scrapped.v1)",
    "first-business.approved.v1": "a GSP approval of a supplier or a product: no stock moves",
    "first-business.revoked.v1": "a GSP revocation: no stock moves; receiving refuses from then on",
    "regulatory.exception-approved.v1": "QA's GSP exception for a receipt or an order: no stock moves",
    "wave.released.v1": "reservations only",
    "wave.cancelled.v1": "reservations released; picked units come back as put-back.confirmed.v1",
    "order.cancelled.v1": "reservations released; picked units come back as put-back.confirmed.v1",
    "order.line-cancelled.v1": "reservations released; picked units come back as put-back.confirmed.v1",
    "pick.refused.v1": "nothing moved",
    "pick.override.approved.v1": "an approval; the pick itself is pick.confirmed.v1",
    "pick.shorted.v1": "nothing moved (the count that may follow is stock.adjusted.v1)",
    "stock.alert.raised.v1": "nothing moved",
    "coldchain.excursion-recorded.v1": "a temperature reading; nothing moved",
    "hold.placed.v1": "a stock status change",
    "hold.released.v1": "a stock status change",
    "package.packed.v1": "picked to packed, both in Tryton's output zone",
    "stock.counted.v1": "the count itself; its differences are stock.adjusted.v1",
    "replenishment.created.v1": "a task; nothing moved yet",
    "replenishment.increased.v1": "a task; nothing moved yet",
    "replenishment.confirmed.v1": "reserve to pick face, both in Tryton's storage zone",
    "replenishment.suggested.v1": "a suggestion to the ERP",
    "replenishment.cancelled.v1": "a task cancelled; nothing moved",
    "stock.moved.v1": "between udipick's bins or licence plates (status kept), all in Tryton's storage zone",
    "recall.opened.v1": "a stock status change (recalled)",
    "recall.closed.v1": "a status change; destroyed units are scrapped as stock.scrapped.v1",
    "stock.opening-booked.v1": "the opening balance: the ERP's own stock list, already on its books",
    "stock.expired.v1": "a stock status change (expired); expired units leave only when scrapped",
    "purchase-order.cancelled.v1": "a document's status; no stock moved",
}

EPOCH = dt.datetime(1970, 1, 1)


def version(*stamps: dt.datetime | None) -> int:
    """Tryton's latest change time among ``stamps`` (naive UTC) in microseconds: udipick's document version."""
    latest = max(s for s in stamps if s is not None)
    return (latest - EPOCH) // dt.timedelta(microseconds=1)


@dataclass(frozen=True)
class MoveSpec:
    """One Tryton stock move to create and set done."""

    item: str
    lot: str | None
    expiry: dt.date | None
    quantity: int
    source: Role
    destination: Role


def _lot(unit: Mapping[str, Any]) -> str | None:
    return unit.get("lot") or unit.get("serial")


def _expiry(unit: Mapping[str, Any]) -> dt.date | None:
    raw = unit.get("expiry")
    return dt.date.fromisoformat(raw) if raw else None


def moves_for(event_type: str, data: Mapping[str, Any]) -> list[MoveSpec]:
    """The moves that book one udipick event in Tryton (empty: nothing to book)."""

    def move(unit: Mapping[str, Any], quantity: int, source: Role, destination: Role) -> MoveSpec:
        return MoveSpec(unit["item"], _lot(unit), _expiry(unit), quantity, source, destination)

    if event_type == "receipt.confirmed.v1":
        return [move(data, data["quantity"], "supplier", "storage")] if data["quantity"] > 0 else []
    if event_type == "pick.confirmed.v1":
        return [move(data, data["quantity"], "storage", "output")] if data["quantity"] > 0 else []
    if event_type in ("put-back.confirmed.v1", "pick.undone.v1"):
        return [move(data, data["quantity"], "output", "storage")] if data["quantity"] > 0 else []
    if event_type == "shipment.confirmed.v1":
        return [move(line, line["quantity"], "output", "customer") for line in data["lines"] if line["quantity"] > 0]
    if event_type in ("stock.adjusted.v1", "count.adjusted.v1"):
        diff = data["difference"] if event_type == "stock.adjusted.v1" else data["delta"]
        if diff > 0:
            return [move(data, diff, "lost_found", "storage")]
        if diff < 0:
            return [move(data, -diff, "storage", "lost_found")]
    if event_type == "return.received.v1":
        # into quarantine in udipick: a status, so into Tryton's storage zone like any receipt
        return [move(data, data["quantity"], "customer", "storage")] if data["quantity"] > 0 else []
    if event_type == "return.disposed.v1":
        # restock releases the units where they are (a putaway between udipick's bins follows): Tryton has
        # them in storage since the return, nothing more to book
        out = RETURN_DISPOSITIONS.get(data["decision"])
        return [move(data, data["quantity"], "storage", out)] if out and data["quantity"] > 0 else []
    if event_type == "stock.scrapped.v1":
        # only stock in udipick's bins is scrapped, never picked or packed units (Tryton's output zone)
        return [move(data, data["quantity"], "storage", "lost_found")] if data["quantity"] > 0 else []
    return []


#: where a return decision takes the units in Tryton (``restock``: nowhere, they stay in storage)
RETURN_DISPOSITIONS: dict[str, Role] = {"scrap": "lost_found", "to_supplier": "supplier"}


# ---- Tryton → udipick -------------------------------------------------------------------------------------


def item_record(product: Mapping[str, Any]) -> dict[str, Any] | None:
    """``POST /erp/items`` for a Tryton product: ``None`` when it has no code or no GTIN (udipick finds
    an item by the GTIN in its barcode; an item without one could never be scanned)."""
    gtin = product.get("gtin")
    if not product.get("code") or not gtin:
        return None
    expiry = product.get("shelf_life_state", "none") != "none" or product.get("expiration_state", "none") != "none"
    return {
        "erpId": product["code"],
        "version": product["version"],
        "gtin": gtin,
        "name": product["name"][:200],
        "baseUnit": "EA",
        # medical devices: a product whose lots Tryton requires anywhere, or that expires, is lot-tracked
        "lotTracked": bool(product.get("lot_required")) or expiry,
        "expiryTracked": expiry,
    }


def party_record(party: Mapping[str, Any], kind: Literal["customer", "supplier"]) -> dict[str, Any]:
    return {"erpId": party["code"], "version": party["version"], "name": party["name"][:200]}


def location_record(location: Mapping[str, Any], warehouse: str) -> dict[str, Any]:
    """A Tryton storage location as a udipick reserve location of ``warehouse``."""
    return {
        "code": location["code"],
        "version": location["version"],
        "zone": (location.get("parent_code") or "TRYTON")[:32],
        "type": "reserve",
        "warehouse": warehouse,
    }


def purchase_record(purchase: Mapping[str, Any], warehouse: str) -> dict[str, Any] | None:
    lines = [
        {"lineNo": ln["id"], "item": ln["product_code"], "quantity": int(ln["quantity"])}
        for ln in purchase["lines"]
        if ln.get("product_code") and ln["quantity"] >= 1
    ]
    if not lines:
        return None
    record = {
        "erpId": purchase["number"],
        "version": purchase["version"],
        "number": purchase["number"],
        "supplier": purchase["party_code"],
        "lines": lines,
        "warehouse": warehouse,
    }
    if purchase.get("date"):
        record["expectedDate"] = purchase["date"].isoformat()
    return record


def purchase_cancelled(purchase: Mapping[str, Any]) -> bool:
    """Whether Tryton cancelled the purchase: nothing more is expected from the supplier.

    Tryton cancels a purchase in one of two ways. A draft or quotation has a cancel button (state
    ``cancelled``; a confirmed one that has not started processing goes back to draft first). One already
    processing, as every confirmed purchase udipick has, is cancelled by cancelling its moves and handling
    the shipment exception by ignoring them; it then ends ``done``. A cancelled move not yet handled (the
    buyer may still recreate it) or a move still pending means the purchase goes on."""
    if purchase["state"] == "cancelled":
        return True
    moves = [m for ln in purchase["lines"] for m in ln.get("moves", ())]
    if not moves or any(m["state"] not in ("done", "cancelled") for m in moves):
        return False
    cancelled = [m for m in moves if m["state"] == "cancelled"]
    return bool(cancelled) and all(m["ignored"] for m in cancelled)


def sale_record(sale: Mapping[str, Any], warehouse: str) -> dict[str, Any] | None:
    lines = [
        {"lineNo": ln["id"], "item": ln["product_code"], "quantity": int(ln["quantity"])}
        for ln in sale["lines"]
        if ln.get("product_code") and ln["quantity"] >= 1
    ]
    if not lines:
        return None
    address = sale.get("address") or {}
    ship_to: dict[str, Any] = {"name": (address.get("name") or sale["party_name"])[:200]}
    street = [s[:200] for s in (address.get("street") or "").splitlines() if s.strip()]
    if street:
        ship_to["addressLines"] = street
    if address.get("city"):
        ship_to["city"] = address["city"][:100]
    if address.get("postal_code"):
        ship_to["postalCode"] = address["postal_code"][:20]
    if address.get("country"):
        ship_to["country"] = address["country"]
    record = {
        "erpId": sale["number"],
        "version": sale["version"],
        "number": sale["number"],
        "customer": sale["party_code"],
        "shipTo": ship_to,
        "lines": lines,
        "warehouse": warehouse,
    }
    if sale.get("date"):
        record["requestedDate"] = sale["date"].isoformat()
    return record


# ---- reconciliation -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StockDifference:
    item: str
    lot: str | None
    tryton: int
    udipick: int


def stock_differences(
    tryton: Mapping[tuple[str, str | None], int], udipick_rows: Iterable[Mapping[str, Any]], items: set[str]
) -> list[StockDifference]:
    """Where Tryton and udipick disagree on stock by item and lot, for the items both keep.

    ``udipick_rows`` are the stock snapshot's rows (every status counts: picked and packed units are still
    in the warehouse, in Tryton's output zone); a serial-only row counts under its serial, as it is booked."""
    ours: dict[tuple[str, str | None], int] = {}
    for row in udipick_rows:
        if row["item"] in items:
            key = (row["item"], row.get("lot") or row.get("serial"))
            ours[key] = ours.get(key, 0) + int(row["quantity"])
    keys = sorted(set(ours) | {k for k in tryton if k[0] in items}, key=lambda k: (k[0], k[1] or ""))
    return [
        StockDifference(item, lot, tryton.get((item, lot), 0), ours.get((item, lot), 0))
        for item, lot in keys
        if tryton.get((item, lot), 0) != ours.get((item, lot), 0)
    ]

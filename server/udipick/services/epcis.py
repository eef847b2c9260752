"""udipick events as an EPCIS 2.0 JSON-LD document (GS1 EPCIS 2.0 / CBV 2.0).

Each physical event (receipt, putaway, QC decision, pick, replenishment, hold, pack, shipment) becomes one
``ObjectEvent``: serialised units as SGTINs in ``epcList``, lot-level quantities as LGTIN classes in
``quantityList``, cartons and pallets as SSCCs — all as GS1 Digital Link URIs
(``https://id.gs1.org/01/{gtin}/21/{serial}``), which EPCIS 2.0 accepts and which need no company
prefix length. A receipt is the point where units enter udipick's records, so it is ``action: ADD``
with ILMD (lot number, item expiration date: the UDI production identifiers); everything later is
``OBSERVE``. Locations are the warehouse GLN plus the location code as GLN extension (AI 254).

Events with no identifiable objects (a wave released, a refused scan) have no EPCIS counterpart
and are left out; ``udipick:position`` on each ObjectEvent ties it back to the stream.

``object_event`` and ``document`` are pure; ``events_document`` reads a page of the stream and the
warehouse GLN for them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, Literal
from urllib.parse import quote

import msgspec
from msgspec import UNSET, UnsetType
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker

from udipick.services import outbox

CONTEXT: list[Any] = [
    "https://ref.gs1.org/standards/epcis/epcis-context.jsonld",
    {"udipick": "https://udipick.org/ns/epcis/", "cbvmda": "urn:epcglobal:cbv:mda:"},
]
DL = "https://id.gs1.org"

#: event type → (bizStep, disposition, action); disposition ``None``: from the stock status
MAPPING: dict[str, tuple[str, str | None, str]] = {
    "receipt.confirmed.v1": ("receiving", None, "ADD"),
    "putaway.completed.v1": ("storing", "sellable_accessible", "OBSERVE"),
    "qc.released.v1": ("inspecting", "conformant", "OBSERVE"),
    "qc.rejected.v1": ("inspecting", "non_conformant", "OBSERVE"),
    "pick.confirmed.v1": ("picking", "in_progress", "OBSERVE"),
    "hold.placed.v1": ("holding", "non_sellable_other", "OBSERVE"),
    "hold.released.v1": ("holding", "available", "OBSERVE"),
    "package.packed.v1": ("packing", "container_closed", "OBSERVE"),
    "shipment.confirmed.v1": ("shipping", "in_transit", "OBSERVE"),
    "recall.opened.v1": ("holding", "recalled", "OBSERVE"),
    # disposition from how the recall was closed (``RECALL_DISPOSITION``)
    "recall.closed.v1": ("holding", None, "OBSERVE"),
    "stock.adjusted.v1": ("stock_taking", None, "OBSERVE"),
    "count.completed.v1": ("cycle_counting", None, "OBSERVE"),
    "stock.counted.v1": ("cycle_counting", "sellable_accessible", "OBSERVE"),
    # CBV "stocking": product moved from a storage area to where it is made available (reserve -> pick face)
    "replenishment.confirmed.v1": ("stocking", "sellable_accessible", "OBSERVE"),
}

STATUS_DISPOSITION = {
    "available": "available",
    "quarantine": "non_sellable_other",
    "hold": "non_sellable_other",
    "rejected": "non_conformant",
    "damaged": "damaged",
    "picked": "in_progress",
    "packed": "container_closed",
}


#: a closed recall's disposition → CBV disposition of its lots
RECALL_DISPOSITION = {"destroyed": "destroyed", "returned_to_supplier": "returned", "released": "available"}


def _seg(value: str) -> str:
    return quote(str(value), safe="")


def sgtin(gtin: str, serial: str) -> str:
    return f"{DL}/01/{gtin}/21/{_seg(serial)}"


def lgtin(gtin: str, lot: str | None) -> str:
    return f"{DL}/01/{gtin}/10/{_seg(lot)}" if lot else f"{DL}/01/{gtin}"


def sscc_uri(sscc: str) -> str:
    return f"{DL}/00/{sscc}"


def location_uri(gln: str | None, code: str) -> str:
    if gln:
        return f"{DL}/414/{gln}/254/{_seg(code)}"
    return f"urn:udipick:location:{_seg(code)}"


def _objects(data: Mapping[str, Any], epcs: list[str], quantities: list[dict], ilmd: dict[str, str]) -> None:
    gtin = data.get("gtin")
    lot = data.get("lot")
    serials = list(data.get("serials") or [])
    if data.get("serial"):
        serials.append(data["serial"])
    if gtin:
        if serials:
            epcs.extend(sgtin(gtin, s) for s in serials)
        else:
            element: dict[str, Any] = {"epcClass": lgtin(gtin, lot)}
            qty = data.get("quantity")
            if isinstance(qty, int) and qty > 0:  # whole base units, as every udipick event counts them
                element["quantity"] = qty
            quantities.append(element)
        if lot and "cbvmda:lotNumber" not in ilmd:
            ilmd["cbvmda:lotNumber"] = lot
        expiry = data.get("expiry")
        if expiry and "cbvmda:itemExpirationDate" not in ilmd:
            ilmd["cbvmda:itemExpirationDate"] = str(expiry)[:10]
    for key in ("sscc",):
        if data.get(key):
            epcs.append(sscc_uri(data[key]))
    for s in data.get("ssccs") or []:
        epcs.append(sscc_uri(s))
    for key in ("contents", "lines", "items", "lots"):
        for part in data.get(key) or []:
            if isinstance(part, Mapping):
                _objects(part, epcs, quantities, ilmd)


def _counted(data: Mapping[str, Any]) -> dict[str, Any]:
    """A count observed what was found: the lots and serials counted above zero (what was missing is
    in the ``stock.adjusted.v1`` events); a count that found nothing has no objects and is left out."""
    found = [
        {"gtin": data["gtin"], "lot": ln.get("lot"), "serial": ln.get("serial"), "quantity": ln["counted"]}
        for ln in data.get("lines") or []
        if ln.get("counted", 0) > 0
    ]
    return {"location": data.get("location"), "lines": found}


def _time(value: str | dt.datetime) -> str:
    t = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return t.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def object_event(event: Mapping[str, Any], *, gln: str | None) -> dict[str, Any] | None:
    """One stream message (``position``, ``eventId``, ``type``, ``occurredAt``, ``data``) → ObjectEvent."""
    mapping = MAPPING.get(event["type"])
    if mapping is None:
        return None
    biz_step, disposition, action = mapping
    data: Mapping[str, Any] = event["data"]
    if event["type"] == "stock.counted.v1":
        data = _counted(data)
    if event["type"] in ("recall.opened.v1", "recall.closed.v1"):
        data = {"lots": data.get("lots") or []}  # the recalled lots, never the whole item the event also names
    epcs: list[str] = []
    quantities: list[dict] = []
    ilmd: dict[str, str] = {}
    _objects(data, epcs, quantities, ilmd)
    if not epcs and not quantities:
        return None
    if disposition is None and event["type"] == "recall.closed.v1":
        disposition = RECALL_DISPOSITION.get(str(data.get("disposition")), "unknown")
    if disposition is None:
        disposition = STATUS_DISPOSITION.get(str(data.get("status")), "unknown")
    out: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventID": f"urn:uuid:{event['eventId']}",
        "eventTime": _time(event["occurredAt"]),
        "eventTimeZoneOffset": "+00:00",
        "action": action,
        "bizStep": biz_step,
        "disposition": disposition,
    }
    if epcs:
        out["epcList"] = list(dict.fromkeys(epcs))
    if quantities:
        out["quantityList"] = quantities
    where = data.get("toLocation") or data.get("location")
    if where:
        out["readPoint"] = {"id": location_uri(gln, where)}
        out["bizLocation"] = {"id": location_uri(gln, where)}
    elif gln:
        out["bizLocation"] = {"id": f"{DL}/414/{gln}"}
    transactions = []
    if data.get("document"):
        transactions.append({"type": "po", "bizTransaction": f"urn:udipick:inbound:{_seg(data['document'])}"})
    if data.get("order"):
        transactions.append({"bizTransaction": f"urn:udipick:order:{_seg(data['order'])}"})
    if transactions:
        out["bizTransactionList"] = transactions
    if action == "ADD" and ilmd:
        out["ilmd"] = ilmd
    out["udipick:position"] = event["position"]
    out["udipick:eventType"] = event["type"]
    return out


# ---- the document's shape (EPCIS 2.0 JSON-LD member names, as GS1's JSON Schema spells them) -------------


class EpcisQuantity(msgspec.Struct):
    epc_class: str = msgspec.field(name="epcClass")
    #: whole base units (EPCIS allows decimals; udipick counts units)
    quantity: int | UnsetType = UNSET


class EpcisPlace(msgspec.Struct):
    id: str


class EpcisBizTransaction(msgspec.Struct, kw_only=True):
    type: str | UnsetType = UNSET
    biz_transaction: str = msgspec.field(name="bizTransaction")


class ObjectEvent(msgspec.Struct, kw_only=True):
    """One physical event. Optional members are left out, never sent as null (GS1's schema refuses null)."""

    type: Literal["ObjectEvent"]
    event_id: str = msgspec.field(name="eventID")
    event_time: str = msgspec.field(name="eventTime")
    event_time_zone_offset: str = msgspec.field(name="eventTimeZoneOffset")
    action: Literal["ADD", "OBSERVE", "DELETE"]
    biz_step: str = msgspec.field(name="bizStep")
    disposition: str
    epc_list: list[str] | UnsetType = msgspec.field(default=UNSET, name="epcList")
    quantity_list: list[EpcisQuantity] | UnsetType = msgspec.field(default=UNSET, name="quantityList")
    read_point: EpcisPlace | UnsetType = msgspec.field(default=UNSET, name="readPoint")
    biz_location: EpcisPlace | UnsetType = msgspec.field(default=UNSET, name="bizLocation")
    biz_transaction_list: list[EpcisBizTransaction] | UnsetType = msgspec.field(
        default=UNSET, name="bizTransactionList"
    )
    #: the production identifiers of units a receipt adds (lot number, expiry)
    ilmd: dict[str, str] | UnsetType = UNSET
    #: where the event is in udipick's stream, and its udipick type
    position: int = msgspec.field(name="udipick:position")
    event_type: str = msgspec.field(name="udipick:eventType")


class EpcisBody(msgspec.Struct):
    event_list: list[ObjectEvent] = msgspec.field(name="eventList")


class EpcisDocument(msgspec.Struct):
    context: list[Any] = msgspec.field(name="@context")
    type: Literal["EPCISDocument"]
    schema_version: str = msgspec.field(name="schemaVersion")
    creation_date: str = msgspec.field(name="creationDate")
    epcis_body: EpcisBody = msgspec.field(name="epcisBody")


def document(events: Iterable[Mapping[str, Any]], *, gln: str | None, now: dt.datetime) -> EpcisDocument:
    body = [e for e in (object_event(ev, gln=gln) for ev in events) if e is not None]
    return EpcisDocument(
        context=CONTEXT,
        type="EPCISDocument",
        schema_version="2.0",
        creation_date=_time(now),
        epcis_body=EpcisBody(msgspec.convert(body, list[ObjectEvent])),
    )


class EpcisPage(msgspec.Struct):
    document: EpcisDocument
    #: the cursor for the next page: events without an EPCIS counterpart count too
    next_after: int


async def events_document(db: async_sessionmaker, after: str, limit: int, *, now: dt.datetime) -> EpcisPage:
    """A page of the stream as one EPCIS document, located at the warehouse's GLN (the first one set)."""
    page = await outbox.events_after(db, after, limit)
    async with db() as session:
        gln = await session.scalar(text("SELECT gln FROM warehouses WHERE gln IS NOT NULL ORDER BY id LIMIT 1"))
    messages = [msgspec.json.decode(outbox.ENCODER.encode(e)) for e in page.events]
    return EpcisPage(document(messages, gln=gln, now=now), page.next_after)

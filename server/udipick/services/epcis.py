"""udipick events as an EPCIS 2.0 JSON-LD document (GS1 EPCIS 2.0 / CBV 2.0) a trading partner can trace with.

Each physical event (receipt, putaway, QC decision, pick, replenishment, hold, shipment, count) becomes
one ``ObjectEvent``: serialised units as SGTINs in ``epcList``, lot-level quantities as LGTIN classes in
``quantityList``, cartons and pallets as SSCCs, all as GS1 Digital Link URIs
(``https://id.gs1.org/01/{gtin}/21/{serial}``), which EPCIS 2.0 accepts and which need no company
prefix length (the products are other companies'). A receipt is the point where units enter udipick's
records, so it is ``action: ADD`` with ILMD (lot number, item expiration date: the UDI production
identifiers); everything later is ``OBSERVE``. Closing a carton is an ``AggregationEvent`` (``ADD``):
the SSCC is ``parentID``, its units ``childEPCs`` / ``childQuantityList``.

Places and parties come from the site record (``services/site.py``, ``domain/site.py``):

* a location is the site's SGLN with the location code as GLN extension
  (``urn:epc:id:sgln:0614141.00000.A-01-01``); an event with no location names the site
  (``urn:epc:id:sgln:0614141.00000.0``); a code that cannot be an extension (not GS1 character set 82,
  longer than 20, or ``0``) names the site and travels as ``udipick:location``;
* a shipment's ``sourceList`` is the company (``owning_party``, PGLN) and the site (``location``); its
  ``destinationList`` the customer's GLN (``owning_party``, ``https://id.gs1.org/417/...``) and the
  ship-to's GLN, else the customer's (``location``, ``https://id.gs1.org/414/...``), when the ERP sent them;
* business transactions carry their CBV 2.0 type: ``po`` for a purchase order received against and for
  the customer's order picked, packed and shipped, ``desadv`` for an ASN received against; the identifier
  is CBV's ``urn:epcglobal:cbv:bt:<site GLN>:<ERP document number>``.

Without a site record there is no GS1 key to build on: locations stay ``urn:udipick:location:<code>``
and documents ``urn:udipick:<type>:<number>``, which a partner cannot resolve.

Events with no identifiable objects (a wave released, a refused scan) have no EPCIS counterpart
and are left out; ``udipick:position`` on each event ties it back to the stream.

``epcis_event`` and ``document`` are pure; ``events_document`` reads a page of the stream, the site
record and the kinds of the inbound documents for them.
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

from udipick.domain.site import SiteIds, location_uri, party_uri
from udipick.services import outbox
from udipick.services.site import load_site

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
    # an AggregationEvent: ADD begins the SSCC's parent-child link
    "package.packed.v1": ("packing", "container_closed", "ADD"),
    "shipment.confirmed.v1": ("shipping", "in_transit", "OBSERVE"),
    # units of a cancelled order, taken back from staging to the shelf they came from
    "put-back.confirmed.v1": ("storing", "sellable_accessible", "OBSERVE"),
    # a pick scan taken back moments after it: the units are back on the shelf they were picked from
    "pick.undone.v1": ("storing", "sellable_accessible", "OBSERVE"),
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


def _place(site: SiteIds | None, code: str) -> tuple[str, str | None]:
    """(URI, the code when the URI could not carry it). With no site record there is no GS1 key to build
    on: the private URN keeps the code, but a trading partner cannot resolve it."""
    if site is None:
        return f"urn:udipick:location:{_seg(code)}", None
    sgln = site.location_sgln(code)
    return (sgln, None) if sgln is not None else (site.sgln(), code)


def _transaction(site: SiteIds | None, kind: str, number: str) -> dict[str, str]:
    """A business transaction with its CBV 2.0 type. udipick knows documents by the ERP's numbers, so the
    identifier is CBV's own form for them, ``urn:epcglobal:cbv:bt:<GLN of the numbering party>:<number>``."""
    if site is None:
        return {"type": kind, "bizTransaction": f"urn:udipick:{kind}:{_seg(number)}"}
    return {"type": kind, "bizTransaction": f"urn:epcglobal:cbv:bt:{site.gln}:{_seg(number)}"}


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


def _aggregation(data: Mapping[str, Any], out: dict[str, Any]) -> bool:
    """A carton closed: the SSCC is the parent, its serialised units the children by SGTIN, its lot-level
    units the children by LGTIN class and quantity (one element per class). A partner who receives the
    SSCC can then name every unit inside without opening it."""
    epcs: list[str] = []
    quantities: list[dict] = []
    for part in data.get("contents") or []:
        if isinstance(part, Mapping):
            _objects(part, epcs, quantities, {})
    if not data.get("sscc") or not (epcs or quantities):
        return False
    out["parentID"] = sscc_uri(data["sscc"])
    if epcs:
        out["childEPCs"] = list(dict.fromkeys(epcs))
    if quantities:
        merged: dict[str, dict[str, Any]] = {}
        for q in quantities:
            known = merged.setdefault(q["epcClass"], {"epcClass": q["epcClass"]})
            if "quantity" in q:
                known["quantity"] = known.get("quantity", 0) + q["quantity"]
        out["childQuantityList"] = list(merged.values())
    return True


def _parties(data: Mapping[str, Any], site: SiteIds | None, out: dict[str, Any]) -> None:
    """Shipping: from this company at this site, to the customer (by its GLN) at the ship-to (by the ship-to's
    GLN, else the customer's). A party or place without a GLN is left out: there is no key a partner knows."""
    if site is not None:
        out["sourceList"] = [
            {"type": "owning_party", "source": site.pgln()},
            {"type": "location", "source": site.sgln()},
        ]
    ship_to = data.get("shipTo") or {}
    customer_gln = data.get("customerGln")
    place_gln = ship_to.get("gln") if isinstance(ship_to, Mapping) else None
    destinations = []
    if customer_gln:
        destinations.append({"type": "owning_party", "destination": party_uri(customer_gln)})
    if place_gln or customer_gln:
        destinations.append({"type": "location", "destination": location_uri(place_gln or customer_gln)})
    if destinations:
        out["destinationList"] = destinations


def epcis_event(
    event: Mapping[str, Any], *, site: SiteIds | None, document_kinds: Mapping[str, str] | None = None
) -> dict[str, Any] | None:
    """One stream message (``position``, ``eventId``, ``type``, ``occurredAt``, ``data``) → an EPCIS event.

    ``site``: the site record's GLN and company prefix (``None``: no site record, private location URNs);
    ``document_kinds``: inbound document number → ``purchase_order`` / ``asn``, for the CBV type of a receipt's
    business transaction (``po`` / ``desadv``).
    """
    mapping = MAPPING.get(event["type"])
    if mapping is None:
        return None
    biz_step, disposition, action = mapping
    data: Mapping[str, Any] = event["data"]
    if event["type"] == "stock.counted.v1":
        data = _counted(data)
    if event["type"] in ("recall.opened.v1", "recall.closed.v1"):
        # the recalled lots (or serials: one SGTIN each), never the whole item the event also names
        data = {
            "lots": [*(data.get("lots") or []), *(data.get("serials") or [])],
            "disposition": data.get("disposition"),
        }
        if disposition is None and event["type"] == "recall.closed.v1":
            disposition = RECALL_DISPOSITION.get(str(data.get("disposition")), "unknown")
    out: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventID": f"urn:uuid:{event['eventId']}",
        "eventTime": _time(event["occurredAt"]),
        "eventTimeZoneOffset": "+00:00",
    }
    ilmd: dict[str, str] = {}
    if event["type"] == "package.packed.v1":
        out["type"] = "AggregationEvent"
        if not _aggregation(data, out):
            return None
    else:
        epcs: list[str] = []
        quantities: list[dict] = []
        _objects(data, epcs, quantities, ilmd)
        if not epcs and not quantities:
            return None
        if epcs:
            out["epcList"] = list(dict.fromkeys(epcs))
        if quantities:
            out["quantityList"] = quantities
    if disposition is None:
        disposition = STATUS_DISPOSITION.get(str(data.get("status")), "unknown")
    out.update(action=action, bizStep=biz_step, disposition=disposition)
    where = data.get("toLocation") or data.get("location")
    if where:
        place, unexpressed = _place(site, where)
        out["readPoint"] = {"id": place}
        out["bizLocation"] = {"id": place}
        if unexpressed is not None:
            out["udipick:location"] = unexpressed
    elif site is not None:
        out["bizLocation"] = {"id": site.sgln()}
    transactions = []
    if data.get("document"):
        kind = {"asn": "desadv"}.get((document_kinds or {}).get(data["document"], ""), "po")
        transactions.append(_transaction(site, kind, data["document"]))
    if data.get("order"):
        transactions.append(_transaction(site, "po", data["order"]))  # the customer's order, as the ERP numbers it
    if transactions:
        out["bizTransactionList"] = transactions
    if event["type"] == "shipment.confirmed.v1":
        _parties(data, site, out)
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


class EpcisSource(msgspec.Struct):
    #: CBV source/destination type: ``owning_party`` or ``location``
    type: str
    source: str


class EpcisDestination(msgspec.Struct):
    type: str
    destination: str


class _Event(msgspec.Struct, kw_only=True, tag_field="type"):
    """Members every udipick event has. Optional members are left out, never sent as null (GS1's schema
    refuses null)."""

    event_id: str = msgspec.field(name="eventID")
    event_time: str = msgspec.field(name="eventTime")
    event_time_zone_offset: str = msgspec.field(name="eventTimeZoneOffset")
    action: Literal["ADD", "OBSERVE", "DELETE"]
    biz_step: str = msgspec.field(name="bizStep")
    disposition: str
    read_point: EpcisPlace | UnsetType = msgspec.field(default=UNSET, name="readPoint")
    biz_location: EpcisPlace | UnsetType = msgspec.field(default=UNSET, name="bizLocation")
    biz_transaction_list: list[EpcisBizTransaction] | UnsetType = msgspec.field(
        default=UNSET, name="bizTransactionList"
    )
    source_list: list[EpcisSource] | UnsetType = msgspec.field(default=UNSET, name="sourceList")
    destination_list: list[EpcisDestination] | UnsetType = msgspec.field(default=UNSET, name="destinationList")
    #: a location code that cannot be a GLN extension (``domain/site.py``): the places name the site
    location: str | UnsetType = msgspec.field(default=UNSET, name="udipick:location")
    #: where the event is in udipick's stream, and its udipick type
    position: int = msgspec.field(name="udipick:position")
    event_type: str = msgspec.field(name="udipick:eventType")


class ObjectEvent(_Event, kw_only=True, tag="ObjectEvent"):
    """One physical event on units, cartons or both."""

    epc_list: list[str] | UnsetType = msgspec.field(default=UNSET, name="epcList")
    quantity_list: list[EpcisQuantity] | UnsetType = msgspec.field(default=UNSET, name="quantityList")
    #: the production identifiers of units a receipt adds (lot number, expiry)
    ilmd: dict[str, str] | UnsetType = UNSET


class AggregationEvent(_Event, kw_only=True, tag="AggregationEvent"):
    """Units packed into an SSCC carton (the parent)."""

    parent_id: str = msgspec.field(name="parentID")
    child_epcs: list[str] | UnsetType = msgspec.field(default=UNSET, name="childEPCs")
    child_quantity_list: list[EpcisQuantity] | UnsetType = msgspec.field(default=UNSET, name="childQuantityList")


class EpcisBody(msgspec.Struct):
    event_list: list[ObjectEvent | AggregationEvent] = msgspec.field(name="eventList")


class EpcisDocument(msgspec.Struct):
    context: list[Any] = msgspec.field(name="@context")
    type: Literal["EPCISDocument"]
    schema_version: str = msgspec.field(name="schemaVersion")
    creation_date: str = msgspec.field(name="creationDate")
    epcis_body: EpcisBody = msgspec.field(name="epcisBody")


def document(
    events: Iterable[Mapping[str, Any]],
    *,
    site: SiteIds | None,
    now: dt.datetime,
    document_kinds: Mapping[str, str] | None = None,
) -> EpcisDocument:
    body = [e for e in (epcis_event(ev, site=site, document_kinds=document_kinds) for ev in events) if e is not None]
    return EpcisDocument(
        context=CONTEXT,
        type="EPCISDocument",
        schema_version="2.0",
        creation_date=_time(now),
        epcis_body=EpcisBody(msgspec.convert(body, list[ObjectEvent | AggregationEvent])),
    )


class EpcisPage(msgspec.Struct):
    document: EpcisDocument
    #: the cursor for the next page: events without an EPCIS counterpart count too
    next_after: int


async def events_document(db: async_sessionmaker, after: str, limit: int, *, now: dt.datetime) -> EpcisPage:
    """A page of the stream as one EPCIS document, placed at the site record's GLN."""
    page = await outbox.events_after(db, after, limit)
    messages = [msgspec.json.decode(outbox.ENCODER.encode(e)) for e in page.events]
    numbers = sorted({str(m["data"]["document"]) for m in messages if m["data"].get("document")})
    async with db() as session:
        record = await load_site(session)
        kinds = (
            dict(
                (
                    await session.execute(
                        text("SELECT erp_id, kind FROM inbound_documents WHERE erp_id = ANY(CAST(:n AS text[]))"),
                        {"n": numbers},
                    )
                ).all()
            )
            if numbers
            else {}
        )
    site = None if record is None else record.ids
    return EpcisPage(document(messages, site=site, now=now, document_kinds=kinds), page.next_after)

"""The trace of a lot, a serial or a carton: where the units came from, where they went, where they are.

One assembly for every trace (a recall's, a plain lot, serial or SSCC trace): the services gather
rows (receipt scans, ship movements of the ledger, stock rows) and this module groups them into the
three answers a recall needs within hours (EU MDR Art. 25, 21 CFR 806, ISO 13485 §7.5.9):

- **backward**: each receipt that brought the units in, its supplier, PO or ASN, date and receivers;
- **forward**: each shipment that took units out, its customer, ship-to, date, quantity, serials, SSCC;
- **now**: what is still in the building, by location and stock status (and carton, if packed).

Pure: rows in, a ``Trace`` out, and the same trace as CSV rows or a printable HTML page (zh-CN, en).
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import msgspec

from udipick.domain.values import Value

TraceKind = Literal["lot", "serial", "sscc", "recall"]
Lang = Literal["en", "zh-CN"]


# ---- facts the services gather (one row each) ----------------------------------------------------------


class ReceivedRow(Value):
    """Units one receipt scan accepted."""

    receipt_id: int
    #: its number as the dock knows it (``RCV-000012``)
    receipt: str
    received_at: dt.datetime
    receiver: str | None
    supplier: str | None
    supplier_name: str | None
    supplier_gln: str | None
    document_kind: str | None
    document: str | None
    gtin: str
    lot: str | None
    expiry: dt.date | None
    serial: str | None
    quantity: int
    status: str


class ShippedRow(Value):
    """Units one ship movement of the ledger took out of the building."""

    order: str
    order_number: str
    customer: str
    customer_name: str
    customer_gln: str | None
    ship_to: dict[str, Any]
    shipped_at: dt.datetime
    gtin: str
    lot: str | None
    expiry: dt.date | None
    serial: str | None
    sscc: str | None
    quantity: int


class StockNowRow(Value):
    """One stock row with units in it."""

    location: str
    location_type: str
    status: str
    sscc: str | None
    container: str | None
    #: the order a packed carton is for
    order: str | None
    gtin: str
    lot: str | None
    expiry: dt.date | None
    serial: str | None
    quantity: int
    reserved: int


# ---- the trace -----------------------------------------------------------------------------------------


class Party(msgspec.Struct, rename="camel", frozen=True):
    erp_id: str | None
    name: str | None
    gln: str | None


class TraceReceipt(msgspec.Struct, rename="camel"):
    """One receipt's units of one lot."""

    receipt: str
    #: first scan of these units
    received_at: dt.datetime
    receivers: list[str]
    supplier: Party
    #: ``purchase_order`` or ``asn``; ``null`` for a blind receipt
    document_kind: str | None
    document: str | None
    gtin: str
    lot: str | None
    expiry: dt.date | None
    quantity: int
    serials: list[str]


class TraceShipment(msgspec.Struct, rename="camel"):
    """One order's units of one lot in one carton (SSCC)."""

    order: str
    order_number: str
    customer: Party
    ship_to: dict[str, Any]
    shipped_at: dt.datetime
    gtin: str
    lot: str | None
    expiry: dt.date | None
    sscc: str | None
    quantity: int
    serials: list[str]


class TraceStock(msgspec.Struct, rename="camel"):
    """Units still in the building at one location, in one stock status (and carton)."""

    location: str
    location_type: str
    status: str
    sscc: str | None
    container: str | None
    order: str | None
    gtin: str
    lot: str | None
    expiry: dt.date | None
    quantity: int
    reserved: int
    serials: list[str]


class TraceTotals(msgspec.Struct, rename="camel"):
    received: int
    shipped: int
    in_stock: int
    customers: list[str]
    suppliers: list[str]


class Trace(msgspec.Struct, rename="camel"):
    kind: TraceKind
    gtin: str | None
    lots: list[str]
    serial: str | None
    sscc: str | None
    backward: list[TraceReceipt]
    forward: list[TraceShipment]
    now: list[TraceStock]
    totals: TraceTotals


def assemble(
    kind: TraceKind,
    *,
    gtin: str | None,
    lots: Sequence[str],
    serial: str | None = None,
    sscc: str | None = None,
    received: Iterable[ReceivedRow],
    shipped: Iterable[ShippedRow],
    now: Iterable[StockNowRow],
) -> Trace:
    """Group the rows: receipts by (receipt, lot), shipments by (order, SSCC, lot), stock by (location,
    status, carton, lot); serials listed within each group, sorted. Groups come in date order
    (receipts, shipments) and location order (stock), so two traces of the same facts are equal."""
    backward: dict[tuple[Any, ...], TraceReceipt] = {}
    for r in sorted(received, key=lambda r: (r.received_at, r.receipt_id, r.lot or "", r.serial or "")):
        got = backward.get((r.receipt_id, r.gtin, r.lot))
        if got is None:
            got = backward[(r.receipt_id, r.gtin, r.lot)] = TraceReceipt(
                receipt=r.receipt,
                received_at=r.received_at,
                receivers=[],
                supplier=Party(r.supplier, r.supplier_name, r.supplier_gln),
                document_kind=r.document_kind,
                document=r.document,
                gtin=r.gtin,
                lot=r.lot,
                expiry=r.expiry,
                quantity=0,
                serials=[],
            )
        got.quantity += r.quantity
        if r.receiver and r.receiver not in got.receivers:
            got.receivers.append(r.receiver)
        if r.serial:
            got.serials.append(r.serial)
    forward: dict[tuple[Any, ...], TraceShipment] = {}
    for s in sorted(shipped, key=lambda s: (s.shipped_at, s.order, s.sscc or "", s.lot or "", s.serial or "")):
        out = forward.get((s.order, s.sscc, s.gtin, s.lot))
        if out is None:
            out = forward[(s.order, s.sscc, s.gtin, s.lot)] = TraceShipment(
                order=s.order,
                order_number=s.order_number,
                customer=Party(s.customer, s.customer_name, s.customer_gln),
                ship_to=s.ship_to,
                shipped_at=s.shipped_at,
                gtin=s.gtin,
                lot=s.lot,
                expiry=s.expiry,
                sscc=s.sscc,
                quantity=0,
                serials=[],
            )
        out.quantity += s.quantity
        if s.serial:
            out.serials.append(s.serial)
    here: dict[tuple[Any, ...], TraceStock] = {}
    for n in sorted(
        now, key=lambda n: (n.location, n.status, n.sscc or n.container or "", n.lot or "", n.serial or "")
    ):
        where = (n.location, n.status, n.sscc, n.container, n.gtin, n.lot)
        at = here.get(where)
        if at is None:
            at = here[where] = TraceStock(
                location=n.location,
                location_type=n.location_type,
                status=n.status,
                sscc=n.sscc,
                container=n.container,
                order=n.order,
                gtin=n.gtin,
                lot=n.lot,
                expiry=n.expiry,
                quantity=0,
                reserved=0,
                serials=[],
            )
        at.quantity += n.quantity
        at.reserved += n.reserved
        if n.serial:
            at.serials.append(n.serial)
    totals = TraceTotals(
        received=sum(r.quantity for r in backward.values()),
        shipped=sum(s.quantity for s in forward.values()),
        in_stock=sum(n.quantity for n in here.values()),
        customers=sorted({s.customer.erp_id for s in forward.values() if s.customer.erp_id}),
        suppliers=sorted({r.supplier.erp_id for r in backward.values() if r.supplier.erp_id}),
    )
    return Trace(
        kind=kind,
        gtin=gtin,
        lots=sorted(set(lots)),
        serial=serial,
        sscc=sscc,
        backward=list(backward.values()),
        forward=list(forward.values()),
        now=list(here.values()),
        totals=totals,
    )


# ---- CSV and the printable page ------------------------------------------------------------------------

CSV_HEADER = (
    "direction",
    "date",
    "party",
    "party_name",
    "party_gln",
    "document",
    "reference",
    "gtin",
    "lot",
    "expiry",
    "quantity",
    "serials",
    "sscc",
    "location",
    "status",
)


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def csv_rows(trace: Trace) -> list[list[Any]]:
    """One row per receipt group (``backward``), shipment group (``forward``) and stock group (``now``)."""
    rows: list[list[Any]] = []
    for r in trace.backward:
        rows.append(
            [
                "backward",
                _iso(r.received_at),
                r.supplier.erp_id,
                r.supplier.name,
                r.supplier.gln,
                r.document,
                r.receipt,
                r.gtin,
                r.lot,
                _iso(r.expiry),
                r.quantity,
                " ".join(r.serials),
                None,
                None,
                ", ".join(r.receivers),
            ]
        )
    for s in trace.forward:
        rows.append(
            [
                "forward",
                _iso(s.shipped_at),
                s.customer.erp_id,
                s.customer.name,
                s.customer.gln,
                s.order_number,
                s.order,
                s.gtin,
                s.lot,
                _iso(s.expiry),
                s.quantity,
                " ".join(s.serials),
                s.sscc,
                _ship_to_line(s.ship_to),
                "shipped",
            ]
        )
    for n in trace.now:
        rows.append(
            [
                "now",
                None,
                None,
                None,
                None,
                n.order,
                n.container,
                n.gtin,
                n.lot,
                _iso(n.expiry),
                n.quantity,
                " ".join(n.serials),
                n.sscc,
                n.location,
                n.status,
            ]
        )
    return rows


def _ship_to_line(ship_to: dict[str, Any]) -> str:
    parts = [ship_to.get("name"), *(ship_to.get("addressLines") or []), ship_to.get("postalCode"), ship_to.get("city")]
    return ", ".join(str(p) for p in parts if p)


#: the page's words: English and Simplified Chinese
WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Trace",
        "recall": "Recall",
        "class": "Class",
        "reason": "Reason",
        "opened": "Opened",
        "status": "Status",
        "backward": "Where it came from (receipts)",
        "forward": "Where it went (shipments)",
        "now": "Still in the building",
        "receipt": "Receipt",
        "date": "Date",
        "supplier": "Supplier",
        "document": "PO / ASN",
        "receivers": "Received by",
        "lot": "Lot",
        "expiry": "Expiry",
        "quantity": "Quantity",
        "serials": "Serials",
        "order": "Order",
        "customer": "Customer",
        "ship_to": "Ship to",
        "sscc": "SSCC",
        "location": "Location",
        "stock_status": "Stock status",
        "totals": "Received {received}, shipped {shipped} to {customers} customer(s), in the building {in_stock}",
        "none": "none",
        "printed": "Printed",
    },
    "zh-CN": {
        "title": "追溯",
        "recall": "召回",
        "class": "级别",
        "reason": "原因",
        "opened": "发起时间",
        "status": "状态",
        "backward": "来源（收货）",
        "forward": "去向（发货）",
        "now": "库内现存",
        "receipt": "收货单",
        "date": "日期",
        "supplier": "供应商",
        "document": "采购单 / 到货通知",
        "receivers": "收货人",
        "lot": "批号",
        "expiry": "有效期",
        "quantity": "数量",
        "serials": "序列号",
        "order": "订单",
        "customer": "客户",
        "ship_to": "收货地址",
        "sscc": "SSCC",
        "location": "库位",
        "stock_status": "库存状态",
        "totals": "收货 {received}，发给 {customers} 个客户 {shipped}，库内 {in_stock}",
        "none": "无",
        "printed": "打印时间",
    },
}


def _cell(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "–"
    if isinstance(value, list):
        return html.escape(" ".join(str(v) for v in value))
    if isinstance(value, dt.datetime):
        return html.escape(value.strftime("%Y-%m-%d %H:%M"))
    return html.escape(str(value))


def _table(headers: list[str], rows: list[list[Any]], none: str) -> str:
    if not rows:
        return f"<p>{html.escape(none)}</p>"
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(trace: Trace, *, lang: Lang, heading: list[tuple[str, str]], printed_at: dt.datetime) -> str:
    """A self-contained page to print (no script, no outside resource); every value is escaped.

    ``heading``: (word key, value) pairs shown above the tables, e.g. the recall's class and reason."""
    w = WORDS[lang]
    subject = " ".join(x for x in (trace.gtin, *trace.lots, trace.serial, trace.sscc) if x)
    head_rows = "".join(
        f"<tr><th>{html.escape(w.get(k, k))}</th><td>{html.escape(v)}</td></tr>"
        for k, v in [*heading, ("printed", printed_at.strftime("%Y-%m-%d %H:%M %Z"))]
    )
    t = trace.totals
    totals = w["totals"].format(received=t.received, shipped=t.shipped, customers=len(t.customers), in_stock=t.in_stock)
    backward = _table(
        [
            w["receipt"],
            w["date"],
            w["supplier"],
            w["document"],
            w["receivers"],
            w["lot"],
            w["expiry"],
            w["quantity"],
            w["serials"],
        ],
        [
            [
                r.receipt,
                r.received_at,
                " ".join(x for x in (r.supplier.name, r.supplier.gln) if x),
                r.document,
                r.receivers,
                r.lot,
                r.expiry,
                r.quantity,
                r.serials,
            ]
            for r in trace.backward
        ],
        w["none"],
    )
    forward = _table(
        [w["order"], w["date"], w["customer"], w["ship_to"], w["lot"], w["quantity"], w["serials"], w["sscc"]],
        [
            [
                s.order_number,
                s.shipped_at,
                " ".join(x for x in (s.customer.name, s.customer.gln) if x),
                _ship_to_line(s.ship_to),
                s.lot,
                s.quantity,
                s.serials,
                s.sscc,
            ]
            for s in trace.forward
        ],
        w["none"],
    )
    now = _table(
        [w["location"], w["stock_status"], w["sscc"], w["order"], w["lot"], w["quantity"], w["serials"]],
        [[n.location, n.status, n.sscc or n.container, n.order, n.lot, n.quantity, n.serials] for n in trace.now],
        w["none"],
    )
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{html.escape(w['title'])} {html.escape(subject)}</title>"
        "<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;width:100%;margin-bottom:1em}"
        "th,td{border:1px solid #888;padding:3px 6px;text-align:left;font-size:11pt}"
        "@media print{h2{page-break-after:avoid}tr{page-break-inside:avoid}}</style></head><body>"
        f"<h1>{html.escape(w['title'])}: {html.escape(subject)}</h1>"
        f"<table>{head_rows}</table><p>{html.escape(totals)}</p>"
        f"<h2>{html.escape(w['backward'])}</h2>{backward}"
        f"<h2>{html.escape(w['forward'])}</h2>{forward}"
        f"<h2>{html.escape(w['now'])}</h2>{now}"
        "</body></html>"
    )

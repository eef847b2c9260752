"""Recalls (open, list, trace, close) and the trace of a lot, a serial or an SSCC without a recall.

A trace answers JSON (``Trace``), or with ``format=csv`` CSV (one row per receipt, shipment and stock
group), or with ``format=html`` a printable page in English or Simplified Chinese (``lang``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec
from litestar import Request, Router, get, post
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import Response
from msgspec import Meta

from udipick.api.deps import CurrentActor, Db, allow, client_address, password_checks
from udipick.api.openapi import also_csv_and_html
from udipick.domain.csv_cells import csv_text
from udipick.domain.trace import CSV_HEADER, Lang, Trace, csv_rows, render_html
from udipick.services import recalls as svc
from udipick.services import trace as trace_svc
from udipick.services.recalls import OpenedRecall, Recall, RecallIn

CSV = "text/csv"
HTML = "text/html"
#: who opens and closes a recall (with an electronic signature)
SIGNERS = ("qa", "supervisor")
#: who reads recalls and traces
READERS = allow("qa", "supervisor", "admin", scopes=("erp:read",))

Text = Annotated[str, Meta(min_length=1, max_length=500)]
Code = Annotated[str, Meta(min_length=1, max_length=64)]
Gtin = Annotated[str, Meta(pattern=r"^[0-9]{14}$")]
LotNo = Annotated[str, Meta(min_length=1, max_length=20)]
SerialNo = Annotated[str, Meta(min_length=1, max_length=20)]
Sscc = Annotated[str, Meta(pattern=r"^[0-9]{18}$")]
Format = Literal["json", "csv", "html"]


class RecallOpenIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    #: the item's ERP id or any of its GTINs
    item: Code
    recall_class: Literal["I", "II", "III"]
    reason: Text
    #: the lots recalled; or a production-date range instead; or single serials (the rest of their lots stays available)
    lots: Annotated[list[LotNo], Meta(min_length=1, max_length=1000)] | None = None
    produced_from: dt.date | None = None
    produced_to: dt.date | None = None
    serials: Annotated[list[SerialNo], Meta(max_length=1000)] | None = None
    #: the manufacturer's or the ERP's own reference
    reference: Code | None = None


class SignedRecallIn(RecallOpenIn, kw_only=True):
    #: the signer's password, re-entered (electronic signature)
    password: Annotated[str, Meta(min_length=1, max_length=256)]


class RecallCloseIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    disposition: Literal["destroyed", "returned_to_supplier", "released"]
    note: Annotated[str, Meta(max_length=2000)] | None = None
    password: Annotated[str, Meta(min_length=1, max_length=256)]


def _request(data: RecallOpenIn) -> RecallIn:
    return RecallIn(
        item=data.item,
        recall_class=data.recall_class,
        reason=data.reason,
        lots=data.lots,
        produced_from=data.produced_from,
        produced_to=data.produced_to,
        serials=data.serials,
        reference=data.reference,
    )


@post("/recalls", status_code=201, **allow(*SIGNERS))
async def open_recall(data: JSONBody[SignedRecallIn], request: Request, db: Db, actor: CurrentActor) -> OpenedRecall:
    """Freeze the lots (``recalled``) or the single serials (a serial hold of the recall's own), re-allocate
    their open picks, flag their unshipped cartons, emit
    ``recall.opened.v1``; answers the recall and its trace. Needs the opener's electronic signature."""
    return await svc.open_recall(
        db,
        password_checks(request),
        actor,
        _request(data),
        password=data.password,
        address=client_address(request),
        today=dt.date.today(),
    )


@post("/erp/recalls", status_code=201, **allow(scopes=("erp:write",)))
async def erp_open_recall(data: JSONBody[RecallOpenIn], request: Request, db: Db, actor: CurrentActor) -> OpenedRecall:
    """The ERP opens a recall (its ``erp:write`` key stands for its approval); as ``POST /recalls`` otherwise."""
    return await svc.open_recall(
        db, None, actor, _request(data), password=None, address=client_address(request), today=dt.date.today()
    )


@get("/recalls", **READERS)
async def list_recalls(db: Db, status: FromQuery[Literal["open", "closed", "all"]] = "all") -> list[Recall]:
    return await svc.list_recalls(db, status=None if status == "all" else status)


@get("/recalls/{recall_id:int}", **READERS)
async def get_recall(recall_id: FromPath[int], db: Db) -> Recall:
    return await svc.get_recall(db, recall_id)


@post("/recalls/{recall_id:int}/close", status_code=200, **allow(*SIGNERS))
async def close_recall(
    recall_id: FromPath[int], data: JSONBody[RecallCloseIn], request: Request, db: Db, actor: CurrentActor
) -> Recall:
    """Record the disposition and the response time, with the closer's electronic signature; emits
    ``recall.closed.v1``. ``released`` gives each lot back the status it had before the recall."""
    return await svc.close_recall(
        db,
        password_checks(request),
        actor,
        recall_id,
        disposition=data.disposition,
        note=data.note,
        password=data.password,
        address=client_address(request),
    )


TRACE_ANSWER = {
    "operation_class": also_csv_and_html("header row: " + ",".join(CSV_HEADER), "a printable page (lang: en or zh-CN)"),
    "response_description": "The trace (JSON); with format=csv, CSV; with format=html, a printable page.",
}


def _trace_response(
    trace: Trace, format: Format, lang: Lang, name: str, heading: list[tuple[str, str]] | None = None
) -> Response[Trace]:
    if format == "json":
        return Response(trace)
    if format == "csv":
        return Response(
            csv_text(CSV_HEADER, csv_rows(trace)),
            media_type=CSV,
            headers={"content-disposition": f'attachment; filename="{name}.csv"'},
        )
    page = render_html(trace, lang=lang, heading=heading or [], printed_at=dt.datetime.now(dt.UTC))
    return Response(page, media_type=HTML)


@get("/recalls/{recall_id:int}/trace", **TRACE_ANSWER, **READERS)
async def recall_trace(
    recall_id: FromPath[int], db: Db, format: FromQuery[Format] = "json", lang: FromQuery[Lang] = "en"
) -> Response[Trace]:
    """Backward (receipts, suppliers, PO/ASN), forward (shipments, customers, SSCCs, serials) and now
    (units left, by location and status) for every lot of the recall."""
    recall, trace = await svc.recall_trace(db, recall_id)
    heading = [
        ("recall", recall.recall + (f" ({recall.reference})" if recall.reference else "")),
        ("class", recall.recall_class),
        ("reason", recall.reason),
        ("opened", recall.opened_at.strftime("%Y-%m-%d %H:%M %Z")),
        ("status", recall.status + (f": {recall.disposition}" if recall.disposition else "")),
    ]
    return _trace_response(trace, format, lang, recall.recall, heading)


@get("/trace/lot/{gtin:str}/{lot:str}", **TRACE_ANSWER, **READERS)
async def lot_trace(
    gtin: FromPath[Gtin], lot: FromPath[LotNo], db: Db, format: FromQuery[Format] = "json", lang: FromQuery[Lang] = "en"
) -> Response[Trace]:
    """Both directions for one lot of an item (any of its GTINs)."""
    return _trace_response(await trace_svc.lot_trace(db, gtin, lot), format, lang, f"trace-{gtin}-{lot}")


@get("/trace/serial/{gtin:str}/{serial:str}", **TRACE_ANSWER, **READERS)
async def serial_trace(
    gtin: FromPath[Gtin],
    serial: FromPath[Annotated[str, Meta(min_length=1, max_length=20)]],
    db: Db,
    format: FromQuery[Format] = "json",
    lang: FromQuery[Lang] = "en",
) -> Response[Trace]:
    """Both directions for one serialised unit."""
    return _trace_response(await trace_svc.serial_trace(db, gtin, serial), format, lang, f"trace-{gtin}-{serial}")


@get("/trace/sscc/{sscc:str}", **TRACE_ANSWER, **READERS)
async def sscc_trace(
    sscc: FromPath[Sscc], db: Db, format: FromQuery[Format] = "json", lang: FromQuery[Lang] = "en"
) -> Response[Trace]:
    """A carton or pallet: what it holds now, where it shipped, and the receipts of what was packed into it."""
    return _trace_response(await trace_svc.sscc_trace(db, sscc), format, lang, f"trace-{sscc}")


recalls_router = Router(
    path="/api/v1",
    route_handlers=[
        open_recall,
        erp_open_recall,
        list_recalls,
        get_recall,
        close_recall,
        recall_trace,
        lot_trace,
        serial_trace,
        sscc_trace,
    ],
    tags=["Recalls and trace"],
)

"""``GET /api/v1/stock``: the one true view of stock, grouped and filtered (JSON, or CSV with
``format=csv``); ``GET /api/v1/stock/atp``: available to promise per item and warehouse. Statuses and expiry
buckets: ``domain/stock_view.py``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Literal

import msgspec
from litestar import Router, get
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, Schema
from litestar.params import QueryParameter
from litestar.response import Response

from udipick.api.deps import Db, allow
from udipick.domain.csv_cells import csv_text
from udipick.domain.stock_view import STATUSES
from udipick.services import stock_view as svc

CSV = "text/csv"
JSON = "application/json"
STOCK_VIEW = allow("supervisor", "qa", "admin", scopes=("erp:read",))
GroupBy = Literal["warehouse", "item", "lot", "expiry_bucket", "location_type", "status"]
StatusName = Literal[
    "available", "allocated", "picked", "packed", "quarantine", "hold", "recalled", "expired", "bonded", "damaged",
    "rejected", "in_transit",
]  # fmt: skip
LocationTypeName = Literal["receiving", "pick", "reserve", "quarantine", "bonded", "cold", "shipping"]
#: no control characters (PostgreSQL text cannot hold NUL; none belongs in a code)
PRINTABLE = r"^[^\x00-\x1f]*$"
CSV_FIELDS = [f for f in svc.StockGroup.__struct_encode_fields__ if f != "quantity"] + ["quantity"]

assert set(StatusName.__args__) == set(STATUSES)  # noqa: S101 - the wire's words are the domain's


@dataclass
class _AlsoCsv(Operation):
    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if ok is not None and not isinstance(ok, dict) and ok.content is not None:
            ok.content[CSV] = OpenAPIMediaType(
                schema=Schema(
                    type=OpenAPIType.STRING, description="one row a group; header: the grouped fields, quantity"
                )
            )


@get(
    "/stock",
    name="stock_view",
    summary="Stock grouped and filtered (JSON or CSV)",
    media_type=JSON,
    response_description="Units per group and per status; with format=csv, one CSV row per group.",
    operation_class=_AlsoCsv,
    **STOCK_VIEW,
)
async def stock_view(
    db: Db,
    group_by: Annotated[
        list[GroupBy] | None,
        QueryParameter(name="groupBy", description="repeat for several; default: item, status"),
    ] = None,
    warehouse: Annotated[
        str | None, QueryParameter(description="warehouse code", max_length=64, pattern=PRINTABLE)
    ] = None,
    item: Annotated[str | None, QueryParameter(description="item ERP id", max_length=64, pattern=PRINTABLE)] = None,
    lot: Annotated[str | None, QueryParameter(max_length=20, pattern=PRINTABLE)] = None,
    location_type: Annotated[LocationTypeName | None, QueryParameter(name="locationType")] = None,
    status: StatusName | None = None,
    expiry_before: Annotated[
        dt.date | None, QueryParameter(name="expiryBefore", description="lots expiring before this day")
    ] = None,
    expiry_after: Annotated[
        dt.date | None, QueryParameter(name="expiryAfter", description="lots expiring after this day")
    ] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=100_000, description="at most this many groups")] = 10_000,
    format: Literal["json", "csv"] = "json",
) -> Response[svc.StockView]:
    f = svc.StockFilter(
        warehouse=warehouse,
        item=item,
        lot=lot,
        location_type=location_type,
        status=status,
        expiry_before=expiry_before,
        expiry_after=expiry_after,
    )
    view = await svc.stock_view(db, f, list(group_by or ["item", "status"]), today=dt.date.today(), limit=limit)
    if format == "json":
        return Response(msgspec.json.encode(view), media_type=JSON)
    fields = [c for c in CSV_FIELDS if c == "quantity" or any(getattr(g, _attr(c)) is not None for g in view.groups)]
    rows = ([getattr(g, _attr(c)) for c in fields] for g in view.groups)
    return Response(
        csv_text(fields, rows),
        media_type=CSV,
        headers={"content-disposition": 'attachment; filename="udipick-stock.csv"'},
    )


def _attr(camel: str) -> str:
    return "".join("_" + ch.lower() if ch.isupper() else ch for ch in camel)


@get("/stock/atp", name="stock_atp", summary="Available to promise per item and warehouse", **STOCK_VIEW)
async def stock_atp(
    db: Db,
    item: Annotated[str | None, QueryParameter(description="item ERP id", max_length=64, pattern=PRINTABLE)] = None,
    warehouse: Annotated[
        str | None, QueryParameter(description="warehouse code", max_length=64, pattern=PRINTABLE)
    ] = None,
) -> list[svc.AtpLine]:
    return await svc.atp(db, item=item, warehouse=warehouse, today=dt.date.today())


stock_view_router = Router(path="/api/v1", route_handlers=[stock_view, stock_atp], tags=["Stock"])

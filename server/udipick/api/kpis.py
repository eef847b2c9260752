"""``GET /api/v1/kpis?from=&to=&warehouse=``: the KPIs of a period, as JSON or, with ``format=csv`` or
``Accept: text/csv``, CSV (one row per figure). Formulas: ``docs/kpis.md``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Literal

import msgspec
from litestar import Request, Router, get
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, Schema
from litestar.params import QueryParameter
from litestar.response import Response

from udipick.api.deps import Db, allow
from udipick.domain.csv_cells import csv_text
from udipick.services import kpis
from udipick.services.kpis import KpiReport

CSV = "text/csv"
JSON = "application/json"


@dataclass
class _AlsoCsv(Operation):
    """The report's 200 in both its media types: JSON (the default) and CSV, one row per figure."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if ok is not None and not isinstance(ok, dict) and ok.content is not None:
            ok.content[CSV] = OpenAPIMediaType(
                schema=Schema(type=OpenAPIType.STRING, description="header row: " + ",".join(kpis.CSV_FIELDS))
            )


def _wants_csv(request: Request, format: str | None) -> bool:
    if format is not None:
        return format == "csv"
    accept = request.headers.get("accept", "")
    return any(part.split(";")[0].strip().lower() == CSV for part in accept.split(","))


@get(
    "/kpis",
    name="kpis",
    summary="KPIs of a period (JSON or CSV)",
    media_type=JSON,
    response_description="Every KPI of the period with its numerator and denominator; with format=csv or"
    " Accept: text/csv, CSV with one row per figure.",
    operation_class=_AlsoCsv,
    **allow("supervisor", "admin"),
)
async def kpi_report(
    request: Request,
    db: Db,
    first: Annotated[
        str | None, QueryParameter(name="from", description="first day (UTC), YYYY-MM-DD; default: 29 days before `to`")
    ] = None,
    last: Annotated[
        str | None, QueryParameter(name="to", description="last day (UTC), YYYY-MM-DD; default: today")
    ] = None,
    warehouse: Annotated[str | None, QueryParameter(description="warehouse code; default: all warehouses")] = None,
    format: Literal["json", "csv"] | None = None,
) -> Response[KpiReport]:
    report = await kpis.kpi_report(db, first=first, last=last, warehouse=warehouse, now=dt.datetime.now(dt.UTC))
    if not _wants_csv(request, format):
        return Response(msgspec.json.encode(report), media_type=JSON)
    name = f"udipick-kpis-{report.first}-{report.last}.csv"
    # ``text/csv`` alone: Litestar appends ``; charset=utf-8`` to every text/* media type itself
    return Response(
        csv_text(kpis.CSV_FIELDS, kpis.csv_rows(report)),
        media_type=CSV,
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


kpis_router = Router(path="/api/v1", route_handlers=[kpi_report], tags=["KPIs"])

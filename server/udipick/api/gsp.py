"""GSP records for an inspection (docs/gsp.md), each for a period as NDJSON (the default), CSV (Chinese
column headers, UTF-8 with a byte order mark so Excel reads it as UTF-8) or a printable page in Chinese:

- ``GET /api/v1/gsp/receiving-records``: the receiving and acceptance record (收货/验收记录);
- ``GET /api/v1/gsp/outbound-reviews``: the outbound review record (出库复核记录);
- ``GET /api/v1/gsp/temperatures``: the cold-chain temperature record (冷链温度记录) of a location or all;
- ``POST /api/v1/gsp/temperatures``: a sensor gateway's batch of readings (API key scope ``sensors:write``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import msgspec
from litestar import Router, get, post
from litestar.openapi.spec import Operation
from litestar.params import JSONBody, QueryParameter
from litestar.response import Response

from udipick.api.deps import CurrentActor, Db, allow
from udipick.api.openapi import also_csv_and_html
from udipick.domain import gsp
from udipick.domain.csv_cells import csv_text
from udipick.services import gsp as svc

NDJSON = "application/x-ndjson"
CSV = "text/csv"
HTML = "text/html"
#: Excel opens a CSV as the system code page unless it starts with the UTF-8 byte order mark
BOM = "\ufeff"
#: who reads and prints the GSP records
READERS = allow("qa", "supervisor")
SENSORS = allow(scopes=("sensors:write",))

Format = Literal["ndjson", "csv", "html"]
First = Annotated[
    dt.date | None,
    QueryParameter(name="from", description="first day, YYYY-MM-DD (in `tz`); default: 29 days before `to`"),
]
Last = Annotated[
    dt.date | None, QueryParameter(name="to", description="last day, YYYY-MM-DD (in `tz`); default: today")
]
Tz = Annotated[
    str, QueryParameter(description="IANA time zone of the days and of every time in the record", max_length=64)
]
Warehouse = Annotated[str | None, QueryParameter(description="warehouse code; default: every warehouse", max_length=32)]


def _also(header: list[str]) -> type[Operation]:
    return also_csv_and_html(
        "UTF-8 with BOM; header row: " + ",".join(header), "a printable page in Chinese (A4 landscape)"
    )


def _answer(
    kind: Literal["receiving", "outbound", "temperature"],
    records: list[Any],
    columns: list[tuple[str, Any]],
    format: Format,
    p: svc.Period,
    warehouse: str,
    *,
    subject: str | None = None,
) -> Response[Any]:
    name = f"udipick-gsp-{kind}-{p.first}-{p.last}"
    if format == "ndjson":
        return Response(b"".join(msgspec.json.encode(r) + b"\n" for r in records), media_type=NDJSON)
    if format == "csv":
        # ``text/csv`` alone: Litestar appends ``; charset=utf-8`` to every text/* media type itself
        return Response(
            BOM + csv_text(gsp.header(columns), gsp.cells(columns, records)),
            media_type=CSV,
            headers={"content-disposition": f'attachment; filename="{name}.csv"'},
        )
    flagged = [r.out_of_range for r in records] if kind == "temperature" else None
    page = gsp.render_page(
        kind,
        records,
        warehouse=warehouse,
        period=(p.first, p.last),
        tz=p.tz,
        printed_at=dt.datetime.now(dt.UTC).astimezone(p.start.tzinfo),
        flagged=flagged,
        subject=subject,
    )
    return Response(page, media_type=HTML)


@get(
    "/gsp/receiving-records",
    summary="Receiving and acceptance record (收货/验收记录) of a period",
    media_type=NDJSON,
    response_description="One ReceivingRecord per line (NDJSON); format=csv: CSV; format=html: a printable page.",
    operation_class=_also(gsp.header(gsp.RECEIVING_COLUMNS)),
    **READERS,
)
async def receiving_records(
    db: Db,
    first: First = None,
    last: Last = None,
    tz: Tz = "Asia/Shanghai",
    warehouse: Warehouse = None,
    format: Format = "ndjson",
) -> Response[gsp.ReceivingRecord]:
    """Every receipt line (item, lot, serial, temperature, verdict) of receipts that arrived in the period,
    with the item's registration data, the supplier, the transport record and who accepted it."""
    p = svc.period(first, last, tz, now=dt.datetime.now(dt.UTC))
    label = await svc.warehouse_label(db, warehouse)
    records = await svc.receiving_records(db, p, warehouse)
    return _answer("receiving", records, gsp.RECEIVING_COLUMNS, format, p, label)


@get(
    "/gsp/outbound-reviews",
    summary="Outbound review record (出库复核记录) of a period",
    media_type=NDJSON,
    response_description="One OutboundReview per line (NDJSON); format=csv: CSV; format=html: a printable page.",
    operation_class=_also(gsp.header(gsp.OUTBOUND_COLUMNS)),
    **READERS,
)
async def outbound_reviews(
    db: Db,
    first: First = None,
    last: Last = None,
    tz: Tz = "Asia/Shanghai",
    warehouse: Warehouse = None,
    format: Format = "ndjson",
) -> Response[gsp.OutboundReview]:
    """Every shipped line (order, item, lot, serial, carton) of the period, with who reviewed it at packing."""
    p = svc.period(first, last, tz, now=dt.datetime.now(dt.UTC))
    label = await svc.warehouse_label(db, warehouse)
    records = await svc.outbound_reviews(db, p, warehouse)
    return _answer("outbound", records, gsp.OUTBOUND_COLUMNS, format, p, label)


@get(
    "/gsp/temperatures",
    summary="Cold-chain temperature record (冷链温度记录) of a period",
    media_type=NDJSON,
    response_description="One TemperatureRecord per line (NDJSON); format=csv: CSV; format=html: a printable page.",
    operation_class=_also(gsp.header(gsp.TEMPERATURE_COLUMNS)),
    **READERS,
)
async def temperatures(
    db: Db,
    first: First = None,
    last: Last = None,
    tz: Tz = "Asia/Shanghai",
    warehouse: Warehouse = None,
    location: Annotated[
        str | None, QueryParameter(description="location code; default: every location", max_length=64)
    ] = None,
    format: Format = "ndjson",
) -> Response[gsp.TemperatureRecord]:
    """The readings measured in the period, by location and time, each with the range it was judged against."""
    p = svc.period(first, last, tz, now=dt.datetime.now(dt.UTC))
    label = await svc.warehouse_label(db, warehouse)
    records = await svc.temperature_records(db, p, location=location, warehouse=warehouse)
    subject = f"库位：{location}" if location else None
    return _answer("temperature", records, gsp.TEMPERATURE_COLUMNS, format, p, label, subject=subject)


@post("/gsp/temperatures", status_code=200, summary="Post sensor readings", **SENSORS)
async def post_temperatures(data: JSONBody[svc.ReadingsIn], db: Db, actor: CurrentActor) -> svc.ReadingsStored:
    """Store a batch of readings (location, sensor, time, °C). Idempotent on (sensor, time): a batch sent
    again stores nothing twice. Stored readings are never changed or deleted; a reading outside the range
    of the items its location holds is flagged."""
    return await svc.store_readings(db, actor, data.readings, now=dt.datetime.now(dt.UTC))


gsp_router = Router(
    path="/api/v1",
    route_handlers=[receiving_records, outbound_reviews, temperatures, post_temperatures],
    tags=["GSP records"],
)

"""ERP inbound API: ``/api/v1/erp/<kind>`` (one record, JSON) and ``/api/v1/erp/<kind>/bulk`` (NDJSON).

A bulk body is read as a stream, a slice of lines at a time, so an initial load of 100,000 items
never sits in memory whole. Each refused line comes back as an RFC 9457 problem with its line
number and a pointer to the bad field; the valid rest is kept.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Request, Router, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody
from litestar.response import Response
from sqlalchemy.ext.asyncio import async_sessionmaker

from udipick.api.deps import AppSettings, CurrentActor, Db, allow
from udipick.config import Settings
from udipick.domain.access import Actor
from udipick.services import erp_inbound as svc

ERP_WRITE = allow("admin", scopes=("erp:write",))
#: an upsert answers 201 when it created the record, 200 when it updated it or changed nothing (a replay)
UPSERT_ONE = {
    **ERP_WRITE,
    "responses": {**ERP_WRITE["responses"], 200: ResponseSpec(svc.UpsertResult, description="Updated, or unchanged (a replay)", generate_examples=False)},
}
BULK_LIMIT = 1024 * 1024 * 1024  # 1 GiB: 100,000 items are about 40 MB
SLICE = 5000


@dataclass(frozen=True)
class Kind:
    path: str
    record: type[msgspec.Struct]
    upsert: Callable[[async_sessionmaker, list[tuple[int, Any]], Actor, Settings], Awaitable[svc.Tally]]


KINDS = [
    Kind("items", svc.ItemIn, lambda db, recs, actor, s: svc.upsert_master(db, svc.ITEMS, recs, actor)),
    Kind("customers", svc.CustomerIn, lambda db, recs, actor, s: svc.upsert_master(db, svc.CUSTOMERS, recs, actor)),
    Kind("suppliers", svc.SupplierIn, lambda db, recs, actor, s: svc.upsert_master(db, svc.SUPPLIERS, recs, actor)),
    Kind(
        "locations",
        svc.LocationIn,
        lambda db, recs, actor, s: svc.upsert_locations(db, recs, actor, barcode_prefix=s.location_prefix),
    ),
    Kind("purchase-orders", svc.PurchaseOrderIn, lambda db, recs, actor, s: svc.upsert_purchase_orders(db, recs, actor)),
    Kind("sales-orders", svc.SalesOrderIn, lambda db, recs, actor, s: svc.upsert_sales_orders(db, recs, actor)),
]


async def _lines(stream: AsyncIterator[bytes]) -> AsyncIterator[tuple[int, bytes]]:
    buffer = b""
    number = 0
    async for chunk in stream:
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        for raw in complete:
            number += 1
            yield number, raw
    if buffer:
        yield number + 1, buffer


def _merge(total: svc.Tally, part: svc.Tally) -> None:
    total.created += part.created
    total.updated += part.updated
    total.unchanged += part.unchanged
    total.refusals.extend(part.refusals)


def _handlers(kind: Kind) -> list:
    decoder = msgspec.json.Decoder(kind.record)
    name = kind.path.replace("-", "_")

    async def upsert_one(
        data: kind.record, db: Db, actor: CurrentActor, settings: AppSettings  # type: ignore[valid-type]
    ) -> Response[svc.UpsertResult]:
        tally = await kind.upsert(db, [(1, data)], actor, settings)
        if tally.refusals:
            raise tally.refusals[0].error
        result = tally.results[0]
        return Response(msgspec.to_builtins(result), status_code=201 if result.status == "created" else 200)

    async def upsert_bulk(request: Request, db: Db, actor: CurrentActor, settings: AppSettings) -> svc.BulkSummary:
        total = svc.Tally()
        received = 0
        batch: list[tuple[int, Any]] = []
        async for number, raw in _lines(request.stream()):
            if not raw.strip():
                continue
            received += 1
            try:
                batch.append((number, decoder.decode(raw)))
            except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                total.refusals.append(svc.Refusal(number, svc.decode_error(exc)))
            if len(batch) >= SLICE:
                _merge(total, await kind.upsert(db, batch, actor, settings))
                batch = []
        if batch:
            _merge(total, await kind.upsert(db, batch, actor, settings))
        return total.summary(received)

    upsert_one.__annotations__["data"] = JSONBody[kind.record]  # type: ignore[name-defined]
    one = post(f"/{kind.path}", name=f"erp_{name}_upsert", summary=f"Upsert one {kind.path[:-1]}", **UPSERT_ONE)(upsert_one)
    bulk = post(
        f"/{kind.path}/bulk",
        name=f"erp_{name}_bulk",
        summary=f"Bulk upsert {kind.path} (NDJSON, one record per line)",
        status_code=200,
        request_max_body_size=BULK_LIMIT,
        **ERP_WRITE,
    )(upsert_bulk)
    return [one, bulk]


erp_inbound_router = Router(path="/api/v1/erp", route_handlers=[h for k in KINDS for h in _handlers(k)], tags=["ERP inbound"])
